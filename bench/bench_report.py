"""The noise report over a busy organisation's quarter: 1,000,000 history events.

A synthetic but realistic history is written to a fresh store (SQLite, or PostgreSQL with
--storage postgresql://...): 200 rules of 10 owners, alerts that fire and resolve (some
flapping, some firing for days), notifications to Slack and PagerDuty carrying groups of
alerts, acknowledgements, feedback clicks and silences, spread over 91 days. Then the
report for the whole quarter is built once as `alertd report` builds it, timed, with the
process's peak memory before and after (the report must not hold the events in memory:
its peak grows little): the figures, then the recommendations, which replay the ten
noisiest rules (all of this history's rules are rarely acted on) under each change tried,
against a rule file and configuration written for the history (each owner's route groups
by alertname; a `paging: false` ticket receiver exists, so sleep-hour routing is tried).

    .venv/bin/python bench/bench_report.py [--events 1000000] [--storage postgresql://...]

Prints one JSON line: events written, write rate, report seconds (`report_s`: figures and
recommendations, whose replays start while the figures are counted; `figures_s`, the
figures alone; `recommend_s`, what the recommendations add to them), the process's RSS
when the report starts and its peak after the figures and after the whole report (the peak is reset
before the report, on Linux, so that the writes' peak does not hide it; the package under
test is imported before, so that the memory of its code is not the report's), and where
the figures' time and memory went: `figures_rss_at_tenth_mib` and `figures_rss_at_end_mib`
are the process's RSS once a tenth of the periods' pages were counted and at their end
(what grows with the events read shows between the two), `figures_cpu_s` the CPU time of
the process (all its threads) during the figures, `figures_read_wait_s` the time they
waited for pages of the history (reading not overlapped with counting), `events_read` the
events they read (the kinds they need), and `read_s` a second pass that only reads those
events as the report does (pages, rows, details decoded), after the report, so that it
counts in neither its time nor its memory.
On a shared machine, a `figures_cpu_s` well under `figures_s` says the run was starved.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

from alertd.config import Config
from alertd.config.load import load_config
from alertd.history import HistoryEvent, event
from alertd.model import Labels
from alertd.noise import build_report  # the package under test
from alertd.noise.build import PERIOD_KINDS
from alertd.report.source import ReportQuery, RuleSpec, build, config_rules, rule_infos
from alertd.store import Store

DAY = 86400.0
START = 1_790_000_000.0  # a Monday in 2026, 00:00 UTC
RULES = 200
OWNERS = 10
BATCH = 5000


def peak_rss_mib(field: str = "VmHWM") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    """Peak RSS from now on (Linux: the writes' peak is not the report's)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def rule_labels(rng: random.Random, rule: int, instance: int) -> Labels:
    return Labels({"alertname": f"Rule{rule:03d}", "owner": f"team{rule % OWNERS}",
                   "severity": "page" if rule % 3 else "ticket",
                   "instance": f"host-{instance}"})


def firing(rng: random.Random, at: float, rule: int) -> Iterator[HistoryEvent]:
    """One firing of an instance of a rule: transitions, routing, a page with its
    deliveries, perhaps an ack, feedback or silence, and its resolution."""
    name = f"Rule{rule:03d}"
    group = [rule_labels(rng, rule, rng.randrange(50)) for _ in range(rng.choice((1, 1, 2, 5)))]
    group_key = f'{{}}:{{alertname="{name}"}}'
    receiver = f"team{rule % OWNERS}"
    for labels in group:
        yield event(at, "transition", labels, {"from": "pending", "to": "firing", "value": 1.0},
                    rule=name)
        yield event(at, "route", labels, {"receiver": receiver, "route": "{}",
                                          "group_key": group_key}, rule=name)
    sent = at + rng.uniform(0, 30)
    for integration in ("slack", "pagerduty") if rule % 3 else ("slack",):
        delivery = uuid.UUID(int=rng.getrandbits(128)).hex
        for labels in group:
            yield event(sent, "delivery", labels, {
                "receiver": receiver, "integration": integration, "attempt": 1,
                "outcome": "ok", "group_key": group_key, "delivery": delivery,
                "reason": "first notification"}, rule=name)
    lasts = rng.choice((60.0, 240.0, 900.0, 3600.0, 4 * 3600.0, 3 * DAY))
    if rng.random() < 0.4:
        yield event(sent + rng.uniform(30, 900), "ack", group[0],
                    {"by": f"user{rng.randrange(40)}", "via": "slack",
                     "group_key": group_key}, rule=name)
    if rng.random() < 0.2:
        yield event(sent + rng.uniform(60, 1800), "feedback", group[0], {
            "by": f"user{rng.randrange(40)}", "verdict": rng.choice(("useful", "noise")),
            "reason": "too_sensitive", "group_key": group_key, "channel": "C0001",
            "ts": f"{sent:.6f}"}, rule=name)
    for labels in group:
        yield event(at + lasts, "transition", labels, {
            "from": "firing", "to": "resolved", "value": 0.0, "reason": "condition_gone"},
            rule=name)


