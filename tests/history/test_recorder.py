"""The history recorder: synchronous record(), batched asynchronous flushes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from alertd import history
from alertd.clock import FakeClock
from alertd.history import HistoryEvent
from alertd.history.recorder import HistoryRecorder
from alertd.model import Labels
from alertd.store import StoreError
from alertd.store.batch import unavailable

T0 = 1_800_000_000.0
X = Labels({"alertname": "X", "owner": "team-ml"})


def acks(n: int, start: int = 0) -> list[HistoryEvent]:
    return [history.ack(T0 + i, X, by=f"u{i}") for i in range(start, start + n)]


def names(events: Sequence[HistoryEvent]) -> list[str]:
    return [e.details["by"] for e in events]


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[HistoryEvent]] = []
        self.fail_after: int | None = None  # batches accepted before failing
        self.block: asyncio.Event | None = None

    async def append(self, events: Sequence[HistoryEvent]) -> None:
        if self.block is not None:
            await self.block.wait()
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise StoreError('database "x": cannot append history: disk full')
        self.batches.append(list(events))

    def unavailable(self, exc: BaseException) -> bool:
        return unavailable(exc)  # as the store tells it

    @property
    def events(self) -> list[HistoryEvent]:
        return [e for batch in self.batches for e in batch]


async def test_record_buffers_and_flush_writes_in_batches() -> None:
    sink, clock = Sink(), FakeClock(T0)
    recorder = HistoryRecorder(sink, clock, batch_size=4)
    recorder.record_many(acks(9))
    recorder.record(acks(1, start=9)[0])
    assert sink.batches == [] and recorder.pending == 10
    clock.advance(5)
    assert await recorder.flush() == 10
    assert [len(b) for b in sink.batches] == [4, 4, 2]
    assert names(sink.events) == [f"u{i}" for i in range(10)]
    assert (recorder.pending, recorder.written, recorder.last_flush) == (0, 10, T0 + 5)
    assert await recorder.flush() == 0 and len(sink.batches) == 3


async def test_a_failed_flush_keeps_the_unwritten_events_in_order() -> None:
    sink = Sink()
    recorder = HistoryRecorder(sink, FakeClock(T0), batch_size=3)
    recorder.record_many(acks(7))
    sink.fail_after = 1
    with pytest.raises(StoreError, match="disk full"):
        await recorder.flush()
    assert recorder.pending == 4 and recorder.last_error is not None
    recorder.record_many(acks(2, start=7))  # recorded while the database was down
    sink.fail_after = None
    assert await recorder.flush() == 6
    assert names(sink.events) == [f"u{i}" for i in range(9)]
    assert recorder.last_error is None and recorder.written == 9


async def test_beyond_max_pending_the_oldest_events_are_dropped() -> None:
    sink = Sink()
    recorder = HistoryRecorder(sink, FakeClock(T0), batch_size=2, max_pending=5)
    recorder.record_many(acks(4))
    sink.fail_after = 0
    with pytest.raises(StoreError):
        await recorder.flush()
    recorder.record_many(acks(3, start=4))
    assert recorder.pending == 5 and recorder.dropped == 2
    sink.fail_after = None
    await recorder.flush()
    assert names(sink.events) == ["u2", "u3", "u4", "u5", "u6"]


async def test_a_flush_cancelled_mid_write_keeps_its_events() -> None:
    sink = Sink()
    sink.block = asyncio.Event()
    recorder = HistoryRecorder(sink, FakeClock(T0))
    recorder.record_many(acks(3))
    task = asyncio.create_task(recorder.flush())
    await asyncio.sleep(0)  # let it reach the write
    recorder.record(acks(1, start=3)[0])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    sink.block = None
    await recorder.flush()
    assert names(sink.events) == ["u0", "u1", "u2", "u3"]


async def test_concurrent_flushes_write_in_record_order() -> None:
    sink = Sink()
    sink.block = asyncio.Event()
    recorder = HistoryRecorder(sink, FakeClock(T0))
    recorder.record_many(acks(2))
    first = asyncio.create_task(recorder.flush())
    await asyncio.sleep(0)
    recorder.record_many(acks(2, start=2))
    second = asyncio.create_task(recorder.flush())
    await asyncio.sleep(0)
    sink.block.set()
    assert list(await asyncio.gather(first, second)) == [2, 2]
    assert names(sink.events) == ["u0", "u1", "u2", "u3"]


async def test_run_flushes_on_its_interval_and_survives_failures() -> None:
    sink, clock = Sink(), FakeClock(T0)
    recorder: HistoryRecorder
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)
        if len(sleeps) == 1:
            recorder.record_many(acks(2))
            sink.fail_after = 0  # the first flush fails
        elif len(sleeps) == 2:
            sink.fail_after = None
        else:
            raise asyncio.CancelledError  # the daemon stops the loop

    recorder = HistoryRecorder(sink, clock, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await recorder.run(2.0)
    assert sleeps == [2.0, 2.0, 2.0]
    assert names(sink.events) == ["u0", "u1"] and recorder.last_flush == T0 + 4


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        HistoryRecorder(Sink(), FakeClock(), batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        HistoryRecorder(Sink(), FakeClock(), batch_size=10, max_pending=5)


async def test_under_run_a_full_batch_is_written_without_waiting_for_the_interval() -> None:
    sink, clock = Sink(), FakeClock(T0)
    forever = asyncio.Event()  # the interval never passes in this test
    written = asyncio.Event()
    append = sink.append

    async def append_and_tell(events: Sequence[HistoryEvent]) -> None:
        await append(events)
        written.set()

    sink.append = append_and_tell  # type: ignore[method-assign]

    async def sleep(seconds: float) -> None:
        await forever.wait()

    recorder = HistoryRecorder(sink, clock, batch_size=3, sleep=sleep)
    running = asyncio.create_task(recorder.run(60.0))
    try:
        await asyncio.sleep(0)  # run has started: it waits for an interval that never ends
        recorder.record_many(acks(2))
        assert recorder.pending == 2  # not a batch yet
        recorder.record(acks(1, start=2)[0])
        await asyncio.wait_for(written.wait(), 5)
        assert names(sink.events) == ["u0", "u1", "u2"] and recorder.pending == 0
    finally:
        running.cancel()


async def test_while_writes_fail_full_batches_wait_for_runs_retry() -> None:
    sink, clock = Sink(), FakeClock(T0)
    sink.fail_after = 0
    tick = asyncio.Event()  # one interval of run passes each time it is set
    attempts: list[int] = []
    attempted = asyncio.Condition()
    append = sink.append

    async def counted(events: Sequence[HistoryEvent]) -> None:
        async with attempted:
            attempts.append(len(events))
            attempted.notify_all()
        await append(events)

    async def until(n: int) -> None:
        async with attempted:
            await asyncio.wait_for(attempted.wait_for(lambda: len(attempts) >= n), 5)

    sink.append = counted  # type: ignore[method-assign]

    async def sleep(seconds: float) -> None:
        await tick.wait()
        tick.clear()

    recorder = HistoryRecorder(sink, clock, batch_size=2, sleep=sleep)
    running = asyncio.create_task(recorder.run(1.0))
    try:
        await asyncio.sleep(0)  # run has started: it waits for its interval
        recorder.record_many(acks(2))  # a full batch: written at once, and it fails
        await until(1)
        recorder.record_many(acks(4, start=2))  # more full batches: left for run
        for _ in range(3):  # turns of the loop in which an eager write would start
            await asyncio.sleep(0)
        assert attempts == [2] and recorder.pending == 6
        sink.fail_after = None
        tick.set()  # run's interval: it writes everything, three batches
        await until(4)
        assert attempts == [2, 2, 2, 2]
        assert names(sink.events) == [f"u{i}" for i in range(6)]
    finally:
        running.cancel()
