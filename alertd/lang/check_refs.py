"""The cross-file pass: duplicate names, alert() references, reference cycles, requirements.

The file pass records each group and alert it saw (with its alert() references) in the
definitions below; this pass then reports what only shows across files and decides which
alerts are kept: those without errors whose references all lead to kept alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from alertd.lang.ast import Span
from alertd.lang.check_report import Report
from alertd.lang.spec import AlertSpec
from alertd.suggest import did_you_mean

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
    _duplicate_groups(report, groups)
    by_name = _alerts_by_name(report, alerts)
    for a in alerts:
        for ref, span in a.refs:
            if ref not in by_name:
                report.error(a.path, span,
                             f'alert("{ref}") names no rule{did_you_mean(ref, by_name)}')
                a.ok = False
    _report_cycles(report, by_name)
    _required(report, alerts, require)


def _duplicate_groups(report: Report, groups: list[GroupDef]) -> None:
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


def _alerts_by_name(report: Report, alerts: list[AlertDef]) -> dict[str, AlertDef]:
    """Each alert name's first definition; the later ones are reported."""
    by_name: dict[str, AlertDef] = {}
    for a in alerts:
        earlier = by_name.get(a.name)
        if earlier is None:
            by_name[a.name] = a
            continue
        where = _where(earlier.path, earlier.name_span)
        report.error(a.path, a.name_span, f'duplicate alert "{a.name}" (first defined at {where})')
        a.ok = False
    return by_name


def _required(report: Report, alerts: list[AlertDef], require: frozenset[str]) -> None:
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
    return _Tarjan(graph).components()


class _Tarjan:
    """Tarjan's algorithm, iterative so that long reference chains cannot hit the stack."""

    def __init__(self, graph: dict[str, list[str]]) -> None:
        self.graph = graph
        self.index: dict[str, int] = {}
        self.low: dict[str, int] = {}
        self.stack: list[str] = []
        self.on_stack: set[str] = set()
        self.out: list[list[str]] = []

    def components(self) -> list[list[str]]:
        for root in self.graph:
            if root not in self.index:
                self._from(root)
        return self.out

    def _from(self, root: str) -> None:
        work: list[tuple[str, Iterator[str]]] = []
        self._enter(root, work)
        while work:
            node, successors = work[-1]
            if self._descend(node, successors, work):
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                self.low[parent] = min(self.low[parent], self.low[node])
            if self.low[node] == self.index[node]:
                self.out.append(self._pop_component(node))

    def _enter(self, node: str, work: list[tuple[str, Iterator[str]]]) -> None:
        self.index[node] = self.low[node] = len(self.index)
        self.stack.append(node)
        self.on_stack.add(node)
        work.append((node, iter(self.graph[node])))

    def _descend(self, node: str, successors: Iterator[str],
                 work: list[tuple[str, Iterator[str]]]) -> bool:
        """Step into the next unvisited successor of `node`; False when there is none."""
        for nxt in successors:
            if nxt not in self.index:
                self._enter(nxt, work)
                return True
            if nxt in self.on_stack:
                self.low[node] = min(self.low[node], self.index[nxt])
        return False

    def _pop_component(self, node: str) -> list[str]:
        component: list[str] = []
        while True:
            member = self.stack.pop()
            self.on_stack.discard(member)
            component.append(member)
            if member == node:
                return component


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
