"""Local doubles of the services alertd notifies, served by aiohttp on 127.0.0.1.

- `tests.fakes.slack.FakeSlack`: Slack Web API, incoming webhooks, response_url, and a
  helper that signs button clicks the way Slack does.
- `tests.fakes.pagerduty.FakePagerDuty`: PagerDuty Events API v2 with its dedup semantics.

Both reproduce the wire contracts of /work/shared/reference/integrations.md (sections 1
and 2): status codes, content types, error shapes and the inputs the real services
reject. Both offer the same failure controls, built from the pieces in this module:

- an injection queue of canned responses, served before normal handling;
- a `down` flag (HTTP 503 with an HTML body, as an outage looks);
- `hold()` / `release()`: a request is fully processed (and stored) but its response is
  withheld until `release()`, so a test can kill a client between "the service stored
  it" and "the client heard back"; `await wait_held(n)` waits, without sleeping, until n
  responses are withheld;
- an optional sliding-window rate limiter with an injectable clock.

Clients pointed at a double must not use a proxy: slack-sdk reads HTTP(S)_PROXY and
ignores NO_PROXY, so tests remove the variables in `PROXY_ENV_VARS`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

Clock = Callable[[], float]

PROXY_ENV_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")

# Bodies large enough for the services' own size checks to answer, not aiohttp's 413.
CLIENT_MAX_SIZE = 8 * 1024 * 1024

OUTAGE_HTML = (
    "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1></body></html>"
)


async def start(app: web.Application, host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    """Serve `app` on an ephemeral port of `host`; returns (runner, base_url).

    Stop it with `await runner.cleanup()`.
    """
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://{host}:{port}"


def outage_response() -> web.Response:
    """What a load balancer in front of a failed service answers."""
    return web.Response(status=503, text=OUTAGE_HTML, content_type="text/html")


@dataclass(frozen=True)
class Injected:
    """A canned response. `body`: dict/list -> JSON, str -> text/plain, None -> empty."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        headers = dict(self.headers)
        if self.body is None:
            return web.Response(status=self.status, headers=headers)
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, headers=headers)
        return web.Response(status=self.status, text=json.dumps(self.body),
                            content_type="application/json", headers=headers)


class SlidingWindowLimiter:
    """At most `limit` requests per key in any `window` seconds of `clock`."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[Hashable, deque[float]] = {}

    def acquire(self, key: Hashable) -> int | None:
        """Record a request; None if allowed, else whole seconds until a slot frees."""
        now = self._clock()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) < self.limit:
            seen.append(now)
            return None
        return max(1, math.ceil(seen[0] + self.window - now))


class HoldGate:
    """Withholds responses while closed; counts what it holds."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._changed = asyncio.Condition()
        self.waiting = 0  # responses withheld right now
        self.total = 0  # responses ever withheld

    @property
    def closed(self) -> bool:
        return not self._open.is_set()

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def pass_through(self) -> None:
        """Return at once when open; otherwise wait until `open()`."""
        if self._open.is_set():
            return
        self.waiting += 1
        self.total += 1
        await self._notify()
        try:
            await self._open.wait()
        finally:
            self.waiting -= 1

    async def wait_held(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least `count` responses are withheld (TimeoutError after `timeout`)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.waiting >= count),
                                   timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class ManualClock:
    """A clock for the doubles' rate limiters that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FailureControls:
    """What the doubles share: serving their `app` on loopback (start/stop, or `async
    with`), and the injection queue, outage flag, hold/release and rate limiter."""

    app: web.Application

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._url: str | None = None
        self._runner: web.AppRunner | None = None
        self.clock = clock
        self.down = False
        self.injected: deque[Injected] = deque()
        self.limiter: SlidingWindowLimiter | None = None
        self._gate = HoldGate()

    async def start(self) -> Self:
        self._runner, self._url = await start(self.app)
        return self

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._url

    def inject(self, status: int, body: Any = None,
               headers: Mapping[str, str] | None = None) -> None:
        """Queue a canned response, served (once) before normal handling."""
        self.injected.append(Injected(status, body, dict(headers or {})))

    def limit_rate(self, requests: int, per_seconds: float) -> None:
        """Enable the rate limiter: `requests` per key in any `per_seconds` of the clock."""
        self.limiter = SlidingWindowLimiter(requests, per_seconds, self.clock)

    def hold(self) -> None:
        """From now on, process requests but withhold their responses until `release()`."""
        self._gate.close()

    def release(self) -> None:
        """Send every withheld response and stop holding."""
        self._gate.open()

    @property
    def holding(self) -> bool:
        return self._gate.closed

    @property
    def held(self) -> int:
        """Responses withheld right now."""
        return self._gate.waiting

    @property
    def held_total(self) -> int:
        """Responses withheld since the double was created."""
        return self._gate.total

    async def wait_held(self, count: int = 1, timeout: float = 5.0) -> None:
        await self._gate.wait_held(count, timeout)

    def early_response(self, queue: deque[Injected] | None = None) -> web.Response | None:
        """The next injected response (from `queue`, default `injected`), else the outage
        page when down, else None."""
        queue = self.injected if queue is None else queue
        if queue:
            return queue.popleft().response()
        if self.down:
            return outage_response()
        return None

    async def deliver(self, response: web.Response) -> web.Response:
        """Return `response`, after `release()` if holding."""
        await self._gate.pass_through()
        return response
