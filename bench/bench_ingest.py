"""Ingest throughput of the push sources, end to end into the series store.

webhook: a real aiohttp server (this process) with the real handler, storing into a
SeriesStore; a client in another process posts batches of `--batch` samples over
`--connections` keep-alive connections (each connection its own series, so none arrive out of
order). The first request of each connection creates its series and is not timed.

mqtt: a Mosquitto started here on a free port; the MqttSource (this process) subscribes with
QoS 1; another process publishes `--messages` small QoS 1 messages as fast as the broker takes
them (mosquitto_pub if installed, else an aiomqtt client, which is slower than the source
and then bounds the figure). Timed from the go signal until the source has stored every
sample.

Also `parse_samples_per_s`: JSON decoding and schema checks alone, for the same batches.
Prints one JSON line; each figure is the best of `--repeat` runs.

    python bench/bench_ingest.py [--requests 200] [--batch 1000] [--messages 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

from alertd.clock import SystemClock
from alertd.series import OutOfOrderError
from alertd.sources.mqtt import MqttSettings, MqttSource, MqttSubscription
from alertd.sources.push import PushedSample, parse_samples_bytes
from alertd.sources.samples import SeriesStore
from alertd.sources.webhook import SAMPLES_PATH, webhook_routes

T0 = 1_800_000_000.0
MQTT_TOPIC = "ml/churn/features"
TOKEN = "bench-token"


class StoreSink:
    """The sample sink over a SeriesStore, as the daemon's windows do it."""

    def __init__(self) -> None:
        self.store = SeriesStore()
        self.stored = 0

    def ingest(self, samples: Sequence[PushedSample], now: float) -> list[tuple[int, str]]:
        refused: list[tuple[int, str]] = []
        series_for = self.store.series
        for i, sample in enumerate(samples):
            t = now if sample.timestamp is None else sample.timestamp
            series = series_for(sample.labels)
            try:
                for v in sample.values:
                    series.append(t, v)
            except OutOfOrderError as exc:
                refused.append((i, str(exc)))
        self.stored += len(samples) - len(refused)
        return refused


def batch_body(conn: int, step: int, size: int) -> bytes:
    """One request: `size` series of one connection, all at time step `step`."""
    return json.dumps([
        {"metric": "feature_value",
         "labels": {"conn": f"c{conn}", "model": f"m{i % 10}", "feature": f"f{i // 10}"},
         "value": (i * 7 + step) % 100 / 10, "timestamp": T0 + step}
        for i in range(size)
    ]).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- webhook --------------------------------------------------------------------------------


def _webhook_client(port: int, connections: int, requests: int, batch: int,
                    out: Connection) -> None:
    async def main() -> None:
        per_conn = requests // connections
        bodies = [[batch_body(c, step, batch) for step in range(per_conn + 1)]
                  for c in range(connections)]
        url = f"http://127.0.0.1:{port}{SAMPLES_PATH}"
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        async with ClientSession(connector=TCPConnector(limit=connections)) as session:

            async def worker(c: int, steps: range) -> None:
                for step in steps:
                    async with session.post(url, data=bodies[c][step],
                                            headers=headers) as response:
                        if response.status != 202:
                            raise RuntimeError(f"{response.status}: {await response.text()}")

            await asyncio.gather(*(worker(c, range(1)) for c in range(connections)))
            start = time.perf_counter()
            await asyncio.gather(*(worker(c, range(1, per_conn + 1))
                                   for c in range(connections)))
            out.send((time.perf_counter() - start, per_conn * connections * batch))

    asyncio.run(main())


async def bench_webhook(requests: int, batch: int, connections: int) -> float:
    sink = StoreSink()
    app = web.Application()
    app.add_routes(webhook_routes(sink, SystemClock(), tokens=frozenset({TOKEN}),
                                  max_body_bytes=64 << 20))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        ctx = multiprocessing.get_context("spawn")
        receiver, sender = ctx.Pipe(duplex=False)
        client = ctx.Process(target=_webhook_client,
                             args=(port, connections, requests, batch, sender))
        client.start()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, client.join)
        if client.exitcode != 0 or not receiver.poll():
            raise RuntimeError("the webhook client failed")
        elapsed, timed_samples = receiver.recv()
        expected = timed_samples + connections * batch
        if sink.stored != expected:
            raise RuntimeError(f"stored {sink.stored} samples, expected {expected}")
        return float(timed_samples / elapsed)
    finally:
        await runner.cleanup()


