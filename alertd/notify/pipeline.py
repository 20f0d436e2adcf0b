"""What happens when an aggregation group flushes, in Alertmanager's order:

    inhibition -> time intervals -> silences -> per integration: dedup (notification log)
    -> outbox (with the notification log entry) -> send, retried -> record (history)

Muting happens here, at flush time, so a silence made after an alert fired still applies.
Every decision is recorded in the alert's history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Protocol

from alertd.alerts.model import Alert
from alertd.dispatch.group import AggregationGroup
from alertd.model import Labels
from alertd.receivers import Notification, Notifier

# Decisions taken again at every flush, recorded only when they change.
_REPEATED = frozenset({"dedup", "silenced", "inhibited", "muted"})


class SilenceIndex(Protocol):
    def mutes(self, labels: Labels, now: float) -> list[str]: ...


class InhibitIndex(Protocol):
    def inhibited_by(self, target: Mapping[str, str]) -> list[Labels]: ...


class Inhibitor(Protocol):
    def index(self, firing: Iterable[Mapping[str, str]]) -> InhibitIndex: ...


class Entry(Protocol):
    firing: frozenset[str]


class NotificationLog(Protocol):
    def query(self, group_key: str, receiver: str) -> Any: ...



NeedsUpdate = Callable[..., tuple[bool, str]]
Submit = Callable[[Notification, str, str, int, set[str], set[str]], Awaitable[None]]
"""(notification, reason, integration, index, firing, resolved): hand to the outbox."""
Record = Callable[[str, Alert, Mapping[str, Any], float], None]
"""(kind, alert, details, at): one history event."""


@dataclass(frozen=True, slots=True)
class RouteOptions:
    receiver: str
    mute_reason: str | None  # a mute/active time interval that holds now, if any
    notify_resolved_after_mute: bool = False


@dataclass
class FlushResult:
    delivered_resolved: set[str] = field(default_factory=set)
    sent: int = 0  # notifications handed to the outbox
    ended: frozenset[str] = frozenset()  # the group's alerts that had resolved by the flush


class Pipeline:
    def __init__(self, *, silences: SilenceIndex, inhibitor: Inhibitor,
                 nflog: NotificationLog, needs_update: NeedsUpdate,
                 integrations: Callable[[str], Sequence[Notifier]],
                 firing_alerts: Callable[[float], Iterable[Alert]], record: Record,
                 submit: Submit) -> None:
        self.silences = silences
        self.inhibitor = inhibitor
        self.nflog = nflog
        self.needs_update = needs_update
        self.integrations = integrations
        self.firing_alerts = firing_alerts
        self._record = record
        self.submit = submit
        # The last decision recorded per (kind, alert, receiver): a decision that repeats
        # at every flush (still silenced, still nothing new) is recorded once.
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

    async def flush(self, group: AggregationGroup, options: RouteOptions,
                    now: float) -> FlushResult:
        # Which alerts have ended, worked out once: every stage below asks.
        ended = frozenset(f for f, a in group.alerts.items() if a.resolved(now))
        alerts = _in_order(group.alerts, ended)
        # When nothing goes out, the flush still succeeds, as in Alertmanager: resolved
        # alerts are done with and leave the group.
        result = FlushResult(set(ended), ended=ended)
        if options.mute_reason is not None:
            self.record_each("muted", alerts, {"receiver": options.receiver,
                                               "group_key": group.key,
                                               "reason": options.mute_reason}, now)
            return result
        kept, held = self._unmuted(group, alerts, ended, options, now)
        if not kept and not any(a.fingerprint in ended for a in held):
            # Everything is muted: nothing goes further, not even to dedup (Alertmanager
            # stops its pipeline on an empty list too).
            return result
        result.delivered_resolved = set()
        for index, integration in enumerate(self.integrations(options.receiver)):
            await self._flush_integration(group, options.receiver, index, integration,
                                          _Shown(kept, held, ended), now, result)
        return result

    async def _flush_integration(self, group: AggregationGroup, receiver: str, index: int,
                                 integration: Notifier, alerts: _Shown, now: float,
                                 result: FlushResult) -> None:
        nflog_receiver = f"{receiver}/{integration.name}/{index}"
        entry = self.nflog.query(group.key, nflog_receiver)
        ended = alerts.ended
        # The muted alerts this integration was told are firing and was never told
        # resolved: a resolved one is news to it; a firing one is still firing as far as
        # it knows, so it stays in the log and keeps the group from reading as resolved.
        told = [a for a in alerts.held if entry is not None and a.fingerprint in entry.firing]
        still = [a for a in told if a.fingerprint not in ended]
        told_ended = [a for a in told if a.fingerprint in ended]
        # `kept` is in order already; only the resolutions told after a mute join it.
        shown = _in_order({a.fingerprint: a for a in [*alerts.kept, *told_ended]}, ended) \
            if told_ended else alerts.kept
        if not shown:
            return
        firing = {a.fingerprint for a in [*shown, *still] if a.fingerprint not in ended}
        resolved = {a.fingerprint for a in shown if a.fingerprint in ended}
        send, reason = self.needs_update(
            entry, firing, resolved, repeat_interval=group.repeat_interval,
            send_resolved=integration.send_resolved, now=now)
        self.record_each("dedup", shown, {"receiver": nflog_receiver, "group_key": group.key,
                                          "send": send, "reason": reason}, now)
        result.delivered_resolved |= resolved
        if not send:
            return
        to_send = [a for a in shown if integration.send_resolved or a.fingerprint not in ended]
        if to_send and all(a.fingerprint in ended for a in to_send):
            # Resolutions only would read as the end of the group (Slack turns the page
            # green, PagerDuty resolves the incident) while a muted alert it was paged
            # for still fires: that alert goes along, firing.
            to_send = [*still, *to_send]
        notification = Notification(receiver, group.key, group.labels, to_send, now)
        # Written to the outbox (with the log entry) before the first attempt: from here
        # on the notification is the outbox's to deliver, retries and restarts included.
        await self.submit(notification, reason, nflog_receiver, index, firing, resolved)
        result.sent += 1

    def _unmuted(self, group: AggregationGroup, alerts: Sequence[Alert], ended: AbstractSet[str],
                 options: RouteOptions, now: float) -> tuple[list[Alert], list[Alert]]:
        """The alerts no mute holds, and the muted ones the receiver was told are firing,
        when the route wants their resolution told (`notify_resolved_after_mute`)."""
        # A generator: without inhibit rules the index never reads it, and a flush does
        # not walk every firing alert for nothing.
        index = self.inhibitor.index(self._firing_labels(now))
        kept: list[Alert] = []
        held: list[Alert] = []
        for alert in alerts:
            inhibitors = index.inhibited_by(alert.labels)
            silences = [] if inhibitors else self.silences.mutes(alert.labels, now)
            if not inhibitors and not silences:
                kept.append(alert)
                continue
            if options.notify_resolved_after_mute and \
                    self._was_notified(group, options.receiver, alert):
                held.append(alert)
                if alert.fingerprint in ended:
                    # The receiver saw it firing before the mute: its resolution goes out.
                    continue
            if inhibitors:
                self.record("inhibited", alert, {
                    "sources": sorted(labels.fingerprint() for labels in inhibitors)}, now)
            else:
                self.record("silenced", alert, {"silences": sorted(silences)}, now)
        return kept, held

    def _firing_labels(self, now: float) -> Iterator[Labels]:
        for alert in self.firing_alerts(now):
            yield alert.labels

    def _was_notified(self, group: AggregationGroup, receiver: str, alert: Alert) -> bool:
        # The log keeps a muted alert among the firing ones until its resolution is told
        # (see _flush_integration), so the latest entry answers even after other news.
        for index, integration in enumerate(self.integrations(receiver)):
            entry = self.nflog.query(group.key, f"{receiver}/{integration.name}/{index}")
            if entry is not None and alert.fingerprint in entry.firing:
                return True
        return False


def _in_order(alerts: Mapping[str, Alert], ended: AbstractSet[str]) -> list[Alert]:
    """The alerts firing first, then the `ended` ones, each by fingerprint: the
    fingerprints sorted as plain strings, a fraction of the cost of a key function per
    alert, at every flush of every group."""
    keys = sorted(alerts)
    if not ended:
        return [alerts[f] for f in keys]
    return [*(alerts[f] for f in keys if f not in ended), *(alerts[f] for f in keys if f in ended)]


@dataclass(frozen=True, slots=True)
class _Shown:
    """A flush's alerts as every integration starts from them: those no mute holds (in
    order), the muted ones whose resolution may be told, and which have ended."""

    kept: list[Alert]
    held: list[Alert]
    ended: AbstractSet[str]
