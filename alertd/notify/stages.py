"""The stages of a flush (alertd.notify.pipeline puts them in order): the route's time
intervals, the mutes (inhibition, silences), and per integration the notification log's
dedup and the hand-over to the outbox. Each records its decisions in the alerts' history
through `Decisions`, which records a decision repeated at every flush once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Any, Protocol

from alertd.alerts.model import Alert
from alertd.dispatch.flush import Flush, FlushResult, in_order
from alertd.nflog.log import Entry
from alertd.notify.mute import MuteCheck, Muted, Muter
from alertd.receivers import Notification, Notifier

# Decisions taken again at every flush, recorded only when they change.
_REPEATED = frozenset({"dedup", "silenced", "inhibited", "muted"})

Record = Callable[[str, Alert, Mapping[str, Any], float], None]
"""(kind, alert, details, at): one history event."""
Submit = Callable[[Notification, str, str, int, set[str], set[str]], Awaitable[None]]
"""(notification, reason, integration, index, firing, resolved): hand to the outbox."""


class NotificationLog(Protocol):
    def query(self, group_key: str, receiver: str) -> Entry | None: ...


class NeedsUpdate(Protocol):
    """alertd.nflog.needs_update: whether the receiver must be told, and why."""

    def __call__(self, entry: Entry | None, firing: AbstractSet[str],
                 resolved: AbstractSet[str], *, repeat_interval: float, send_resolved: bool,
                 now: float) -> tuple[bool, str]: ...


def log_receiver(receiver: str, integration: str, index: int) -> str:
    """The name the notification log keeps a receiver's integration under."""
    return f"{receiver}/{integration}/{index}"


class Decisions:
    """The history of a flush's decisions. A decision that repeats at every flush (still
    silenced, still nothing new) is recorded once per alert and receiver."""

    def __init__(self, record: Record) -> None:
        self._record = record
        # The last decision recorded per (kind, alert, receiver).
        self._last: dict[tuple[str, str, str], str] = {}

    def record(self, kind: str, alert: Alert, details: Mapping[str, Any], at: float) -> None:
        self.record_each(kind, (alert,), details, at)

    def record_each(self, kind: str, alerts: Iterable[Alert], details: Mapping[str, Any],
                    at: float) -> None:
        """One decision taken for each of `alerts` (a flush decides for all its alerts at
        once): recorded for each, a repeated one only when it changed."""
        if kind not in _REPEATED:
            for alert in alerts:
                self._record(kind, alert, details, at)
            return
        receiver = str(details.get("receiver", ""))
        # "nothing new (last sent 2m ago)" is the same decision as a minute earlier.
        summary = repr(sorted((k, str(v).split(" (")[0]) for k, v in details.items()))
        for alert in alerts:
            key = (kind, alert.fingerprint, receiver)
            if self._last.get(key) != summary:
                self._last[key] = summary
                self._record(kind, alert, details, at)

    def forget(self, fingerprints: Iterable[str]) -> None:
        """Alerts that left the store: drop what was remembered about them."""
        gone = set(fingerprints)
        self._last = {k: v for k, v in self._last.items() if k[1] not in gone}


class NoDecisions(Decisions):
    """Decisions recorded nowhere (a replay of the history records nothing)."""

    def __init__(self) -> None:
        super().__init__(lambda kind, alert, details, at: None)

    def record_each(self, kind: str, alerts: Iterable[Alert], details: Mapping[str, Any],
                    at: float) -> None:
        return None


@dataclass(frozen=True, slots=True)
class TimeMute:
    """A route muted by its time intervals now sends nothing; its resolved alerts are
    done with all the same (as in Alertmanager)."""

    decisions: Decisions

    async def __call__(self, flush: Flush, result: FlushResult) -> Flush | None:
        if flush.mute_reason is None:
            return flush
        self.decisions.record_each("muted", flush.alerts, {
            "receiver": flush.receiver, "group_key": flush.group_key,
            "reason": flush.mute_reason}, flush.now)
        return None


