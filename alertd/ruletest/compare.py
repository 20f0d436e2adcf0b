"""Comparing what a test expected with what the rules produced, and wording the difference
as promtool does: the expected and the actual list side by side, each entry at fault marked
(`# missing`, `# unexpected`, `# differs: ...`, `# expected ...`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alertd.model import Labels, Sample
from alertd.ruletest.notation import format_value
from alertd.ruletest.spec import AlertTest, ExprTest

__all__ = ["AlertDiff", "SampleDiff", "alert_lines", "diff_alerts", "diff_samples",
           "sample_lines"]

REL_TOLERANCE = 1e-9  # for promql_expr_test values

Firing = Mapping[Labels, Mapping[str, str]]
"""The firing instances of a rule, each with its annotations."""


@dataclass(frozen=True, slots=True)
class AlertDiff:
    missing: frozenset[int]  # indexes of expected alerts not firing
    differing: Mapping[int, list[str]]  # index of an expected alert -> annotations that differ
    matched: frozenset[Labels]

    def same(self, got: Firing) -> bool:
        return not self.missing and not self.differing and self.matched.issuperset(got)


def diff_alerts(test: AlertTest, got: Firing) -> AlertDiff:
    missing: set[int] = set()
    differing: dict[int, list[str]] = {}
    matched: set[Labels] = set()
    for i, exp in enumerate(test.exp_alerts):
        if exp.labels not in got or exp.labels in matched:
            missing.add(i)
            continue
        matched.add(exp.labels)
        if exp.annotations is not None and dict(exp.annotations) != got[exp.labels]:
            differing[i] = _differing_keys(exp.annotations, got[exp.labels])
    return AlertDiff(frozenset(missing), differing, frozenset(matched))


def alert_lines(test: AlertTest, got: Firing, diff: AlertDiff) -> list[str]:
    """The expected alerts, then the firing ones, each marked where it is at fault."""
    expected: list[str] = []
    for i, exp in sorted(enumerate(test.exp_alerts), key=lambda e: _key(e[1].labels)):
        mark = "    # missing" if i in diff.missing else ""
        expected.append(f"    - labels: {exp.labels}{mark}")
        if exp.annotations is not None:
            expected.append(f"      annotations: {_braces(exp.annotations)}")
    actual: list[str] = []
    for labels in sorted(got, key=_key):
        mark = "    # unexpected" if labels not in diff.matched else ""
        actual.append(f"    - labels: {labels}{mark}")
        ann_mark = ""
        for i, keys in diff.differing.items():
            if test.exp_alerts[i].labels == labels:
                ann_mark = f"    # differs: {', '.join(keys)}"
        actual.append(f"      annotations: {_braces(got[labels])}{ann_mark}")
    return _sides(expected, actual, "(no alerts firing)")


def _sides(expected: list[str], got: list[str], none: str) -> list[str]:
    """The expected entries, then the actual ones; `none` stands for an empty side."""
    lines = ["  expected:", *expected] if expected else [f"  expected: {none}"]
    lines += ["  got:", *got] if got else [f"  got: {none}"]
    return lines


@dataclass(frozen=True, slots=True)
class SampleDiff:
    missing: frozenset[int]  # indexes of expected samples with no result
    differs: Mapping[int, float]  # index of a result -> the value expected instead
    unmatched: frozenset[int]  # indexes of results nothing expected

    @property
    def same(self) -> bool:
        return not self.missing and not self.differs and not self.unmatched


def diff_samples(test: ExprTest, got: Sequence[Sample]) -> SampleDiff:
    unmatched = sorted(range(len(got)), key=lambda j: _key(got[j].labels))
    missing: set[int] = set()
    differs: dict[int, float] = {}
    for i, exp in enumerate(test.exp_samples):
        j = next((j for j in unmatched if got[j].labels == exp.labels), None)
        if j is None:
            missing.add(i)
            continue
        unmatched.remove(j)
        if not _close(exp.value, got[j].value):
            differs[j] = exp.value
    return SampleDiff(frozenset(missing), differs, frozenset(unmatched))


def sample_lines(test: ExprTest, got: Sequence[Sample], diff: SampleDiff) -> list[str]:
    """The expected samples, then the result, each marked where it is at fault."""
    expected = [f"    - {exp.labels} {format_value(exp.value)}"
                f"{'    # missing' if i in diff.missing else ''}"
                for i, exp in sorted(enumerate(test.exp_samples), key=lambda e: _key(e[1].labels))]
    actual = [f"    - {got[j].labels} {format_value(got[j].value)}{_sample_mark(j, diff)}"
              for j in sorted(range(len(got)), key=lambda j: _key(got[j].labels))]
    return _sides(expected, actual, "(empty result)")


def _sample_mark(j: int, diff: SampleDiff) -> str:
    if j in diff.unmatched:
        return "    # unexpected"
    if j in diff.differs:
        return f"    # expected {format_value(diff.differs[j])}"
    return ""


def _key(labels: Labels) -> tuple[tuple[str, str], ...]:
    return labels.items_tuple


def _braces(mapping: Mapping[str, str]) -> str:
    """Annotations written like labels: `{summary="...", runbook_url="..."}`."""
    return str(Labels(mapping))


def _differing_keys(expected: Mapping[str, str], got: Mapping[str, str]) -> list[str]:
    keys = sorted(set(expected) | set(got))
    return [k for k in keys if expected.get(k) != got.get(k)]


def _close(expected: float, got: float) -> bool:
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    return math.isclose(expected, got, rel_tol=REL_TOLERANCE)
