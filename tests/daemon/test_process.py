"""`alertd run` as a process: killed and restarted, reloaded with SIGHUP.

Real time is used here (a process cannot be handed a fake clock), with one-second
intervals; every wait polls for a condition with a bound instead of sleeping blindly.
"""

from __future__ import annotations

import signal
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.helpers import AlertdProcess, process_in, wait_for

RULES = '''\
group proc {
  interval = 1s
  owner    = "ops"

  alert RoomWarm {
    when     = temperature{room="a"} > 30
    for      = 8s
    severity = "ticket"
    runbook  = "https://runbooks.example.com/warm"
  }

  alert RoomHot {
    when     = temperature{room="b"} > 30
    severity = "page"
    runbook  = "https://runbooks.example.com/hot"
  }
}
'''


@pytest.fixture
def alertd_process(tmp_path: Path) -> Iterator[AlertdProcess]:
    proc = process_in(tmp_path, {"proc.rules": RULES}, console=True,
                      extra="samples:\n  snapshot_interval: 1s\n")
    yield proc
    proc.stop()


def temperatures(a: float, b: float) -> list[dict[str, Any]]:
    return [{"metric": "temperature", "labels": {"room": "a"}, "value": a},
            {"metric": "temperature", "labels": {"room": "b"}, "value": b}]


def saved(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def test_sigkill_and_restart_keeps_for_progress_and_does_not_repage(
        alertd_process: AlertdProcess, tmp_path: Path) -> None:
    alertd_process.start()
    alertd_process.push(temperatures(35, 40))
    warm = wait_for(lambda: alertd_process.instance("RoomWarm"), what="RoomWarm pending")
    assert warm["state"] == "pending"
    wait_for(lambda: (alertd_process.instance("RoomHot") or {}).get("state") == "firing",
             what="RoomHot firing")
    db = tmp_path / "data" / "alertd.db"
    # Both the pending instance and the pushed samples are on disk before the kill.
    wait_for(lambda: saved(db, "select count(*) from alert_instance where rule='RoomWarm'")
             == [(1,)], what="RoomWarm saved")
    wait_for(lambda: saved(db, "select count(*) from window_series") == [(2,)],
             what="windows saved")
    alertd_process.kill()
    output_before = alertd_process.log.read_text()
    assert output_before.count("FIRING   RoomHot") == 1

    alertd_process.start()
    # The samples keep coming, as they would from a live system.
    fired = wait_for(lambda: (alertd_process.push(temperatures(35, 40)) or
                              ((alertd_process.instance("RoomWarm") or {}).get("state")
                               == "firing" and alertd_process.instance("RoomWarm"))),
                     timeout=30, what="RoomWarm firing")
    assert fired["activeAt"] == warm["activeAt"]  # the `for` clock was not restarted
    active_at = _seconds(fired["activeAt"])
    assert _seconds(fired["firedAt"]) - active_at < 8 + 2.5  # fired at the original deadline
    # RoomHot was firing before the kill and stays firing, without a second page.
    assert (alertd_process.instance("RoomHot") or {}).get("state") == "firing"
    output_after = alertd_process.log.read_text()[len(output_before):]
    assert "RoomHot" not in output_after
    hot = [a for a in alertd_process.get("/api/v2/alerts")
           if a["labels"]["alertname"] == "RoomHot"]
    assert len(hot) == 1


def test_sighup_with_a_bad_rule_file_keeps_the_old_rules(
        alertd_process: AlertdProcess, tmp_path: Path) -> None:
    alertd_process.start()
    (tmp_path / "rules" / "bad.rules").write_text("alert Bad {\n  when = up >\n}\n")
    alertd_process.signal(signal.SIGHUP)
    status = wait_for(lambda: (lambda s: s if not s["lastReload"]["success"] else None)(
        alertd_process.get("/api/alertd/v1/status")), what="the failed reload")
    assert "bad.rules:3:1" in status["lastReload"]["error"]
    assert status["rules"] == 2
    alertd_process.push(temperatures(20, 45))
    wait_for(lambda: (alertd_process.instance("RoomHot") or {}).get("state") == "firing",
             what="old rules still evaluating")
    with urllib.request.urlopen(alertd_process.url + "/metrics", timeout=5) as resp:
        assert "alertd_config_last_reload_successful 0.0" in resp.read().decode()
    # Fixing the file is picked up by a reload too.
    (tmp_path / "rules" / "bad.rules").write_text(
        'alert Good {\n  when = up == 0\n  owner = "ops"\n}\n')
    alertd_process.signal(signal.SIGHUP)
    wait_for(lambda: alertd_process.get("/api/alertd/v1/status")["rules"] == 3,
             what="the good reload")


def _seconds(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
