"""The operator's endpoints: `/metrics`, `/-/healthy`, `/-/ready` and `/-/reload` (POST or
PUT, a write). Health and readiness answer in plain text, as Prometheus's do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from alertd.api.auth import writes
from alertd.api.errors import reload_error


class ReloadOutcome(Protocol):
    """How the last reload went."""

    @property
    def success(self) -> bool: ...

    @property
    def at(self) -> float | None: ...

    @property
    def error(self) -> str | None: ...

    @property
    def summary(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OpsContext:
    ready: Callable[[], bool]
    # Reloads the configuration and rules; on failure the old ones keep running.
    reload: Callable[[], Awaitable[ReloadOutcome]]
    metrics: CollectorRegistry


OPS = web.AppKey("ops", OpsContext)


def install(app: web.Application, ctx: OpsContext) -> None:
    app[OPS] = ctx
    reload_route = writes(reload, reload_error)
    app.add_routes([
        web.get("/metrics", metrics),
        web.get("/-/healthy", healthy),
        web.get("/-/ready", ready),
        web.post("/-/reload", reload_route),
        web.put("/-/reload", reload_route),
    ])


async def healthy(request: web.Request) -> web.StreamResponse:
    return web.Response(text="alertd is healthy.\n")


async def ready(request: web.Request) -> web.StreamResponse:
    if request.app[OPS].ready():
        return web.Response(text="alertd is ready.\n")
    return web.Response(text="alertd is not ready.\n", status=503)


async def reload(request: web.Request) -> web.StreamResponse:
    outcome = await request.app[OPS].reload()
    if outcome.success:
        return web.json_response({"status": "success", "summary": outcome.summary})
    return reload_error(500, outcome.error or "reload failed")


async def metrics(request: web.Request) -> web.StreamResponse:
    body = generate_latest(request.app[OPS].metrics)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
