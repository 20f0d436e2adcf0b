"""Responders' verdicts on pages (Useful / Noise), as history events and as the noise
report counts them.

A click is recorded as a `feedback` event on each alert of the page (the history is
append-only, and `alertd explain` shows every click), naming the page by the channel and
ts of its Slack message. A person changes their mind by clicking again, and a Noise click
is refined when its "why" form is sent; so the verdict of a person on a page is their
latest feedback event on it, and a page counts one verdict per person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alertd.history import HistoryEvent, feedback
from alertd.model import Labels

USEFUL, NOISE = "useful", "noise"
VERDICTS = (USEFUL, NOISE)

# Why a page was noise (the history contract's values), with the words the form shows.
REASONS: Mapping[str, str] = {
    "too_sensitive": "Too sensitive",
    "not_actionable": "Not actionable",
    "duplicate": "Duplicate of another page",
    "wrong_team": "Wrong team",
    "other": "Other",
}

PageVoter = tuple[str, str, str]
"""(by, channel, ts): one person on one page."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one responder said about one page."""

    by: str
    verdict: str  # useful | noise
    channel: str | None = None  # the page's Slack message
    ts: str | None = None
    group_key: str | None = None
    delivery: str | None = None  # the delivery that posted the page
    reason: str | None = None  # for noise, one of REASONS
    comment: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f'unknown verdict "{self.verdict}"')
        if self.reason is not None and self.reason not in REASONS:
            raise ValueError(f'unknown noise reason "{self.reason}"')


def feedback_event(at: float, labels: Labels, j: Judgement, *,
                   rule: str | None = None) -> HistoryEvent:
    """The `feedback` event of judgement `j` on the alert with these labels (from `rule`,
    when one of alertd's rules made it)."""
    return feedback(at, labels, by=j.by, verdict=j.verdict, reason=j.reason,
                    comment=j.comment, group_key=j.group_key, delivery_id=j.delivery,
                    channel=j.channel, ts=j.ts, rule=rule)


def verdicts(events: Iterable[HistoryEvent]) -> dict[PageVoter, HistoryEvent]:
    """The verdict of each person on each page: their latest `feedback` event on it.

    Later `at` wins; at equal times (the events of one click, one per alert of the page)
    the one listed last. Events naming no page (no channel or ts) cannot be told apart
    from a change of mind, so they are left out.
    """
    latest: dict[PageVoter, HistoryEvent] = {}
    for e in events:
        if e.kind != "feedback":
            continue
        key = _voter(e)
        if key is None:
            continue
        seen = latest.get(key)
        if seen is None or e.at >= seen.at:
            latest[key] = e
    return latest


def _voter(e: HistoryEvent) -> PageVoter | None:
    by, channel, ts = (e.details.get(k) for k in ("by", "channel", "ts"))
    if not (isinstance(by, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    if not channel or not ts:
        return None
    return by, channel, ts
