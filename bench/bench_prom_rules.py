"""1,000 rules on prom() queries against a real Prometheus: alertd's CPU per round.

Starts Debian's Prometheus scraping an exporter with 1,000 series, loads 1,000 rules that
each query one of them, and evaluates the group a number of times. Prints one JSON line:
the CPU time alertd's process spent per evaluation round (queries sent and parsed,
rules evaluated, state saved), and the wall time per round.

    python bench/bench_prom_rules.py [--rules 1000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alertd.config import parse_config
from alertd.daemon import Daemon
from tests.fixtures.prometheus import Exporter, PrometheusServer


def rules(count: int) -> str:
    out = ['group bench {\n  interval = 1m\n  owner = "bench"\n']
    for i in range(count):
        out.append(f'\n  alert Latency{i} {{\n'
                   f'    when    = prom(`bench_latency_seconds{{idx="{i}"}}`) > 250ms\n'
                   f'    runbook = "https://runbooks.example.com/latency"\n  }}\n')
    out.append("}\n")
    return "".join(out)


async def run(count: int, rounds: int, url: str, root: Path) -> dict[str, object]:
    (root / "rules").mkdir()
    (root / "rules" / "bench.rules").write_text(rules(count))
    text = (f"listen: 127.0.0.1:0\nstorage: sqlite:///alertd.db\nrule_files: ['rules/*.rules']\n"
            f"console: false\nsources:\n  prometheus: {{url: '{url}', max_concurrency: 16}}\n")
    daemon = Daemon(parse_config(text, str(root / "alertd.yml")), str(root / "alertd.yml"))
    await daemon.start(serve=False, schedule=False)
    try:
        (group,) = daemon.manager.groups
        await daemon.scheduler.evaluate_group(group, time.time())  # warm up connections
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            await daemon.scheduler.evaluate_group(group, time.time())
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        firing = len(daemon.alerts.active(time.time()))
        errors = sum(1 for s in daemon.manager.evaluator.states.values()
                     if s.health.value == "error")
    finally:
        await daemon.stop()
    return {
        "benchmark": "prom_rules_round",
        "rules": count,
        "queries_per_round": count,
        "rounds": rounds,
        "cpu_seconds_per_round": round(cpu / rounds, 4),
        "wall_seconds_per_round": round(wall / rounds, 4),
        "firing": firing,
        "rules_in_error": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Exporter() as exporter:
        for i in range(args.rules):
            exporter.set("bench_latency_seconds", {"idx": str(i)}, 0.3 if i % 10 == 0 else 0.1)
        with PrometheusServer([exporter.target], Path(tmp) / "prometheus") as prometheus:
            prometheus.wait_for_value(f'bench_latency_seconds{{idx="{args.rules - 1}"}}')
            root = Path(tmp) / "alertd"
            root.mkdir()
            print(json.dumps(asyncio.run(run(args.rules, args.rounds, prometheus.url, root))))


if __name__ == "__main__":
    main()
