"""Everything between the alert store and the receivers, built from the configuration:

    routes -> aggregation groups -> inhibition, time intervals, silences -> dedup -> send

`Notifications.reconfigure(config)` swaps routes, inhibition, time intervals and receivers
on a reload; the groups are rebuilt from the current alerts, keeping their timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.clock import Clock
from alertd.config import Config
from alertd.config.routing import Receiver
from alertd.dispatch.dispatcher import Dispatcher
from alertd.dispatch.inhibit import Inhibitor
from alertd.dispatch.route import Route
from alertd.dispatch.timeintervals import TimeIntervals
from alertd.errors import NotifyError
from alertd.history import event
from alertd.history.recorder import HistoryRecorder
from alertd.model import Labels
from alertd.nflog.log import NotificationLog, needs_update
from alertd.notify.pipeline import Pipeline
from alertd.receivers import Notification, Notifier
from alertd.receivers.console import ConsoleNotifier
from alertd.receivers.webhook import WebhookNotifier
from alertd.silence.silences import Silences
from alertd.store import Store

log = logging.getLogger("alertd.notify")

CONSOLE = "console"
SWEEP_INTERVAL = 10.0  # how often alerts that ended by the clock are looked for


class _NotYetNotifier:
    """A Slack or PagerDuty config: parsed and routed to, delivered by a later version."""

    send_resolved = True

    def __init__(self, name: str) -> None:
        self.name = name

    async def notify(self, notification: Notification, reason: str = "") -> str:
        raise NotifyError(f"{self.name} notifications are not available in this version",
                          retryable=False)


def _secret(value: Any, file: str | None) -> str:
    if value is not None:
        return str(value.get_secret_value())
    assert file is not None
    return Path(file).read_text("utf-8").strip()


def build_integrations(receivers: Sequence[Receiver], *, console: TextIO | None,
                       external_url: str) -> dict[str, list[Notifier]]:
    out: dict[str, list[Notifier]] = {}
    for receiver in receivers:
        notifiers: list[Notifier] = []
        for hook in receiver.webhook_configs:
            notifiers.append(WebhookNotifier(_secret(hook.url, hook.url_file),
                                             send_resolved=hook.send_resolved,
                                             max_alerts=hook.max_alerts,
                                             external_url=external_url))
        notifiers += [_NotYetNotifier("slack") for _ in receiver.slack_configs]
        notifiers += [_NotYetNotifier("pagerduty") for _ in receiver.pagerduty_configs]
        if not notifiers and receiver.name == CONSOLE:
            # The built-in receiver of the defaults: notifications on standard output.
            notifiers.append(ConsoleNotifier(console))
        out[receiver.name] = notifiers
    return out


class Notifications:
    def __init__(self, config: Config, clock: Clock, alerts: AlertStore, *,
                 history: HistoryRecorder | None = None, console: TextIO | None = None,
                 external_url: str = "") -> None:
        self.clock = clock
        self.alerts = alerts
        self.history = history
        self.console = console
        self.external_url = external_url
        self.silences = Silences()
        self.nflog: NotificationLog | None = None
        self._apply(config)
        self.pipeline = Pipeline(
            silences=self.silences, inhibitor=self, nflog=self, needs_update=needs_update,
            integrations=lambda name: self.integrations.get(name, []),
            firing_alerts=self.alerts.active, record=self._record)
        self.dispatcher = Dispatcher(
            self.routes, self.pipeline, clock, time_mute=self._time_mute, record=self._record,
            notify_resolved_after_mute=lambda route: route.notify_resolved_after_mute)
        alerts.subscribe(self._on_alerts)
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Future[None]] = set()

    def _apply(self, config: Config) -> None:
        self.routes = Route.from_config(config.route)
        self.inhibitor = Inhibitor(config.inhibit_rules)
        self.intervals = TimeIntervals.from_config(config.time_intervals,
                                                   config.mute_time_intervals)
        self._receivers = config.receivers
        self._apply_integrations()
        self.receiver_names = [r.name for r in config.receivers]
        self.resolve_timeout = float(config.global_.resolve_timeout)

    def _apply_integrations(self) -> None:
        self.integrations = build_integrations(self._receivers, console=self.console,
                                               external_url=self.external_url)

    # The pipeline asks these two through this object, so a reload swaps them in place.
    def index(self, firing: Any) -> Any:
        return self.inhibitor.index(firing)

    def query(self, group_key: str, receiver: str) -> Any:
        return self.nflog.query(group_key, receiver) if self.nflog else None

    async def log(self, group_key: str, receiver: str, firing: set[str], resolved: set[str],
                  at: float, retention: float) -> None:
        if self.nflog is not None:
            await self.nflog.log(group_key, receiver, firing, resolved, at, retention)

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self, store: Store | None, *, run: bool = True) -> None:
        now = self.clock.now()
        if store is not None:
            self.silences = await Silences.open(store.silences, now)
            self.pipeline.silences = self.silences
            self.nflog = NotificationLog(store.nflog, self.clock)
            await self.nflog.load()
        if run:
            self._tasks = [asyncio.create_task(self.dispatcher.run(), name="dispatch"),
                           asyncio.create_task(self._maintenance(), name="notify gc")]
            if self.history is not None:
                self._tasks.append(asyncio.create_task(self.history.run(), name="history"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.history is not None:
            with contextlib.suppress(Exception):
                await self.history.flush()

    async def _maintenance(self) -> None:
        sweeps = 0
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = self.clock.now()
            self.alerts.sweep(now)
            sweeps += 1
            if sweeps % 90 == 0:  # every 15 minutes, as Alertmanager collects garbage
                self.pipeline.forget(a.fingerprint for a in self.alerts.gc(now))
                await self.silences.gc(now)
                if self.nflog is not None:
                    await self.nflog.gc()

    def reconfigure(self, config: Config) -> None:
        self._apply(config)
        self.dispatcher.reroute(self.routes, self.alerts.alerts())

    # --- hooks -------------------------------------------------------------------------
    def muted_by(self, labels: Labels, at: float) -> list[str]:
        """The time intervals that hold every route of an alert quiet now (the API's
        `mutedBy`); empty when any of its routes may notify."""
        names: list[str] = []
        for route in self.routes.match(labels):
            inside = self.intervals.active(route.mute_time_intervals, at)
            if inside:
                names += inside
            elif route.active_time_intervals and not self.intervals.active(
                    route.active_time_intervals, at):
                names += route.active_time_intervals
            else:
                return []
        return list(dict.fromkeys(names))

    def set_external_url(self, url: str) -> None:
        """Where receivers' links point (known once the API listens)."""
        self.external_url = url
        self._apply_integrations()

    def _time_mute(self, route: Route, at: float) -> str | None:
        return self.intervals.mute_reason(route.mute_time_intervals,
                                          route.active_time_intervals, at)

    def _on_alerts(self, alerts: list[Alert]) -> None:
        self.dispatcher.on_alerts(alerts)
        now = self.clock.now()
        resolved = [a for a in alerts if a.resolved(now)]
        if resolved:
            task = asyncio.ensure_future(self._expire_on_resolve(resolved, now))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _expire_on_resolve(self, resolved: list[Alert], now: float) -> None:
        firing = [a.labels for a in self.alerts.active(now)]
        for alert in resolved:
            try:
                expired = await self.silences.on_resolved(alert.labels, firing, now)
            except Exception:
                log.exception("expiring silences of a resolved alert failed")
                continue
            for silence_id in expired:
                log.info("silence %s expired: the alert it silenced resolved", silence_id)

    def _record(self, kind: str, alert: Alert, details: Mapping[str, Any], at: float) -> None:
        if self.history is not None:
            self.history.record(event(at, kind, alert.labels, details))
