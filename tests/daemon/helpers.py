"""What the daemon tests share: a working directory of rule files and an alertd.yml, a
daemon started from it in the test's process, and `alertd run` started from it as a
process.

A process cannot be handed a fake clock, so its tests use real time, with one-second
intervals; every wait polls for a condition with a bound instead of sleeping blindly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from alertd.clock import Clock
from alertd.config import load_config
from alertd.console import ConsolePrinter
from alertd.daemon import Daemon

# The start of the alertd.yml of a process without rule files, a `str.format` template
# with {port}; a test appends the sections it is about.
PROCESS_HEAD = """\
listen: 127.0.0.1:{port}
storage: sqlite:///data/alertd.db
rule_files: []
console: false
sources:
  prometheus: {{enabled: false}}
"""


def config_text(*, listen: str = "127.0.0.1:0", storage: str = "sqlite:///state/alertd.db",
                evaluation_interval: str | None = None, console: bool = False,
                extra: str = "") -> str:
    """An alertd.yml reading the rule files under rules/, with pushed samples only (no
    Prometheus); `extra` is appended as it is."""
    lines = [f"listen: {listen}", f"storage: {storage}", "rule_files: ['rules/*.rules']"]
    if evaluation_interval is not None:
        lines.append(f"evaluation_interval: {evaluation_interval}")
    if not console:
        lines.append("console: false")
    lines += ["sources:", "  prometheus: {enabled: false}"]
    return "\n".join(lines) + "\n" + extra


def write_workdir(workdir: Path, files: Mapping[str, str], config: str) -> Path:
    """`files` (rule files and the baselines they read) under workdir/rules, and `config`
    as workdir/alertd.yml, whose path is returned."""
    rules = workdir / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (rules / name).write_text(text)
    path = workdir / "alertd.yml"
    path.write_text(config)
    return path


async def start_daemon(config: Path, clock: Clock,
                       console: ConsolePrinter | None = None) -> Daemon:
    """The daemon of `config`, started without its scheduler: the test drives evaluation."""
    daemon = Daemon(load_config(str(config)), str(config), clock, console)
    await daemon.start(schedule=False)
    return daemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


class AlertdProcess:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.log = workdir / "alertd.out"
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        out = self.log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "alertd", "run", "--config", "alertd.yml"],
            cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wait_for(self.ready, what="alertd to be ready")

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"alertd exited: {self.log.read_text()}")
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as resp:
                ready: bool = resp.status == 200
                return ready
        except (urllib.error.URLError, OSError):
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as resp:
            return json.loads(resp.read())

    def push(self, samples: list[dict[str, Any]]) -> None:
        body = json.dumps(samples).encode()
        req = urllib.request.Request(self.url + "/api/alertd/v1/samples", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 202

    def instance(self, rule: str) -> dict[str, Any] | None:
        for group in self.get("/api/alertd/v1/rules")["groups"]:
            for r in group["rules"]:
                if r["name"] == rule and r["instances"]:
                    inst: dict[str, Any] = r["instances"][0]
                    return inst
        return None


def process_in(workdir: Path, files: Mapping[str, str], *,
               evaluation_interval: str | None = "1s", console: bool = False,
               extra: str = "") -> AlertdProcess:
    """An `alertd run` (not started yet) on a free port in `workdir`, with `files` under
    rules/."""
    port = free_port()
    write_workdir(workdir, files, config_text(
        listen=f"127.0.0.1:{port}", storage="sqlite:///data/alertd.db",
        evaluation_interval=evaluation_interval, console=console, extra=extra))
    return AlertdProcess(workdir, port)
