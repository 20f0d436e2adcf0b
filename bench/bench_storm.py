"""An alert storm, alertd and Alertmanager side by side on the same machine.

Each daemon runs as a process of its own, fresh (a new temporary directory; for alertd a
new SQLite file, or with `--storage postgresql://...` a new database on that server,
dropped afterwards), one after the other and never both at once: first Debian's
Alertmanager, then alertd. Both get the same routing: every alert a group of its own
(`group_by: ['...']`, each alert carries a unique `id` label), `group_wait: 0s`,
`group_interval: 5m`, `repeat_interval: 4h`, and one webhook receiver
(`send_resolved: false`) pointed at a recorder.

The recorder is an aiohttp server in another process (so that it takes no time from the
client's event loop); it notes the `time.monotonic()` at which each alert first arrives,
a clock that all processes of the machine share.

The client (this process, aiohttp) posts `--rounds` rounds of `--alerts-per-round` new
distinct alerts to `POST /api/v2/alerts`, `--batch` alerts a post, `--in-flight` posts at
once, as Prometheus would (labels, annotations, startsAt, endsAt an hour ahead, so that
every alert stays active to the end: after round 3, 60,000 are). Before the next round it
waits until every alert of the round has reached the recorder, or until none has arrived
for `--stall` seconds (then the round's missing alerts are counted, not waited for).

Figures, for each daemon:

- per round: `ingest_per_s`, the round's alerts over the time from its first post sent to
  its last post answered; `delivered_s`, from its first post sent until its last alert
  reached the recorder; `p50_ms` and `p99_ms` of the alerts' latency, from the moment the
  post carrying an alert was sent until the recorder got it; `missing`, `posts_failed`;
- over the rounds: the same percentiles over every alert; `cpu_s`, the daemon's user plus
  system time (`/proc/PID/stat`) from before the first post until the last round was
  delivered, and `cpu_per_alert_ms`; `peak_rss_mib`, the daemon's `VmHWM`
  (`/proc/PID/status`) at the end; `duplicates`; the ERROR and WARNING lines of its log;
- `single`: a fresh daemon of the same kind, `--single-alerts` alerts posted one a post,
  `--single-in-flight` posts at once: `ingest_per_s`, `p50_ms`, `p99_ms`.

`ratios` are alertd's figure over Alertmanager's, and `targets_met` says which of the
targets set for alertd hold (ingest at least twice Alertmanager's in every round and the
last round at least 90% of the first; p99 at most a quarter of Alertmanager's and p50
below it; CPU per alert at most Alertmanager's; peak RSS at most half; one-alert posts:
ingest above and p99 below Alertmanager's; and every alert delivered exactly once).
Progress goes to standard error, one JSON line to standard output.

    python bench/bench_storm.py [--rounds 3] [--alerts-per-round 20000] [--batch 100]
                                [--in-flight 8] [--single-alerts 3000]
                                [--storage sqlite|postgresql://postgres@127.0.0.1:5432/test]
                                [--only alertd|alertmanager]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
PROXY_ENV_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
JSON_HEADERS = {"Content-Type": "application/json"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SIDES = ("alertmanager", "alertd")


def routing(hook_url: str) -> str:
    """The routing part, the same YAML for both daemons."""
    return ("route:\n  receiver: webhook\n  group_by: ['...']\n  group_wait: 0s\n"
            "  group_interval: 5m\n  repeat_interval: 4h\n"
            "receivers:\n  - name: webhook\n    webhook_configs:\n"
            f"      - {{url: '{hook_url}', send_resolved: false}}\n")


def alertd_config(port: int, storage: Storage, hook_url: str) -> str:
    return (f"listen: 127.0.0.1:{port}\nstorage: {storage.url}\nrule_files: []\nconsole: false\n"
            "sources:\n  prometheus: {enabled: false}\n" + routing(hook_url))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def alerts_of(tag: str, count: int) -> list[dict[str, Any]]:
    """`count` distinct alerts as Prometheus posts them; `tag` names the round."""
    now = time.time()
    starts, ends = rfc3339(now), rfc3339(now + 3600)
    return [{"labels": {"alertname": f"Storm{i % 50:02d}", "job": "node",
                        "instance": f"host-{i % 500:03d}:9100", "severity": "page",
                        "round": tag, "id": f"{tag}-{i:06d}"},
             "annotations": {"summary": f"storm alert {i} of round {tag}",
                             "description": "generated by bench_storm"},
             "startsAt": starts, "endsAt": ends,
             "generatorURL": f"http://prometheus.example:9090/graph?g0.expr=storm{i}"}
            for i in range(count)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


# --- /proc ------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (every thread), from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # the fields after the command name
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine spent (every core), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / CLOCK_TICKS


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


# --- the recorder, in another process ---------------------------------------------------------
def _recorder_main(conn: Connection) -> None:
    for var in PROXY_ENV_VARS:
        os.environ.pop(var, None)
    asyncio.run(_serve_recorder(conn))


async def _serve_recorder(conn: Connection) -> None:
    """The webhook receiver: the first arrival of each alert `id`, counts per round."""
    first: dict[str, float] = {}
    per_round: Counter[str] = Counter()
    received = [0, 0]  # requests, alerts (with repeats)

    async def hook(request: web.Request) -> web.Response:
        at = time.monotonic()
        body = await request.json()
        received[0] += 1
        for alert in body["alerts"]:
            labels = alert["labels"]
            received[1] += 1
            key = labels.get("id", "")
            if key not in first:
                first[key] = at
                per_round[labels.get("round", "")] += 1
        return web.Response()

    async def count(request: web.Request) -> web.Response:
        return web.json_response(per_round)

    app = web.Application(client_max_size=64 << 20)
    app.router.add_post("/hook", hook)
    app.router.add_get("/count", count)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Alertmanager opens a connection per concurrent notification: a long backlog keeps
    # a burst of them from being dropped and retried a second later by the kernel.
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=4096).start()
    peak = [0]

    async def watch_connections() -> None:  # how many the sender keeps open at once
        while runner.server is not None:
            peak[0] = max(peak[0], len(runner.server.connections))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch_connections())
    conn.send(f"http://127.0.0.1:{runner.addresses[0][1]}")
    cpu = time.process_time()
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    watcher.cancel()
    conn.send({"first": first, "requests": received[0], "alerts": received[1],
               "peak_connections": peak[0], "cpu": time.process_time() - cpu})
    await runner.cleanup()


@dataclass
class Recorder:
    url: str
    conn: Connection

    async def finish(self) -> dict[str, Any]:
        self.conn.send("stop")
        loop = asyncio.get_running_loop()
        result: dict[str, Any] = await loop.run_in_executor(None, self.conn.recv)
        return result


@contextlib.contextmanager
def recorder() -> Iterator[Recorder]:
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process: BaseProcess = ctx.Process(target=_recorder_main, args=(theirs,), daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the recorder process did not start")
        yield Recorder(ours.recv(), ours)
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()


# --- the daemons ------------------------------------------------------------------------------
@dataclass
class Daemon:
    kind: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def log_lines(kind: str, log: Path) -> tuple[list[str], list[str]]:
    """The error and warning lines of a daemon's log."""
    errors: list[str] = []
    warnings: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        low = line.lower()
        if kind == "alertmanager":
            if "level=error" in low:
                errors.append(line)
            elif "level=warn" in low:
                warnings.append(line)
        elif " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
            errors.append(line)
        elif " WARNING " in line:
            warnings.append(line)
    return errors, warnings


