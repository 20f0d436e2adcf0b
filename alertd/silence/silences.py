"""The registry of silences: Alertmanager's rules for setting and expiring them, the
question "which silences mute these labels?", and write-through persistence.

Every change is written to the repository before it is visible in memory, and before
`set` or `expire` returns: a silence the API acknowledged survives a restart, and a failed
write changes nothing.

Times are kept to the millisecond, the precision of the API: a silence read with GET and
posted back unchanged (as `amtool silence update` does) has exactly the start it had, so
it is updated in place rather than replaced.

Each change, once written, is told to `record` as a `silence` history event (created,
changed, expired, expired_on_resolve), with `via` saying where it came from: the API,
the CLI (through the API) or a Slack button.

Each silence's end is told once to `on_end`, so that what shows a silence (a Slack page
it was made from) can follow it: at once when it is expired (by the API, the CLI, the
resolution of its alerts, or an update that replaces it: then with the silence that
takes its place), and at the first `sweep` after its end time passes, which changes
nothing and so is noticed only by looking. Silences that ended while alertd was down
are told at the first sweep after a start.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from alertd import history
from alertd.history import HistoryEvent
from alertd.model import LabelMatcher, Labels
from alertd.silence.model import (
    ACTIVE,
    EXPIRED,
    PENDING,
    Silence,
    SilenceAlreadyExpired,
    SilenceNotFound,
    SilenceState,
    format_matcher,
    matches_filter,
    new_id,
)

# How long an expired silence is kept (in memory, listed by the API, in the store).
# Alertmanager's --data.retention is 120h; alertd keeps it 15 days, longer than the weekly
# noise report's period plus one, so that every silence a report (or the one after it)
# mentions can still be looked up.
RETENTION = 15 * 86400.0
VIAS = ("api", "cli", "slack")  # where a change comes from, as the history says
# The product token of `alertd silence` requests: the API tells its changes by it.
CLI_AGENT = "alertd-cli"

Record = Callable[[HistoryEvent], None]
# A silence that ended, and the one that replaced it (an update that could not be made in
# place), or None.
EndListener = Callable[[Silence, Silence | None], None]

log = logging.getLogger("alertd.silence")

# Label sets whose muting silences are remembered; beyond it the cache starts over.
_CACHE_LIMIT = 65_536

class SilenceRepository(Protocol):
    async def save(self, *silences: Silence) -> None: ...

    async def load_all(self) -> list[Silence]: ...

    async def delete(self, ids: Iterable[str]) -> None: ...


def to_ms(t: float) -> float:
    """`t` truncated to the millisecond (with a microsecond's slack for float error)."""
    if not math.isfinite(t):
        return t
    return math.floor(t * 1000 + 1e-3) / 1000


class Silences:
    """The silences, in memory, over an optional repository (None: memory only)."""

    def __init__(self, repository: SilenceRepository | None = None, *,
                 retention: float = RETENTION, record: Record | None = None,
                 on_end: EndListener | None = None) -> None:
        if retention < 0:
            raise ValueError("the retention of silences cannot be negative")
        self._repo = repository
        self.retention = retention
        self.record = record
        self.on_end = on_end
        self._told: set[str] = set()  # ids of the silences whose end on_end was told
        self._by_id: dict[str, Silence] = {}
        self._lock = asyncio.Lock()
        self._version = 0
        # Labels -> ids of the silences whose matchers match them, in any state: matching
        # does not depend on time, so the entry holds until a silence changes (version).
        self._cache: dict[Labels, tuple[str, ...]] = {}
        self._cache_version = 0

    @classmethod
    async def open(cls, repository: SilenceRepository | None, now: float, *,
                   retention: float = RETENTION, record: Record | None = None,
                   on_end: EndListener | None = None) -> Silences:
        silences = cls(repository, retention=retention, record=record, on_end=on_end)
        await silences.load(now)
        return silences

    @property
    def version(self) -> int:
        """A counter that moves whenever a silence is added, changed or removed."""
        return self._version

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Silence]:
        return iter(list(self._by_id.values()))

    def get(self, silence_id: str) -> Silence | None:
        return self._by_id.get(silence_id)

    # --- changes ---------------------------------------------------------------------

    async def load(self, now: float) -> None:
        """Replace what is in memory with the repository's silences, then collect garbage."""
        async with self._lock:
            loaded = await self._repo.load_all() if self._repo is not None else []
            self._by_id = {s.id: s for s in loaded}
            self._version += 1
        await self.gc(now)

    async def set(self, silence: Silence, now: float, *, via: str = "api") -> str:
        """Create a silence, or update the one with this id; the id it ends up with.

        As in Alertmanager: an existing silence is changed in place only when that does
        not rewrite history, that is, its matchers are the same and, if it is active, so is
        its start and its new end is not in the past, or, if it is pending, its new start
        is not in the past. Otherwise the old silence is expired (unless it already was)
        and a new one, with a new id, takes the change. A new silence starting in the past
        starts now. An unknown id is SilenceNotFound; a broken rule is InvalidSilence.
        """
        _check_via(via)
        now = to_ms(now)
        sil = replace(silence, starts_at=to_ms(silence.starts_at),
                      ends_at=to_ms(silence.ends_at))
        async with self._lock:
            prev = self._by_id.get(sil.id) if sil.id else None
            if sil.id and prev is None:
                raise SilenceNotFound(sil.id)
            writes: list[tuple[str, Silence]] = []
            if prev is not None and _can_update(prev, sil, now):
                new = replace(sil, updated_at=now)
                new.validate()
                writes.append(("changed", new))
            else:
                new = replace(sil, id=new_id(), starts_at=max(sil.starts_at, now),
                              updated_at=now)
                # Checked before the old one is expired: a refused change changes nothing.
                new.validate()
                if prev is not None and prev.state(now) != EXPIRED:
                    writes.append(("expired", _expired(prev, now)))
                writes.append(("created", new))
            await self._write([s for _, s in writes])
            for action, written in writes:
                self._recorded(action, written, now, via)
                if action == "expired":
                    self._ended(written, new)
            return new.id

    async def expire(self, silence_id: str, now: float, *, via: str = "api") -> Silence:
        """End a silence now: an active one ends now, a pending one starts and ends now.

        SilenceNotFound for an unknown id, SilenceAlreadyExpired for an expired one.
        """
        _check_via(via)
        now = to_ms(now)
        async with self._lock:
            sil = self._by_id.get(silence_id)
            if sil is None:
                raise SilenceNotFound(silence_id)
            if sil.state(now) == EXPIRED:
                raise SilenceAlreadyExpired(silence_id)
            expired = _expired(sil, now)
            await self._write([expired])
            self._recorded("expired", expired, now, via)
            self._ended(expired, None)
            return expired

    async def on_resolved(self, resolved: Labels, still_firing: Iterable[Labels],
                          now: float) -> list[str]:
        """Expire the `expire_on_resolve` silences that the resolution of `resolved` frees.

        Those are the active ones that match `resolved` and none of `still_firing` (the
        alerts still firing); the ids of the silences expired, in id order.
        """
        candidates = [sid for sid in self.mutes(resolved, now)
                      if self._by_id[sid].expire_on_resolve]
        if not candidates:
            return []
        firing = list(still_firing)
        now = to_ms(now)
        async with self._lock:
            expired: list[Silence] = []
            for sid in candidates:
                sil = self._by_id.get(sid)
                # Looked at again under the lock: another task may have changed it.
                if sil is None or not sil.expire_on_resolve or sil.state(now) != ACTIVE:
                    continue
                if any(sil.matches(labels) for labels in firing):
                    continue
                expired.append(_expired(sil, now))
            if expired:
                await self._write(expired)
            for sil in expired:
                self._recorded("expired_on_resolve", sil, now, None)
                self._ended(sil, None)
            return [s.id for s in expired]

    def sweep(self, now: float) -> None:
        """Tell `on_end` of the silences whose end time has passed since it was last told."""
        for sil in list(self._by_id.values()):
            if sil.id not in self._told and sil.state(now) == EXPIRED:
                self._ended(sil, None)

    async def gc(self, now: float) -> list[str]:
        """Forget the silences that expired more than `retention` ago; their ids."""
        async with self._lock:
            dead = sorted(sid for sid, s in self._by_id.items()
                          if s.ends_at + self.retention < now)
            if not dead:
                return []
            if self._repo is not None:
                await self._repo.delete(dead)
            for sid in dead:
                del self._by_id[sid]
            self._told.difference_update(dead)
            self._version += 1
            return dead

    def _recorded(self, action: str, sil: Silence, now: float, via: str | None) -> None:
        """Tell the history about a change once it is written."""
        if self.record is None:
            return
        self.record(history.silence(
            now, Labels({m.name: m.value for m in sil.matchers if m.op == "="}),
            action=action, silence_id=sil.id, by=sil.created_by, comment=sil.comment,
            via=via, matchers=[format_matcher(m) for m in sil.matchers],
            starts_at=sil.starts_at, ends_at=sil.ends_at))

    def _ended(self, sil: Silence, successor: Silence | None) -> None:
        """Tell `on_end`, once per silence, that `sil` ended (it is written already)."""
        if sil.id in self._told:
            return
        self._told.add(sil.id)
        if self.on_end is None:
            return
        try:
            self.on_end(sil, successor)
        except Exception:  # a listener must not undo a change already made
            log.exception("telling the end of silence %s failed", sil.id)

    async def _write(self, silences: Sequence[Silence]) -> None:
        if self._repo is not None:
            await self._repo.save(*silences)
        for s in silences:
            self._by_id[s.id] = s
        self._version += 1

    # --- questions -------------------------------------------------------------------

    def query(self, *, filters: Sequence[LabelMatcher] = (),
              states: Collection[SilenceState] | None = None, now: float) -> list[Silence]:
        """The silences that pass the filters (see `matches_filter`) in the given states.

        In Alertmanager's order: active ones first, soonest to end first; then pending
        ones, soonest to start first; then expired ones, latest to end first.
        """
        found = [s for s in self._by_id.values()
                 if (states is None or s.state(now) in states) and matches_filter(s, filters)]
        found.sort(key=lambda s: _order(s, now))
        return found

    def mutes(self, labels: Mapping[str, str], now: float) -> list[str]:
        """The ids of the active silences whose matchers all match `labels`, in id order."""
        key = labels if isinstance(labels, Labels) else Labels(labels)
        if self._cache_version != self._version:
            self._cache.clear()
            self._cache_version = self._version
        ids = self._cache.get(key)
        if ids is None:
            ids = tuple(sorted(sid for sid, s in self._by_id.items() if s.matches(key)))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = ids
        by_id = self._by_id
        return [sid for sid in ids if by_id[sid].state(now) == ACTIVE]


