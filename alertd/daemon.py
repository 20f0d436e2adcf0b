"""`alertd run`: wires the sources, rules, alert store and API from the configuration.

    Daemon(config).run()            start, serve until SIGTERM/SIGINT, reload on SIGHUP
    await daemon.start() / stop()   for tests; evaluate_due() and run_until_idle() drive
                                    evaluation without waiting for the clock
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import glob
import logging
import os
import signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from alertd import __version__
from alertd.alerts.model import Alert
from alertd.alerts.owners import Ownership
from alertd.alerts.store import AlertStore
from alertd.api.alertmanager import AlertmanagerContext
from alertd.api.app import ApiContext, build_app
from alertd.api.ops import OpsContext
from alertd.api.rules import RulesContext
from alertd.api.silences import SilenceContext
from alertd.api.slack import SlackContext
from alertd.api.status import StatusContext
from alertd.clock import Clock, SystemClock
from alertd.config import Config
from alertd.config.amyaml import to_alertmanager_yaml
from alertd.config.sources import MqttSource as MqttConfig
from alertd.config.sources import PrometheusSource
from alertd.config.types import TLSConfig
from alertd.console import ConsolePrinter
from alertd.dispatch.inhibit import InhibitRule, WithGenerated
from alertd.errors import AlertdError, EvalError
from alertd.history.recorder import HistoryRecorder
from alertd.history.transitions import Transitions
from alertd.lang.check import CheckResult
from alertd.lang.drift_eval import Baseline
from alertd.metrics import Metrics
from alertd.model import Vector
from alertd.notify.service import Notifications
from alertd.report.schedule import ReportSchedule
from alertd.report.source import daemon_source
from alertd.rules import meta as meta_rules
from alertd.rules.baseline_setup import resolver as baseline_resolver
from alertd.rules.flapping import FlapTracker
from alertd.rules.manager import Group, RuleManager, load_checked
from alertd.rules.meta import MetaAlerts
from alertd.rules.scheduler import Scheduler
from alertd.rules.selectors import unmatched_counts
from alertd.rules.state import Health, RuleState, Transition
from alertd.rules.suppress import inhibitions
from alertd.sources.mqtt import MqttSettings, MqttSource, MqttSubscription
from alertd.sources.prometheus import DURATION_BUCKETS, PrometheusClient, PrometheusSettings
from alertd.sources.push import PushedSample
from alertd.sources.windows import SampleWindows
from alertd.store import Store
from alertd.store.slo_windows import slo_window_repository
from alertd.templates.config import load_config

log = logging.getLogger("alertd")

WATCH_INTERVAL = 2.0  # how often rule and config files are checked for changes


@dataclass(slots=True)
class ReloadStatus:
    success: bool = True
    at: float | None = None
    error: str | None = None
    summary: str = ""


@dataclass(slots=True)
class GroupStatus:
    last_eval: float | None = None
    duration: float | None = None


@dataclass(slots=True)
class _CountingSink:
    """The sample sink handed to a source: counts what each source stored and lost."""

    windows: SampleWindows
    metrics: Metrics
    source: str
    ingested: int = field(default=0)

    def ingest(self, samples: Sequence[PushedSample], now: float) -> list[tuple[int, str]]:
        rejected = self.windows.ingest(samples, now)
        self.ingested += len(samples) - len(rejected)
        self.metrics.samples_ingested.labels(self.source).inc(len(samples) - len(rejected))
        for _, reason in rejected:
            kind = "series_limit" if "limit" in reason else "out_of_order"
            self.metrics.samples_rejected.labels(self.source, kind).inc()
        return rejected


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
        self.prometheus: PrometheusClient | None = None
        self.mqtt: MqttSource | None = None
        self.reload_status = ReloadStatus()
        self.group_status: dict[tuple[str, float], GroupStatus] = {}
        self.started_at: float | None = None
        self.ready = False
        self.listen_url = ""
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._mqtt_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._watch_signature: tuple[tuple[str, float, int], ...] = ()
        self.scheduler = Scheduler(
            self.manager, self.windows, self.meta, self.clock,
            query_many=self._query_many, source_error=self._prometheus_error,
            persist=self._persist, publish=self._publish, on_group_done=self._group_done)
        self.webhook_sink = _CountingSink(self.windows, self.metrics, "webhook")
        self.mqtt_sink = _CountingSink(self.windows, self.metrics, "mqtt")
        self.windows.subscribe(self.scheduler.samples_arrived)
        self.metrics.watch_mqtt(lambda: self.mqtt)
        self.metrics.watch_scheduler(self.scheduler)
        self.metrics.watch_notifications(self.notifications)
        self.metrics.watch_history(lambda: self.history)
        self.metrics.watch_selectors(lambda: unmatched_counts(self.manager.ruleset.rules))
        self.metrics.watch_drift(lambda: self.manager.evaluator.drift_scores)
        self.metrics.watch_slos(lambda: self.manager.evaluator.slos.figures())
        self.metrics.watch_prometheus(lambda: self.prometheus.stats if self.prometheus else None,
                                      DURATION_BUCKETS)

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
        await self._restore()
        self.reload_status = ReloadStatus(True, self.clock.now(), None, str(summary))
        self.metrics.reload_success.set(1)
        self.metrics.reload_timestamp.set(self.clock.now())
        self._configure_prometheus(self.config.sources.prometheus)
        if serve:
            await self._serve()
        self._configure_mqtt(self.config.sources.mqtt)
        if schedule:
            self.scheduler.start()
            self._tasks.append(asyncio.create_task(self._snapshot_loop(), name="snapshots"))
            self._tasks.append(asyncio.create_task(self._watch_loop(), name="watch"))
            self._tasks.append(asyncio.create_task(self._probe_loop(), name="probe"))
            self.report_schedule = ReportSchedule(
                self.config, source=daemon_source(self), store=lambda: self.store,
                clock=self.clock,
                external_url=lambda: self.config.external_url or self.listen_url)
            self.report_schedule.start()
        self._watch_signature = self._signature()
        self.ready = True
        log.info("alertd %s started: %s; listening on %s", __version__, summary,
                 self.listen_url or "(not serving)")

    async def stop(self) -> None:
        self.ready = False
        self.scheduler.stop()
        if self.report_schedule is not None:
            await self.report_schedule.stop()
            self.report_schedule = None
        for task in [*self._tasks, *([self._mqtt_task] if self._mqtt_task else [])]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._mqtt_task:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mqtt_task
            self._mqtt_task = None
        await self.notifications.stop()
        if self.store:
            # Rule state first: it decides what pages after the restart.
            await self._persist({**self.manager.evaluator.states, **self.meta.states})
            await self._snapshot()
            await self.store.close()
            self.store = None
        if self.prometheus:
            await self.prometheus.close()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

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
            specs = checked.groups
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
        summary = self.manager.replace(specs, config.evaluation_interval,
                                       config.sources.prometheus.graph_url(), baselines,
                                       checked.slos)
        if config.sources.prometheus != self.config.sources.prometheus:
            if self.prometheus:
                await self.prometheus.close()
            self._configure_prometheus(config.sources.prometheus)
        if config.sources.mqtt != self.config.sources.mqtt:
            self._configure_mqtt(config.sources.mqtt)
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
        self.reload_status = ReloadStatus(True, self.clock.now(), None, str(summary))
        self.metrics.reload_success.set(1)
        self.metrics.reload_timestamp.set(self.clock.now())
        log.info("reloaded: %s", summary)
        return self.reload_status

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

    def _signature(self) -> tuple[tuple[str, float, int], ...]:
        paths: set[str] = set()
        for pattern in self.config.rule_files:
            full = pattern if Path(pattern).is_absolute() else str(self.base_dir / pattern)
            paths.update(glob.glob(full, recursive=True))
        if self.config_path:
            paths.add(self.config_path)
        sig = []
        for p in sorted(paths):
            with contextlib.suppress(OSError):
                st = Path(p).stat()
                sig.append((p, st.st_mtime, st.st_size))
        return tuple(sig)

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            await self.reload_if_changed()

    async def reload_if_changed(self) -> ReloadStatus | None:
        """Reload when a rule file or the config file changed since the last look."""
        signature = await asyncio.to_thread(self._signature)
        if signature == self._watch_signature:
            return None
        self._watch_signature = signature
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

    async def _query_many(self, queries: Iterable[str],
                          at: float) -> Mapping[str, Vector | EvalError]:
        if self.prometheus is None:
            error = EvalError("prom() is not available: the Prometheus source is disabled")
            return dict.fromkeys(queries, error)
        results = await self.prometheus.query_many(queries, at)
        self.metrics.prometheus_up.set(1 if self.prometheus.up else 0)
        return results

    def _prometheus_error(self) -> str | None:
        if self.prometheus is None or self.prometheus.up:
            return None
        return str(self.prometheus.last_error or "unreachable")

    def _publish(self, rule: str, transitions: Sequence[Transition], at: float) -> None:
        if rule in meta_rules.NAMES:
            state = self.meta.states[rule]
            self.alerts.sync_rule(rule, state.instances.values(), self.meta.annotations, at)
        else:
            alert_rule = self.manager.ruleset.by_name.get(rule)
            state = self.manager.evaluator.states.get(rule, RuleState())
            if alert_rule is not None:
                self.flaps.observe(rule, state.instances.values(), alert_rule.interval, at)
                self.flaps.sweep(at, self.manager.ruleset.by_name)
                self.alerts.sync_rule(rule, state.instances.values(), self.flaps.annotator(
                    rule, alert_rule.annotations_for, at), at, alert_rule.generator_url_for)
                self.metrics.evaluations.labels(rule).inc()
                if state.health is Health.ERROR:
                    self.metrics.evaluation_failures.labels(rule).inc()
                for health in Health:
                    self.metrics.rule_health.labels(rule, health.value).set(
                        1 if state.health is health else 0)
                self.transitions.health(rule, state, alert_rule.static_labels.get("owner"), at)
        compiled = self.manager.ruleset.by_name.get(rule)
        baseline = self.manager.evaluator.baselines_of(compiled) if compiled else None
        self.transitions.of_rule(rule, transitions, at, baseline=baseline)
        if transitions and self.console:
            self.console.transitions(rule, transitions, at)

    def _group_done(self, group: Group, at: float, duration: float) -> None:
        self.group_status[(group.name, group.interval)] = GroupStatus(at, duration)
        self.metrics.eval_duration.labels(group.name).observe(duration)
        self.metrics.series.set(len(self.windows.store))
        active = self.alerts.active(self.clock.now())
        self.metrics.alerts.labels("firing").set(len(active))

    # --- persistence -------------------------------------------------------------------
    async def _persist(self, states: dict[str, RuleState]) -> None:
        if self.store is None:
            return
        try:
            await self.store.rule_states.save(states)
        except AlertdError as exc:
            log.error("cannot save alert state: %s", exc)

    async def _restore(self) -> None:
        assert self.store is not None
        saved = await self.store.rule_states.load()
        restored = self.manager.restore(saved)
        for name in meta_rules.NAMES:
            if name in saved:
                self.meta.states[name] = saved[name]
        now = self.clock.now()
        for name in restored:
            rule = self.manager.ruleset.by_name[name]
            state = self.manager.evaluator.states[name]
            self.alerts.sync_rule(name, state.instances.values(), rule.annotations_for, now,
                                  rule.generator_url_for)
        self.windows.restore(await self.store.windows.load())
        self.manager.evaluator.slos.restore(await slo_window_repository(self.store).load())
        if restored:
            log.info("restored the state of %d rules", len(restored))
        posted = self.notifications.restore(await self.store.posted_alerts.load(), now)
        if posted:
            log.info("restored %d alerts posted before the restart", posted)

    async def accept(self, alerts: list[Alert], now: float) -> None:
        """Posted alerts: merged into the alert store, and stored before they are
        acknowledged (raises StoreError if they could not be)."""
        stored = self.alerts.put(alerts, now)
        if self.store is not None:
            await self.store.posted_alerts.save(stored, now)

    async def _snapshot(self) -> None:
        if self.store is None:
            return
        self.windows.trim(self.clock.now())
        try:
            await self.store.windows.save(self.windows.snapshot())
            await slo_window_repository(self.store).save(self.manager.evaluator.slos.snapshot())
        except AlertdError as exc:
            log.error("cannot save sample windows: %s", exc)

    async def _snapshot_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.samples.snapshot_interval)
            await self._snapshot()

    def slack_signing_secret(self) -> str | None:
        """The Slack app's signing secret (read when a click arrives, so a rotated file
        is picked up)."""
        slack = self.config.notify.slack
        if slack.signing_secret is not None:
            return slack.signing_secret.get_secret_value()
        if slack.signing_secret_file is not None:
            try:
                return Path(slack.signing_secret_file).read_text("utf-8").strip()
            except OSError as exc:
                log.error("cannot read notify.slack.signing_secret_file: %s", exc)
        return None

    def _notifications_failing(self, receiver: str, integration: str,
                               error: str | None) -> None:
        self.meta.notifications(receiver, integration, error)
        task = asyncio.ensure_future(self.scheduler.step_meta(self.clock.now()))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- sources -----------------------------------------------------------------------
    def _configure_prometheus(self, cfg: PrometheusSource) -> None:
        if not cfg.enabled:
            self.prometheus = None
            return
        self.prometheus = PrometheusClient(PrometheusSettings(
            url=cfg.url, timeout=cfg.timeout, max_concurrency=cfg.max_concurrency,
            auth_header=cfg.auth_header(), ssl=cfg.tls.ssl_context() if cfg.tls else None))

    async def _probe_loop(self) -> None:
        """Check that Prometheus answers even when no rule queried it this round."""
        while True:
            if self.prometheus is not None:
                ok = await self.prometheus.ready()
                self.metrics.prometheus_up.set(1 if ok else 0)
                self.meta.source("prometheus", None if ok else self._prometheus_error()
                                 or "not ready")
                await self.scheduler.step_meta(self.clock.now())
            await asyncio.sleep(self.config.evaluation_interval)

    def _configure_mqtt(self, cfg: MqttConfig) -> None:
        if self._mqtt_task:
            self._mqtt_task.cancel()
            self._mqtt_task = None
        self.mqtt = None
        if not cfg.enabled:
            return
        host, port = cfg.host_port()
        settings = MqttSettings(
            host=host, port=port,
            tls=(cfg.tls or TLSConfig()).ssl_context() if cfg.uses_tls() else None,
            username=cfg.username, password=cfg.password_value(), client_id=cfg.client_id,
            keepalive=cfg.keepalive, reconnect_min=cfg.reconnect_min,
            reconnect_max=cfg.reconnect_max,
            subscriptions=tuple(MqttSubscription(t.topic, dict(t.labels_from_topic), t.qos)
                                for t in cfg.topics))
        self.mqtt = MqttSource(settings, self.mqtt_sink, self.clock,
                               on_state=lambda up: self.metrics.mqtt_connected.set(int(up)))
        self._mqtt_task = asyncio.create_task(self.mqtt.run(), name="mqtt")

    def api_context(self) -> ApiContext:
        """What the API reads and calls: getters for what a reload or a restart replaces."""
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
                prometheus=lambda: self.prometheus, mqtt=lambda: self.mqtt,
                webhook_ingested=lambda: self.webhook_sink.ingested),
            ops=OpsContext(ready=lambda: self.ready, reload=self.reload,
                           metrics=self.metrics.registry),
            report=daemon_source(self),
            slack=SlackContext(n.actions, self.clock, self.slack_signing_secret),
            samples=self.webhook_sink)

    async def _serve(self) -> None:
        app = build_app(self.api_context())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host, port = self.config.listen_host_port()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.listen_url = f"http://{host}:{bound}"
        # Where links in notifications point when the configuration gives no external_url.
        self.notifications.set_listen_url(self.listen_url)


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
