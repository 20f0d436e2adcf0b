"""One incident, one page, through the daemon: a composite with `suppresses_inputs` pages,
its inputs' pages are held back while it fires, and an input paged before the composite
fired still has its resolution sent (the route does not set notify_resolved_after_mute).

The daemon runs in process with a fake clock; samples are pushed over HTTP, groups are
evaluated with evaluate_due() and flushed with flush_due(), and a webhook receiver
records what it is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from alertd.clock import FakeClock
from alertd.config import load_config
from alertd.daemon import Daemon
from tests.dispatch.test_notify_e2e import Capture

T0 = 1_800_000_000.0

CONFIG = """\
listen: 127.0.0.1:0
storage: sqlite:///alertd.db
rule_files: ['rules/*.rules']
evaluation_interval: 1m
console: false
sources:
  prometheus: {{enabled: false}}
route:
  receiver: team
  group_by: [alertname, model_version]
  group_wait: 30s
  group_interval: 1m
  repeat_interval: 5m
receivers:
  - name: team
    webhook_configs: [{{url: 'http://127.0.0.1:{port}/team'}}]
"""

RULES = """\
group fraud {
  interval = 1m
  owner    = "risk-ml"

  alert FraudSlow {
    when     = latency{service="fraud"} > 0.1
    severity = "ticket"
  }

  alert FraudFailing {
    when     = errors{service="fraud"} > 5
    severity = "ticket"
  }

  # Keeps firing for 10 minutes after its inputs stop: an input resolves first.
  alert FraudDegraded {
    when              = alert("FraudSlow") and on(model_version) alert("FraudFailing")
    keep_firing_for   = 10m
    severity          = "page"
    suppresses_inputs = @SUPPRESS@
  }
}
"""


class Harness:
    def __init__(self, tmp_path: Path, capture: Capture, suppress: bool) -> None:
        self.capture = capture
        self.clock = FakeClock(T0)
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "fraud.rules").write_text(
            RULES.replace("@SUPPRESS@", "true" if suppress else "false"))
        path = tmp_path / "alertd.yml"
        path.write_text(CONFIG.format(port=capture.port))
        self.daemon = Daemon(load_config(str(path)), str(path), self.clock)
        self.http = aiohttp.ClientSession()
        self.last = T0 - 1

    async def push(self, metric: str, value: float) -> None:
        sample = {"metric": metric, "labels": {"service": "fraud", "model_version": "v2"},
                  "value": value}
        async with self.http.post(self.daemon.listen_url + "/api/alertd/v1/samples",
                                  json=[sample]) as resp:
            assert resp.status == 202, await resp.text()

    async def at(self, seconds: float) -> None:
        """Move the clock to T0 + seconds: evaluate the group ticks since the last call,
        then flush and deliver what is due."""
        now = T0 + seconds
        self.clock.set(now)
        await self.daemon.evaluate_due(now, self.last)
        self.last = now
        n = self.daemon.notifications
        await n.dispatcher.flush_due(now)
        await n.settle()

    def pages(self) -> list[tuple[str, str]]:
        """(alertname, status) of every webhook notification, in order."""
        return [(body["groupLabels"]["alertname"], body["status"])
                for body in self.capture.to("/team")]


@pytest.fixture
async def capture() -> AsyncIterator[Capture]:
    c = Capture()
    app = web.Application()
    app.router.add_post("/{tail:.*}", c.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", c.port).start()
    yield c
    await runner.cleanup()


async def run_incident(tmp_path: Path, capture: Capture, suppress: bool) -> Harness:
    h = Harness(tmp_path, capture, suppress)
    await h.daemon.start(schedule=False)
    try:
        # Slow first: paged on its own before anything else is known.
        await h.push("latency", 0.3)
        for t in range(60, 181, 30):
            await h.at(t)
        # Then failing too: the composite fires.
        await h.push("errors", 9)
        for t in range(210, 1500, 30):
            if t < 600:  # both kept fresh within the lookback
                await h.push("latency", 0.3)
                await h.push("errors", 9)
            elif t == 600:  # the latency is back to normal: FraudSlow resolves
                await h.push("latency", 0.05)
            await h.at(t)
    finally:
        await h.http.close()
        await h.daemon.stop()
    return h


async def test_a_composite_holds_back_its_inputs_but_not_a_resolution(
        tmp_path: Path, capture: Capture) -> None:
    h = await run_incident(tmp_path, capture, suppress=True)
    pages = h.pages()
    # Slow pages before the composite fires. Then nothing more of it while the composite
    # fires (its 5m repeat_interval passes), but its resolution goes out: its page does
    # not stay open. Failing, which came with the composite, never pages.
    assert [p for p in pages if p[0] != "FraudDegraded"] == [
        ("FraudSlow", "firing"), ("FraudSlow", "resolved")]
    assert pages.index(("FraudDegraded", "firing")) == 1
    assert pages.index(("FraudSlow", "resolved")) < pages.index(("FraudDegraded", "resolved"))
    slow_resolved = [b for b in capture.to("/team")
                     if b["groupLabels"]["alertname"] == "FraudSlow"][-1]
    assert [a["status"] for a in slow_resolved["alerts"]] == ["resolved"]


async def test_without_suppresses_inputs_every_alert_pages(
        tmp_path: Path, capture: Capture) -> None:
    h = await run_incident(tmp_path, capture, suppress=False)
    firing = [name for name, status in h.pages() if status == "firing"]
    assert sorted(set(firing)) == ["FraudDegraded", "FraudFailing", "FraudSlow"]
