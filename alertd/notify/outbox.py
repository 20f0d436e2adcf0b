"""Delivery with nothing lost: the outbox and its worker.

The dedup stage hands each notification it decides to send to `Deliverer.submit`, which
writes it to the store (with the notification log entry, in one transaction) before the
first attempt. The attempt runs in its own task, so a slow receiver never holds up the
flush of other groups. A failure that may pass is retried with backoff and jitter (never
sooner than the receiver's Retry-After); a newer notification of the same group to the
same integration replaces one still waiting. After a crash, `recover` sends what was
pending; integrations keep a resend from paging twice (PagerDuty's dedup_key, the Slack
message looked up by its delivery id, the webhook-id header).

Attempts to one slot (a group and an integration) never overlap, so a Slack message is
posted before it is edited.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from alertd.alerts.model import Alert
from alertd.clock import Clock, wait_woken
from alertd.errors import AlertdError, NotifyError
from alertd.nflog.log import Entry
from alertd.notify.delivery import Delivery, DeliveryStats
from alertd.receivers import Notification, Notifier, Outcome, outcome
from alertd.receivers.retry import RetryPolicy
from alertd.receivers.stored import decode, encode
from alertd.store.outbox import DONE, FAILED, PENDING, SUPERSEDED, OutboxRepository, OutboxRow

__all__ = ["Deliverer", "HealthSink", "Record"]

log = logging.getLogger("alertd.notify")

Record = Callable[[str, Alert, Mapping[str, Any], float], None]


class HealthSink(Protocol):
    def succeeded(self, receiver: str, integration: str) -> None: ...

    def failed(self, receiver: str, integration: str, error: str, *, retryable: bool) -> None: ...


# --- the worker ------------------------------------------------------------------------------
class Deliverer:
    def __init__(self, clock: Clock, *, integrations: Callable[[str], Sequence[Notifier]],
                 repository: OutboxRepository | None = None, policy: RetryPolicy | None = None,
                 record: Record | None = None, health: HealthSink | None = None,
                 given_up: Callable[[Delivery], Awaitable[None]] | None = None,
                 rand: Callable[[], float] = random.random,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.clock = clock
        self.integrations = integrations
        self.repository = repository
        self.policy = policy or RetryPolicy()
        self._record = record
        self.health = health
        self._given_up = given_up  # told of each delivery that failed for good
        self.rand = rand
        self.stats = DeliveryStats()
        self._monotonic = monotonic
        self._sleep = sleep
        self._waiting: dict[str, Delivery] = {}  # pending, by id
        self._latest: dict[str, str] = {}  # slot -> id of its newest delivery
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[str] = set()  # ids of the deliveries being attempted
        self._paced: dict[str, float] = {}  # pace key -> when it may send next (monotonic)
        # Deliveries waiting out a backoff, by integration: a success on the integration
        # starts them at once (see _recovered).
        self._backing_off: dict[str, set[str]] = {}
        self._wake = asyncio.Event()

    # --- entry points ------------------------------------------------------------------
    async def submit(self, n: Notification, reason: str, *, integration: str, index: int,
                     logged: Entry | None = None) -> Delivery:
        """Write the notification to the outbox, then start its first attempt."""
        now = self.clock.now()
        delivery_id = uuid.uuid4().hex
        d = Delivery(delivery_id, n.receiver, integration, index, n.group_key,
                     replace(n, delivery_id=delivery_id), reason, now, next_attempt_at=now)
        if self.repository is not None:
            await self.repository.enqueue(OutboxRow(
                d.id, d.slot, d.receiver, d.integration, d.group_key, PENDING, now, now, 0, "",
                encode(n, reason)), logged)
        self._supersede(d)
        self._start(d)
        return d

    async def recover(self) -> int:
        """Start what the outbox still holds from before a restart; how many."""
        if self.repository is None:
            return 0
        rows = await self.repository.pending()
        for row in rows:
            rest = row.integration.rpartition("/")[2]
            try:
                index = int(rest)
                n, reason = decode(row.notification, delivery_id=row.id,
                                   attempt=max(row.attempts, 1))
            except (KeyError, TypeError, ValueError) as exc:
                log.error("outbox entry %s cannot be read (%s): dropped", row.id, exc)
                await self.repository.finish([row.id], FAILED, self.clock.now(),
                                             f"unreadable: {exc}")
                continue
            # Sent before the crash or not: the attempt count says "maybe", so integrations
            # without an idempotency key look before sending again.
            d = Delivery(row.id, row.receiver, row.integration, index, row.group_key, n, reason,
                         row.created_at, max(row.attempts, 1), row.next_attempt_at,
                         row.last_error, maybe_delivered=True)
            self._supersede(d)
            if d.next_attempt_at <= self.clock.now():
                self._start(d)
            else:
                self._backing_off.setdefault(d.integration, set()).add(d.id)
            self._wake.set()
        return len(rows)

    def next_due(self) -> float | None:
        return min((d.next_attempt_at for d in self._waiting.values()
                    if d.id not in self._running), default=None)

    def deliver_due(self, now: float) -> int:
        """Start the attempts whose backoff has passed; how many."""
        due = [d for d in self._waiting.values()
               if d.id not in self._running and d.next_attempt_at <= now]
        for d in due:
            self._start(d)
        return len(due)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            self.deliver_due(self.clock.now())
            upcoming = self.next_due()
            timeout = None if upcoming is None else max(upcoming - self.clock.now(), 0.0)
            await wait_woken(self._wake, timeout)

    async def settle(self) -> None:
        """Wait for the attempts in flight (not for retries scheduled later), and for the
        outbox to record how they ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.flush()

    def wait_started(self) -> Awaitable[list[Any]]:
        """Something to await for the attempts under way at the call, not for those started
        later (under steady traffic, `settle` may not return)."""
        return asyncio.gather(*self._tasks, return_exceptions=True)

    async def flush(self) -> None:
        """Commit the outbox marks still queued; a failure is logged."""
        if self.repository is not None:
            try:
                await self.repository.flush()
            except AlertdError as exc:
                log.error("outbox: cannot record finished deliveries: %s", exc)

    @property
    def pending(self) -> int:
        return len(self._waiting)

    # --- internals ---------------------------------------------------------------------
    def _supersede(self, d: Delivery) -> None:
        old = self._latest.get(d.slot)
        if old is not None and old != d.id:
            # A newer notification says everything the waiting one did, and more.
            self._waiting.pop(old, None)
        self._latest[d.slot] = d.id
        self._waiting[d.id] = d

    def _start(self, d: Delivery) -> None:
        waiting = self._backing_off.get(d.integration)
        if waiting is not None:
            waiting.discard(d.id)
            if not waiting:
                del self._backing_off[d.integration]
        task = asyncio.get_running_loop().create_task(self._attempt(d), name=d.id)
        self._tasks.add(task)
        self._running.add(d.id)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._running.discard(task.get_name())
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery %s crashed", task.get_name(), exc_info=task.exception())
        if task.get_name() in self._waiting:
            self._wake.set()  # a retry to schedule; a delivery that ended needs nothing

    async def _attempt(self, d: Delivery) -> None:
        lock = self._locks.setdefault(d.slot, asyncio.Lock())
        try:
            async with lock:
                await self._attempt_locked(d)
        finally:
            if self._latest.get(d.slot) == d.id and d.id not in self._waiting:
                # The slot's newest delivery is over: nothing can be waiting for its lock
                # (a newer one would be the newest), so the slot is forgotten.
                del self._latest[d.slot]
                if self._locks.get(d.slot) is lock and not lock.locked():
                    del self._locks[d.slot]

    async def _attempt_locked(self, d: Delivery) -> None:
        if self._waiting.get(d.id) is not d:
            if self.repository is not None:  # superseded while it waited
                await self._finish(d, SUPERSEDED, "")
            return
        notifier = self._notifier(d)
        if notifier is None:
            await self._give_up(d, "the receiver or integration is no longer configured")
            return
        await self._pace(notifier, d)
        started = self._monotonic()
        n = d.notification
        if n.attempt != d.attempts or n.maybe_delivered != d.maybe_delivered:
            n = replace(n, attempt=d.attempts, maybe_delivered=d.maybe_delivered)
        try:
            result = await notifier.notify(n, d.reason)
        except NotifyError as exc:
            await self._failed(d, notifier, exc)
            return
        except Exception as exc:  # a bug in an integration must not lose the notification
            log.exception("integration %s raised", d.integration)
            await self._failed(d, notifier, NotifyError(f"internal error: {exc}",
                                                        retryable=True))
            return
        self.stats.latency_sum += self._monotonic() - started
        self.stats.latency_count += 1
        self.stats.bump(self.stats.sent, (d.receiver, notifier.name))
        self._waiting.pop(d.id, None)
        await self._finish(d, DONE, "")
        self._recovered(d.integration)
        if self.health is not None:
            self.health.succeeded(d.receiver, d.integration)
        self._history(d, notifier.name, "ok", result=result)

    def _recovered(self, integration: str) -> None:
        """The integration took a notification: those waiting out a backoff for it go now,
        so that a backlog drains as fast as the receiver takes it once it is back, not
        each after its own backoff (up to max_backoff after the recovery)."""
        waiting = self._backing_off.pop(integration, None)
        if not waiting:
            return
        now = self.clock.now()
        for id_ in waiting:
            d = self._waiting.get(id_)
            if d is not None and id_ not in self._running:
                d.next_attempt_at = now
                self._start(d)

    def _notifier(self, d: Delivery) -> Notifier | None:
        notifiers = self.integrations(d.receiver)
        if d.index >= len(notifiers):
            return None
        notifier = notifiers[d.index]
        return notifier if d.integration == f"{d.receiver}/{notifier.name}/{d.index}" else None

    async def _pace(self, notifier: Notifier, d: Delivery) -> None:
        """Space the messages of one destination (a Slack channel) by its interval; the
        first page of a new group never waits: it is the one someone must see now."""
        key_of = getattr(notifier, "pace_key", None)
        interval = float(getattr(notifier, "pace_interval", 0.0))
        if key_of is None or interval <= 0:
            return
        key = key_of(d.notification)
        if key is None:
            return
        now = self._monotonic()
        ready = self._paced.get(key, now)
        self._paced[key] = max(ready, now) + interval
        first_page = d.reason == "first notification" and d.attempts == 0
        if ready > now and not first_page:
            await self._sleep(ready - now)

    async def _failed(self, d: Delivery, notifier: Notifier, exc: NotifyError) -> None:
        d.attempts += 1
        d.last_error = str(exc)
        d.maybe_delivered |= exc.ambiguous
        now = self.clock.now()
        key = (d.receiver, notifier.name)
        if self.health is not None:
            self.health.failed(d.receiver, d.integration, str(exc), retryable=exc.retryable)
        if not exc.retryable:
            self.stats.bump(self.stats.failed, key)
            await self._give_up(d, str(exc), name=notifier.name)
            return
        if self.policy.expired(d.created_at, now):
            self.stats.bump(self.stats.failed, key)
            await self._give_up(d, f"still failing after {d.attempts} attempts: {exc}",
                                name=notifier.name)
            return
        self.stats.bump(self.stats.retried, key)
        d.next_attempt_at = now + self.policy.delay(d.attempts, exc.retry_after, self.rand)
        if exc.retry_after is None:  # a receiver that asked for a pause gets it
            self._backing_off.setdefault(d.integration, set()).add(d.id)
        self._history(d, notifier.name, "retry", error=str(exc),
                      next_attempt_in=round(d.next_attempt_at - now, 3))
        log.warning("notification to %s failed (attempt %d), retrying in %.1fs: %s",
                    d.integration, d.attempts, d.next_attempt_at - now, exc)
        if self.repository is not None:
            try:
                await self.repository.reschedule(d.id, attempts=d.attempts,
                                                 next_attempt_at=d.next_attempt_at,
                                                 error=str(exc))
            except AlertdError as store_exc:  # the retry goes on from memory
                log.warning("delivery %s: cannot record its next attempt: %s", d.id, store_exc)

    async def _give_up(self, d: Delivery, error: str, *, name: str = "") -> None:
        log.error("notification to %s failed for good: %s", d.integration, error)
        self._waiting.pop(d.id, None)
        await self._finish(d, FAILED, error)
        self._history(d, name or d.integration.split("/")[-2], "failed", error=error)
        if self._given_up is not None:
            try:
                await self._given_up(d)
            except AlertdError as exc:
                log.error("delivery %s: cannot record that it failed for good: %s", d.id, exc)

    async def _finish(self, d: Delivery, state: str, error: str) -> None:
        if self.repository is not None:
            # Not waited for (see OutboxRepository.finish_later): unmarked, a delivery is
            # sent again after a restart, and the integration's idempotency keeps that from
            # paging twice.
            self.repository.finish_later([d.id], state, self.clock.now(), error)

    def _history(self, d: Delivery, name: str, what: str, *,
                 result: str | Outcome | None = None, **details: Any) -> None:
        if self._record is None:
            return
        now = self.clock.now()
        # A failure has counted its attempt already; a success is the one after them.
        attempt = d.attempts + 1 if what == "ok" else d.attempts
        base: dict[str, Any] = {"receiver": d.receiver, "integration": name, "attempt": attempt,
                                "outcome": what, "group_key": d.group_key,
                                "delivery": d.id, "reason": d.reason}
        if result is not None:
            said = outcome(result)
            if said.status.isdigit():
                base["status"] = int(said.status)
            # Where the page is (Slack), so the report can tell which message it was.
            base.update((k, v) for k, v in (("channel", said.channel), ("ts", said.ts)) if v)
        for alert in d.notification.alerts:
            self._record("delivery", alert, {**base, **details}, now)
