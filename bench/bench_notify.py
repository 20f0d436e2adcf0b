"""Notification delivery: an alert in, the receiver's request out.

webhook: the daemon runs in this process (dispatcher, outbox in SQLite, history), with a
route that groups by alertname and waits 0s, so every new alertname is a group of its own
and one notification. `--rate` alerts per second, each a new alertname, go in for
`--seconds` through what `POST /api/v2/alerts` calls (`parse_postable`, then
`AlertStore.put`), without the HTTP request itself. The webhook receiver runs in another
process, so its CPU is not alertd's; it notes the `time.monotonic()` of each request's
arrival, a clock both processes share. With `--batch N`, the alerts go in N to a post at
rate/N posts per second, as Prometheus sends them (in batches of up to 64); each alert's
latency counts from its post. Figures:

- `end_to_end_*`: from the alert handed to the store until its request reaches the receiver;
- `loopback_*`: a plain aiohttp POST of the same size to the same receiver, the daemon idle:
  from the call to its arrival (one way) and until its answer (round trip);
- `own_*`: end to end minus the median one-way loopback, i.e. alertd's own time;
- `ingest_lag_p99_ms`: how late the paced arrivals went in (a busy loop delays them, as it
  would delay reading real requests);
- `achieved_rate`: notifications received per second, first alert in to last request in;
- `webhook_exactly_once`: every alertname arrived, none twice.

When the daemon cannot keep up, the backlog is drained before figures are taken (latencies
then include the queueing, and the run lasts as long as the draining).

slack: a second daemon with a Slack receiver (Web API, bot token, `pace: 0s`) pointed at
the Slack double of tests/fakes, in another process with no rate limit. `--slack-groups`
alerts, each its own group, go into the store at once; `slack_per_second` is the messages
the double stored over the time from that moment to the last chat.postMessage.

`*_cpu_share` is CPU time over wall time of a process (1.0 is one core busy). With
`--profile`, the webhook run is profiled with cProfile in CPU time of the main thread
(waits do not count) and the top functions go to standard error.

    python bench/bench_notify.py [--rate 1000] [--seconds 10] [--batch 1] [--slack-groups 2000]
                                 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alertd.api.alertmanager import parse_postable
from alertd.config import parse_config
from alertd.daemon import Daemon, tune_gc
from tests.fakes import PROXY_ENV_VARS
from tests.fakes.slack import FakeSlack

PROBES = 300  # plain POSTs that measure the loopback
PROBE_BODY = json.dumps({"pad": "x" * 1000}).encode()  # about a one-alert webhook payload
STALL_LIMIT = 30.0  # seconds without a delivery after which the bench gives up

Serve = Callable[[Connection], Coroutine[Any, Any, None]]
"""A server's main in the other process: sends its URL, waits for "stop", sends results."""

BASE = ("listen: 127.0.0.1:0\nstorage: sqlite:///alertd.db\nconsole: false\n"
        "sources:\n  prometheus: {enabled: false}\n"
        "route:\n  receiver: bench\n  group_by: [alertname]\n  group_wait: 0s\n"
        "  group_interval: 5m\n  repeat_interval: 4h\n")


def webhook_config(url: str) -> str:
    return BASE + f"receivers:\n  - name: bench\n    webhook_configs: [{{url: '{url}'}}]\n"


def slack_config(url: str) -> str:
    return BASE + ("receivers:\n  - name: bench\n    slack_configs:\n"
                   f"      - {{app_token: xoxb-test, app_url: '{url}/api/chat.postMessage',"
                   " channel: C0001, pace: 0s}\n")


def postable(i: int) -> list[dict[str, Any]]:
    """One alert as a client posts it (already decoded from JSON)."""
    return [{"labels": {"alertname": f"Bench{i:05d}", "severity": "page", "instance": "bench"},
             "annotations": {"summary": f"bench alert {i}"}}]


def ingest(daemon: Daemon, body: list[dict[str, Any]]) -> None:
    """What the API's POST /api/v2/alerts does with a decoded body."""
    now = daemon.clock.now()
    alerts, errors = parse_postable(body, now, daemon.notifications.resolve_timeout)
    assert not errors, errors
    daemon.alerts.put(alerts, now)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def sent(daemon: Daemon) -> int:
    stats = daemon.notifications.delivery_stats
    return sum(stats.sent.values()) + sum(stats.failed.values())


