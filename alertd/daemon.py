"""`alertd run`: wires the sources, rules, alert store and API from the configuration.

    Daemon(config).run()            start, serve until SIGTERM/SIGINT, reload on SIGHUP
    await daemon.start() / stop()   for tests; evaluate_due() and run_until_idle() drive
                                    evaluation without waiting for the clock
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from pathlib import Path

from alertd import __version__
from alertd.alerts.model import Alert
from alertd.alerts.owners import Ownership
from alertd.alerts.store import AlertStore
from alertd.api.alertmanager import AlertmanagerContext
from alertd.api.app import ApiContext
from alertd.api.ops import OpsContext
from alertd.api.rules import RulesContext
from alertd.api.silences import SilenceContext
from alertd.api.slack import SlackContext
from alertd.api.status import StatusContext
from alertd.clock import Clock, SystemClock
from alertd.config import Config
from alertd.config.amyaml import to_alertmanager_yaml
from alertd.console import ConsolePrinter
from alertd.dispatch.inhibit import InhibitRule, WithGenerated
from alertd.dispatch.suppress import inhibitions
from alertd.errors import AlertdError
from alertd.history.recorder import HistoryRecorder
from alertd.history.transitions import Transitions
from alertd.lang.check import CheckResult
from alertd.lang.drift_eval import Baseline
from alertd.metrics import Metrics
from alertd.noise.flapping import FlapTracker
from alertd.notify.service import Notifications
from alertd.receivers.checks import load_config
from alertd.report.schedule import ReportSchedule
from alertd.report.source import daemon_source
from alertd.rules.manager import RuleManager, load_checked
from alertd.rules.meta import MetaAlerts
from alertd.rules.scheduler import Scheduler
from alertd.rules.selectors import unmatched_counts
from alertd.sources.mqtt import MqttSource
from alertd.sources.prometheus import DURATION_BUCKETS
from alertd.sources.windows import SampleWindows
from alertd.store import Store
from alertd.wiring import maintenance
from alertd.wiring.baselines import resolver as baseline_resolver
from alertd.wiring.persistence import Persistence
from alertd.wiring.publish import GroupStatus, Publisher
from alertd.wiring.reload import WATCH_INTERVAL, ReloadStatus, Signature, signature
from alertd.wiring.serve import ApiServer, slack_signing_secret
from alertd.wiring.sources import CountingSink, SourceSet

log = logging.getLogger("alertd")


class Daemon:
    def __init__(self, config: Config, config_path: str | None = None,
                 clock: Clock | None = None, console: ConsolePrinter | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.clock = clock or SystemClock()
        self.metrics = Metrics()
        self.ownership = Ownership(config.owners)
        # Looked up through self so that a reload's new owners apply at once.
        self.alerts = AlertStore(enrich=lambda labels, ann: self.ownership.attach(labels, ann))
        self.meta = MetaAlerts()
        self.flaps = FlapTracker()  # live flap detection, per rule instance
        self.report_schedule: ReportSchedule | None = None  # started with scheduling on
        self.manager = RuleManager(config.evaluation_interval)
        self.windows = SampleWindows(
            max_series_per_metric=config.samples.max_series_per_metric,
            retention=config.samples.min_retention)
        self.console = console if console is not None else (
            ConsolePrinter() if config.console else None)
        self.notifications = Notifications(
            config, self.clock, self.alerts,
            console=self.console.out if self.console else open(os.devnull, "w"))  # noqa: SIM115
        self.notifications.on_failing = self._notifications_failing
        # The config's inhibit_rules and those the rules' suppresses_inputs generate.
        self.rule_inhibitions: tuple[InhibitRule, ...] = ()
        self.inhibitor = WithGenerated(lambda: self.notifications.inhibitor,
                                       lambda: self.rule_inhibitions)
        self.notifications.inhibit_with(self.inhibitor)
        self._background: set[asyncio.Future[None]] = set()
        self.history: HistoryRecorder | None = None
        self.transitions = Transitions(self.alerts, lambda: self.history)
        self.alerts.on_transition = self.transitions.of_posted
        self.store: Store | None = None
        self.sources = SourceSet(self.windows, self.metrics, self.clock)
        self.reload_status = ReloadStatus()
        self.group_status: dict[tuple[str, float], GroupStatus] = {}
        self.started_at: float | None = None
        self.ready = False
        self.listen_url = ""
        self._server = ApiServer()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._watch_signature: Signature = ()
        self._build_evaluation()
        self.windows.subscribe(self.scheduler.samples_arrived)
        self._watch_metrics()

    def _build_evaluation(self) -> None:
        """The scheduler, and what it hands each evaluation's results to."""
        self.persistence = Persistence(
            lambda: self.store, self.manager, self.meta, self.alerts, self.windows,
            self.notifications, self.clock)
        self.publisher = Publisher(
            self.manager, self.meta, self.flaps, self.alerts, self.transitions, self.metrics,
            self.windows, self.clock, self.console, self.group_status)
        self.scheduler = Scheduler(
            self.manager, self.windows, self.meta, self.clock,
            query_many=self.sources.query_many, source_error=self.sources.prometheus_error,
            persist=self.persistence.persist, publish=self.publisher.publish,
            on_group_done=self.publisher.group_done)

    def _watch_metrics(self) -> None:
        self.metrics.watch_mqtt(lambda: self.mqtt)
        self.metrics.watch_scheduler(self.scheduler)
        self.metrics.watch_notifications(self.notifications)
        self.metrics.watch_history(lambda: self.history)
        self.metrics.watch_selectors(lambda: unmatched_counts(self.manager.ruleset.rules))
        self.metrics.watch_drift(lambda: self.manager.evaluator.drift_scores)
        self.metrics.watch_slos(lambda: self.manager.evaluator.slos.figures())
        self.metrics.watch_prometheus(
            lambda: self.sources.prometheus.stats if self.sources.prometheus else None,
            DURATION_BUCKETS)

    # --- the sources, replaced by a reload -----------------------------------------------
    @property
    def mqtt(self) -> MqttSource | None:
        return self.sources.mqtt

    @property
    def webhook_sink(self) -> CountingSink:
        return self.sources.webhook_sink

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return Path(self.config_path).resolve().parent if self.config_path else Path.cwd()

    async def start(self, *, serve: bool = True, schedule: bool = True) -> None:
        """Open the store, load rules and saved state, then start the sources and API."""
        self.started_at = self.clock.now()
        checked = load_checked(self.config.rule_files, self.base_dir)  # bad rules: no start
        self.store = await Store.open(self.config.storage_url())
        try:
            baselines = await self._baselines(checked, self.config)
        except AlertdError:
            await self.store.close()
            self.store = None
            raise
        self.history = HistoryRecorder(self.store.history, self.clock)
        self.notifications.history = self.history
        summary = self.manager.replace(checked.groups, self.config.evaluation_interval,
                                       self.config.sources.prometheus.graph_url(), baselines,
                                       checked.slos)
        self._after_rules_changed()
        host, port = self.config.listen_host_port()
        if serve and port:
            # Known before the API is up: notifications sent again from the outbox on
            # start link to it too. (With port 0, the bound port once it listens.)
            self.notifications.set_listen_url(f"http://{host}:{port}")
        await self.notifications.start(self.store, run=schedule)
        await self.persistence.restore()
        self._reloaded(str(summary))
        self.sources.configure_prometheus(self.config.sources.prometheus)
        if serve:
            self.listen_url = await self._server.start(self.api_context(), host, port)
            # Where links in notifications point when the configuration gives no
            # external_url.
            self.notifications.set_listen_url(self.listen_url)
        self.sources.configure_mqtt(self.config.sources.mqtt)
        if schedule:
            self._start_scheduling()
        self._watch_signature = self._signature()
        self.ready = True
        log.info("alertd %s started: %s; listening on %s", __version__, summary,
                 self.listen_url or "(not serving)")

    def _start_scheduling(self) -> None:
        self.scheduler.start()
        maintenance.start(self._tasks, "snapshots",
                          lambda: self.config.samples.snapshot_interval,
                          self.persistence.snapshot)
        maintenance.start(self._tasks, "watch", lambda: WATCH_INTERVAL, self.reload_if_changed)
        maintenance.start(self._tasks, "probe", lambda: self.config.evaluation_interval,
                          self._probe, first=True)
        self.report_schedule = ReportSchedule(
            self.config, source=daemon_source(self), store=lambda: self.store,
            clock=self.clock,
            external_url=lambda: self.config.external_url or self.listen_url)
        self.report_schedule.start()

    async def stop(self) -> None:
        self.ready = False
        self.scheduler.stop()
        if self.report_schedule is not None:
            await self.report_schedule.stop()
            self.report_schedule = None
        for task in self._tasks:
            task.cancel()
        self.sources.cancel_mqtt()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.sources.stop_mqtt()
        await self.notifications.stop()
        if self.store:
            # Rule state first: it decides what pages after the restart.
            await self.persistence.persist_all()
            await self.persistence.snapshot()
            await self.store.close()
            self.store = None
        await self.sources.close_prometheus()
        await self._server.stop()

    async def run(self) -> None:
        """Start, then serve until SIGTERM or SIGINT; SIGHUP reloads."""
        loop = asyncio.get_running_loop()
        await self.start()
        tune_gc()
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        try:
            await self._stopping.wait()
        finally:
            log.info("alertd stopping")
            await self.stop()

    # --- reload ------------------------------------------------------------------------
    async def reload(self) -> ReloadStatus:
        """Reload config and rules; on any error the old ones keep running."""
        try:
            config = load_config(self.config_path) if self.config_path else self.config
            checked = load_checked(config.rule_files, self.base_dir)
            baselines = await self._baselines(checked, config)
            # Receivers too are built before anything changes: one that fails (a secret
            # file that cannot be read) fails the reload, not half of it.
            notifications = self.notifications.prepare(config)
        except AlertdError as exc:
            self.reload_status = ReloadStatus(False, self.clock.now(), str(exc), "")
            self.metrics.reload_success.set(0)
            log.error("reload failed, the previous rules and configuration stay: %s", exc)
            return self.reload_status
        before = dict(self.manager.evaluator.states)
        summary = self.manager.replace(checked.groups, config.evaluation_interval,
                                       config.sources.prometheus.graph_url(), baselines,
                                       checked.slos)
        await self.sources.replace(self.config.sources, config.sources)
        self.config = config
        self.ownership = Ownership(config.owners)
        if self.report_schedule is not None:
            self.report_schedule.replace(config)
        await self.notifications.reconfigure(notifications)
        self.transitions.rules_removed(summary.removed, before, self.clock.now())
        self.meta.forget_rules(set(self.manager.evaluator.states))
        if self.store and summary.removed:
            await self.store.rule_states.delete(summary.removed)
        self._after_rules_changed()
        if self._tasks:  # scheduling is on: restart the group loops with the new groups
            self.scheduler.start()
        self._watch_signature = self._signature()
        self._reloaded(str(summary))
        log.info("reloaded: %s", summary)
        return self.reload_status

    def _reloaded(self, summary: str) -> None:
        self.reload_status = ReloadStatus(True, self.clock.now(), None, summary)
        self.metrics.reload_success.set(1)
        self.metrics.reload_timestamp.set(self.clock.now())

    async def _baselines(self, checked: CheckResult, config: Config) -> dict[str, Baseline]:
        """The baseline versions the rules use: the latest of each, made first when the
        baseline block changed (raises RuleLoadError)."""
        if not checked.baselines or self.store is None:
            return {}
        resolver = baseline_resolver(self.store, config.sources.prometheus, self.clock.now,
                                     "rule load")
        return await resolver.load(checked.baselines, checked.groups)

    def _after_rules_changed(self) -> None:
        self.scheduler.reindex()
        self.rule_inhibitions = inhibitions(self.manager.ruleset.rules)
        longest = max((e.max_range for r in self.manager.ruleset.rules
                       for e in (r.when, r.clear) if e is not None), default=0.0)
        self.windows.set_retention(longest, self.config.samples.min_retention)

    def _signature(self) -> Signature:
        return signature(self.config.rule_files, self.base_dir, self.config_path)

    async def reload_if_changed(self) -> ReloadStatus | None:
        """Reload when a rule file or the config file changed since the last look."""
        current = await asyncio.to_thread(self._signature)
        if current == self._watch_signature:
            return None
        self._watch_signature = current
        log.info("rule or config files changed: reloading")
        return await self.reload()

    # --- evaluation hooks --------------------------------------------------------------
    async def evaluate_due(self, now: float, last: float) -> None:
        await self.scheduler.evaluate_due(now, last)

    async def run_until_idle(self) -> None:
        """Run the streaming evaluations that arrived samples asked for, and wait for the
        meta-alert steps under way (for tests)."""
        await self.scheduler.evaluate_dirty()
        while self._background:
            await asyncio.gather(*self._background)

    async def _probe(self) -> None:
        """Check that Prometheus answers even when no rule queried it this round."""
        if self.sources.prometheus is not None:
            self.meta.source("prometheus", await self.sources.probe_prometheus())
            await self.scheduler.step_meta(self.clock.now())

    def _notifications_failing(self, receiver: str, integration: str,
                               error: str | None) -> None:
        self.meta.notifications(receiver, integration, error)
        task = asyncio.ensure_future(self.scheduler.step_meta(self.clock.now()))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- what the API reads and calls --------------------------------------------------
    async def accept(self, alerts: list[Alert], now: float) -> None:
        """Posted alerts: merged into the alert store, and stored before they are
        acknowledged (raises StoreError if they could not be)."""
        stored = self.alerts.put(alerts, now)
        if self.store is not None:
            await self.store.posted_alerts.save(stored, now)

    def slack_signing_secret(self) -> str | None:
        return slack_signing_secret(self.config)

    def api_context(self) -> ApiContext:
        """What the API reads and calls of the daemon: getters for what a reload or a restart
        replaces."""
        n = self.notifications
        return ApiContext(
            clock=self.clock, config=lambda: self.config,
            alertmanager=AlertmanagerContext(
                store=self.alerts, clock=self.clock, started_at=self.started_at or 0.0,
                routes=lambda: n.routes, groups=n.dispatcher.views, silences=lambda: n.silences,
                inhibitor=lambda: self.inhibitor, receivers=lambda: n.receiver_names,
                config_yaml=lambda: to_alertmanager_yaml(self.config),
                resolve_timeout=lambda: n.resolve_timeout, muted_by=n.muted_by,
                accept=self.accept),
            silences=SilenceContext(n.silences, self.clock),
            rules=RulesContext(self.clock, self.manager, self.group_status, self.flaps,
                               self.windows.store, store=lambda: self.store,
                               history=lambda: self.history),
            status=StatusContext(
                self.started_at, self.config_path, config=lambda: self.config,
                ready=lambda: self.ready, last_reload=lambda: self.reload_status,
                manager=self.manager, overruns=self.scheduler.overruns, windows=self.windows,
                prometheus=lambda: self.sources.prometheus, mqtt=lambda: self.mqtt,
                webhook_ingested=lambda: self.webhook_sink.ingested),
            ops=OpsContext(ready=lambda: self.ready, reload=self.reload,
                           metrics=self.metrics.registry),
            report=daemon_source(self),
            slack=SlackContext(n.actions, self.clock, self.slack_signing_secret),
            samples=self.webhook_sink)


def tune_gc() -> None:
    """Garbage collection for a long-running process, once it has started.

    What exists by then (modules, configuration, the state read from the store) is frozen
    out of the collector's sight. Full collections (which walk every object) are made
    rare: with the defaults one came every few seconds at a thousand notifications a
    second and held the event loop for a hundred milliseconds. The young generations stay
    small, so that each of their collections is short: the middle one walks what survived
    the young collections since its last run, and with 50 of those between its runs it
    held the loop 150 ms once 20,000 alerts were in memory (under 10 ms with 10).
    """
    gc.freeze()
    gc.set_threshold(2_000, 10, 1_000)


def run(config_path: str | None) -> None:
    """Load the configuration and run the daemon until it is told to stop."""
    config = load_config(config_path)
    asyncio.run(Daemon(config, config_path).run())
