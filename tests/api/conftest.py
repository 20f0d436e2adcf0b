"""The daemon in process, for API tests: on the test's event loop (async tests) or on a loop
of its own in a thread (for synchronous clients such as schemathesis' and hypothesis'
tests, which would otherwise block the loop that has to answer them).

Both listen on 127.0.0.1 with a port the system picks, keep a fake clock, and have no
Prometheus source and no scheduled evaluation.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from alertd.clock import FakeClock
from alertd.config import load_config
from alertd.daemon import Daemon

T0 = 1_800_000_000.0
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
T = TypeVar("T")

CONFIG = """\
listen: 127.0.0.1:0
storage: sqlite:///alertd.db
rule_files: []
console: false
sources:
  prometheus: {enabled: false}
notify:
  slack: {signing_secret: @SECRET@}
route:
  receiver: team
  group_by: [alertname]
  routes:
    - matchers: [severity="page"]
      receiver: pager
receivers:
  - name: team
  - name: pager
""".replace("@SECRET@", SLACK_SECRET)


def write_config(directory: Path, extra: str = "") -> Path:
    path = directory / "alertd.yml"
    path.write_text(CONFIG + extra)
    return path


async def start_daemon(config_path: Path) -> Daemon:
    daemon = Daemon(load_config(str(config_path)), str(config_path), FakeClock(T0))
    await daemon.start(schedule=False)
    return daemon


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    started = await start_daemon(write_config(tmp_path))
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def http(daemon: Daemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(daemon.listen_url) as session:
        yield session


class ThreadedDaemon:
    """A daemon whose event loop runs in a thread of its own."""

    def __init__(self, config_path: Path) -> None:
        self._config_path = config_path
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="alertd",
                                        daemon=True)
        self.daemon: Daemon | None = None

    def start(self) -> None:
        self._thread.start()
        self.daemon = self._run(start_daemon(self._config_path))

    def stop(self) -> None:
        if self.daemon is not None:
            self._run(self.daemon.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        assert self.daemon is not None
        return self.daemon.listen_url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        """One request, sent as given (no encoding of the path, no added headers)."""
        conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)


@pytest.fixture(scope="module")
def threaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedDaemon]:
    served = ThreadedDaemon(write_config(tmp_path_factory.mktemp("alertd")))
    served.start()
    try:
        yield served
    finally:
        served.stop()


def problems_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The records a request may never cause: errors, and anything with a traceback."""
    return [f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()]