async def wait_sent(daemon: Daemon, count: int) -> None:
    """Until `count` notifications were sent (or failed for good), however long the backlog
    takes to drain; gives up when none goes out for STALL_LIMIT seconds."""
    done, since = sent(daemon), time.monotonic()
    while done < count:
        await asyncio.sleep(0.005)
        if sent(daemon) > done:
            done, since = sent(daemon), time.monotonic()
        elif time.monotonic() - since > STALL_LIMIT:
            raise RuntimeError(f"only {done} of {count} notifications were sent")
    await daemon.notifications.settle()


@contextlib.asynccontextmanager
async def running(text: str, root: Path) -> AsyncIterator[Daemon]:
    path = root / "alertd.yml"
    path.write_text(text)
    daemon = Daemon(parse_config(text, str(path)), str(path))
    await daemon.start()
    tune_gc()  # as `alertd run` does once started
    try:
        yield daemon
    finally:
        await daemon.stop()


# --- the other process ------------------------------------------------------------------------
def _child(conn: Connection, serve: Serve) -> None:
    for var in PROXY_ENV_VARS:
        os.environ.pop(var, None)
    asyncio.run(serve(conn))


async def _until_told(conn: Connection) -> None:
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def serve_webhook(conn: Connection) -> None:
    """The webhook receiver: notes when each request arrived, answers 200."""
    arrivals: list[tuple[str, float]] = []
    probes: list[float] = []

    async def hook(request: web.Request) -> web.Response:
        at = time.monotonic()
        body = await request.json()
        arrivals.extend((a["labels"]["alertname"], at) for a in body["alerts"])
        return web.Response()

    async def probe(request: web.Request) -> web.Response:
        probes.append(time.monotonic())
        await request.read()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/probe", probe)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    conn.send(f"http://127.0.0.1:{runner.addresses[0][1]}")
    cpu = time.process_time()
    await _until_told(conn)
    conn.send({"arrivals": arrivals, "probes": probes, "cpu": time.process_time() - cpu})
    await runner.cleanup()


async def serve_slack(conn: Connection) -> None:
    """The Slack double, noting when each chat.postMessage was answered."""
    posted: list[float] = []

    @web.middleware
    async def stamp(request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                    ) -> web.StreamResponse:
        response = await handler(request)
        if request.path.endswith("/chat.postMessage"):
            posted.append(time.monotonic())
        return response

    slack = FakeSlack()
    slack.app.middlewares.append(stamp)
    async with slack:
        conn.send(slack.url)
        cpu = time.process_time()
        await _until_told(conn)
        conn.send({"messages": len(slack.messages("C0001")), "posted": posted,
                   "cpu": time.process_time() - cpu})


