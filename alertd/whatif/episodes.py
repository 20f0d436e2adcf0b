"""The condition timeline of a rule, rebuilt from its recorded state changes.

The history records when an instance went pending, fired and resolved, not the
evaluations in between. What a replay needs is when the rule's condition held for each
instance (an episode), independent of the rule's `for` and `keep_firing_for`, which
are what a what-if changes:

    inactive -> pending at a          the condition started to hold at a
    inactive -> firing at a           (`for` 0) the same
    pending -> firing                 no change: it still holds
    pending -> inactive at r          it stopped holding at r
    firing -> resolved at r           it stopped at r, or, when the rule held it with
                                      keep_firing_for, that long before r

An instance whose first recorded change is a resolution (its episode began before the
history read) is taken as holding from the start of what was read. Whatever the
condition did while an instance was held firing (it may have come back within
keep_firing_for) is not recorded; the episode then covers the hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alertd.history import HistoryEvent
from alertd.model import Labels

PENDING, FIRING, RESOLVED, INACTIVE = "pending", "firing", "resolved", "inactive"
KEEP_FIRING_FOR_ENDED = "keep_firing_for_ended"


@dataclass(frozen=True, slots=True)
class Episode:
    """The condition held for `labels` from `start` until `end` (excluded; None: still
    holding when the history read ends)."""

    labels: Labels
    start: float
    end: float | None
    value: float = 1.0  # the value that made it pending or fire (what a page shows)


def episodes(transitions: Iterable[HistoryEvent], *, since: float, for_: float,
             keep_firing_for: float) -> list[Episode]:
    """The episodes of one rule's instances, from its transitions in time order read from
    `since`; `for_` and `keep_firing_for` are the rule's settings when they were recorded
    (its current ones, as far as the report knows)."""
    open_: dict[str, Episode] = {}
    done: list[Episode] = []
    for e in transitions:
        new, old = e.details.get("to"), e.details.get("from")
        current = open_.get(e.fingerprint)
        if new in (PENDING, FIRING):
            if current is None:
                # Fired without a recorded start: it had held for `for` already.
                start = e.at - for_ if new == FIRING and old == PENDING else e.at
                open_[e.fingerprint] = Episode(e.labels, max(start, since), None,
                                               _value(e.details.get("value")))
            continue
        if new not in (RESOLVED, INACTIVE):
            continue
        if current is None:
            current = Episode(e.labels, since, None)
        end = e.at
        if old == FIRING and e.details.get("reason") == KEEP_FIRING_FOR_ENDED:
            end = max(current.start, e.at - keep_firing_for)
        open_.pop(e.fingerprint, None)
        if end > current.start:
            done.append(Episode(current.labels, current.start, end, current.value))
    done.extend(open_.values())
    return sorted(done, key=lambda ep: (ep.start, ep.labels.fingerprint()))


def _value(raw: object) -> float:
    return float(raw) if isinstance(raw, int | float) and raw == raw else 1.0
