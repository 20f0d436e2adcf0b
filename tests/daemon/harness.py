"""The daemon of two rules over a churn model's pushed samples, in the test's process on a
fake clock, with an HTTP session to its API and its console output kept: shared by the
daemon's tests and the API tests that need rules evaluated.

Use the fixture by importing `harness_fixture` (pytest finds it by its name, `harness`)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from alertd.clock import FakeClock
from alertd.console import ConsolePrinter
from alertd.daemon import Daemon
from tests.daemon.helpers import config_text, start_daemon, write_workdir

T0 = 1_800_000_000.0

RULES = '''\
group model {
  interval = 1m
  owner    = "ml"

  alert ErrorsHigh {
    when     = errors{model="churn"} > 5
    severity = "page"
    runbook  = "https://runbooks.example.com/errors"
    summary  = "{{ labels.version }} has {{ value }} errors"
  }

  alert LatencyHigh {
    when     = latency{model="churn"} > 250ms
    for      = 5m
    severity = "ticket"
    runbook  = "https://runbooks.example.com/latency"
  }
}
'''


def write_config(tmp_path: Path, **extra: Any) -> Path:
    return write_workdir(tmp_path, {"model.rules": RULES},
                         config_text(evaluation_interval="1m"))


class Harness:
    def __init__(self, daemon: Daemon, clock: FakeClock, out: io.StringIO) -> None:
        self.daemon = daemon
        self.clock = clock
        self.out = out
        self.http = aiohttp.ClientSession()

    async def push(self, samples: list[dict[str, Any]]) -> aiohttp.ClientResponse:
        async with self.http.post(self.daemon.listen_url + "/api/alertd/v1/samples",
                                  json=samples) as resp:
            await resp.read()
            return resp

    async def get(self, path: str) -> Any:
        async with self.http.get(self.daemon.listen_url + path) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def firing(self) -> dict[str, dict[str, str]]:
        alerts = await self.get("/api/v2/alerts")
        return {a["labels"]["alertname"] + "/" + a["labels"].get("version", ""): a
                for a in alerts}

    def instances(self, rule: str) -> dict[str, Any]:
        state = self.daemon.manager.evaluator.states[rule]
        return {i.labels.get("version"): i for i in state.instances.values()}


async def start(tmp_path: Path, clock: FakeClock) -> Harness:
    config_path = write_config(tmp_path)
    out = io.StringIO()
    daemon = await start_daemon(config_path, clock, ConsolePrinter(out))
    return Harness(daemon, clock, out)


@pytest.fixture(name="harness")
async def harness_fixture(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await start(tmp_path, FakeClock(T0))
    yield h
    await h.http.close()
    await h.daemon.stop()
