"""Everything between the alert store and the receivers, built from the configuration:

    routes -> aggregation groups -> inhibition, time intervals, silences -> dedup
    -> outbox -> send (retried)

`Notifications.reconfigure(config)` swaps routes, inhibition, time intervals and receivers
on a reload; the groups are rebuilt from the current alerts, keeping their timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from alertd.alerts.model import Alert
from alertd.alerts.store import AlertStore
from alertd.clock import Clock
from alertd.config import Config
from alertd.config.owners import Owner
from alertd.config.receivers import GlobalConfig, Receiver
from alertd.dispatch.dispatcher import Dispatcher
from alertd.dispatch.inhibit import Inhibitor
from alertd.dispatch.route import Route, with_fallback
from alertd.dispatch.timeintervals import TimeIntervals
from alertd.errors import AlertdError
from alertd.history.recorder import HistoryRecorder
from alertd.model import Labels
from alertd.nflog.log import Entry, NotificationLog, needs_update
from alertd.notify import mute
from alertd.notify.actions import SlackActions
from alertd.notify.delivery import Delivery, DeliveryStats
from alertd.notify.health import ReceiverHealth
from alertd.notify.outbox import Deliverer
from alertd.notify.pipeline import build, daemon_muters
from alertd.notify.recording import Recording
from alertd.notify.stages import Decisions
from alertd.receivers import Notification, Notifier, registry
from alertd.receivers.registry import CONSOLE, Services
from alertd.receivers.retry import RetryPolicy
from alertd.rules.meta import NOTIFY_FAILING
from alertd.silence.silences import Silences
from alertd.store import PostedAlert, Store

__all__ = ["CONSOLE", "Notifications", "Prepared", "build_integrations"]

log = logging.getLogger("alertd.notify")

SWEEP_INTERVAL = 10.0  # how often alerts that ended by the clock are looked for
# How long delivered notifications and the Slack pages of quiet groups are kept.
KEEP_FINISHED = 7 * 86400.0
STOP_GRACE = 5.0  # seconds a stopping daemon waits for notifications being sent


async def _close(notifiers: Sequence[Notifier]) -> None:
    for notifier in notifiers:
        close = getattr(notifier, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


def build_integrations(receivers: Sequence[Receiver], *, console: TextIO | None,
                       external_url: str, global_: GlobalConfig | None = None,
                       owners: Sequence[Owner] = ()) -> dict[str, list[Notifier]]:
    """The receivers' notifiers, outside a running daemon (`alertd template preview`):
    with receiver state in memory only and no PagerDuty acknowledgements recorded."""
    services = Services(external_url=external_url, global_=global_ or GlobalConfig(),
                        owners=owners, console=console)
    return registry.build_integrations(receivers, services)


@dataclass(frozen=True)
class Prepared:
    """A configuration ready to be applied: what could fail has been built."""

    config: Config
    routes: Route
    integrations: dict[str, list[Notifier]]
    external_url: str


class Notifications:
    def __init__(self, config: Config, clock: Clock, alerts: AlertStore, *,
                 history: HistoryRecorder | None = None, console: TextIO | None = None,
                 ) -> None:
        self.clock = clock
        self.alerts = alerts
        self.recording = Recording(clock, alerts)
        self.history = history
        self.console = console
        self._listen_url = ""
        self.external_url = ""
        self.nflog: NotificationLog | None = None
        self.store: Store | None = None
        self._pending: set[asyncio.Future[None]] = set()
        # What every configuration's receivers share; `prepare` adds the configuration's part.
        self.services = Services(console=console, acknowledged=self.recording.pagerduty_ack)
        self.states = self.services.states  # kept across reloads: Slack pages, incidents
        # Set by the daemon: raises or clears AlertdNotificationsFailing.
        self.on_failing: Callable[[str, str, str | None], None] | None = None
        self.health = ReceiverHealth(on_change=self._failing_changed)
        self.integrations: dict[str, list[Notifier]] = {}
        self.deliverer = Deliverer(clock, integrations=lambda name: self.integrations.get(name, []),
                                   record=self.recording.alert, health=self.health,
                                   given_up=self._given_up)
        self.actions = SlackActions(
            clock, integrations=lambda: [n for ns in self.integrations.values() for n in ns],
            silences=lambda: self.silences, record=self.recording.event)
        # Slack pages follow the silences made from them to their end.
        self.silences = Silences(record=self.recording.silence,
                                 on_end=self.actions.silence_ended)
        self._apply(self.prepare(config))
        registry.warn_config(config)
        self._inhibitor: mute.Inhibitor = self  # the configuration's inhibit rules (`index`)
        self.pipeline = build(
            muters=daemon_muters(inhibitor=lambda: self._inhibitor,
                                 firing_alerts=self.alerts.active,
                                 silences=lambda: self.silences),
            nflog=self, needs_update=needs_update,
            integrations=lambda name: self.integrations.get(name, []),
            decisions=Decisions(self.recording.alert), submit=self._submit)
        self.dispatcher = Dispatcher(
            self.routes, self.pipeline, clock, time_mute=self._time_mute,
            record=self.recording.alert,
            notify_resolved_after_mute=lambda route: route.notify_resolved_after_mute)
        alerts.subscribe(self._on_alerts)
        self._tasks: list[asyncio.Task[None]] = []

    def prepare(self, config: Config) -> Prepared:
        """Everything a configuration needs that can fail (its integrations read secret
        files), built without touching what runs; raises ConfigError."""
        routes = Route.from_config(config.route)
        if config.notify.fallback_receiver is not None:
            routes = with_fallback(routes, NOTIFY_FAILING, config.notify.fallback_receiver)
        external_url = config.external_url or self._listen_url
        services = replace(self.services, external_url=external_url,
                           global_=config.global_, owners=config.owners)
        integrations = registry.build_integrations(config.receivers, services)
        return Prepared(config, routes, integrations, external_url)

    def _apply(self, prepared: Prepared) -> None:
        config = self.config = prepared.config
        self.routes = prepared.routes
        retry = config.notify.retry
        self.deliverer.policy = RetryPolicy(initial=retry.initial_backoff,
                                            maximum=retry.max_backoff,
                                            give_up_after=retry.give_up_after)
        self.health.failing_after = config.notify.failing_after
        self.inhibitor = Inhibitor(config.inhibit_rules)
        self.intervals = TimeIntervals.from_config(config.time_intervals,
                                                   config.mute_time_intervals)
        self.external_url = prepared.external_url
        self._use_integrations(prepared.integrations)
        self.receiver_names = [r.name for r in config.receivers]
        self.resolve_timeout = float(config.global_.resolve_timeout)

    def _use_integrations(self, integrations: dict[str, list[Notifier]]) -> None:
        old = [n for notifiers in self.integrations.values() for n in notifiers]
        self.integrations = integrations
        self.health.keep_only({f"{receiver}/{n.name}/{i}"
                               for receiver, notifiers in self.integrations.items()
                               for i, n in enumerate(notifiers)})
        if old:
            # Attempts in flight finish on the old integrations; then their sessions close.
            self._spawn(self._close_after_settle(old))

    async def _close_after_settle(self, notifiers: Sequence[Notifier]) -> None:
        # Attempts started from now on find the new integrations (looked up per attempt).
        await self.deliverer.wait_started()
        await _close(notifiers)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # built outside a loop (a CLI command): nothing to close yet
            coro.close()
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _submit(self, n: Notification, reason: str, integration: str, index: int,
                      firing: set[str], resolved: set[str]) -> None:
        if not n.alerts:
            # All resolved, and the integration does not want to hear it (send_resolved
            # off): nothing is sent, but the log forgets the firing alerts, as in
            # Alertmanager, so they are news again if they come back.
            if self.nflog is not None:
                await self.nflog.log(n.group_key, integration, firing, resolved, n.now)
            return
        logged = None
        if self.nflog is not None:
            logged = self.nflog.entry(n.group_key, integration, firing, resolved, n.now)
        await self.deliverer.submit(n, reason, integration=integration, index=index,
                                    logged=logged)
        if self.nflog is not None and logged is not None:
            # Only once the outbox holds it: a write that failed leaves the group to be
            # notified at its next flush, not marked as told. (A group never flushes twice
            # at once, so nothing can read the log for it in between.)
            self.nflog.remember(logged)

    async def _given_up(self, d: Delivery) -> None:
        if self.nflog is not None:
            await self.nflog.forget(d.group_key, d.integration, d.notification.now)

    def _failing_changed(self, receiver: str, integration: str, error: str | None) -> None:
        if error is None:
            log.info("notifications to %s are delivered again", integration)
        else:
            log.error("notifications to %s keep failing: %s", integration, error)
        if self.on_failing is not None:
            self.on_failing(receiver, integration, error)

    # --- what /metrics reads ------------------------------------------------------------
    @property
    def delivery_stats(self) -> DeliveryStats:
        return self.deliverer.stats

    @property
    def failing_integrations(self) -> dict[tuple[str, str], str]:
        return self.health.failing

    @property
    def outbox_pending(self) -> int:
        return self.deliverer.pending

    async def settle(self) -> None:
        """Wait until the notifications being sent have been sent (or have failed)."""
        await self.deliverer.settle()

    # The pipeline asks these two through this object, so a reload swaps them in place.
    def index(self, firing: Iterable[Mapping[str, str]]) -> mute.InhibitIndex:
        return self.inhibitor.index(firing)

    def inhibit_with(self, inhibitor: mute.Inhibitor) -> None:
        """The inhibition flushes apply: by default the configuration's inhibit rules;
        the daemon adds those the rules' `suppresses_inputs` generate."""
        self._inhibitor = inhibitor

    def query(self, group_key: str, receiver: str) -> Entry | None:
        return self.nflog.query(group_key, receiver) if self.nflog else None


    # --- lifecycle ---------------------------------------------------------------------
    async def start(self, store: Store | None, *, run: bool = True) -> None:
        now = self.clock.now()
        if store is not None:
            self.silences = await Silences.open(store.silences, now,
                                                record=self.recording.silence,
                                                on_end=self.actions.silence_ended)
            self.nflog = NotificationLog(store.nflog, self.clock)
            await self.nflog.load()
            self.store = store
            self.states.repository = store.receiver_state
            self.deliverer.repository = store.outbox
            recovered = await self.deliverer.recover()
            if recovered:
                log.info("outbox: %d notifications from before the restart are being sent",
                         recovered)
        if run:
            self._tasks = [asyncio.create_task(self.dispatcher.run(), name="dispatch"),
                           asyncio.create_task(self.deliverer.run(), name="deliver"),
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
        # Flushes and attempts in flight get a moment to finish; what does not stays in
        # the outbox (a flush cut short before its outbox write is sent again on start:
        # its group is rebuilt from the alerts and has not flushed).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finish_in_flight(), STOP_GRACE)
        with contextlib.suppress(TimeoutError):  # Slack clicks being answered
            await asyncio.wait_for(self.actions.settle(), STOP_GRACE)
        await self.deliverer.flush()
        await _close([n for notifiers in self.integrations.values() for n in notifiers])
        if self.history is not None:
            with contextlib.suppress(Exception):
                await self.history.close()

    async def _finish_in_flight(self) -> None:
        await self.dispatcher.wait_flushes()
        await self.deliverer.settle()

    def sweep(self, now: float) -> None:
        """What ends by the clock alone: alerts past their end, silences past theirs."""
        self.alerts.sweep(now)
        self.silences.sweep(now)

    async def _maintenance(self) -> None:
        sweeps = 0
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = self.clock.now()
            self.sweep(now)
            sweeps += 1
            if sweeps % 90 == 0:  # every 15 minutes, as Alertmanager collects garbage
                try:
                    await self._collect_garbage(now)
                except AlertdError as exc:  # the database: the next round tries again
                    log.warning("cleanup failed (retried in 15 minutes): %s", exc)

    async def _collect_garbage(self, now: float) -> None:
        self.pipeline.forget(a.fingerprint for a in self.alerts.gc(now))
        await self.silences.gc(now)
        if self.nflog is not None:
            await self.nflog.gc()
        if self.store is not None:
            week_ago = now - KEEP_FINISHED
            await self.store.posted_alerts.delete_ended(now - self.alerts.retention)
            await self.store.outbox.delete_finished(week_ago)
            await self.states.delete_older(week_ago)
            # In batches, between which the loop runs: a first pass may delete months.
            await self.store.history.prune(now - self.config.history.retention)

    def restore(self, posted: Sequence[PostedAlert], now: float) -> int:
        """After a restart: put the acknowledged posted alerts back and rebuild the groups
        (those of the rules' alerts too) with their timers; how many alerts came back."""
        kept = self.alerts.restore([p.alert for p in posted], now)
        received = {p.alert.fingerprint: p.received_at for p in posted}
        last = self.nflog.last_notified() if self.nflog is not None else {}
        self.dispatcher.restore([(a, received[a.fingerprint]) for a in kept], last)
        return len(kept)

    async def reconfigure(self, config: Config | Prepared) -> None:
        """Swap to a new configuration; a Config is prepared first (and may raise, leaving
        everything as it was)."""
        self._apply(config if isinstance(config, Prepared) else self.prepare(config))
        registry.warn_config(self.config)
        await self.dispatcher.reroute(self.routes, self.alerts.alerts())

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

    def set_listen_url(self, url: str) -> None:
        """Where alertd listens, known once the API is up: where receivers' links point
        unless the configuration gives external_url."""
        self._listen_url = url
        if not self.config.external_url and url != self.external_url:
            self._apply(self.prepare(self.config))

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

    @property
    def history(self) -> HistoryRecorder | None:
        """Where events go (set by the daemon once the store is open)."""
        return self.recording.history

    @history.setter
    def history(self, recorder: HistoryRecorder | None) -> None:
        self.recording.history = recorder
