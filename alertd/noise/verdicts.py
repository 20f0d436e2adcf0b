"""Responder feedback: one verdict per person and page, the latest click winning.

A click on Useful or Noise records one `feedback` event per alert of the page, all with
the page's Slack channel and message time; a person who clicks Useful, then Noise, changes
their mind. So a verdict is keyed by (person, channel, ts), and the latest event of a key
gives its verdict and reason. Feedback recorded without a channel and message time (from
the API, say) is keyed by (person, fingerprint, group key): one verdict per alert.

Verdicts are counted in the period of their key's first event, once in the totals and
once for each rule and each owner of the alerts the key's events were about.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

from alertd.history import HistoryEvent

VERDICTS = ("useful", "noise")


@dataclass(slots=True)
class Verdict:
    verdict: str
    reason: str | None
    period: int
    rules: set[str] = field(default_factory=set)
    owners: set[str | None] = field(default_factory=set)


def verdict_key(e: HistoryEvent) -> Hashable:
    d = e.details
    by = str(d.get("by", ""))
    if d.get("channel") and d.get("ts"):
        return (by, str(d["channel"]), str(d["ts"]))
    return (by, e.fingerprint, str(d.get("group_key", "")))


class VerdictBook:
    """Every verdict of the report's periods (one entry per person and page: a few
    hundred a week, not one per event)."""

    def __init__(self) -> None:
        self._by_key: dict[Hashable, Verdict] = {}

    def record(self, e: HistoryEvent, period: int, rule: str, owner: str | None) -> None:
        verdict = str(e.details.get("verdict", ""))
        if verdict not in VERDICTS:
            return
        reason = e.details.get("reason")
        key = verdict_key(e)
        found = self._by_key.get(key)
        if found is None:
            found = self._by_key[key] = Verdict(verdict, None, period)
        found.verdict = verdict  # events come in time order: this one is the latest
        found.reason = str(reason) if reason else None
        found.rules.add(rule)
        found.owners.add(owner)

    def __iter__(self) -> Iterator[Verdict]:
        return iter(self._by_key.values())
