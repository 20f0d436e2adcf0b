"""The dedup decision (Alertmanager's needsUpdate) and the notification log in memory."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from alertd.clock import FakeClock
from alertd.errors import AlertdError
from alertd.nflog import RETENTION, Entry, NotificationLog, needs_update

NOW = 1_800_000_000.0
REPEAT = 4 * 3600.0


def entry(firing: Iterable[str], resolved: Iterable[str] = (), *, ago: float = 120.0) -> Entry:
    return Entry("{}:{alertname=\"X\"}", "team-ml", frozenset(firing), frozenset(resolved),
                 NOW - ago, NOW - ago + RETENTION)


def decide(last: Entry | None, firing: set[str], resolved: set[str] | None = None, *,
           send_resolved: bool = True, repeat: float = REPEAT) -> tuple[bool, str]:
    return needs_update(last, firing, resolved or set(), repeat_interval=repeat,
                        send_resolved=send_resolved, now=NOW)


def test_first_notification_when_nothing_was_sent() -> None:
    assert decide(None, {"a"}) == (True, "first notification")


def test_resolved_alerts_never_notified_are_not_sent() -> None:
    assert decide(None, set(), {"a"}) == (False, "only resolved alerts, never notified")
    assert decide(None, set(), set()) == (False, "only resolved alerts, never notified")


def test_a_new_firing_alert_is_sent() -> None:
    assert decide(entry({"a"}), {"a", "b"}) == (True, "new alerts added")
    assert decide(entry({"a"}), {"b"}, {"a"}) == (True, "new alerts added")


def test_firing_again_after_an_all_resolved_notification_starts_anew() -> None:
    assert decide(entry(set(), {"a"}), {"a"}) == (True, "first notification")


@pytest.mark.parametrize("send_resolved", [True, False])
def test_all_resolved_is_sent_whatever_send_resolved_says(send_resolved: bool) -> None:
    assert decide(entry({"a", "b"}), set(), {"a", "b"}, send_resolved=send_resolved) == (
        True, "all alerts resolved")


def test_all_resolved_is_sent_once() -> None:
    assert decide(entry(set(), {"a"}), set(), {"a"}) == (
        False, "all alerts resolved, already notified")
    # Fired and resolved between two flushes: the receiver never heard of "b".
    assert decide(entry(set(), {"a"}), set(), {"a", "b"}) == (
        False, "all alerts resolved, already notified")


def test_newly_resolved_alerts_are_sent_with_send_resolved() -> None:
    assert decide(entry({"a", "b"}), {"a"}, {"b"}) == (True, "some alerts resolved")
    assert decide(entry({"a"}, {"b"}), {"a"}, {"b", "c"}) == (True, "some alerts resolved")


def test_newly_resolved_alerts_wait_without_send_resolved() -> None:
    assert decide(entry({"a", "b"}), {"a"}, {"b"}, send_resolved=False) == (
        False, "nothing new (last sent 2m ago)")


def test_resolved_alerts_already_sent_are_nothing_new() -> None:
    assert decide(entry({"a"}, {"b"}), {"a"}, {"b"}) == (False, "nothing new (last sent 2m ago)")


def test_unchanged_group_waits_for_the_repeat_interval() -> None:
    assert decide(entry({"a"}, ago=REPEAT - 0.5), {"a"}) == (
        False, "nothing new (last sent 3h59m59s ago)")
    assert decide(entry({"a"}, ago=REPEAT), {"a"}) == (True, "repeat interval elapsed")
    assert decide(entry({"a"}, ago=REPEAT + 60), {"a"}) == (True, "repeat interval elapsed")


def test_an_entry_from_the_future_reads_as_just_sent() -> None:
    assert decide(entry({"a"}, ago=-30), {"a"}) == (False, "nothing new (last sent 0s ago)")


def test_every_check_comes_before_the_repeat_interval() -> None:
    old = REPEAT * 2
    assert decide(entry({"a"}, ago=old), {"a", "b"}) == (True, "new alerts added")
    assert decide(entry({"a"}, ago=old), set(), {"a"}) == (True, "all alerts resolved")
    assert decide(entry({"a", "b"}, ago=old), {"a"}, {"b"}) == (True, "some alerts resolved")


class MemoryRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Entry] = {}
        self.fail = False

    async def save(self, e: Entry) -> None:
        if self.fail:
            raise AlertdError("database down")
        old = self.rows.get((e.group_key, e.receiver))
        if old is None or old.at <= e.at:
            self.rows[(e.group_key, e.receiver)] = e

    async def load_all(self) -> list[Entry]:
        return list(self.rows.values())

    async def forget(self, group_key: str, receiver: str, at: float) -> bool:
        e = self.rows.get((group_key, receiver))
        if e is None or e.at != at:
            return False
        del self.rows[(group_key, receiver)]
        return True

    async def delete_expired(self, now: float) -> int:
        gone = [k for k, e in self.rows.items() if e.expires_at <= now]
        for k in gone:
            del self.rows[k]
        return len(gone)


async def test_log_writes_through_and_query_reads_it_back() -> None:
    repo, clock = MemoryRepository(), FakeClock(NOW)
    nflog = NotificationLog(repo, clock)
    assert nflog.query("g", "r") is None
    logged = await nflog.log("g", "r", ["a", "b"], ["c"])
    assert logged == Entry("g", "r", frozenset({"a", "b"}), frozenset({"c"}), NOW,
                           NOW + RETENTION)
    assert repo.rows[("g", "r")] == logged
    assert nflog.query("g", "r") == logged
    assert nflog.query("g", "other") is None and nflog.query("other", "r") is None


async def test_entries_expire_after_the_retention_and_are_collected() -> None:
    repo, clock = MemoryRepository(), FakeClock(NOW)
    nflog = NotificationLog(repo, clock)
    await nflog.log("g", "r", ["a"], [], retention=3600)
    await nflog.log("g", "keep", ["a"], [])
    clock.advance(3599)
    assert nflog.query("g", "r") is not None
    clock.advance(1)
    assert nflog.query("g", "r") is None  # expired, before any collection
    assert await nflog.gc() == 1
    assert len(nflog) == 1 and set(repo.rows) == {("g", "keep")}


async def test_load_keeps_the_newest_and_skips_the_expired() -> None:
    repo, clock = MemoryRepository(), FakeClock(NOW)
    repo.rows[("g", "r")] = Entry("g", "r", frozenset({"old"}), frozenset(), NOW - 10, NOW + 99)
    repo.rows[("g", "gone")] = Entry("g", "gone", frozenset({"a"}), frozenset(), NOW - 99, NOW)
    nflog = NotificationLog(repo, clock)
    await nflog.log("g", "r", ["new"], [], at=NOW - 5)
    assert await nflog.load() == 1
    entry_ = nflog.query("g", "r")
    assert entry_ is not None and entry_.firing == {"new"}
    await nflog.log("g", "r", ["older"], [], at=NOW - 20)  # late: does not take it back
    entry_ = nflog.query("g", "r")
    assert entry_ is not None and entry_.firing == {"new"}


async def test_a_failed_write_still_remembers_the_notification() -> None:
    repo, clock = MemoryRepository(), FakeClock(NOW)
    nflog = NotificationLog(repo, clock)
    repo.fail = True
    with pytest.raises(AlertdError, match="database down"):
        await nflog.log("g", "r", ["a"], [])
    last = nflog.query("g", "r")
    assert decide(last, {"a"}) == (False, "nothing new (last sent 0s ago)")


async def test_log_refuses_a_time_that_is_not_one() -> None:
    nflog = NotificationLog(MemoryRepository(), FakeClock(NOW))
    with pytest.raises(ValueError, match="cannot log"):
        await nflog.log("g", "r", ["a"], [], at=float("nan"))
    with pytest.raises(ValueError, match="cannot log"):
        await nflog.log("g", "r", ["a"], [], retention=0)


async def test_gc_loop_collects_on_its_interval() -> None:
    repo, clock = MemoryRepository(), FakeClock(NOW)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise StopAsyncIteration  # ends the loop after two collections
        clock.advance(seconds)

    nflog = NotificationLog(repo, clock, sleep=sleep)
    await nflog.log("g", "r", ["a"], [], retention=1000)
    with pytest.raises(StopAsyncIteration):
        await nflog.run_gc(900)
    assert sleeps == [900, 900, 900] and repo.rows == {} and len(nflog) == 0


async def test_a_forgotten_notification_is_news_again_unless_a_later_one_was_logged() -> None:
    repo, clock = MemoryRepository(), FakeClock(NOW)
    nflog = NotificationLog(repo, clock)
    nflog.remember(nflog.entry("g", "r", ["a"], [], NOW))
    assert nflog.query("g", "r") is not None
    await nflog.forget("g", "r", NOW)  # its delivery gave up
    assert nflog.query("g", "r") is None
    later = nflog.entry("g", "r", ["a"], [], NOW + 60)
    nflog.remember(later)
    await repo.save(later)
    await nflog.forget("g", "r", NOW)  # an older delivery giving up late
    assert nflog.query("g", "r") == later and repo.rows[("g", "r")] == later