def via_of(user_agent: str | None) -> str:
    """Where a change posted to the API comes from: the CLI, by its User-Agent, or else
    the API (amtool, Grafana, a script)."""
    product = (user_agent or "").split("/", 1)[0].strip()
    return "cli" if product == CLI_AGENT else "api"


def _check_via(via: str) -> None:
    # Checked before anything is written: a change must not fail once it is made.
    if via not in VIAS:
        raise ValueError(f'unknown origin of a silence change "{via}" (one of {", ".join(VIAS)})')


def _can_update(a: Silence, b: Silence, now: float) -> bool:
    """Whether `a` can become `b` without changing what was silenced in the past."""
    if a.matchers != b.matchers:
        return False
    state = a.state(now)
    if state == ACTIVE:
        return b.starts_at == a.starts_at and b.ends_at >= now
    if state == PENDING:
        return b.starts_at >= now
    return False


def _expired(sil: Silence, now: float) -> Silence:
    if sil.state(now) == PENDING:
        return replace(sil, starts_at=now, ends_at=now, updated_at=now)
    return replace(sil, ends_at=max(now, sil.starts_at), updated_at=now)


def _order(s: Silence, now: float) -> tuple[int, float, str]:
    state = s.state(now)
    if state == ACTIVE:
        return (0, s.ends_at, s.id)
    if state == PENDING:
        return (1, s.starts_at, s.id)
    return (2, -s.ends_at, s.id)