@dataclass(frozen=True, slots=True)
class Mutes:
    """Alerts an inhibit rule or a silence mutes go no further; the muted ones the
    receiver was told are firing are held, when the route wants their resolution told
    (`notify_resolved_after_mute`). Everything muted: nothing goes further, not even to
    dedup (Alertmanager stops its pipeline on an empty list too)."""

    muters: Sequence[Muter]  # in order: the first that mutes an alert says why
    decisions: Decisions
    was_notified: Callable[[Flush, Alert], bool]

    async def __call__(self, flush: Flush, result: FlushResult) -> Flush | None:
        checks = [muter.at(flush.now) for muter in self.muters]
        kept: list[Alert] = []
        held: list[Alert] = []
        for alert in flush.alerts:
            muted = _first(checks, alert)
            if muted is None:
                kept.append(alert)
                continue
            if flush.notify_resolved_after_mute and self.was_notified(flush, alert):
                held.append(alert)
                if alert.fingerprint in flush.ended:
                    # The receiver saw it firing before the mute: its resolution goes out.
                    continue
            self.decisions.record(muted.kind, alert, muted.details, flush.now)
        if not kept and not any(a.fingerprint in flush.ended for a in held):
            return None
        if len(kept) == len(flush.alerts):  # nothing muted: most flushes
            return flush
        return replace(flush, alerts=tuple(kept), held=tuple(held))


def _first(checks: Sequence[MuteCheck], alert: Alert) -> Muted | None:
    for check in checks:
        muted = check(alert.labels)
        if muted is not None:
            return muted
    return None


@dataclass(frozen=True, slots=True)
class Notify:
    """Per integration of the receiver: the notification log says whether there is news
    (dedup); a notification with news goes to the outbox."""

    integrations: Callable[[str], Sequence[Notifier]]
    nflog: NotificationLog
    needs_update: NeedsUpdate
    submit: Submit
    decisions: Decisions

    async def __call__(self, flush: Flush, result: FlushResult) -> Flush | None:
        result.delivered_resolved = set()
        for index, integration in enumerate(self.integrations(flush.receiver)):
            await self._one(flush, index, integration, result)
        return flush

    async def _one(self, flush: Flush, index: int, integration: Notifier,
                   result: FlushResult) -> None:
        nflog_receiver = log_receiver(flush.receiver, integration.name, index)
        entry = self.nflog.query(flush.group_key, nflog_receiver)
        ended = flush.ended
        # The muted alerts this integration was told are firing and was never told
        # resolved: a resolved one is news to it; a firing one is still firing as far as
        # it knows, so it stays in the log and keeps the group from reading as resolved.
        told = [a for a in flush.held if entry is not None and a.fingerprint in entry.firing]
        still = [a for a in told if a.fingerprint not in ended]
        told_ended = [a for a in told if a.fingerprint in ended]
        # The alerts are in order already; only the resolutions told after a mute join them.
        shown = in_order({a.fingerprint: a for a in [*flush.alerts, *told_ended]}, ended) \
            if told_ended else flush.alerts
        if not shown:
            return
        firing = {a.fingerprint for a in [*shown, *still] if a.fingerprint not in ended}
        resolved = {a.fingerprint for a in shown if a.fingerprint in ended}
        send, reason = self.needs_update(
            entry, firing, resolved, repeat_interval=flush.repeat_interval,
            send_resolved=integration.send_resolved, now=flush.now)
        self.decisions.record_each("dedup", shown, {
            "receiver": nflog_receiver, "group_key": flush.group_key, "send": send,
            "reason": reason}, flush.now)
        result.delivered_resolved |= resolved
        if not send:
            return
        to_send = [a for a in shown if integration.send_resolved or a.fingerprint not in ended]
        if to_send and all(a.fingerprint in ended for a in to_send):
            # Resolutions only would read as the end of the group (Slack turns the page
            # green, PagerDuty resolves the incident) while a muted alert it was paged
            # for still fires: that alert goes along, firing.
            to_send = [*still, *to_send]
        notification = Notification(flush.receiver, flush.group_key, flush.group_labels,
                                    to_send, flush.now)
        # Written to the outbox (with the log entry) before the first attempt: from here
        # on the notification is the outbox's to deliver, retries and restarts included.
        await self.submit(notification, reason, nflog_receiver, index, firing, resolved)
        result.sent += 1