def history(rng: random.Random, events: int, days: float) -> Iterator[list[HistoryEvent]]:
    """Batches of events in time order (each firing's events are written together, as
    the daemon writes them within a few seconds)."""
    written = 0
    batch: list[HistoryEvent] = []
    step = days * DAY / (events / 14)  # about 14 events per firing
    at = START
    while written < events:
        at += rng.expovariate(1 / step)
        for e in firing(rng, at, rng.randrange(RULES)):
            batch.append(e)
        if len(batch) >= BATCH:
            written += len(batch)
            yield batch
            batch = []
    if batch:
        yield batch


def fresh_storage(spec: str, root: Path) -> tuple[str, str | None]:
    if spec == "sqlite":
        return f"sqlite:///{root / 'alertd.db'}", None
    database = f"bench_report_{int(time.time())}"
    subprocess.run(["psql", spec, "-qc", f'CREATE DATABASE "{database}"'], check=True)
    return spec.rsplit("/", 1)[0] + "/" + database, database


def drop(spec: str, database: str | None) -> None:
    if database is not None:
        subprocess.run(["psql", spec, "-qc", f'DROP DATABASE "{database}" WITH (FORCE)'],
                       check=True)


async def write(store: Store, args: argparse.Namespace) -> tuple[int, float]:
    rng = random.Random(20261206)
    started, count = time.perf_counter(), 0
    for batch in history(rng, args.events, args.days):
        await store.history.append(batch)
        count += len(batch)
        if count % 100_000 < BATCH:
            print(f"  {count:,} events written", file=sys.stderr)
    return count, time.perf_counter() - started


