"""Selectors that have matched nothing since their rule loaded.

A selector with a misspelt label name or value (`feature_psi{modle="churn"}`) loads, is
evaluated with health ok, and never fires. Each local series selector remembers whether
it ever selected a series (lang.reads.SelectorUse); one that was evaluated and never
did is shown in the rules API, by `alertd explain` and in
`alertd_rule_selectors_matching_nothing`, with, where the series in memory tell, the
matcher that empties it.

Only selectors of pushed series are covered. An empty prom() result is normal (an error
ratio with no errors), so prom() queries are not; nor are selectors inside absent(),
which are there to match nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from alertd.lang.compile import SelectorRef
from alertd.model import METRIC_NAME, LabelMatcher
from alertd.rules.rule import AlertRule
from alertd.series import Series
from alertd.suggest import did_you_mean

MAX_VALUES = 5  # label values named in a hint


class SeriesSource(Protocol):
    def select(self, name: str | None, matchers: Sequence[LabelMatcher]) -> Sequence[Series]: ...

    def all_series(self) -> list[Series]: ...


@dataclass(frozen=True, slots=True)
class Unmatched:
    selector: str  # as written: feature_psi{modle="churn"}
    why: str | None  # the matcher that empties it, when that can be told


def selector_text(ref: SelectorRef) -> str:
    matchers = ", ".join(repr(m) for m in ref.matchers)
    if ref.name is None:
        return "{" + matchers + "}"
    return ref.name + ("{" + matchers + "}" if matchers else "")


def unmatched(rule: AlertRule) -> list[SelectorRef]:
    """The rule's selectors evaluated since it loaded that never selected a series (one
    per distinct selector; the same selector read twice counts once)."""
    uses: dict[tuple[str | None, tuple[LabelMatcher, ...]], list[SelectorRef]] = {}
    for expr in (rule.when, rule.clear):
        if expr is None:
            continue
        for ref in expr.selectors:
            if not ref.in_absent:
                uses.setdefault((ref.name, ref.matchers), []).append(ref)
    return [refs[0] for refs in uses.values()
            if any(r.use.empty for r in refs) and not any(r.use.matched for r in refs)]


def unmatched_counts(rules: Sequence[AlertRule]) -> Iterator[tuple[str, int]]:
    """(rule, how many of its selectors matched nothing) for every rule that reads pushed
    series and has been evaluated since it loaded: 0 when all of them matched."""
    for rule in rules:
        if any(r.use.empty or r.use.matched for e in (rule.when, rule.clear) if e is not None
               for r in e.selectors if not r.in_absent):
            yield rule.name, len(unmatched(rule))


def explain_unmatched(rule: AlertRule, store: SeriesSource) -> list[Unmatched]:
    return [Unmatched(selector_text(ref), why_empty(ref.name, ref.matchers, store))
            for ref in unmatched(rule)]


def why_empty(name: str | None, matchers: Sequence[LabelMatcher],
              store: SeriesSource) -> str | None:
    """The metric or the one matcher that leaves the selector without series, as the
    series in memory now tell; None when no single one does."""
    if name is not None and not store.select(name, ()):
        names = {s.labels.get(METRIC_NAME) for s in store.all_series()}
        return f'no series is named "{name}"{did_you_mean(name, sorted(n for n in names if n))}'
    metric = f"{name} series" if name else "series"
    for m in matchers:
        rest = [other for other in matchers if other is not m]
        candidates = store.select(name, rest)
        if not candidates:
            continue
        if rest:
            metric += " the other matchers select"
        return _why_matcher(m, candidates, metric)
    return None


def _why_matcher(m: LabelMatcher, candidates: Sequence[Series], metric: str) -> str:
    values = sorted({s.labels[m.name] for s in candidates if m.name in s.labels})
    if not values and m.op in ("=", "=~"):
        names = sorted({k for s in candidates for k in s.labels if k != METRIC_NAME})
        return f'no {metric} has a label "{m.name}"{did_you_mean(m.name, names)}'
    shown = ", ".join(f'"{v}"' for v in values[:MAX_VALUES])
    if len(values) > MAX_VALUES:
        shown += f" and {len(values) - MAX_VALUES} more"
    if m.op == "=":
        hint = did_you_mean(m.value, values)
        return f'"{m.value}" is not among the values of {m.name} in {metric}: {shown}{hint}'
    return f"{m!r} leaves no {metric} ({m.name}: {shown or 'never set'})"
