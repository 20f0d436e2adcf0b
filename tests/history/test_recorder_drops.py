"""Events the recorder loses are counted by reason and exported as a metric: a report
read while events were lost must be able to say so."""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import generate_latest

from alertd import history
from alertd.clock import FakeClock
from alertd.history import HistoryEvent
from alertd.history.recorder import HistoryRecorder
from alertd.metrics import Metrics
from alertd.model import Labels
from alertd.store import Store, StoreError
from alertd.store.batch import unavailable

T0 = 1_800_000_000.0
X = Labels({"alertname": "X", "owner": "team-ml"})


def acks(n: int) -> list[HistoryEvent]:
    return [history.ack(T0 + i, X, by=f"u{i}") for i in range(n)]


class Sink:
    """Refuses the events by `refused` (the database refused them) and fails every write
    while `down`."""

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []
        self.refused: set[str] = set()
        self.down = False

    async def append(self, events: Sequence[HistoryEvent]) -> None:
        if self.down:
            raise StoreError('database "x": cannot append history: locked') from \
                sqlite3.OperationalError("database is locked")
        if any(e.details["by"] in self.refused for e in events):
            raise StoreError('database "x": cannot append history: bad row') from \
                ValueError("bad row")
        self.events.extend(events)

    def unavailable(self, exc: BaseException) -> bool:
        return unavailable(exc)  # as the store tells it


async def test_an_event_the_database_refuses_is_dropped_alone() -> None:
    sink = Sink()
    sink.refused = {"u2", "u5"}
    recorder = HistoryRecorder(sink, FakeClock(T0), batch_size=4)
    recorder.record_many(acks(9))
    assert await recorder.flush() == 7
    assert [e.details["by"] for e in sink.events] == [
        "u0", "u1", "u3", "u4", "u6", "u7", "u8"]
    assert recorder.dropped_by["write_failed"] == 2 and recorder.pending == 0


async def test_a_database_that_is_down_loses_nothing_until_the_buffer_is_full() -> None:
    sink = Sink()
    sink.down = True
    recorder = HistoryRecorder(sink, FakeClock(T0), batch_size=2, max_pending=4)
    recorder.record_many(acks(3))
    with contextlib.suppress(StoreError):
        await recorder.flush()
    assert recorder.pending == 3 and recorder.dropped == 0
    recorder.record_many(acks(3))
    assert recorder.dropped_by == {"queue_full": 2, "write_failed": 0, "shutdown": 0}


async def test_what_cannot_be_written_at_shutdown_is_counted() -> None:
    sink = Sink()
    recorder = HistoryRecorder(sink, FakeClock(T0), batch_size=2)
    recorder.record_many(acks(2))
    sink.down = True
    await recorder.close()
    assert recorder.dropped_by["shutdown"] == 2 and recorder.pending == 0


async def test_a_real_store_refusing_an_event_drops_that_event_only(tmp_path: Path) -> None:
    async with await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as store:
        recorder = HistoryRecorder(store.history, FakeClock(T0))
        good = acks(3)
        recorder.record_many([good[0], history.ack(math.nan, X, by="nan"), *good[1:]])
        assert await recorder.flush() == 3
        stored = [e async for e in store.history.between(None, None)]
    assert [e.details["by"] for e in stored] == ["u0", "u1", "u2"]
    assert recorder.dropped_by["write_failed"] == 1


async def test_the_metric_counts_drops_by_reason() -> None:
    sink = Sink()
    recorder = HistoryRecorder(sink, FakeClock(T0), batch_size=2, max_pending=2)
    metrics = Metrics()
    current: list[HistoryRecorder] = []
    metrics.watch_history(lambda: current[0] if current else None)
    assert b"alertd_history_events_dropped" not in generate_latest(metrics.registry)
    current.append(recorder)
    sink.down = True
    recorder.record_many(acks(5))
    text = generate_latest(metrics.registry).decode()
    assert 'alertd_history_events_dropped_total{reason="queue_full"} 3.0' in text
    assert 'alertd_history_events_dropped_total{reason="write_failed"} 0.0' in text
    assert "alertd_history_events_pending 2.0" in text


async def test_text_no_store_can_keep_is_refused_as_an_event_not_a_crash(
        tmp_path: Path) -> None:
    async with await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as store:
        recorder = HistoryRecorder(store.history, FakeClock(T0))
        recorder.record_many([*acks(1), history.ack(T0, X, by="ana\ud800")])
        assert await recorder.flush() == 1
    assert recorder.dropped_by["write_failed"] == 1
