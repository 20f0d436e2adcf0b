"""`alertd baseline capture NAME --from T --to T SELECTOR`: a baseline from pushed samples.

The samples come from the store, where the daemon saves its windows of pushed samples
every `samples.snapshot_interval` (and when it stops): a capture sees them up to the last
snapshot, and only as far back as the windows keep them (the longest range the rules
read, and at least `samples.min_retention`). Reading the store rather than asking the
running daemon means a capture works whether the daemon runs or not, and never adds
work to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alertd.drift.versions import BaselineVersion
from alertd.errors import AlertdError, RuleError
from alertd.lang import ast
from alertd.lang.baselines import BaselineSpec
from alertd.lang.parse import parse_expr
from alertd.model import METRIC_NAME, LabelMatcher, Labels
from alertd.report.period import FORMS
from alertd.rules.baselines import references_from_series
from alertd.series import is_stale
from alertd.store.baselines import BaselineRepository

__all__ = ["CaptureError", "capture_pushed", "parse_selector"]

Window = tuple[Labels, Sequence[float], Sequence[float]]


class CaptureError(AlertdError):
    """A capture that cannot be made; the message says why."""


def parse_selector(text: str) -> tuple[str | None, tuple[LabelMatcher, ...]]:
    """A series selector such as feature_value{model="churn"}: its name and matchers."""
    try:
        expr = parse_expr(text)
    except RuleError as exc:
        raise CaptureError(f'SELECTOR "{text}": {exc.message} (at column {exc.span.column})'
                           if exc.span else f'SELECTOR "{text}": {exc.message}') from None
    if not isinstance(expr, ast.Selector) or (expr.name is None and not expr.matchers):
        raise CaptureError(f'SELECTOR "{text}" must be a series selector such as '
                           'feature_value{model="churn"}')
    name = expr.name
    matchers: list[LabelMatcher] = []
    try:
        for m in expr.matchers:
            if m.name == METRIC_NAME and m.op == "=" and name is None:
                name = m.value.value
            else:
                matchers.append(LabelMatcher(m.name, m.op, m.value.value))
    except ValueError as exc:
        raise CaptureError(f'SELECTOR "{text}": {exc}') from None
    return name, tuple(matchers)


def selected(windows: Sequence[Window], selector: str, start: float,
             end: float) -> list[tuple[Labels, list[float]]]:
    """The values in [start, end] of the saved series the selector matches."""
    name, matchers = parse_selector(selector)
    out: list[tuple[Labels, list[float]]] = []
    for labels, timestamps, values in windows:
        if name is not None and labels.name() != name:
            continue
        if not all(m.matches(labels.get(m.name)) for m in matchers):
            continue
        kept = [v for t, v in zip(timestamps, values, strict=True)
                if start <= t <= end and not is_stale(v)]
        if kept:
            out.append((labels, kept))
    return out


async def capture_pushed(repository: BaselineRepository, windows: Sequence[Window],
                         spec: BaselineSpec, selector: str, start: float, end: float, *,
                         now: float, created_by: str) -> BaselineVersion:
    """Store a new version of `spec` from the saved pushed samples of `selector`."""
    series = selected(windows, selector, start, end)
    if not series:
        raise CaptureError(
            f"no pushed samples of {selector} between the two times in the store (the "
            "daemon saves them every samples.snapshot_interval and keeps them for the "
            "longest range its rules read, at least samples.min_retention); times are "
            f"{FORMS}")
    refs = references_from_series(series, spec, f"the samples of {selector}")
    origin = {**spec.origin(), "selector": selector, "from": start, "to": end,
              "series": len(series)}
    return await repository.add(spec.name, created_at=now, created_by=created_by,
                                kind="capture", origin=origin, references=refs)