@contextlib.contextmanager
def other_process(serve: Serve) -> Iterator[Connection]:
    """A server in a process of its own; yields the pipe after its URL was received."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process: BaseProcess = ctx.Process(target=_child, args=(theirs, serve), daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the server process did not start")
        yield ours
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()


async def finish(conn: Connection) -> dict[str, Any]:
    conn.send("stop")
    result: dict[str, Any] = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    return result


# --- webhook ----------------------------------------------------------------------------------
async def loopback(url: str) -> tuple[list[float], list[float]]:
    """Send times and round trips of plain POSTs, one at a time, 1 ms apart."""
    starts: list[float] = []
    trips: list[float] = []
    async with aiohttp.ClientSession() as http:
        for _ in range(PROBES):
            started = time.monotonic()
            async with http.post(url + "/probe", data=PROBE_BODY,
                                 headers={"Content-Type": "application/json"}) as resp:
                await resp.read()
            trips.append(time.monotonic() - started)
            starts.append(started)
            await asyncio.sleep(0.001)
    return starts, trips


async def feed(daemon: Daemon, bodies: list[list[dict[str, Any]]],
               rate: float) -> tuple[list[float], list[float]]:
    """Ingest the bodies at `rate` per second on an absolute schedule; returns when each
    went in and how late that was."""
    ingested: list[float] = []
    lags: list[float] = []
    start = time.monotonic()
    i = 0
    while i < len(bodies):
        now = time.monotonic()
        while i < len(bodies) and start + i / rate <= now:
            at = time.monotonic()
            ingest(daemon, bodies[i])
            ingested.append(at)
            lags.append(at - (start + i / rate))
            i += 1
        if i < len(bodies):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
    return ingested, lags


async def bench_webhook(rate: float, seconds: float, profile: bool,
                        batch: int = 1) -> dict[str, Any]:
    total = int(rate * seconds) // batch * batch
    alerts = [postable(i)[0] for i in range(total)]
    names = [a["labels"]["alertname"] for a in alerts]
    bodies = [alerts[i:i + batch] for i in range(0, total, batch)]
    with other_process(serve_webhook) as conn, tempfile.TemporaryDirectory() as tmp:
        url = conn.recv()
        async with running(webhook_config(url + "/hook"), Path(tmp)) as daemon:
            probe_starts, trips = await loopback(url)
            profiler = cProfile.Profile(time.thread_time) if profile else None
            cpu = time.process_time()
            if profiler is not None:
                profiler.enable()
            posted, lags = await feed(daemon, bodies, rate / batch)
            ingested = [at for at in posted for _ in range(batch)]
            await wait_sent(daemon, total)
            if profiler is not None:
                profiler.disable()
            cpu = time.process_time() - cpu
            stats = daemon.notifications.delivery_stats
            retried = sum(stats.retried.values())
            failed = sum(stats.failed.values())
        received = await finish(conn)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue(), file=sys.stderr)

    arrivals: list[tuple[str, float]] = received["arrivals"]
    one_way = [at - s for at, s in zip(received["probes"], probe_starts, strict=True)]
    wire = statistics.median(one_way)
    ingested_at = dict(zip(names, ingested, strict=True))
    counts = Counter(name for name, _ in arrivals)
    first_arrival: dict[str, float] = {}
    for name, at in arrivals:
        first_arrival.setdefault(name, at)
    latencies = [first_arrival[n] - ingested_at[n] for n in names if n in first_arrival]
    own = [v - wire for v in latencies]
    last = max(at for _, at in arrivals)
    return {
        "webhook_rate": rate,
        "webhook_alerts_per_post": batch,
        "webhook_notifications": len(arrivals),
        "webhook_exactly_once": len(arrivals) == total and set(counts) == set(names)
        and max(counts.values()) == 1,
        "webhook_missing": total - len(set(counts) & set(names)),
        "webhook_duplicates": sum(c - 1 for c in counts.values()),
        "webhook_retried": retried,
        "webhook_failed": failed,
        "end_to_end_p50_ms": ms(statistics.median(latencies)),
        "end_to_end_p99_ms": ms(percentile(latencies, 0.99)),
        "end_to_end_max_ms": ms(max(latencies)),
        "loopback_one_way_p50_ms": ms(wire),
        "loopback_rtt_p50_ms": ms(statistics.median(trips)),
        "own_p50_ms": ms(statistics.median(own)),
        "own_p90_ms": ms(percentile(own, 0.90)),
        "own_p99_ms": ms(percentile(own, 0.99)),
        "own_max_ms": ms(max(own)),
        "ingest_lag_p99_ms": ms(percentile(lags, 0.99)),
        "achieved_rate": round(len(arrivals) / (last - ingested[0]), 1),
        "alertd_cpu_share": round(cpu / (last - ingested[0]), 2),
        "receiver_cpu_share": round(received["cpu"] / (last - ingested[0]), 2),
    }


# --- slack ------------------------------------------------------------------------------------
async def bench_slack(groups: int) -> dict[str, Any]:
    bodies = [postable(i) for i in range(groups)]
    with other_process(serve_slack) as conn, tempfile.TemporaryDirectory() as tmp:
        url = conn.recv()
        async with running(slack_config(url), Path(tmp)) as daemon:
            cpu = time.process_time()
            started = time.monotonic()
            ingest(daemon, [alert for body in bodies for alert in body])
            await wait_sent(daemon, groups)
            cpu = time.process_time() - cpu
            stats = daemon.notifications.delivery_stats
            retried = sum(stats.retried.values())
            failed = sum(stats.failed.values())
        double = await finish(conn)
    wall = max(double["posted"]) - started
    return {
        "slack_groups": groups,
        "slack_notifications": double["messages"],
        "slack_retried": retried,
        "slack_failed": failed,
        "slack_per_second": round(double["messages"] / wall, 1),
        "slack_double": "separate process",
        "slack_alertd_cpu_share": round(cpu / wall, 2),
        "slack_double_cpu_share": round(double["cpu"] / wall, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "notify"}
    result |= await bench_webhook(args.rate, args.seconds, args.profile, args.batch)
    if args.slack_groups > 0:
        result |= await bench_slack(args.slack_groups)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1000.0, help="alerts (notifications) per s")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1,
                        help="alerts per POST: 1, or as Prometheus sends them, several")
    parser.add_argument("--slack-groups", type=int, default=2000, help="0: no Slack run")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the webhook run; the top functions go to stderr")
    args = parser.parse_args()
    for var in PROXY_ENV_VARS:  # slack-sdk reads them and would send loopback via a proxy
        os.environ.pop(var, None)
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
