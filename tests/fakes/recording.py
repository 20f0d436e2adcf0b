"""A webhook endpoint that records the JSON bodies it is sent, with their paths: the
double of a receiver for tests that look only at what arrived."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from tests.fakes import start


class RecordingSink:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []  # the bodies, in order of arrival
        self.paths: list[str] = []  # the path each was posted to
        self.status = 200  # what it answers
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        self.paths.append(request.path)
        return web.Response(status=self.status)

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in zip(self.paths, self.received, strict=True) if p == path]


@contextlib.asynccontextmanager
async def recording_sink() -> AsyncIterator[RecordingSink]:
    """A sink taking POSTs on every path of an ephemeral loopback port (its `url`)."""
    sink = RecordingSink()
    app = web.Application()
    app.router.add_post("/{tail:.*}", sink.handle)
    runner, sink.url = await start(app)
    try:
        yield sink
    finally:
        await runner.cleanup()