def bench_parse(batch: int) -> float:
    bodies = [batch_body(0, step, batch) for step in range(20)]
    start = time.perf_counter()
    for body in bodies:
        parse_samples_bytes(body)
    return len(bodies) * batch / (time.perf_counter() - start)


# --- mqtt -----------------------------------------------------------------------------------


def _start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = os.environ.get("MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = workdir / "mosquitto.conf"
    # The default queue of 1000 QoS 1 messages per client would drop messages whenever the
    # subscriber falls that far behind the publisher; the bench counts every message.
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 1000000\n")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("mosquitto did not start") from None
            time.sleep(0.01)


def mqtt_lines(messages: int) -> list[str]:
    return [json.dumps({"metric": "feature_value", "labels": {"feature": f"f{i % 50}"},
                        "value": i % 97 / 10, "timestamp": T0 + i}, separators=(",", ":"))
            for i in range(messages)]


_PUBLISHER = """
import asyncio, sys, aiomqtt
async def main(port, topic, lines):
    async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=100) as client:
        client.pending_calls_threshold = 1000  # no warning per publish in flight
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        sys.stdin.readline()
        sem = asyncio.Semaphore(100)
        async def one(line):
            async with sem:
                await client.publish(topic, line, qos=1)
        await asyncio.gather(*(one(line) for line in lines))
lines = open(sys.argv[3]).read().splitlines()
asyncio.run(main(int(sys.argv[1]), sys.argv[2], lines))
"""


async def bench_mqtt(messages: int, workdir: Path) -> tuple[float, str]:
    broker, port = _start_mosquitto(workdir)
    data = workdir / "messages.txt"
    data.write_text("\n".join(mqtt_lines(messages)) + "\n")
    sink = StoreSink()
    sub = MqttSubscription(MQTT_TOPIC, {"model": 1})
    settings = MqttSettings.from_url(f"mqtt://127.0.0.1:{port}", [sub], reconnect_min=0.05,
                                     reconnect_max=0.5)
    source = MqttSource(settings, sink, SystemClock())
    task = asyncio.create_task(source.run())
    loop = asyncio.get_running_loop()
    try:
        while not source.connected:
            await asyncio.sleep(0.01)
        mosquitto_pub = shutil.which("mosquitto_pub")
        if mosquitto_pub:
            publisher = "mosquitto_pub"
            args = [mosquitto_pub, "-h", "127.0.0.1", "-p", str(port), "-t", MQTT_TOPIC,
                    "-q", "1", "-M", "100", "-l"]
            start = time.perf_counter()
            with data.open("rb") as stdin:
                proc = await asyncio.create_subprocess_exec(*args, stdin=stdin)
        else:
            publisher = "aiomqtt"
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _PUBLISHER, str(port), MQTT_TOPIC, str(data),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            assert proc.stdin is not None and proc.stdout is not None
            await proc.stdout.readline()
            start = time.perf_counter()
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        deadline = loop.time() + 120
        while source.messages_received < messages:
            if loop.time() > deadline:
                raise RuntimeError(f"received {source.messages_received} of {messages}")
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - start
        await proc.wait()
        if source.messages_malformed or sink.stored != messages:
            raise RuntimeError(f"stored {sink.stored} of {messages}; "
                               f"{source.messages_malformed} malformed")
        return messages / elapsed, publisher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        broker.terminate()
        broker.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    webhook = max(asyncio.run(bench_webhook(args.requests, args.batch, args.connections))
                  for _ in range(args.repeat))
    parse = max(bench_parse(args.batch) for _ in range(args.repeat))
    mqtt = 0.0
    publisher = ""
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            rate, publisher = asyncio.run(bench_mqtt(args.messages, Path(tmp)))
            mqtt = max(mqtt, rate)
    print(json.dumps({
        "webhook_samples_per_s": round(webhook),
        "webhook_requests": args.requests,
        "batch": args.batch,
        "parse_samples_per_s": round(parse),
        "mqtt_messages_per_s": round(mqtt),
        "mqtt_messages": args.messages,
        "mqtt_publisher": publisher,
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
