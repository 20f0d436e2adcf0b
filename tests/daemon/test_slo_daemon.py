"""An SLO in the daemon: its counters fold in pushed samples, page, show on /metrics, and
come back after a restart without counting anything twice."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from alertd.clock import FakeClock
from alertd.daemon import Daemon
from alertd.model import Labels
from alertd.sources.push import PushedSample
from tests.daemon.helpers import config_text, start_daemon, write_workdir
from tests.daemon.rule_texts import checkout_slo

T0 = 1_800_000_000.0  # a multiple of 5 minutes

RULES = checkout_slo("1m")


async def start(tmp_path: Path, clock: FakeClock) -> Daemon:
    path = write_workdir(tmp_path, {"checkout.rules": RULES},
                         config_text(evaluation_interval="1m"))
    return await start_daemon(path, clock)


def push(daemon: Daemon, minute: int, failing: int) -> None:
    """Minute `minute`: 100 requests, `failing` of them from the start failing."""
    t = T0 + minute * 60
    daemon.webhook_sink.ingest([
        PushedSample(Labels({"__name__": "requests_total", "code": "200"}),
                     (minute * 100.0 - failing * max(minute - 30, 0),), t),
        PushedSample(Labels({"__name__": "requests_total", "code": "500"}),
                     (failing * max(minute - 30, 0) * 1.0,), t)], t)


async def test_an_slo_pages_exports_its_figures_and_keeps_its_counters(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    daemon = await start(tmp_path, clock)
    last = T0
    try:
        for minute in range(61):  # 30 healthy minutes, then 20% failing
            push(daemon, minute, 20)
            clock.set(T0 + minute * 60)
            await daemon.evaluate_due(clock.now(), last)
            last = clock.now()
        states = daemon.manager.evaluator.states["CheckoutBurnRatePage"]
        assert [i.labels.get("slo") for i in states.instances.values()] == ["checkout"]
        async with aiohttp.ClientSession() as http, \
                http.get(daemon.listen_url + "/metrics") as resp:
            text = await resp.text()
        assert 'alertd_slo_burn_rate{slo="checkout",window="5m"} 20.0' in text
        assert 'alertd_slo_error_budget_remaining{slo="checkout"}' in text
        before = daemon.manager.evaluator.slos.by_name["checkout"].counters
        assert before is not None
        kept = before.window(clock.now(), 3600)
    finally:
        await daemon.stop()

    daemon = await start(tmp_path, clock)
    try:
        counters = daemon.manager.evaluator.slos.by_name["checkout"].counters
        assert counters is not None and counters.window(clock.now(), 3600) == kept
        # The raw samples came back too; folding them again adds nothing.
        await daemon.evaluate_due(clock.now() + 1, clock.now())
        assert counters.window(clock.now(), 3600) == kept
    finally:
        await daemon.stop()
