"""`alertd report` as users run it: a real process reading a store (SQLite and PostgreSQL)
that holds a constructed week of history, with the config's rules and owners."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from alertd.store import Store
from tests.api.conftest import start_daemon
from tests.cli.helpers import alertd
from tests.report.history import OWNERS, RULES, write_history

PERIOD = ("--from", "2026-11-23", "--to", "2026-11-30T00:00:00Z")


def write_config(directory: Path, storage: str, extra: str = "") -> Path:
    (directory / "team.rules").write_text(RULES)
    path = directory / "alertd.yml"
    path.write_text(f"storage: {storage}\nrule_files: [team.rules]\n{OWNERS}{extra}")
    return path


@pytest.fixture
async def with_history(db_url: str, tmp_path: Path) -> Path:
    """A directory with alertd.yml whose store holds the constructed history."""
    store = await Store.open(db_url)
    try:
        await write_history(store)
    finally:
        await store.close()
    write_config(tmp_path, db_url)
    return tmp_path


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_json_report_from_the_store(with_history: Path) -> None:
    report = as_json(alertd("report", "--config", "alertd.yml", *PERIOD, "--format", "json",
                            cwd=with_history))
    assert report["period"]["from"].startswith("2026-11-23T00:00:00")
    assert report["period"]["previous_from"].startswith("2026-11-16T00:00:00")
    assert report["totals"]["pages"] == 6 and report["totals_previous"]["pages"] == 2
    assert [(r["rule"], r["owner"], r["pages"]) for r in report["rules"]][:2] == [
        ("ChurnLatencyP99High", "ml-platform", 4), ("FraudScoreDrift", "risk", 2)]
    # Rules, owners and runbooks come from the config's rule files and owners.
    assert report["rule_health"]["without_runbook"] == ["QuietRule"]
    assert "QuietRule" in report["rule_health"]["never_fired_90d"]


def test_text_is_the_default(with_history: Path) -> None:
    result = alertd("report", "--config", "alertd.yml", *PERIOD, cwd=with_history)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("Alert noise report, all owners: 2026-11-23 00:00 UTC to "
                        "2026-11-30 00:00 UTC")
    top = lines.index("TOP RULES BY PAGES (3 of 3)")
    assert lines[top + 1].split()[:4] == ["RULE", "OWNER", "PAGES", "CHANGE"]
    assert lines[top + 2].split()[:4] == ["ChurnLatencyP99High", "ml-platform", "4", "+3"]
    assert result.stderr == ""  # progress goes to a terminal only


def test_one_owner_markdown_written_to_a_file(with_history: Path) -> None:
    result = alertd("report", "--config", "alertd.yml", *PERIOD, "--owner", "risk",
                    "--format", "markdown", "--out", "review.md", cwd=with_history)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    text = (with_history / "review.md").read_text()
    assert text.startswith("## Alert noise report, owner risk:")
    assert "`FraudScoreDrift`" in text and "`ChurnLatencyP99High`" not in text
    assert [p.name for p in with_history.iterdir() if p.name.startswith(".review")] == []


def test_html_to_a_file(with_history: Path) -> None:
    result = alertd("report", "--config", "alertd.yml", *PERIOD, "--format", "html",
                    "--out", "week.html", cwd=with_history)
    assert result.returncode == 0, result.stderr
    page = (with_history / "week.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and '<svg xmlns="http://www.w3.org/2000/svg"' \
        in page
    assert 'id="previous-period"' not in page  # links only on the page the daemon serves


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_default_period_is_the_last_seven_days(with_history: Path) -> None:
    before = time.time()
    report = as_json(alertd("report", "--config", "alertd.yml", "--format", "json",
                            cwd=with_history))
    end = datetime.fromisoformat(report["period"]["to"]).timestamp()
    start = datetime.fromisoformat(report["period"]["from"]).timestamp()
    assert before - 1 <= end <= time.time() + 1
    assert end - start == pytest.approx(7 * 86400, abs=1)
    relative = as_json(alertd("report", "--config", "alertd.yml", "--format", "json",
                              "--from", "-3d", "--to", "now", cwd=with_history))
    assert relative["period"]["previous_to"] == relative["period"]["from"]


def test_report_while_the_daemon_runs(tmp_path: Path) -> None:
    async def scenario() -> subprocess.CompletedProcess[str]:
        config = write_config(tmp_path, "sqlite:///alertd.db",
                              "listen: 127.0.0.1:0\nconsole: false\n"
                              "sources:\n  prometheus: {enabled: false}\n")
        daemon = await start_daemon(config)
        try:
            assert daemon.store is not None
            await write_history(daemon.store)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "alertd", "report", "--config", str(config), *PERIOD,
                "--format", "json", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode is not None
            return subprocess.CompletedProcess([], proc.returncode, out.decode(), err.decode())
        finally:
            await daemon.stop()

    assert as_json(asyncio.run(scenario()))["totals"]["pages"] == 6


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "yesterday"), 'alertd: --from: invalid time "yesterday": write RFC 3339'),
    (("--to", "-1x"), 'alertd: --to: invalid duration "1x"'),
    (("--from", "now", "--to", "-1d"), "alertd: --from must be before --to"),
])
def test_a_bad_time_is_one_line_naming_the_option(tmp_path: Path, args: tuple[str, ...],
                                                  message: str) -> None:
    write_config(tmp_path, "sqlite:///alertd.db")
    result = alertd("report", "--config", "alertd.yml", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_missing_store_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    write_config(tmp_path, "sqlite:///state/alertd.db")
    result = alertd("report", "--config", "alertd.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f'alertd: storage: no database at "{tmp_path}/state/alertd.db" '
                             "(has alertd run with this configuration?)\n")
    assert not (tmp_path / "state").exists()


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    write_config(tmp_path, "postgresql://alertd:s3cret@127.0.0.1:1/alertd")
    result = alertd("report", "--config", "alertd.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith('alertd: database "postgresql+asyncpg://alertd:***@')
    assert result.stderr.count("\n") == 1 and "s3cret" not in result.stderr


def test_an_unwritable_out_file(with_history: Path) -> None:
    result = alertd("report", "--config", "alertd.yml", "--out", "nodir/r.txt",
                    cwd=with_history)
    assert result.returncode == 1
    assert result.stderr.startswith('alertd: --out: cannot write "nodir/r.txt"')


def test_usage_errors_exit_2_and_help_lists_the_options(tmp_path: Path) -> None:
    bad = alertd("report", "--format", "pdf", cwd=tmp_path)
    assert bad.returncode == 2 and "Invalid value for '--format'" in bad.stderr
    assert alertd("report", "--nope", cwd=tmp_path).returncode == 2
    helped = alertd("report", "--help", cwd=tmp_path)
    assert helped.returncode == 0
    for option in ("--config", "--from", "--to", "--owner", "--format", "--out"):
        assert option in helped.stdout
