"""What the buttons of a Slack page do.

    Acknowledge   the page's firing alerts are acknowledged (history), the PagerDuty
                  incident of the same group too; repeats stop nagging in the thread
    Silence 1h    a silence for the group's labels, for an hour, made by the responder
    Useful/Noise  the responder's verdict on each alert of the page, for the noise report

Each shows on the page who did what. The button's value is the page's key (a digest):
it names the page without carrying labels, and a forged value finds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from alertd.clock import Clock
from alertd.errors import AlertdError
from alertd.history import HistoryEvent, ack, feedback
from alertd.model import LabelMatcher
from alertd.notify.outbox import decode
from alertd.receivers import Notification, Notifier, common
from alertd.receivers.page import ActionNote
from alertd.receivers.pagerduty import PagerDutyNotifier
from alertd.receivers.slack import SlackNotifier
from alertd.receivers.slack_blocks import ACK, NOISE, SILENCE_1H, USEFUL
from alertd.silence.model import Silence
from alertd.silence.silences import Silences

log = logging.getLogger("alertd.notify")

# The buttons' action ids are the page's (slack_blocks), so buttons and handler agree.
ACTIONS = frozenset({ACK, SILENCE_1H, USEFUL, NOISE})
SILENCE_FOR = 3600.0


@dataclass(frozen=True, slots=True)
class Responder:
    id: str  # Slack user id
    name: str  # Slack user name, for silences' createdBy and the history

    @property
    def label(self) -> str:
        return f"{self.name} (slack {self.id})" if self.name else f"slack {self.id}"


class SlackActions:
    def __init__(self, clock: Clock, *, integrations: Callable[[], Iterable[Notifier]],
                 silences: Callable[[], Silences],
                 record: Callable[[HistoryEvent], None]) -> None:
        self.clock = clock
        self.integrations = integrations
        self.silences = silences
        self.record = record

    async def act(self, action_id: str, key: str, who: Responder) -> str | None:
        """Carry out a button; what the page now says was done, or None when the page or
        the action is unknown."""
        if action_id not in ACTIONS:
            return None
        for slack in self._of(SlackNotifier):
            page = await slack.page(key)
            if page is None:
                continue
            n, _ = decode(page["last"])
            now = self.clock.now()
            what, update = await self._do(action_id, n, who, now)
            await slack.note(key, ActionNote(who.id, what, now), update)
            log.info("slack: %s on %s by %s", what, n.group_key, who.label)
            return what
        log.warning("slack: a click on %s names no known page", action_id)
        return None

    async def _do(self, action_id: str, n: Notification, who: Responder,
                  now: float) -> tuple[str, Any]:
        if action_id == ACK:
            firing = n.firing()
            for alert in firing:
                self.record(ack(now, alert.labels, by=who.label, via="slack"))
            paged = await self._acknowledge_pagerduty(n.group_key)
            fingerprints = [a.fingerprint for a in firing]

            def mark(value: dict[str, Any]) -> None:
                value["acks"] = {**value.get("acks", {}),
                                 **{fp: {"by": who.id, "at": now} for fp in fingerprints}}

            return "acknowledged" + (" (and in PagerDuty)" if paged else ""), mark
        if action_id == SILENCE_1H:
            silence_id = await self._silence(n, who, now)
            return f"silenced it for 1h (silence {silence_id[:8]})", None
        verdict = "useful" if action_id == USEFUL else "noise"
        for alert in n.alerts:
            self.record(feedback(now, alert.labels, by=who.label, verdict=verdict))
        return f"marked it {verdict}", None

    async def _acknowledge_pagerduty(self, group_key: str) -> bool:
        acknowledged = False
        for pd in self._of(PagerDutyNotifier):
            try:
                acknowledged |= await pd.acknowledge(group_key)
            except AlertdError as exc:
                log.warning("pagerduty: acknowledging %s failed: %s", group_key, exc)
        return acknowledged

    async def _silence(self, n: Notification, who: Responder, now: float) -> str:
        labels = dict(n.group_labels) or common([a.labels for a in n.alerts])
        silence = Silence(
            matchers=tuple(LabelMatcher(k, "=", v) for k, v in sorted(labels.items())),
            starts_at=now, ends_at=now + SILENCE_FOR, created_by=who.label,
            comment=f"Silenced from Slack by {who.name or who.id}")
        return await self.silences().set(silence, now)

    def _of(self, kind: type[Any]) -> list[Any]:
        return [n for n in self.integrations() if isinstance(n, kind)]


