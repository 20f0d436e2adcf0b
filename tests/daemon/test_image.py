"""The container image: what its Dockerfile declares, and the command it runs.

No container engine runs here, so the image's own command line (ENTRYPOINT + CMD) is run
as a process, with the paths the image documents (/etc/alertd, /var/lib/alertd) swapped
for temporary directories and 0.0.0.0 for a free loopback port; its HEALTHCHECK command
is then what says it is healthy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = "/etc/alertd"
DATA_DIR = "/var/lib/alertd"


def instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or (not line.strip() and not pending):
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, args = pending.strip().partition(" ")
            found.append((keyword.upper(), args.strip()))
            pending = ""
    return found


def only(keyword: str) -> str:
    values = [args for k, args in instructions() if k == keyword]
    assert len(values) == 1, f"expected one {keyword}, got {values}"
    return values[0]


def exec_form(args: str) -> list[str]:
    words = json.loads(args)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words), args
    return words


def test_the_image_is_pinned_runs_as_a_user_and_declares_port_health_and_volume() -> None:
    base = only("FROM")
    # An exact version (3.11.14), not a moving tag (3.11, latest), and its digest.
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base), base
    user = only("USER").split(":")[0]
    assert user not in ("root", "0"), user
    assert only("EXPOSE") == "9095"
    health = only("HEALTHCHECK")
    assert "CMD" in health and "/-/healthy" in health
    assert "curl" not in health  # the slim base has none
    assert exec_form(only("VOLUME")) == [DATA_DIR]
    # The daemon, not a one-off command, with the configuration at its documented place.
    assert exec_form(only("ENTRYPOINT")) + exec_form(only("CMD")) == [
        "alertd", "run", "--config", f"{CONFIG_DIR}/alertd.yml"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_images_command_serves_its_healthcheck(tmp_path: Path) -> None:
    etc, data = tmp_path / "etc", tmp_path / "data"
    data.mkdir()
    port = free_port()

    def local(text: str) -> str:
        return (text.replace(CONFIG_DIR, str(etc)).replace(DATA_DIR, str(data))
                .replace("0.0.0.0:9095", f"127.0.0.1:{port}")
                .replace("127.0.0.1:9095", f"127.0.0.1:{port}"))

    # What the image copies under /etc/alertd, copied under etc/.
    for keyword, args in instructions():
        if keyword == "COPY" and args.split()[-1].startswith(CONFIG_DIR):
            source, target = (ROOT / args.split()[0]), Path(local(args.split()[-1]))
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                target.write_text(local(source.read_text()))
    assert (etc / "alertd.yml").is_file() and list((etc / "rules").glob("*.rules"))

    command = [local(w) for w in exec_form(only("ENTRYPOINT")) + exec_form(only("CMD"))]
    assert command[0] == "alertd"
    log = (tmp_path / "alertd.out").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "alertd", *command[1:]], cwd=data,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    health = exec_form(only("HEALTHCHECK").split("CMD", 1)[1].strip())
    assert health[0] == "python"
    probe = [sys.executable, *(local(w) for w in health[1:])]

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"alertd exited: {(tmp_path / 'alertd.out').read_text()}")
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0

    try:
        wait_for(healthy, "the healthcheck to pass")
        assert (data / "alertd.db").is_file()  # the database is on the volume
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == 0
