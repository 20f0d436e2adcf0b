"""The cross-file pass: duplicate names, alert() references, reference cycles, requirements.

The file pass records each group and alert it saw (with its alert() references) in the
definitions below; this pass then reports what only shows across files and decides which
alerts are kept: those without errors whose references all lead to kept alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from alertd.lang.ast import Span
from alertd.lang.check_report import Report
from alertd.lang.diagnostics import did_you_mean
from alertd.rules.spec import AlertSpec

__all__ = ["AlertDef", "GroupDef", "cross_check", "kept_alerts"]


# --- what the file pass gathers for the cross-file pass ---------------------------------


@dataclass(eq=False)
class GroupDef:
    name: str | None
    path: str
    span: Span
    at: Span  # where a duplicate name is reported
    implicit: bool
    ok: bool = True
    interval: float | None = None
    owner: str | None = None
    has_owner: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    alerts: list[AlertDef] = field(default_factory=list)


@dataclass(eq=False)
class AlertDef:
    name: str
    path: str
    name_span: Span
    group: GroupDef
    order: int
    ok: bool
    refs: list[tuple[str, Span]]
    has_owner: bool
    has_runbook: bool
    spec: AlertSpec | None = None


# --- the cross-file pass -----------------------------------------------------------------


def cross_check(
    report: Report, groups: list[GroupDef], alerts: list[AlertDef], require: frozenset[str]
) -> None:
    """Report what only shows across files; the groups and alerts at fault are no longer ok."""
    first_group: dict[str, GroupDef] = {}
    for g in groups:
        if g.name is None:
            continue
        first = first_group.get(g.name)
        if first is None:
            first_group[g.name] = g
            continue
        hint = ("; alerts outside a group form a group named after the file"
                if g.implicit or first.implicit else "")
        report.error(g.path, g.at, f'duplicate group "{g.name}" '
                                   f"(first defined at {_where(first.path, first.at)}){hint}")
        g.ok = False

    by_name: dict[str, AlertDef] = {}
    for a in alerts:
        earlier = by_name.get(a.name)
        if earlier is None:
            by_name[a.name] = a
            continue
        where = _where(earlier.path, earlier.name_span)
        report.error(a.path, a.name_span, f'duplicate alert "{a.name}" (first defined at {where})')
        a.ok = False

    for a in alerts:
        for ref, span in a.refs:
            if ref not in by_name:
                report.error(a.path, span,
                             f'alert("{ref}") names no rule{did_you_mean(ref, by_name)}')
                a.ok = False

    _report_cycles(report, by_name)

    for a in alerts:
        if "owner" in require and not a.has_owner:
            report.error(a.path, a.name_span,
                         f'alert "{a.name}" has no owner (set owner in the alert or its group)')
            a.ok = False
        if "runbook" in require and not a.has_runbook:
            report.error(a.path, a.name_span,
                         f'alert "{a.name}" has no runbook (set runbook in the alert)')
            a.ok = False


def _report_cycles(report: Report, by_name: dict[str, AlertDef]) -> None:
    graph = {name: [r for r, _ in a.refs if r in by_name] for name, a in by_name.items()}
    position = {name: i for i, name in enumerate(by_name)}
    for component in _strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        start = min(component, key=position.__getitem__)
        path = _cycle_through(start, graph, members)
        alert = by_name[start]
        span = next(s for r, s in alert.refs if r == path[1])
        report.error(alert.path, span, "alert reference cycle: " + " -> ".join(path))
        for name in component:
            by_name[name].ok = False


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so that long reference chains cannot hit the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, successors = work[-1]
            descended = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    descended = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out


def _cycle_through(start: str, graph: dict[str, list[str]], members: set[str]) -> list[str]:
    """The shortest cycle from `start` back to itself within one component, as names."""
    parent: dict[str, str] = {}
    queue = [start]
    for node in queue:  # breadth first: the list grows while it is read
        for nxt in graph[node]:
            if nxt == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(parent[chain[-1]])
                return [*reversed(chain), start]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]


def kept_alerts(alerts: Iterable[AlertDef]) -> set[int]:
    """Alerts without errors whose alert() references all lead to kept alerts."""
    candidates = [a for a in alerts if a.ok and a.group.ok and a.spec is not None]
    kept = {a.name: a for a in candidates}
    changed = True
    while changed:
        changed = False
        for a in list(kept.values()):
            if any(ref not in kept for ref, _ in a.refs):
                del kept[a.name]
                changed = True
    return {id(a) for a in kept.values()}


def _where(path: str, span: Span) -> str:
    return f"{path}:{span.line}:{span.column}"
