"""Push to firing: a sample posted to the webhook makes a `for = 0s` rule fire.

Runs the daemon in this process with its real HTTP server and streaming evaluation (and
SQLite state, written before an alert is published), posts one sample at a time over
HTTP, and measures from the request's start to the moment the alert store announces the
new firing alert. Prints one JSON line with the latency percentiles in milliseconds.

    python bench/bench_push_to_fire.py [--pushes 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from alertd.alerts.model import Alert
from alertd.config import parse_config
from alertd.daemon import Daemon

RULES = """\
group bench {
  interval = 1h
  owner    = "bench"

  alert RoomHot {
    when     = temperature > 30
    severity = "page"
    runbook  = "https://runbooks.example.com/hot"
  }
}
"""


async def run(pushes: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rules").mkdir()
        (root / "rules" / "bench.rules").write_text(RULES)
        text = ("listen: 127.0.0.1:0\nstorage: sqlite:///alertd.db\n"
                "rule_files: ['rules/*.rules']\nconsole: false\n"
                "sources:\n  prometheus: {enabled: false}\n")
        daemon = Daemon(parse_config(text, str(root / "alertd.yml")), str(root / "alertd.yml"))
        fired: dict[str, float] = {}
        waiting: dict[str, asyncio.Event] = {}

        def on_change(alerts: list[Alert]) -> None:
            now = time.perf_counter()
            for alert in alerts:
                room = alert.labels.get("room")
                if not alert.resolved(time.time()) and room not in fired:
                    fired[room] = now
                    if room in waiting:
                        waiting[room].set()

        daemon.alerts.subscribe(on_change)
        await daemon.start()
        latencies: list[float] = []
        try:
            async with aiohttp.ClientSession() as http:
                url = daemon.listen_url + "/api/alertd/v1/samples"
                for i in range(pushes):
                    room = f"r{i}"
                    waiting[room] = asyncio.Event()
                    sample = {"metric": "temperature", "labels": {"room": room}, "value": 35}
                    started = time.perf_counter()
                    async with http.post(url, json=sample) as resp:
                        assert resp.status == 202, await resp.text()
                    await asyncio.wait_for(waiting[room].wait(), timeout=5)
                    latencies.append((fired[room] - started) * 1000)
        finally:
            await daemon.stop()
    latencies.sort()
    return {
        "benchmark": "push_to_firing",
        "pushes": pushes,
        "p50_ms": round(statistics.median(latencies), 2),
        "p90_ms": round(latencies[int(0.90 * (len(latencies) - 1))], 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
        "max_ms": round(latencies[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=500)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.pushes))))


if __name__ == "__main__":
    main()
