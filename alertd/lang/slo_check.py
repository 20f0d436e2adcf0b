"""Checks of `burn_rate()` and `error_budget_remaining()` calls, and of the SLOs they name.

    burn_rate(slo = "FraudScoreLatency", window = 1h)
    error_budget_remaining(slo = "FraudScoreLatency")

Both name their SLO with a literal (it is resolved when the rules load) and burn_rate
its window with a duration. The cross-file pass then checks that the SLO exists and,
for an SLO over pushed series, that the window is not finer than what is kept of them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check_refs import AlertDef
from alertd.lang.check_report import ErrorFn, Report, prefix_span
from alertd.lang.slo import LOCAL_RESOLUTION, SloSpec
from alertd.lang.types import SLO, ValueType
from alertd.suggest import did_you_mean

__all__ = ["SloCall", "check_slo_call", "check_slo_refs", "slo_calls"]

V = ValueType.VECTOR


@dataclass(frozen=True, slots=True)
class SloCall:
    function: str
    slo: str | None  # None: not a literal (reported)
    slo_span: Span
    window: float | None  # burn_rate's, in seconds
    window_span: Span | None


def check_slo_call(error: ErrorFn, node: ast.Call, kwarg_types: Sequence[object]) -> ValueType:
    """Check one call of an SLO function; its type, an instant vector."""
    fn = f"{node.name}()"
    wanted = SLO[node.name].kwargs
    if node.args:
        error(node.args[0].span, f"{fn} takes keyword arguments only, such as "
                                 f'{node.name}(slo = "name"'
                                 f"{', window = 1h' if 'window' in wanted else ''})")
    if node.grouping is not None:
        error(node.grouping.span, f"{fn} takes no by (...) or without (...)")
    given = _given(error, node, fn, wanted)
    for key in wanted:
        if key not in given:
            example = '"name"' if key == "slo" else "a duration such as 1h"
            error(node.name_span, f"{fn} needs {key} = {example}")
    _check_values(error, given)
    return V


def _given(error: ErrorFn, node: ast.Call, fn: str,
           wanted: Collection[str]) -> dict[str, ast.KwArg]:
    """The keyword arguments by name, reporting unknown and repeated ones."""
    given: dict[str, ast.KwArg] = {}
    for kw in node.kwargs:
        name_span = prefix_span(kw.span, len(kw.name))
        if kw.name not in wanted:
            error(name_span, f'unknown keyword argument "{kw.name}" for {fn}'
                             f"{did_you_mean(kw.name, wanted)}")
        elif kw.name in given:
            error(name_span, f'keyword argument "{kw.name}" is given twice')
        else:
            given[kw.name] = kw
    return given


def _check_values(error: ErrorFn, given: dict[str, ast.KwArg]) -> None:
    slo = given.get("slo")
    if slo is not None and not (isinstance(slo.value, ast.StringLit) and slo.value.value.strip()):
        error(slo.value.span, 'slo must name an slo block with a string such as "checkout": '
                              "SLOs are resolved when the rules load")
    window = given.get("window")
    if window is not None:
        value = window.value
        if not isinstance(value, ast.DurationLit):
            error(value.span, "window must be a duration such as 1h")
        elif value.seconds is not None and value.seconds <= 0:
            error(value.span, f"window must be positive, got {value.text}")


def slo_calls(expr: ast.Expr) -> list[SloCall]:
    """The SLO function calls in `expr`, in source order."""
    out: list[SloCall] = []
    for node in ast.walk(expr):
        if not isinstance(node, ast.Call) or node.name not in SLO:
            continue
        kwargs = {kw.name: kw.value for kw in node.kwargs}
        slo, window = kwargs.get("slo"), kwargs.get("window")
        out.append(SloCall(
            node.name, slo.value if isinstance(slo, ast.StringLit) else None,
            slo.span if slo is not None else node.name_span,
            window.seconds if isinstance(window, ast.DurationLit) else None,
            window.span if window is not None else None))
    return out


def check_slo_refs(report: Report, slos: Sequence[SloSpec],
                   alerts: Sequence[AlertDef]) -> tuple[SloSpec, ...]:
    """Report duplicate SLOs and calls naming no SLO (the alerts at fault are no longer
    ok); the SLOs, each once."""
    by_name: dict[str, SloSpec] = {}
    broken: set[str] = set()
    for spec in slos:
        first = by_name.setdefault(spec.name, spec)
        if first is not spec:
            report.error(spec.path, spec.name_span,
                         f'duplicate slo "{spec.name}" (first defined at {first.where})')
            broken.add(spec.name)
    for alert in alerts:
        if alert.spec is None:
            continue
        for expr in (alert.spec.when, alert.spec.clear):
            for call in slo_calls(expr) if expr is not None else ():
                if not _call_ok(report, alert.path, call, by_name, broken):
                    alert.ok = False
    return tuple(replace(s) for name, s in by_name.items() if name not in broken)


def _call_ok(report: Report, path: str, call: SloCall, by_name: dict[str, SloSpec],
             broken: set[str]) -> bool:
    if call.slo is None:
        return True  # reported by the expression checker
    spec = by_name.get(call.slo)
    if spec is None:
        report.error(path, call.slo_span, f'no slo named "{call.slo}"'
                                          f"{did_you_mean(call.slo, by_name)}; define it "
                                          "with an slo block")
        return False
    if call.slo in broken:
        report.silent_error()
        return False
    if spec.local and call.window is not None and call.window < LOCAL_RESOLUTION \
            and call.window_span is not None:
        report.error(path, call.window_span, f'slo "{spec.name}" is over pushed series, kept '
                                             "per 5 minutes: its windows are 5m or longer")
        return False
    return True
