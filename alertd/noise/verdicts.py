"""Responder feedback: one verdict per person and page, the latest click winning.

A click on Useful or Noise records one `feedback` event per alert of the page, all with
the page's Slack channel and message time; a person who clicks Useful, then Noise, changes
their mind. So a verdict is keyed by (person, channel, ts), and the latest event of a key
gives its verdict and reason. Feedback recorded without a channel and message time (from
the API, say) is keyed by (person, fingerprint, group key): one verdict per alert.

Verdicts are counted in the period of their key's first event, once in the totals and
once for each rule and each owner of the alerts the key's events were about.

Read in time order, verdicts are kept to the end of the report (a later click may change
any), so each is kept small: the names in it (the person, the channel, the reason) are
shared by all the verdicts that have them, and its rules and owners, one of each as a
rule, are tuples. A store reads the feedback events in the order of their keys instead
(alertd.store.history_read.by_voter): each verdict is then done, and counted, when the
next key begins, and only one is kept at a time, however many a long period holds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from alertd.noise.event import Event
from alertd.noise.figures import TOTAL, Tallies, owner_scope, rule_scope

VERDICTS = ("useful", "noise")


@dataclass(slots=True)
class Verdict:
    verdict: str
    reason: str | None
    period: int
    rules: tuple[str, ...] = ()  # each once
    owners: tuple[str | None, ...] = ()  # each once


def verdict_key(e: Event) -> Hashable:
    d = e.details
    by = sys.intern(str(d.get("by", "")))
    if d.get("channel") and d.get("ts"):
        return (by, sys.intern(str(d["channel"])), str(d["ts"]))
    return (by, e.fingerprint, str(d.get("group_key", "")))


class VerdictBook:
    """The verdicts of the report's periods, each handed to `done` once no later click can
    change it: at `close` (events in time order: any later click may), or when the next
    key begins (`key_order`: events in the order of their keys, then of time), so that
    only one is kept at a time."""

    def __init__(self, done: Callable[[Verdict], None], *, key_order: bool = False) -> None:
        self._by_key: dict[Hashable, Verdict] = {}
        self._done = done
        self._key_order = key_order

    def record(self, e: Event, period: int, rule: str, owner: str | None) -> None:
        given = e.details.get("verdict", "")
        if given not in VERDICTS:
            return
        verdict = VERDICTS[VERDICTS.index(given)]
        reason = e.details.get("reason")
        key = verdict_key(e)
        found = self._by_key.get(key)
        if found is None:
            if self._key_order:
                self.close()  # the verdict before is done
            found = self._by_key[key] = Verdict(verdict, None, period)
        found.verdict = verdict  # events come in time order: this one is the latest
        found.reason = sys.intern(str(reason)) if reason else None
        if rule not in found.rules:
            found.rules += (rule,)
        if owner not in found.owners:
            found.owners += (owner,)

    def close(self) -> None:
        """Hand the verdicts kept to `done`, and forget them."""
        for verdict in self._by_key.values():
            self._done(verdict)
        self._by_key.clear()


def count_verdict(v: Verdict, tallies: Tallies) -> None:
    """A verdict counted once in the totals and once for each of its rules and owners."""
    for scope in (TOTAL, *(rule_scope(r) for r in v.rules),
                  *(owner_scope(o) for o in v.owners)):
        tally = tallies(v.period, scope)
        if v.verdict == "useful":
            tally.useful += 1
        else:
            tally.noise += 1
        if v.reason:
            tally.reasons[v.reason] += 1
