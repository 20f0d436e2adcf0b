"""Inhibition and silences behind one Muter: what mutes an alert and why, the first of
them in order, and no walk over every firing alert unless an inhibit rule reads them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from alertd.alerts.model import Alert
from alertd.model import Labels
from alertd.notify.mute import Inhibition, Muted, Silencing

T0 = 1_800_000_000.0
A = Labels({"alertname": "A", "team": "ml"})
B = Labels({"alertname": "B", "team": "ml"})


class Index:
    def __init__(self, firing: Iterable[Mapping[str, str]], *, reads: bool) -> None:
        self.sources = [Labels(dict(f)) for f in firing] if reads else []

    def inhibited_by(self, target: Mapping[str, str]) -> list[Labels]:
        return [s for s in self.sources if s.get("alertname") == "B"
                and target.get("alertname") == "A"]


class Inhibitor:
    def __init__(self, *, reads: bool) -> None:
        self.reads = reads

    def index(self, firing: Iterable[Mapping[str, str]]) -> Index:
        return Index(firing, reads=self.reads)


class Silences:
    def mutes(self, labels: Labels, now: float) -> list[str]:
        return ["s2", "s1"] if labels == A else []


def firing(listed: list[float]) -> object:
    def alerts(now: float) -> list[Alert]:
        listed.append(now)
        return [Alert(B, {}, T0 - 60, None, T0 - 60)]
    return alerts


def test_inhibition_says_which_alerts_inhibit() -> None:
    check = Inhibition(lambda: Inhibitor(reads=True), firing([])).at(T0)  # type: ignore[arg-type]
    assert check(A) == Muted("inhibited", {"sources": [B.fingerprint()]})
    assert check(B) is None


def test_firing_alerts_are_listed_only_when_an_inhibit_rule_reads_them() -> None:
    """Without inhibit rules the index never reads the firing alerts: listing every
    active alert at every flush made a storm of thousands quadratic."""
    listed: list[float] = []
    check = Inhibition(lambda: Inhibitor(reads=False), firing(listed)).at(T0)  # type: ignore[arg-type]
    assert check(A) is None and listed == []
    Inhibition(lambda: Inhibitor(reads=True), firing(listed)).at(T0)  # type: ignore[arg-type]
    assert listed == [T0]


def test_silencing_names_the_silences_in_order() -> None:
    check = Silencing(lambda: Silences()).at(T0)
    assert check(A) == Muted("silenced", {"silences": ["s1", "s2"]})
    assert check(B) is None
