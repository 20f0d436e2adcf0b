"""Buffers history events from synchronous code and writes them in batches.

Evaluation and dispatch call `record()`, which only appends to a list: they never wait on
the database. A background task (`run`) flushes the buffer every interval, and each batch
as soon as it is full; the daemon flushes once more at shutdown (`close`). Events that
could not be written because the database is unavailable stay buffered for the next
flush, up to `max_pending`, beyond which the oldest are dropped. An event the database
refuses (one it cannot store, rather than a database that is down) is dropped alone, its
batch written without it. Every event lost is counted by reason (`dropped_by`, exported
as alertd_history_events_dropped_total): queue_full, write_failed, and shutdown for
those still unwritten when the daemon stopped.

Batches are small (25 events a transaction): encoding a batch runs on the event
loop, and a second's worth of events at a thousand notifications a second, encoded at once,
held every other task up for tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from alertd.clock import Clock
from alertd.errors import AlertdError
from alertd.history import HistoryEvent

QUEUE_FULL = "queue_full"  # over max_pending while the database was unavailable
WRITE_FAILED = "write_failed"  # the database refused the event itself
SHUTDOWN = "shutdown"  # still unwritten when the daemon stopped
DROP_REASONS = (QUEUE_FULL, WRITE_FAILED, SHUTDOWN)

log = logging.getLogger("alertd.history")


class HistorySink(Protocol):
    """Where events go (alertd.store.notifications.HistoryRepository)."""

    async def append(self, events: Sequence[HistoryEvent]) -> None: ...

    def unavailable(self, exc: BaseException) -> bool:
        """Whether a failed append says the database cannot be written at all (down,
        locked, out of space), rather than that it refused these events."""
        ...


class HistoryRecorder:
    def __init__(self, repository: HistorySink, clock: Clock, *, batch_size: int = 25,
                 max_pending: int = 200_000,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if batch_size < 1 or max_pending < batch_size:
            raise ValueError("history recorder: need 1 <= batch_size <= max_pending")
        self._repository = repository
        self._clock = clock
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._sleep = sleep
        self._buffer: list[HistoryEvent] = []
        self._lock = asyncio.Lock()  # one flush at a time, so batches land in record order
        self.written = 0
        self.dropped = 0
        self.dropped_by: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.last_flush: float | None = None  # when a flush last succeeded (clock time)
        self.last_error: str | None = None
        self._running = False  # `run` is on: a full batch is written without waiting
        self._eager: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def record(self, event: HistoryEvent) -> None:
        self._buffer.append(event)
        self._trim()
        self._maybe_write()

    def record_many(self, events: Iterable[HistoryEvent]) -> None:
        self._buffer.extend(events)
        self._trim()
        self._maybe_write()

    def _maybe_write(self) -> None:
        # Under `run`, a full batch is written now rather than at the next interval: a
        # second's worth written at once, batch after batch, slowed every task of the
        # loop for a tenth of a second; spread out, each write is one short transaction.
        # While writes fail, `run` alone retries, once an interval.
        if (self._running and self._eager is None and self.last_error is None
                and len(self._buffer) >= self._batch_size):
            self._eager = asyncio.get_running_loop().create_task(self._write_eagerly())

    async def _write_eagerly(self) -> None:
        try:
            await self.flush()
        except AlertdError:
            pass  # the events stay buffered; `run` retries them and reports the failure
        finally:
            self._eager = None

    async def flush(self) -> int:
        """Write every buffered event, in batches; how many were written.

        On a failure the unwritten events go back to the front of the buffer and the
        error (a StoreError) propagates.
        """
        async with self._lock:
            batch, self._buffer = self._buffer, []
            done = written = 0
            alone_until = 0  # events before this index are written one at a time
            try:
                while done < len(batch):
                    if done:
                        # Let other tasks run between batches: a SQLite write does not
                        # suspend (store/sqlite_writer.py), and a backlog is many batches.
                        await asyncio.sleep(0)
                    size = 1 if done < alone_until else self._batch_size
                    chunk = batch[done:done + size]
                    try:
                        await self._repository.append(chunk)
                        written += len(chunk)
                        self.written += len(chunk)
                    except AlertdError as exc:
                        if self._repository.unavailable(exc):
                            raise
                        if len(chunk) > 1:
                            # Refused, not down: find the refused events one by one, so
                            # that one of them does not hold back the rest for good.
                            alone_until = done + len(chunk)
                            continue
                        self._drop(1, WRITE_FAILED)
                        log.error("history: an event (%s of %s) cannot be stored and is "
                                  "dropped: %s", chunk[0].kind, chunk[0].fingerprint, exc)
                    done += len(chunk)
            except BaseException as exc:
                # Cancelled too: a shutdown that cancels the loop mid-write flushes again.
                self._buffer[:0] = batch[done:]
                self._trim()
                if isinstance(exc, AlertdError):
                    self.last_error = str(exc)
                raise
            self.last_flush = self._clock.now()
            self.last_error = None
            return written

    async def run(self, interval: float = 1.0) -> None:
        """Flush every `interval` seconds, and whenever a batch is full, until cancelled;
        failures are logged and retried."""
        self._running = True
        try:
            await self._run(interval)
        finally:
            self._running = False

    async def _run(self, interval: float) -> None:
        while True:
            await self._sleep(interval)
            try:
                await self.flush()
            except AlertdError as exc:
                log.warning("history: %d events not written yet (%d dropped so far): %s",
                            self.pending, self.dropped, exc)

    async def close(self) -> None:
        """A last flush at shutdown; what it cannot write is counted as dropped."""
        try:
            await self.flush()
        except AlertdError as exc:
            log.error("history: %d events could not be written before stopping: %s",
                      self.pending, exc)
        finally:
            self._drop(len(self._buffer), SHUTDOWN)
            self._buffer = []

    def _drop(self, count: int, reason: str) -> None:
        if count > 0:
            self.dropped += count
            self.dropped_by[reason] += count

    def _trim(self) -> None:
        excess = len(self._buffer) - self._max_pending
        if excess > 0:
            # Silent here (record() runs on hot paths); run() reports the count.
            del self._buffer[:excess]
            self._drop(excess, QUEUE_FULL)