@contextlib.asynccontextmanager
async def daemon(kind: str, root: Path, hook_url: str, args: argparse.Namespace,
                 storage: Storage) -> AsyncIterator[Daemon]:
    """Start Alertmanager or alertd in `root`, wait until it is ready; SIGTERM at the end."""
    port = free_port()
    if kind == "alertmanager":
        (root / "alertmanager.yml").write_text(routing(hook_url))
        (root / "data").mkdir()
        command = [*shlex.split(args.alertmanager_cmd),
                   f"--config.file={root / 'alertmanager.yml'}",
                   f"--storage.path={root / 'data'}",
                   f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    else:
        (root / "alertd.yml").write_text(alertd_config(port, storage, hook_url))
        command = [*shlex.split(args.alertd_cmd), "run", "--config", str(root / "alertd.yml")]
    log = root / f"{kind}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    running = Daemon(kind, f"http://127.0.0.1:{port}", process, log)
    try:
        await wait_ready(running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.get_running_loop().run_in_executor(None, process.wait, 60)
            except subprocess.TimeoutExpired:
                print(f"{kind} did not stop within 60 s of SIGTERM; killed", file=sys.stderr)
                process.kill()
                process.wait()
        if args.log_dir:
            Path(args.log_dir).mkdir(parents=True, exist_ok=True)
            shutil.copy(log, Path(args.log_dir) / f"{kind}-{process.pid}.log")


async def wait_ready(d: Daemon) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            if d.process.poll() is not None:
                tail = d.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{d.kind} exited with {d.process.returncode}: {tail}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(d.url + "/-/ready") as resp:
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{d.kind} not ready after 60 s")
            await asyncio.sleep(0.05)


@dataclass
class Storage:
    url: str  # alertd's `storage`
    database: str | None = None  # the PostgreSQL database made for this run


@contextlib.contextmanager
def fresh_storage(spec: str, root: Path) -> Iterator[Storage]:
    """alertd's `storage`: a new SQLite file in `root`, or a new database on the server of
    a postgresql:// URL (made with psql, dropped afterwards)."""
    if spec == "sqlite":
        yield Storage(f"sqlite:///{root / 'alertd.db'}")
        return
    url = urllib.parse.urlsplit(spec)
    admin = url._replace(path=url.path if url.path.strip("/") else "/postgres").geturl()
    name = f"bench_storm_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    psql(admin, f"CREATE DATABASE {name}")
    try:
        yield Storage(url._replace(path="/" + name).geturl(), name)
    finally:
        psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def storage_of(kind: str, args: argparse.Namespace) -> str:
    """Alertmanager keeps its state in files of its own: a database only for alertd."""
    return args.storage if kind == "alertd" else "sqlite"


def backend_cpu(database: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database` (found by the process
    title the server gives them: `postgres: ... user database host(port) state`)."""
    if database is None:
        return {}
    mark = f" {database} ".encode()
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if mark in (entry / "cmdline").read_bytes():
                    found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def psql(url: str, statement: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", statement], check=True,
                   stdout=subprocess.DEVNULL)


# --- the client -------------------------------------------------------------------------------
@dataclass
class Posted:
    """One round's posts: when each was sent and answered, and what failed."""

    ids: list[list[str]]  # the alert ids of each post
    sent: list[float]
    answered: list[float]
    failures: list[str] = field(default_factory=list)
    failed_posts: set[int] = field(default_factory=set)

    def sent_at(self) -> dict[str, float]:
        return {key: at for keys, at in zip(self.ids, self.sent, strict=True) for key in keys}


async def post_all(http: aiohttp.ClientSession, url: str, alerts: list[dict[str, Any]],
                   batch: int, in_flight: int) -> Posted:
    chunks = [alerts[i:i + batch] for i in range(0, len(alerts), batch)]
    bodies = [json.dumps(chunk).encode() for chunk in chunks]
    posted = Posted([[a["labels"]["id"] for a in chunk] for chunk in chunks],
                    [0.0] * len(bodies), [0.0] * len(bodies))
    order = iter(range(len(bodies)))

    async def worker() -> None:
        for i in order:
            posted.sent[i] = time.monotonic()
            try:
                async with http.post(url + "/api/v2/alerts", data=bodies[i],
                                     headers=JSON_HEADERS) as resp:
                    text = await resp.text()
                    if resp.status != 200:
                        posted.failures.append(f"HTTP {resp.status}: {text[:300]}")
                        posted.failed_posts.add(i)
            except (aiohttp.ClientError, TimeoutError) as exc:
                posted.failures.append(f"{type(exc).__name__}: {exc}")
                posted.failed_posts.add(i)
            posted.answered[i] = time.monotonic()

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return posted


async def wait_delivered(rec: Recorder, tag: str, count: int, stall: float) -> int:
    """Until `count` alerts of round `tag` reached the recorder, or none arrived for
    `stall` seconds; returns how many arrived."""
    done, since = 0, time.monotonic()
    async with aiohttp.ClientSession() as http:
        while done < count:
            await asyncio.sleep(0.05)
            async with http.get(rec.url + "/count") as resp:
                now_done = int((await resp.json()).get(tag, 0))
            if now_done > done:
                done, since = now_done, time.monotonic()
            elif time.monotonic() - since > stall:
                break
    return done


def client_session(in_flight: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight),
                                 timeout=aiohttp.ClientTimeout(total=600))


def latencies(posted: Posted, first: dict[str, float]) -> list[float]:
    return [first[key] - at for key, at in posted.sent_at().items() if key in first]


def round_figures(posted: Posted, first: dict[str, float], count: int) -> dict[str, Any]:
    lat = latencies(posted, first)
    start = min(posted.sent)
    arrived = [first[key] for keys in posted.ids for key in keys if key in first]
    return {
        "alerts": count,
        "posts": len(posted.sent),
        "ingest_per_s": round(count / (max(posted.answered) - start), 1),
        "delivered_s": round(max(arrived) - start, 3) if arrived else None,
        "p50_ms": ms(percentile(lat, 0.5)) if lat else None,
        "p99_ms": ms(percentile(lat, 0.99)) if lat else None,
        "max_ms": ms(max(lat)) if lat else None,
        "missing": count - len(lat),
        "posts_failed": len(posted.failed_posts),
    }


def log_figures(d: Daemon, label: str) -> dict[str, Any]:
    errors, warnings = log_lines(d.kind, d.log)
    for line in errors[:5]:
        print(f"{label}: log error: {line[:400]}", file=sys.stderr)
    figures: dict[str, Any] = {"log_errors": len(errors), "log_warnings": len(warnings)}
    if errors:
        figures["first_log_error"] = errors[0][:300]
    return figures


# --- the runs ---------------------------------------------------------------------------------
async def storm(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    n = args.alerts_per_round
    rounds: list[tuple[Posted, float]] = []  # each round's posts and the daemon's CPU
    with recorder() as rec, tempfile.TemporaryDirectory() as tmp, \
            fresh_storage(storage_of(kind, args), Path(tmp)) as storage:
        async with daemon(kind, Path(tmp), rec.url + "/hook", args, storage) as d, \
                client_session(args.in_flight) as http:
            client_cpu = time.process_time()
            cpu0 = cpu_seconds(d.pid)
            backends0 = backend_cpu(storage.database)
            machine0 = machine_busy_seconds()
            cpu_before = cpu0
            for r in range(1, args.rounds + 1):
                tag = f"r{r}"
                alerts = alerts_of(tag, n)
                posted = await post_all(http, d.url, alerts, args.batch, args.in_flight)
                took = max(posted.answered) - min(posted.sent)
                for failure in posted.failures[:3]:
                    print(f"{kind}: round {r}: post failed: {failure}", file=sys.stderr)
                done = await wait_delivered(rec, tag, n, args.stall)
                delivered = time.monotonic() - min(posted.sent)
                cpu_now = cpu_seconds(d.pid)
                print(f"{kind}: round {r}: {n} alerts posted in {took:.2f} s "
                      f"({n / took:.0f}/s), {done} delivered within {delivered:.2f} s"
                      + ("" if done == n else f" ({n - done} MISSING after {args.stall} s "
                                               "without a delivery)"), file=sys.stderr)
                rounds.append((posted, cpu_now - cpu_before))
                cpu_before = cpu_now
            cpu = cpu_seconds(d.pid) - cpu0
            client_cpu = time.process_time() - client_cpu
            machine = machine_busy_seconds() - machine0
            backends = sum(seconds - backends0.get(pid, 0.0)
                           for pid, seconds in backend_cpu(storage.database).items())
            peak_rss = status_kib(d.pid, "VmHWM")
            rss = status_kib(d.pid, "VmRSS")
        logs = log_figures(d, kind)
        received = await rec.finish()
    first: dict[str, float] = received["first"]
    per_round = []
    every: list[float] = []
    for r, (posted, round_cpu) in enumerate(rounds, start=1):
        figures = {"round": r} | round_figures(posted, first, n) | {"cpu_s": round(round_cpu, 2)}
        per_round.append(figures)
        every += latencies(posted, first)
    total = n * args.rounds
    return {
        "rounds": per_round,
        "alerts": total,
        "p50_ms": ms(percentile(every, 0.5)) if every else None,
        "p99_ms": ms(percentile(every, 0.99)) if every else None,
        "max_ms": ms(max(every)) if every else None,
        "missing": total - len(every),
        "duplicates": received["alerts"] - len(first),
        "webhook_requests": received["requests"],
        "webhook_peak_connections": received["peak_connections"],
        "cpu_s": round(cpu, 2),
        "cpu_per_alert_ms": round(cpu / total * 1000, 4),
        "peak_rss_mib": round(peak_rss / 1024, 1),
        "rss_end_mib": round(rss / 1024, 1),
        "exit_code": d.process.returncode,
        "client_cpu_s": round(client_cpu, 2),
        "recorder_cpu_s": round(received["cpu"], 2),
        # What the rest of the machine took meanwhile: near 0 on an otherwise idle machine.
        "other_cpu_s": round(max(0.0, machine - cpu - backends - client_cpu
                                 - received["cpu"]), 2),
    } | logs | ({} if storage.database is None else {
        "postgres_cpu_s": round(backends, 2),
        "cpu_per_alert_with_postgres_ms": round((cpu + backends) / total * 1000, 4)})


async def single(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    count = args.single_alerts
    with recorder() as rec, tempfile.TemporaryDirectory() as tmp, \
            fresh_storage(storage_of(kind, args), Path(tmp)) as storage:
        async with daemon(kind, Path(tmp), rec.url + "/hook", args, storage) as d, \
                client_session(args.single_in_flight) as http:
            posted = await post_all(http, d.url, alerts_of("s", count), 1,
                                    args.single_in_flight)
            for failure in posted.failures[:3]:
                print(f"{kind}: single: post failed: {failure}", file=sys.stderr)
            done = await wait_delivered(rec, "s", count, args.stall)
            took = max(posted.answered) - min(posted.sent)
            print(f"{kind}: single: {count} posts in {took:.2f} s ({count / took:.0f}/s), "
                  f"{done} delivered", file=sys.stderr)
        logs = log_figures(d, f"{kind} (single)")
        received = await rec.finish()
    figures = round_figures(posted, received["first"], count)
    del figures["posts"]
    return figures | {"in_flight": args.single_in_flight,
                      "duplicates": received["alerts"] - len(received["first"])} | logs


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "storm",
        "storage": "sqlite" if args.storage == "sqlite" else "postgresql",
        "rounds": args.rounds, "alerts_per_round": args.alerts_per_round,
        "batch": args.batch, "in_flight": args.in_flight, "cpus": os.cpu_count(),
        "alertd_source": source_version(),
    }
    for kind in SIDES:
        if args.only and args.only != kind:
            continue
        print(f"{kind}: storm of {args.rounds} x {args.alerts_per_round} alerts",
              file=sys.stderr)
        figures = await attempt(kind, storm(kind, args))
        if args.single_alerts > 0:
            print(f"{kind}: {args.single_alerts} alerts one a post", file=sys.stderr)
            figures["single"] = await attempt(kind, single(kind, args))
        result[kind] = figures
    result["ratios"], result["targets_met"] = compare(result.get("alertd"),
                                                      result.get("alertmanager"))
    return result


async def attempt(kind: str, figures: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """The figures of a run, or what made it fail (the other runs still go on)."""
    try:
        return await figures
    except Exception as exc:  # a daemon that does not start, a post that crashes the client
        message = f"{type(exc).__name__}: {exc}"
        print(f"{kind}: FAILED: {message}", file=sys.stderr)
        return {"error": message[-500:]}


def source_version() -> str | None:
    """The commit of the working tree alertd runs from, `-dirty` with local changes."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def compare(ad: dict[str, Any] | None,
            am: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """alertd's figures over Alertmanager's, and which targets hold."""
    ratios: dict[str, Any] = {}
    met: dict[str, Any] = {}
    ad = ad if ad is not None and "error" not in ad else None
    am = am if am is not None and "error" not in am else None
    if ad is not None and am is not None:
        for a, b in zip(ad["rounds"], am["rounds"], strict=True):
            ratios[f"ingest_round{a['round']}"] = ratio(a["ingest_per_s"], b["ingest_per_s"])
        for a, b in zip(ad["rounds"], am["rounds"], strict=True):
            ratios[f"delivered_round{a['round']}"] = ratio(a["delivered_s"], b["delivered_s"])
        ratios["p50"] = ratio(ad["p50_ms"], am["p50_ms"])
        ratios["p99"] = ratio(ad["p99_ms"], am["p99_ms"])
        ratios["cpu_per_alert"] = ratio(ad["cpu_per_alert_ms"], am["cpu_per_alert_ms"])
        cpu_key = "cpu_per_alert"
        if "cpu_per_alert_with_postgres_ms" in ad:  # the work moved to the server counts too
            cpu_key = "cpu_per_alert_with_postgres"
            ratios[cpu_key] = ratio(ad["cpu_per_alert_with_postgres_ms"],
                                    am["cpu_per_alert_ms"])
        ratios["peak_rss"] = ratio(ad["peak_rss_mib"], am["peak_rss_mib"])
        if "ingest_per_s" in ad.get("single", {}) and "ingest_per_s" in am.get("single", {}):
            for name, key in (("ingest", "ingest_per_s"), ("p50", "p50_ms"), ("p99", "p99_ms")):
                ratios["single_" + name] = ratio(ad["single"][key], am["single"][key])

        def below(key: str, limit: float, strict: bool = False) -> bool:
            value = ratios.get(key)
            return value is not None and (value < limit if strict else value <= limit)

        met["ingest_ge_2x_every_round"] = all(
            ratios[key] is not None and ratios[key] >= 2
            for key in ratios if key.startswith("ingest_round"))
        met["p99_le_quarter"] = below("p99", 0.25)
        met["p50_below"] = below("p50", 1, strict=True)
        met["cpu_per_alert_le"] = below(cpu_key, 1)
        met["peak_rss_le_half"] = below("peak_rss", 0.5)
        if "single_ingest" in ratios:
            met["single_ingest_above"] = (ratios["single_ingest"] is not None
                                          and ratios["single_ingest"] > 1)
            met["single_p99_below"] = below("single_p99", 1, strict=True)
    if ad is not None:
        ingest = [r["ingest_per_s"] for r in ad["rounds"]]
        met["ingest_last_round_ge_90pct_of_first"] = ingest[-1] >= 0.9 * ingest[0]
        runs = [ad] + ([ad["single"]] if "single" in ad else [])
        met["every_alert_delivered_once"] = all(
            run.get("missing") == 0 and run.get("duplicates") == 0 for run in runs)
    return ratios, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--alerts-per-round", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="alerts per post in the storm")
    parser.add_argument("--in-flight", type=int, default=8, help="posts at once in the storm")
    parser.add_argument("--single-alerts", type=int, default=3000,
                        help="alerts of the one-alert-a-post run; 0: no such run")
    parser.add_argument("--single-in-flight", type=int, default=4)
    parser.add_argument("--storage", default="sqlite",
                        help="alertd's storage: sqlite, or a postgresql:// URL of a server "
                             "on which a fresh database is made for each daemon")
    parser.add_argument("--only", choices=SIDES, help="run one daemon only")
    parser.add_argument("--alertd-cmd", default=str(ROOT / ".venv" / "bin" / "alertd"))
    parser.add_argument("--alertmanager-cmd",
                        default=shutil.which("prometheus-alertmanager")
                        or "/usr/bin/prometheus-alertmanager")
    parser.add_argument("--stall", type=float, default=60.0,
                        help="seconds without a delivery after which a round's missing "
                             "alerts are counted instead of waited for")
    parser.add_argument("--log-dir", help="keep a copy of each daemon's log here")
    args = parser.parse_args()
    if args.storage != "sqlite" and not args.storage.startswith("postgresql://"):
        parser.error("--storage: sqlite or postgresql://user@host:port/database")
    if min(args.rounds, args.alerts_per_round, args.batch, args.in_flight,
           args.single_in_flight) < 1 or args.single_alerts < 0:
        parser.error("sizes must be positive")
    for var in PROXY_ENV_VARS:  # nothing here may reach loopback through a proxy
        os.environ.pop(var, None)
    # Descriptors for the recorder's many connections, inherited by the child processes.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (65536 if hard == resource.RLIM_INFINITY else hard, hard))
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
