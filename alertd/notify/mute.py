"""What mutes an alert at a flush: inhibition and silences, behind one protocol.

A `Muter` is asked once per flush (`at`), which lets inhibition index the firing alerts
once; the check it gives answers, for each alert's labels, what mutes it (a `Muted`: the
history event to record and its details) or None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from alertd.alerts.model import Alert
from alertd.model import Labels


@dataclass(frozen=True, slots=True)
class Muted:
    kind: str  # the history event recorded: "inhibited" or "silenced"
    details: Mapping[str, object]


MuteCheck = Callable[[Labels], "Muted | None"]


class Muter(Protocol):
    def at(self, now: float) -> MuteCheck: ...


class SilenceIndex(Protocol):
    def mutes(self, labels: Labels, now: float) -> list[str]: ...


class InhibitIndex(Protocol):
    def inhibited_by(self, target: Mapping[str, str]) -> list[Labels]: ...


class Inhibitor(Protocol):
    def index(self, firing: Iterable[Mapping[str, str]]) -> InhibitIndex: ...


@dataclass(frozen=True, slots=True)
class Silencing:
    """Silences (looked up at each flush: a restart or a reload replaces them)."""

    silences: Callable[[], SilenceIndex]

    def at(self, now: float) -> MuteCheck:
        silences = self.silences()

        def check(labels: Labels) -> Muted | None:
            found = silences.mutes(labels, now)
            return Muted("silenced", {"silences": sorted(found)}) if found else None

        return check


@dataclass(frozen=True, slots=True)
class Inhibition:
    """Inhibit rules over the alerts firing now (looked up at each flush)."""

    inhibitor: Callable[[], Inhibitor]
    firing_alerts: Callable[[float], Iterable[Alert]]

    def at(self, now: float) -> MuteCheck:
        # A generator: without inhibit rules the index never reads it, and a flush does
        # not walk every firing alert for nothing.
        index = self.inhibitor().index(_labels(self.firing_alerts, now))

        def check(labels: Labels) -> Muted | None:
            sources = index.inhibited_by(labels)
            if not sources:
                return None
            return Muted("inhibited", {"sources": sorted(s.fingerprint() for s in sources)})

        return check


def _labels(firing: Callable[[float], Iterable[Alert]], now: float) -> Iterator[Labels]:
    # The firing alerts are listed only if the index reads them (every active alert, at
    # every flush: with thousands active, most of a flush's time).
    for alert in firing(now):
        yield alert.labels
