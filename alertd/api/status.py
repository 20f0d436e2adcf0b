"""`GET /api/alertd/v1/status`: version, last reload, rules, sources and sample counts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from alertd import __version__
from alertd.api.ops import ReloadOutcome
from alertd.config import Config
from alertd.rules.manager import RuleManager
from alertd.sources.windows import SampleWindows
from alertd.timefmt import rfc3339


class PrometheusState(Protocol):
    @property
    def up(self) -> bool: ...

    @property
    def last_error(self) -> str | None: ...


class MqttState(Protocol):
    @property
    def connected(self) -> bool: ...

    @property
    def messages_received(self) -> int: ...

    @property
    def messages_malformed(self) -> int: ...

    @property
    def reconnects(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StatusContext:
    """What the status tells; getters for what a reload or a reconnection replaces."""

    started_at: float | None
    config_path: str | None
    config: Callable[[], Config]
    ready: Callable[[], bool]
    last_reload: Callable[[], ReloadOutcome]
    manager: RuleManager
    overruns: Mapping[str, int]  # missed evaluations, by group
    windows: SampleWindows
    prometheus: Callable[[], PrometheusState | None]  # None: the source is off
    mqtt: Callable[[], MqttState | None]
    webhook_ingested: Callable[[], int]


STATUS = web.AppKey("status", StatusContext)


async def status(request: web.Request) -> web.StreamResponse:
    ctx = request.app[STATUS]
    reload = ctx.last_reload()
    windows = ctx.windows
    return web.json_response({
        "version": __version__,
        "startedAt": rfc3339(ctx.started_at),
        "ready": ctx.ready(),
        "configFile": ctx.config_path,
        "lastReload": {"success": reload.success, "at": rfc3339(reload.at),
                       "error": reload.error, "summary": reload.summary},
        "rules": len(ctx.manager.ruleset),
        "groups": len(ctx.manager.groups),
        "overruns": dict(ctx.overruns),
        "sources": _sources(ctx),
        "samples": {"series": len(windows.store), "ingested": windows.ingested,
                    "rejected": windows.rejected, "retentionSeconds": windows.retention},
    })


def _sources(ctx: StatusContext) -> dict[str, Any]:
    prom = ctx.prometheus()
    mqtt = ctx.mqtt()
    config = ctx.config().sources
    return {
        "prometheus": {"enabled": prom is not None, "url": config.prometheus.url,
                       "up": bool(prom and prom.up),
                       "lastError": prom.last_error if prom is not None else None},
        "webhook": {"enabled": config.webhook.enabled, "ingested": ctx.webhook_ingested()},
        "mqtt": {"enabled": mqtt is not None,
                 "connected": bool(mqtt and mqtt.connected),
                 "messagesReceived": mqtt.messages_received if mqtt else 0,
                 "messagesMalformed": mqtt.messages_malformed if mqtt else 0,
                 "reconnects": mqtt.reconnects if mqtt else 0},
    }
