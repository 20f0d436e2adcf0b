"""A silence's lifecycle in the history (created, changed, expired, expired on resolve,
and where each change came from), and expired silences kept readable long enough for
the weekly noise report."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from alertd.clock import FakeClock
from alertd.history import HistoryEvent
from alertd.model import Labels
from alertd.silence import RETENTION, Silences
from alertd.silence.cli import silence
from alertd.silence.silences import via_of
from alertd.store import Store
from tests.silence.conftest import HOUR, T0, Api, MemoryRepository, sil, start_api

DAY = 24 * HOUR
REPORT_PERIOD = 7 * DAY


def lifecycle(events: list[HistoryEvent]) -> list[tuple[str, str, str | None]]:
    return [(e.details["action"], e.details["id"], e.details.get("via")) for e in events]


async def test_each_change_is_recorded_once_written() -> None:
    events: list[HistoryEvent] = []
    silences = Silences(MemoryRepository(), record=events.append)
    first = await silences.set(sil('alertname="DiskFull"', 'severity=~"page|ticket"',
                                   end=T0 + 2 * HOUR), T0)
    same = await silences.set(sil('alertname="DiskFull"', 'severity=~"page|ticket"',
                                  sid=first, end=T0 + 3 * HOUR), T0 + 60, via="cli")
    assert same == first  # changed in place
    # Other matchers: the old one is expired and a new one takes the change.
    second = await silences.set(sil('alertname="DiskFull"', sid=first, end=T0 + 3 * HOUR),
                                T0 + 120, via="slack")
    await silences.expire(second, T0 + 180, via="cli")
    assert lifecycle(events) == [("created", first, "api"), ("changed", first, "cli"),
                                 ("expired", first, "slack"), ("created", second, "slack"),
                                 ("expired", second, "cli")]
    created = events[0]
    assert (created.kind, created.at, created.labels) == (
        "silence", T0, Labels({"alertname": "DiskFull"}))
    assert dict(created.details) == {
        "action": "created", "id": first, "by": "ana", "comment": "deploy", "via": "api",
        "matchers": ['alertname="DiskFull"', 'severity=~"page|ticket"'],
        "starts_at": T0, "ends_at": T0 + 2 * HOUR}
    assert (events[1].details["ends_at"], events[-1].details["ends_at"]) == (
        T0 + 3 * HOUR, T0 + 180)


async def test_expiry_on_resolve_is_recorded_without_an_origin() -> None:
    events: list[HistoryEvent] = []
    silences = Silences(MemoryRepository(), record=events.append)
    sid = await silences.set(sil('alertname="DiskFull"', expire_on_resolve=True), T0)
    assert await silences.on_resolved(Labels({"alertname": "DiskFull"}), [], T0 + 60) == [sid]
    assert lifecycle(events) == [("created", sid, "api"), ("expired_on_resolve", sid, None)]
    assert events[-1].details["ends_at"] == T0 + 60


async def test_a_change_that_fails_is_not_recorded() -> None:
    events: list[HistoryEvent] = []
    repo = MemoryRepository()
    silences = Silences(repo, record=events.append)
    repo.fail = OSError("disk full")
    with pytest.raises(OSError):
        await silences.set(sil(), T0)
    with pytest.raises(ValueError, match='unknown origin of a silence change "email"'):
        await silences.set(sil(), T0, via="email")
    assert events == [] and repo.saves == []


def test_the_origin_of_a_change_posted_to_the_api() -> None:
    assert via_of("alertd-cli/0.1.0") == "cli"
    assert via_of("amtool/0.27.0") == "api"
    assert via_of(None) == "api"


async def test_the_cli_is_told_from_other_clients(api: Api) -> None:
    events: list[HistoryEvent] = []
    api.silences.record = events.append
    runner = CliRunner(env={"ALERTD_URL": None, "ALERTD_TOKEN": None})
    added = await asyncio.to_thread(runner.invoke, silence, [
        "add", "DiskFull", "-c", "disk swap", "-a", "ana", f"--alertd.url={api.url}"])
    assert added.exit_code == 0, added.output
    sid = added.stdout.strip()
    async with aiohttp.ClientSession() as http, \
            http.delete(f"{api.url}/api/v2/silence/{sid}") as resp:
        assert resp.status == 200
    assert lifecycle(events) == [("created", sid, "cli"), ("expired", sid, "api")]


@pytest.fixture
def api(wall_clock_api: Api) -> Api:
    return wall_clock_api


async def test_an_expired_silence_is_listed_by_the_api_after_a_report_period_and_more(
) -> None:
    clock = FakeClock(T0)
    api = await start_api(clock=clock)
    try:
        sid = await api.silences.set(sil(), T0)
        await api.silences.expire(sid, T0 + 60)
        clock.set(T0 + 60 + REPORT_PERIOD + DAY)
        assert await api.silences.gc(clock.now()) == []
        async with aiohttp.ClientSession() as http, \
                http.get(f"{api.url}/api/v2/silences") as resp:
            listed: list[dict[str, Any]] = await resp.json()
        assert [(s["id"], s["status"]["state"]) for s in listed] == [(sid, "expired")]
    finally:
        await api.server.close()


async def test_an_expired_silence_stays_in_the_store_after_a_report_period_and_more(
        db_url: str) -> None:
    later = T0 + 60 + REPORT_PERIOD + DAY
    async with await Store.open(db_url) as store:
        silences = await Silences.open(store.silences, T0)
        sid = await silences.set(sil(), T0)
        await silences.expire(sid, T0 + 60)
    async with await Store.open(db_url) as store:
        reopened = await Silences.open(store.silences, later)  # loading collects garbage
        assert reopened.get(sid) is not None
        assert [s.id for s in await store.silences.load_all()] == [sid]
        assert await reopened.gc(T0 + 60 + RETENTION + 1) == [sid]
