"""What the buttons of a Slack page do.

    Acknowledge   the page's firing alerts are acknowledged (history), the PagerDuty
                  incident of the same group too; repeats stop nagging in the thread
    Silence 1h    a silence for the group's labels, for an hour, made by the responder
    Useful/Noise  the responder's verdict on each alert of the page, for the noise report;
                  Noise also opens a form asking why, whose answer refines the verdict

Each shows on the page who did what. The button's value is the page's key (a digest):
it names the page without carrying labels, and a forged value finds nothing.

Acknowledge acts once: a click when every firing alert is acknowledged already changes
nothing (no second history event, no second PagerDuty acknowledgement, no edit), and the
button then says who acknowledged. A silence made from a page carries the page's key (its
annotation `alertd_slack_page`), so the page follows it however it ends: expired from the
API, the CLI or Slack, replaced by an update, or at its end time (`silence_ended`).

Slack wants a click answered within three seconds, so the work is done in the background
(`start`); tests wait for it with `settle`. The form must be opened within those three
seconds too (its trigger_id expires), so Noise opens it before anything else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from alertd.clock import Clock
from alertd.errors import AlertdError
from alertd.history import HistoryEvent, ack
from alertd.history.about import rule_of
from alertd.model import LabelMatcher, Labels
from alertd.receivers import Notification, Notifier, common, feedback
from alertd.receivers.feedback import Judgement, feedback_event
from alertd.receivers.page import ActionNote, page_view
from alertd.receivers.pagerduty import PagerDutyNotifier
from alertd.receivers.slack import SlackNotifier
from alertd.receivers.slack_blocks import ACK, NOISE, SILENCE_1H, USEFUL
from alertd.receivers.slack_feedback import FormOrigin, noise_form, verdict_note
from alertd.receivers.stored import decode
from alertd.receivers.timewords import clock as _clock
from alertd.silence.model import Silence
from alertd.silence.silences import Silences

log = logging.getLogger("alertd.notify")

# The buttons' action ids are the page's (slack_blocks), so buttons and handler agree.
ACTIONS = frozenset({ACK, SILENCE_1H, USEFUL, NOISE})
SILENCE_FOR = 3600.0
# The annotation of a silence made from a page: the page's key, to follow it to its end.
PAGE_ANNOTATION = "alertd_slack_page"
# A modal must open within the 3 s a trigger_id lives: waiting longer is pointless.
VIEWS_OPEN_TIMEOUT = 3

_N = TypeVar("_N", SlackNotifier, PagerDutyNotifier)  # the integrations buttons act on


@dataclass(frozen=True, slots=True)
class Responder:
    id: str  # Slack user id
    name: str  # Slack user name, for silences' createdBy and the history

    @property
    def label(self) -> str:
        return f"{self.name} (slack {self.id})" if self.name else f"slack {self.id}"


@dataclass(frozen=True, slots=True)
class Click:
    """Where a button was clicked, and what Slack sent along."""

    channel: str = ""  # the message the button was on
    ts: str = ""
    trigger_id: str = ""  # opens a modal, within 3 s of the click
    delivery: str = ""  # the message's metadata, when the payload carries it


class SlackActions:
    def __init__(self, clock: Clock, *, integrations: Callable[[], Iterable[Notifier]],
                 silences: Callable[[], Silences],
                 record: Callable[[HistoryEvent], None]) -> None:
        self.clock = clock
        self.integrations = integrations
        self.silences = silences
        self.record = record
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Carry out `work` in the background (a click is answered before it is done)."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def settle(self) -> None:
        """Wait until the work started so far is done."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def act(self, action_id: str, key: str, who: Responder,
                  click: Click | None = None) -> str | None:
        """Carry out a button; what the page now says was done, or None when the page or
        the action is unknown, or when the click changes nothing (Acknowledge again)."""
        if action_id not in ACTIONS:
            return None
        found = await self._page(key)
        if found is None:
            log.warning("slack: a click on %s names no known page", action_id)
            return None
        slack, page = found
        n, _ = decode(page["last"])
        click = click or Click()
        origin = self._origin(key, page, n, click)
        if action_id == NOISE and click.trigger_id:
            await self._ask_why(slack, n, origin, click.trigger_id)
        now = self.clock.now()
        extra: dict[str, Any] = {}
        if action_id == ACK:
            acked = await self._acknowledge(slack, key, n, who, now, origin)
            if acked is None:
                log.info("slack: %s clicked Acknowledge on %s, acknowledged already: "
                         "nothing changes", who.label, n.group_key)
                return None
            what = acked
        else:
            what, extra = await self._do(action_id, key, n, who, now, origin)
        await slack.note(key, ActionNote(who.id, what, now), extra)
        log.info("slack: %s on %s by %s", what, n.group_key, who.label)
        return what

    async def give_reason(self, origin: FormOrigin, who: Responder, reason: str,
                          comment: str | None) -> str | None:
        """The answer of a Noise form: the verdict again, now with why. None when the page
        is no longer known."""
        found = await self._page(origin.page)
        if found is None:
            log.warning("slack: a noise reason names no known page")
            return None
        slack, page = found
        n, _ = decode(page["last"])
        now = self.clock.now()
        self._judge(n, now, Judgement(
            by=who.label, verdict=feedback.NOISE, channel=origin.channel, ts=origin.ts,
            group_key=origin.group_key or n.group_key, delivery=origin.delivery,
            reason=reason, comment=comment))
        what = verdict_note(feedback.NOISE, reason)
        await slack.note(origin.page, ActionNote(who.id, what, now))
        log.info("slack: %s on %s by %s", what, n.group_key, who.label)
        return what

    async def _page(self, key: str) -> tuple[SlackNotifier, Mapping[str, Any]] | None:
        for slack in self._of(SlackNotifier):
            page = await slack.page(key)
            if page is not None:
                return slack, page
        return None

    @staticmethod
    def _origin(key: str, page: Mapping[str, Any], n: Notification, click: Click) -> FormOrigin:
        """The message judged: the one clicked, else the page's current one."""
        return FormOrigin(page=key, channel=click.channel or str(page.get("channel", "")),
                          ts=click.ts or str(page.get("ts", "")), group_key=n.group_key,
                          delivery=click.delivery or page.get("delivery") or None)

    async def _ask_why(self, slack: SlackNotifier, n: Notification, origin: FormOrigin,
                       trigger_id: str) -> None:
        view = page_view(n)
        about = f"{view.title}: {view.summary}" if view.summary else view.title
        try:
            form = noise_form(origin, about)
            await self._web(slack).views_open(trigger_id=trigger_id, view=form)
        except SlackApiError as exc:
            log.warning("slack: cannot ask why %s is noise: %s", n.group_key,
                        exc.response.get("error"))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("slack: cannot ask why %s is noise: %s", n.group_key, exc)

    @staticmethod
    def _web(slack: SlackNotifier) -> AsyncWebClient:
        # The page's own app and Slack base URL; no retries: the trigger expires first.
        return AsyncWebClient(token=slack.token, base_url=slack.base_url,
                              timeout=VIEWS_OPEN_TIMEOUT, retry_handlers=[])

    async def _acknowledge(self, slack: SlackNotifier, key: str, n: Notification,
                           who: Responder, now: float, origin: FormOrigin) -> str | None:
        """Acknowledge the firing alerts not acknowledged yet; None when there are none.

        They are claimed under the page's lock, so that two clicks at once (two people,
        or one double click) acknowledge once."""
        firing = n.firing()
        claimed: list[str] = []

        def claim(value: dict[str, Any]) -> bool:
            acks = dict(value.get("acks", {}))
            claimed[:] = [a.fingerprint for a in firing if a.fingerprint not in acks]
            acks.update({fp: {"by": who.id, "name": who.name, "at": now} for fp in claimed})
            value["acks"] = acks
            return bool(claimed)

        # Shown with the note that follows, in one edit.
        if not await slack.change(key, claim, now, show=False):
            return None
        for alert in firing:
            if alert.fingerprint in claimed:
                self.record(ack(now, alert.labels, by=who.label, via="slack",
                                group_key=n.group_key, delivery_id=origin.delivery,
                                rule=rule_of(alert.labels, alert.source)))
        paged = await self._acknowledge_pagerduty(n.group_key, who.label)
        return "acknowledged" + (" (and in PagerDuty)" if paged else "")

    async def _do(self, action_id: str, key: str, n: Notification, who: Responder,
                  now: float, origin: FormOrigin) -> tuple[str, dict[str, Any]]:
        """Silence 1h, Useful, Noise: what the page's note says, and what it remembers."""
        if action_id == SILENCE_1H:
            silence_id = await self._silence(key, n, who, now)
            return f"silenced it for 1h (silence {silence_id[:8]})", {"silence": silence_id}
        # Noise counts at once, so closing the form without answering still counts.
        verdict = feedback.USEFUL if action_id == USEFUL else feedback.NOISE
        self._judge(n, now, Judgement(
            by=who.label, verdict=verdict, channel=origin.channel or None,
            ts=origin.ts or None, group_key=n.group_key, delivery=origin.delivery))
        return verdict_note(verdict), {}

    def _judge(self, n: Notification, now: float, judgement: Judgement) -> None:
        for alert in n.alerts:
            self.record(feedback_event(now, alert.labels, judgement,
                                       rule=rule_of(alert.labels, alert.source)))

    async def _acknowledge_pagerduty(self, group_key: str, by: str) -> bool:
        acknowledged = False
        for pd in self._of(PagerDutyNotifier):
            try:
                acknowledged |= await pd.acknowledge(group_key, by=by)
            except AlertdError as exc:
                log.warning("pagerduty: acknowledging %s failed: %s", group_key, exc)
        return acknowledged

    async def _silence(self, key: str, n: Notification, who: Responder, now: float) -> str:
        labels = dict(n.group_labels) or common([a.labels for a in n.alerts])
        silence = Silence(
            matchers=tuple(LabelMatcher(k, "=", v) for k, v in sorted(labels.items())),
            starts_at=now, ends_at=now + SILENCE_FOR, created_by=who.label,
            comment=f"Silenced from Slack by {who.name or who.id}",
            annotations=Labels({PAGE_ANNOTATION: key}))
        return await self.silences().set(silence, now, via="slack")

    # --- the page follows its silences -------------------------------------------------
    def silence_ended(self, silence: Silence, successor: Silence | None) -> None:
        """Silences' `on_end`: a silence made from a page ended; the page says so."""
        key = silence.annotations.get(PAGE_ANNOTATION)
        if key:
            self.start(self._follow(key, silence, successor),
                       name=f"slack page follows silence {silence.id}")

    async def _follow(self, key: str, silence: Silence, successor: Silence | None) -> None:
        found = await self._page(key)
        if found is None:
            return  # forgotten (quiet for a week), or not a page of these integrations
        slack, _ = found
        now = self.clock.now()
        # An update that replaced the silence keeps the page's annotation (unless the
        # update set others): the page then follows the new silence.
        follows = successor is not None and successor.annotations.get(PAGE_ANNOTATION) == key

        def edit(value: dict[str, Any]) -> bool:
            # Copies: the stored state is compared with the new one to tell a change.
            actions = [dict(a) for a in value.get("actions", [])]
            note = next((a for a in actions if a.get("silence") == silence.id
                         and a.get("silence_ended") is None), None)
            if note is None:
                return False
            if follows and successor is not None:
                note["silence"] = successor.id
                note["what"] = (f"silenced it (silence {successor.id[:8]}, changed to end "
                                f"{_clock(successor.ends_at, now)})")
            else:
                note["silence_ended"] = silence.ends_at
            value["actions"] = actions
            return True

        if await slack.change(key, edit, now):
            log.info("slack: the page %s shows that silence %s ended", key[:12], silence.id)

    def _of(self, kind: type[_N]) -> list[_N]:
        return [n for n in self.integrations() if isinstance(n, kind)]

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed: %s", task.get_name(), task.exception(),
                      exc_info=task.exception())


