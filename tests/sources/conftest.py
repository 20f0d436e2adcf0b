"""A real Mosquitto broker on a free loopback port, for tests that speak MQTT."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str:
    """The broker binary: $MOSQUITTO, then PATH, then the Debian location. Fails if absent."""
    candidates = [os.environ.get("MOSQUITTO"), shutil.which("mosquitto"), *MOSQUITTO_PATHS]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail("mosquitto is not installed (apt-get install mosquitto, or set $MOSQUITTO): "
                "the MQTT tests need a real broker", pytrace=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mosquitto:
    """A broker process that can be stopped and started again on the same port."""

    def __init__(self, workdir: Path, *, port: int | None = None,
                 extra_config: tuple[str, ...] = ()) -> None:
        self.binary = find_mosquitto()
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.workdir = workdir
        self.config = workdir / "mosquitto.conf"
        self.config.write_text("\n".join([
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence false",
            *extra_config,
        ]) + "\n")
        self.log = workdir / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Starts the broker and returns once it accepts connections."""
        if self.running:
            raise RuntimeError("mosquitto is already running")
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._process.returncode}:\n"
                                   f"{self.log.read_text(errors='replace')}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mosquitto did not listen on {self.port} within "
                                       f"{timeout}s:\n{self.log.read_text(errors='replace')}"
                                       ) from None
                time.sleep(0.01)  # waiting for a process to start, not for test state

    def stop(self) -> None:
        """Stops the broker (its clients see the connection drop)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running broker on a free port; stopped after the test."""
    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
