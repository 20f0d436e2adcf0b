"""`alertd run` as a process keeps answering its health check while regexes that make a
backtracking engine take exponential time are matched against long label values.

Real time is used (a process cannot be handed a fake clock); the load runs for a bounded
wall-clock time and every request has a timeout, so a stalled daemon fails quickly.
"""

from __future__ import annotations

import functools
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.helpers import AlertdProcess, process_in

SLOW = "a" * 40 + "!"  # `(a+)+` needs about 2**40 steps on it when backtracking
PATTERN = "(a+)+"
LOAD_SECONDS = 2.0
HEALTH_BOUND = 0.1


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[AlertdProcess]:
    proc = process_in(tmp_path, {}, evaluation_interval=None)
    proc.start()
    yield proc
    proc.stop()


def call(url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        text = resp.read().decode()
        return resp.status, json.loads(text) if text and text[0] in "[{\"" else text


def silence(n: int) -> dict[str, Any]:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))
    return {"matchers": [{"name": "instance", "value": PATTERN, "isRegex": True},
                         {"name": "alertname", "value": f"Slow{n}", "isRegex": False}],
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "endsAt": stamp, "createdBy": "load", "comment": "regex load"}


def keep_calling(until: float, answers: list[tuple[int, Any]], url: str,
                 body: Callable[[], Any] | None = None) -> None:
    while time.monotonic() < until:
        answers.append(call(url, None if body is None else body()))


def probe_health(url: str, until: float) -> list[float]:
    took = []
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            status, _ = call(url + "/-/healthy", timeout=1.0)
        except OSError:
            status = 0
        took.append(time.perf_counter() - started if status == 200 else float("inf"))
        time.sleep(0.02)
    return took


def test_health_answers_promptly_while_slow_regexes_are_matched(
        daemon: AlertdProcess) -> None:
    alerts = [{"labels": {"alertname": f"Slow{i}", "instance": SLOW}} for i in range(5)]
    alerts.append({"labels": {"alertname": "Slow5", "instance": "a" * 40}})
    assert call(daemon.url + "/api/v2/alerts", alerts)[0] == 200
    query = urllib.parse.urlencode({"filter": f'instance=~"{PATTERN}"'})
    filtered: list[tuple[int, Any]] = []
    created: list[tuple[int, Any]] = []
    until = time.monotonic() + LOAD_SECONDS
    with ThreadPoolExecutor(6) as pool:
        loads = [pool.submit(keep_calling, until, filtered, f"{daemon.url}/api/v2/alerts?{query}")
                 for _ in range(3)]
        loads += [pool.submit(keep_calling, until, created, daemon.url + "/api/v2/silences",
                              functools.partial(silence, n)) for n in range(2)]
        took = probe_health(daemon.url, until)
        for load in loads:
            load.result()
    slow = [t for t in took if t >= HEALTH_BOUND]
    assert len(took) >= 10 and not slow, f"{len(slow)} of {len(took)} probes slow: {slow}"
    # The work was done, and right: only the value that `(a+)+` matches as a whole.
    assert filtered and all(status == 200 for status, _ in filtered)
    assert {a["labels"]["alertname"] for _, found in filtered for a in found} == {"Slow5"}
    assert created and all(status == 200 for status, _ in created)
