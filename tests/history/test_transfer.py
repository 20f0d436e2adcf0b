"""`alertd history export` and `import` as users run them: a real process, a SQLite store
exported and imported into SQLite and PostgreSQL, idempotent imports, bad lines named."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from pathlib import Path

import pytest

from alertd import history
from alertd.history import HistoryEvent
from alertd.history.transfer import BadLine, format_at, from_line, parse_at, to_line
from alertd.model import Labels
from alertd.store import Store
from tests.cli.helpers import alertd

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
CHURN = Labels({"alertname": "Churn", "model": "âge ☃", "owner": "team-ml", "severity": "page"})


def sample_events(base: float = T0) -> list[HistoryEvent]:
    return [
        history.transition(base + 0.1, CHURN, old="inactive", new="firing", value=math.nan,
                           rule="Churn"),
        history.transition(base + 1 / 3, CHURN, old="firing", new="resolved", value=0.25,
                           rule="Churn", reason="clear"),
        history.delivery(base + 61.000_123_4, CHURN, receiver="team", integration="slack",
                         attempt=1, outcome="ok", group_key="{}:{}", delivery_id="d1",
                         reason="first notification", channel="C0001", ts="1700000000.000100",
                         rule="Churn"),
        history.ack(base + 120, CHURN, by="ana (slack U1)", via="pagerduty", group_key="{}:{}",
                    rule="Churn"),
        history.silence(base + 180, Labels({"alertname": "Churn"}), action="created",
                        silence_id="5b1f", by="ana", comment="deploy", via="cli",
                        matchers=['alertname="Churn"', 'model=~"â.*"'], starts_at=base + 180,
                        ends_at=base + 3780),
        history.dedup(base + 240, Labels({"alertname": "DiskFull", "instance": "db1"}),
                      receiver="ops/webhook/0", group_key="{}:{}", send=False,
                      reason="nothing new"),
    ]


async def fill(url: str, events: list[HistoryEvent]) -> None:
    async with await Store.open(url) as store:
        await store.history.append(events)


async def count(url: str) -> int:
    async with await Store.open(url) as store:
        return len([e async for e in store.history.between(None, None)])


def config(path: Path, storage: str) -> Path:
    path.write_text(f"storage: '{storage}'\nrule_files: []\n")
    return path


# --- the line format --------------------------------------------------------------------------

def test_times_are_written_with_the_digits_that_read_back_exactly() -> None:
    assert format_at(T0) == "2027-01-15T08:00:00.000Z"
    assert format_at(T0 + 0.5) == "2027-01-15T08:00:00.500Z"
    assert format_at(1_800_000_061.000_123_5) == "2027-01-15T08:01:01.0001235Z"
    rng = random.Random(7)
    for _ in range(2000):
        at = rng.uniform(0, 4e9)
        assert parse_at(format_at(at)) == at
    assert parse_at("2027-01-15T09:00:00.5+01:00") == T0 + 0.5


def test_an_event_survives_a_line() -> None:
    for e in sample_events():
        back = from_line(to_line(e))
        assert (back.at, back.kind, back.fingerprint, back.labels, back.rule, back.owner) == (
            e.at, e.kind, e.fingerprint, e.labels, e.rule, e.owner)
        assert to_line(back) == to_line(e)
    line = json.loads(to_line(sample_events()[0]))
    assert list(line) == ["at", "kind", "fingerprint", "labels", "rule", "details"]
    assert line["details"]["value"] == "NaN"


@pytest.mark.parametrize(("change", "field"), [
    ({"at": "yesterday"}, "at"),
    ({"at": 1800000000}, "at"),
    ({"kind": "page"}, "kind"),
    ({"fingerprint": "0000000000000000"}, "fingerprint"),
    ({"labels": {"alertname": 1}}, "labels"),
    ({"rule": ""}, "rule"),
    ({"details": []}, "details"),
    ({"details": {"comment": "a\u0000b"}}, "details"),
    ({"extra": 1}, "extra"),
])
def test_a_bad_field_is_named(change: dict[str, object], field: str) -> None:
    line = {**json.loads(to_line(sample_events()[0])), **change}
    with pytest.raises(BadLine) as info:
        from_line(json.dumps(line))
    assert info.value.field == field and str(info.value).startswith(f'"{field}": ')


def test_a_missing_field_is_named() -> None:
    line = json.loads(to_line(sample_events()[0]))
    del line["labels"]
    with pytest.raises(BadLine, match='"labels": missing'):
        from_line(json.dumps(line))


# --- the commands -----------------------------------------------------------------------------

def test_export_from_sqlite_import_anywhere_and_import_again_adds_nothing(
        tmp_path: Path, db_url: str) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    asyncio.run(fill(source, sample_events()))
    exported = alertd("history", "export", "--config", str(config(tmp_path / "src.yml", source)),
                      cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 6
    assert "exported 6 events" in exported.stderr
    dump = tmp_path / "history.jsonl"
    dump.write_text(exported.stdout)

    target = config(tmp_path / "dst.yml", db_url)
    first = alertd("history", "import", str(dump), "--config", str(target), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "imported 6 events of 6 (0 already stored)" in first.stderr
    again = alertd("history", "import", str(dump), "--config", str(target), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "imported 0 events of 6 (6 already stored)" in again.stderr
    assert asyncio.run(count(db_url)) == 6

    back = alertd("history", "export", "--config", str(target), cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    assert back.stdout == exported.stdout  # the same events, to the last digit


def test_an_export_imported_into_its_own_store_adds_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    asyncio.run(fill(url, sample_events()))
    cfg = str(config(tmp_path / "a.yml", url))
    dump = tmp_path / "a.jsonl"
    dump.write_text(alertd("history", "export", "--config", cfg, cwd=tmp_path).stdout)
    result = alertd("history", "import", str(dump), "--config", cfg, cwd=tmp_path)
    assert "imported 0 events of 6" in result.stderr
    assert asyncio.run(count(url)) == 6


def test_export_takes_a_period(tmp_path: Path) -> None:
    now = time.time()
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    asyncio.run(fill(url, [*sample_events(now - 10 * 86400)[:2], *sample_events(now - 86400)]))
    cfg = str(config(tmp_path / "a.yml", url))
    recent = alertd("history", "export", "--from", "-7d", "--config", cfg, cwd=tmp_path)
    assert len(recent.stdout.splitlines()) == 6
    older = alertd("history", "export", "--to", "-7d", "--config", cfg, cwd=tmp_path)
    assert len(older.stdout.splitlines()) == 2
    first = json.loads(recent.stdout.splitlines()[0])["at"]
    window = alertd("history", "export", "--from", first, "--to", "now", "--config", cfg,
                    cwd=tmp_path)
    assert window.stdout == recent.stdout


def test_a_bad_line_names_its_line_and_field_and_nothing_is_imported(tmp_path: Path) -> None:
    lines = [to_line(e) for e in sample_events()]
    bad = json.loads(lines[2])
    bad["at"] = "2027-01-15 08:01:01"
    lines[2] = json.dumps(bad)
    lines.insert(1, "")  # blank lines are skipped, and counted
    dump = tmp_path / "bad.jsonl"
    dump.write_text("\n".join(lines) + "\n")
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    result = alertd("history", "import", str(dump), "--config",
                    str(config(tmp_path / "a.yml", url)), cwd=tmp_path)
    assert result.returncode == 1
    assert (f'{dump}:4: "at": not an RFC 3339 date-time: "2027-01-15 08:01:01"'
            in result.stderr)
    assert "1 bad line; nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a.db").exists() or asyncio.run(count(url)) == 0


def test_usage_errors_exit_2_and_input_errors_exit_1(tmp_path: Path) -> None:
    cfg = str(config(tmp_path / "a.yml", f"sqlite:///{tmp_path / 'none.db'}"))
    assert alertd("history", "export", "--format", "json", cwd=tmp_path).returncode == 2
    bad_time = alertd("history", "export", "--from", "last tuesday", "--config", cfg,
                      cwd=tmp_path)
    assert bad_time.returncode == 2 and "--from" in bad_time.stderr
    missing = alertd("history", "export", "--config", cfg, cwd=tmp_path)
    assert missing.returncode == 1 and "no database at" in missing.stderr
    unreadable = alertd("history", "import", str(tmp_path / "nope.jsonl"), "--config", cfg,
                        cwd=tmp_path)
    assert unreadable.returncode == 1 and "cannot read" in unreadable.stderr
    assert alertd("history", "import", "--help", cwd=tmp_path).returncode == 0
