"""The HTTP API on its port, what it reads and calls of the daemon, and what it reads
from the configuration at each request."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from alertd.api.alertmanager import AlertmanagerContext
from alertd.api.app import ApiContext, build_app
from alertd.api.ops import OpsContext
from alertd.api.rules import RulesContext
from alertd.api.silences import SilenceContext
from alertd.api.slack import SlackContext
from alertd.api.status import StatusContext
from alertd.config import Config
from alertd.config.amyaml import to_alertmanager_yaml
from alertd.report.source import daemon_source

if TYPE_CHECKING:
    from alertd.daemon import Daemon

log = logging.getLogger("alertd")


class ApiServer:
    """The API served on the config's `listen` address until stopped."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    async def start(self, ctx: ApiContext, host: str, port: int) -> str:
        """Serve; the URL it listens on (with port 0, the port bound)."""
        self._runner = web.AppRunner(build_app(ctx), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        return f"http://{host}:{bound}"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None


def slack_signing_secret(config: Config) -> str | None:
    """The Slack app's signing secret (read when a click arrives, so a rotated file
    is picked up)."""
    slack = config.notify.slack
    if slack.signing_secret is not None:
        return slack.signing_secret.get_secret_value()
    if slack.signing_secret_file is not None:
        try:
            return Path(slack.signing_secret_file).read_text("utf-8").strip()
        except OSError as exc:
            log.error("cannot read notify.slack.signing_secret_file: %s", exc)
    return None


def api_context(daemon: Daemon) -> ApiContext:
    """What the API reads and calls of the daemon: getters for what a reload or a restart
    replaces."""
    n = daemon.notifications
    return ApiContext(
        clock=daemon.clock, config=lambda: daemon.config,
        alertmanager=AlertmanagerContext(
            store=daemon.alerts, clock=daemon.clock, started_at=daemon.started_at or 0.0,
            routes=lambda: n.routes, groups=n.dispatcher.views, silences=lambda: n.silences,
            inhibitor=lambda: daemon.inhibitor, receivers=lambda: n.receiver_names,
            config_yaml=lambda: to_alertmanager_yaml(daemon.config),
            resolve_timeout=lambda: n.resolve_timeout, muted_by=n.muted_by,
            accept=daemon.accept),
        silences=SilenceContext(n.silences, daemon.clock),
        rules=RulesContext(daemon.clock, daemon.manager, daemon.group_status, daemon.flaps,
                           daemon.windows.store, store=lambda: daemon.store,
                           history=lambda: daemon.history),
        status=StatusContext(
            daemon.started_at, daemon.config_path, config=lambda: daemon.config,
            ready=lambda: daemon.ready, last_reload=lambda: daemon.reload_status,
            manager=daemon.manager, overruns=daemon.scheduler.overruns, windows=daemon.windows,
            prometheus=lambda: daemon.sources.prometheus, mqtt=lambda: daemon.mqtt,
            webhook_ingested=lambda: daemon.webhook_sink.ingested),
        ops=OpsContext(ready=lambda: daemon.ready, reload=daemon.reload,
                       metrics=daemon.metrics.registry),
        report=daemon_source(daemon),
        slack=SlackContext(n.actions, daemon.clock, daemon.slack_signing_secret),
        samples=daemon.webhook_sink)
