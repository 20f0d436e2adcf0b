"""The notification log: what each receiver was last told about each aggregation group.

The dedup stage asks `needs_update` whether a flush of a group has anything new for a
receiver; after a notification is sent it is logged, written through to the store, so
that neither a restart nor a second identical POST pages anyone again.

The decision is Alertmanager's (notify.DedupStage.needsUpdate), with its reasons spelt out
for `alertd explain`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol

from alertd.clock import Clock
from alertd.durations import format_duration
from alertd.errors import AlertdError

log = logging.getLogger("alertd.nflog")

# How long an entry is kept after its notification (Alertmanager's --data.retention).
RETENTION = 120 * 3600.0

# Reasons not to notify that say nothing about time; the others are built per call.
ONLY_RESOLVED = "only resolved alerts, never notified"
ALREADY_RESOLVED = "all alerts resolved, already notified"


@dataclass(frozen=True, slots=True)
class Entry:
    """The last notification of a group to a receiver.

    `firing` and `resolved` are the fingerprints of the alerts it carried; `firing` also
    keeps a muted alert the receiver was told of earlier while it still fires, on routes
    that want its resolution told (`notify_resolved_after_mute`): to the receiver it is
    still firing. `at` is when it was sent (seconds since the epoch) and `expires_at`
    when the entry is forgotten.
    """

    group_key: str
    receiver: str
    firing: frozenset[str]
    resolved: frozenset[str]
    at: float
    expires_at: float

    def expired(self, now: float) -> bool:
        return self.expires_at <= now


def needs_update(entry: Entry | None, firing: AbstractSet[str], resolved: AbstractSet[str], *,
                 repeat_interval: float, send_resolved: bool, now: float) -> tuple[bool, str]:
    """Whether the receiver must be notified of the group's current alerts, and why."""
    if entry is None:
        # Resolved alerts the receiver never heard of firing are no news to it.
        return (True, "first notification") if firing else (False, ONLY_RESOLVED)
    if not firing <= entry.firing:
        # After an all-resolved notification the receiver knows of nothing: a new start.
        return True, "first notification" if not entry.firing else "new alerts added"
    if not firing:
        # Sent whatever send_resolved says, so that the log forgets the firing alerts; when
        # the entry holds none, the alerts fired and resolved between two notifications.
        return (True, "all alerts resolved") if entry.firing else (False, ALREADY_RESOLVED)
    if send_resolved and not resolved <= entry.resolved:
        return True, "some alerts resolved"
    if entry.at <= now - repeat_interval:
        return True, "repeat interval elapsed"
    return False, f"nothing new (last sent {_ago(now - entry.at)} ago)"


def _ago(seconds: float) -> str:
    # Whole seconds, down: "4h ago" must not show while the 4h interval has not elapsed.
    # A clock that stepped back (or another replica's) must not read as "-3s ago".
    return format_duration(max(0, math.floor(seconds)))


class EntryRepository(Protocol):
    """Where entries persist (alertd.store.nflog.NotificationLogRepository)."""

    async def save(self, entry: Entry) -> None: ...

    async def load_all(self) -> list[Entry]: ...

    async def forget(self, group_key: str, receiver: str, at: float) -> bool: ...

    async def delete_expired(self, now: float) -> int: ...


class NotificationLog:
    """Entries by (group key, receiver), in memory, written through to a repository.

    Call `await load()` before the first query. A receiver is whatever the dedup stage
    keys notifications by (a receiver and one of its integrations, say); the log only
    compares the strings.
    """

    def __init__(self, repository: EntryRepository, clock: Clock, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._repository = repository
        self._clock = clock
        self._sleep = sleep
        self._entries: dict[tuple[str, str], Entry] = {}

    async def load(self) -> int:
        """Read the stored entries into memory (the newer one wins); how many are live."""
        self._merge(await self._repository.load_all())
        return len(self._entries)

    def query(self, group_key: str, receiver: str) -> Entry | None:
        """The last notification of the group to the receiver, unless it expired."""
        entry = self._entries.get((group_key, receiver))
        if entry is None or entry.expired(self._clock.now()):
            return None
        return entry

    async def log(self, group_key: str, receiver: str, firing: Iterable[str],
                  resolved: Iterable[str], at: float | None = None,
                  retention: float = RETENTION) -> Entry:
        """Record a notification that was sent; returns once the store has it.

        The entry is in memory before the write starts: the receiver has been told, so a
        flush that runs meanwhile, or after a failed write (the StoreError propagates),
        must not tell it again.
        """
        entry = self.entry(group_key, receiver, firing, resolved,
                           self._clock.now() if at is None else at, retention)
        self.remember(entry)
        await self._repository.save(entry)
        return entry

    def entry(self, group_key: str, receiver: str, firing: Iterable[str],
              resolved: Iterable[str], at: float, retention: float = RETENTION) -> Entry:
        """The entry of a notification, for the caller to store (the outbox stores it with
        the notification, in one transaction) and then `remember`."""
        if not math.isfinite(at) or not retention > 0:
            raise ValueError(f"cannot log a notification at {at} kept for {retention}s")
        return Entry(group_key, receiver, frozenset(firing), frozenset(resolved), at,
                     at + retention)

    def remember(self, entry: Entry) -> None:
        """Put a stored entry in memory, where dedup reads it."""
        self._merge([entry])

    async def forget(self, group_key: str, receiver: str, at: float) -> None:
        """A notification logged at `at` was never delivered (its delivery gave up): the
        receiver was not told, so the next flush must tell it, as in Alertmanager, where
        only a notification that went out is logged. A later entry stays."""
        entry = self._entries.get((group_key, receiver))
        if entry is not None and entry.at == at:
            del self._entries[(group_key, receiver)]
        await self._repository.forget(group_key, receiver, at)

    async def gc(self) -> int:
        """Forget expired entries, in memory and in the store; how many the store dropped."""
        now = self._clock.now()
        for key in [k for k, e in self._entries.items() if e.expired(now)]:
            del self._entries[key]
        return await self._repository.delete_expired(now)

    async def run_gc(self, interval: float = 900.0) -> None:
        """Collect garbage every `interval` seconds (Alertmanager: 15 minutes), until cancelled."""
        while True:
            await self._sleep(interval)
            try:
                removed = await self.gc()
            except AlertdError as exc:
                log.warning("notification log: garbage collection failed: %s", exc)
            else:
                if removed:
                    log.debug("notification log: %d expired entries removed", removed)

    def last_notified(self) -> dict[str, float]:
        """When each group was last notified (to any receiver), by group key: where a
        restart takes the groups' timers up again."""
        last: dict[str, float] = {}
        for (group_key, _), entry in self._entries.items():
            last[group_key] = max(entry.at, last.get(group_key, entry.at))
        return last

    def __len__(self) -> int:
        return len(self._entries)

    def _merge(self, entries: Iterable[Entry]) -> None:
        # As Alertmanager merges its peers' logs: the most recent notification wins.
        now = self._clock.now()
        for entry in entries:
            if entry.expired(now):
                continue
            key = (entry.group_key, entry.receiver)
            old = self._entries.get(key)
            if old is None or old.at <= entry.at:
                self._entries[key] = entry