class TimedScan:
    """The history as build_report reads it, timing the waits for its pages and noting
    the process's RSS after each page of the periods (the second scan)."""

    def __init__(self, store: Store) -> None:
        self.history = store.history
        self.waited = 0.0
        self.rss: list[float] = []

    def feedback_by_voter(self, since: float,
                          until: float) -> AsyncIterator[Iterable[Any]]:
        return self.history.feedback_by_voter(since, until)

    def growth(self) -> tuple[float, float]:
        """RSS once a tenth of the periods' pages were counted, and at their end."""
        if not self.rss:
            return 0.0, 0.0
        return self.rss[len(self.rss) // 10], self.rss[-1]

    async def scan(self, since: float, until: float,
                   kinds: Iterable[str] | None = None) -> AsyncIterator[Iterable[Any]]:
        pages = aiter(self.history.scan(since, until, kinds))
        periods = kinds is not None and tuple(kinds) == PERIOD_KINDS
        while True:
            started = time.perf_counter()
            try:
                page = await anext(pages)
            except StopAsyncIteration:
                return
            finally:
                self.waited += time.perf_counter() - started
            yield page
            if periods:  # the page was counted
                self.rss.append(peak_rss_mib("VmRSS"))


def rule_files(root: Path, storage: str) -> Path:
    """The rules of the history (each owner's group, evaluated every minute, `for 1m`) and
    a configuration routing each owner's alerts to its receiver, grouped by alertname;
    the configuration's path."""
    groups = []
    for owner in range(OWNERS):
        alerts = "".join(
            f'  alert Rule{r:03d} {{\n    when     = m{r} > 1\n    for      = 1m\n'
            f'    severity = "{"page" if r % 3 else "ticket"}"\n'
            f'    runbook  = "https://runbooks/x"\n  }}\n'
            for r in range(owner, RULES, OWNERS))
        groups.append(f'group team{owner} {{\n  interval = 1m\n  owner    = "team{owner}"\n\n'
                      f"{alerts}}}\n")
    (root / "bench.rules").write_text("\n".join(groups), encoding="utf-8")
    routes = "".join(f"    - matchers: ['owner=\"team{o}\"']\n      receiver: team{o}\n"
                     for o in range(OWNERS))
    receivers = "".join(f"  - name: team{o}\n    slack_configs:\n"
                        f"      - api_url: http://127.0.0.1:9/slack\n"
                        f'        channel: "#team{o}"\n' for o in range(OWNERS))
    owners = "".join(f"  - name: team{o}\n    timezone: Europe/Berlin\n"
                     for o in range(OWNERS))
    config = root / "alertd.yml"
    config.write_text(
        f'storage: "{storage}"\nrule_files: ["bench.rules"]\nroute:\n  receiver: team0\n'
        "  group_by: [alertname]\n  group_wait: 30s\n  group_interval: 5m\n"
        f"  repeat_interval: 4h\n  routes:\n{routes}receivers:\n{receivers}"
        "  - name: tickets\n    paging: false\n    webhook_configs:\n"
        f"      - url: http://127.0.0.1:9/tickets\nowners:\n{owners}", encoding="utf-8")
    return config


def checked(config_path: Path) -> tuple[Config, list[RuleSpec]]:
    config = load_config(str(config_path))
    rules, errors = config_rules(config)
    assert not errors and len(rules) == RULES
    return config, rules


async def full(store: Store, args: argparse.Namespace, config_path: Path
               ) -> tuple[float, dict[str, Any]]:
    """The report as `alertd report` builds it: figures and recommendations."""
    config, rules = checked(config_path)
    end = START + args.days * DAY
    started = time.perf_counter()
    body = await build(store.history, config, rules, ReportQuery(START, end, None, end),
                       str(config_path))
    return time.perf_counter() - started, body


async def figures(store: Store, args: argparse.Namespace, config_path: Path
                  ) -> tuple[float, TimedScan, dict[str, Any]]:
    """The figures alone (no recommendations), timing the waits for history pages."""
    config, specs = checked(config_path)
    rules = rule_infos(specs, config.owners)
    timed = TimedScan(store)
    started = time.perf_counter()
    built = await build_report(timed, start=START, end=START + args.days * DAY,
                               owner=None, rules=rules, owners=config.owners,
                               paging={r.name: r.paging for r in config.receivers},
                               now=START + args.days * DAY)
    return time.perf_counter() - started, timed, built.to_json()


async def read_only(store: Store, args: argparse.Namespace) -> tuple[float, int]:
    """The report's reading alone: the events of its periods, as it reads them."""
    end = START + args.days * DAY
    started, count = time.perf_counter(), 0
    async for page in store.history.scan(START - args.days * DAY, end, kinds=PERIOD_KINDS):
        for _ in page:
            count += 1
    return time.perf_counter() - started, count


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url, database = fresh_storage(args.storage, Path(tmp))
        try:
            store = await Store.open(url)
            try:
                count, wrote = await write(store, args)
                config = rule_files(Path(tmp), url)
                reset_peak_rss()
                before = peak_rss_mib()
                cpu = time.process_time()
                alone, timed, body = await figures(store, args, config)
                cpu = time.process_time() - cpu
                after_figures = peak_rss_mib()
                seconds, whole = await full(store, args, config)
                after = peak_rss_mib()
                read, events_read = await read_only(store, args)
            finally:
                await store.close()
        finally:
            drop(args.storage, database)
    assert whole["totals"] == body["totals"]
    return {"benchmark": "report", "storage": args.storage.split(":")[0], "events": count,
            "days": args.days, "write_events_per_s": round(count / wrote),
            "report_s": round(seconds, 2), "figures_s": round(alone, 2),
            "recommend_s": round(seconds - alone, 2),
            "recommendations": len(whole["recommendations"]),
            "peak_rss_before_report_mib": round(before, 1),
            "peak_rss_after_figures_mib": round(after_figures, 1),
            "peak_rss_after_report_mib": round(after, 1),
            "pages": body["totals"]["pages"], "firings": body["totals"]["firings"],
            "events_read": events_read, "figures_cpu_s": round(cpu, 2),
            "figures_read_wait_s": round(timed.waited, 2),
            "figures_rss_at_tenth_mib": round(timed.growth()[0], 1),
            "figures_rss_at_end_mib": round(timed.growth()[1], 1),
            "read_s": round(read, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=91.0)
    parser.add_argument("--storage", default="sqlite",
                        help="sqlite, or a postgresql:// URL of a server to make a database on")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
