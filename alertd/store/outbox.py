"""The outbox and the receivers' own state, persisted (schema version 5).

`outbox` holds each notification from the moment the dedup stage decides to send it until
its receiver confirms it: a row is written (in the same transaction as the notification
log entry that says it was sent) before the first attempt, and marked done, failed or
superseded afterwards. Pending rows are what a restart sends.

`receiver_state` is a small key-value table for what receivers must remember to stay
idempotent and interactive: the Slack message of a group (channel and ts), the PagerDuty
dedup key of a group.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Double,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.engine import RowMapping

from alertd.nflog.log import Entry
from alertd.store.batch import GroupCommit
from alertd.store.connection import StoreConnection
from alertd.store.db import Database, StoreError, metadata, upsert
from alertd.store.kept import KeptConnection
from alertd.store.nflog import entry_row, save_entries

outbox = Table(
    "outbox", metadata,
    Column("id", String(64), primary_key=True),
    # Digest of (group key, receiver/integration/index): at most one pending row per slot.
    Column("slot", String(64), nullable=False),
    Column("receiver", Text, nullable=False),
    Column("integration", Text, nullable=False),  # "<receiver>/<integration>/<index>"
    Column("group_key", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending, done, failed, superseded
    Column("created_at", Double, nullable=False),
    Column("next_attempt_at", Double, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("finished_at", Double),
    Column("notification", Text, nullable=False),  # JSON: what is sent, see notify/outbox.py
)

receiver_state = Table(
    "receiver_state", metadata,
    Column("key", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("group_key", Text, nullable=False),
    Column("receiver", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("updated_at", Double, nullable=False),
)

PENDING, DONE, FAILED, SUPERSEDED = "pending", "done", "failed", "superseded"

# How long a done mark waits for others to share its commit: long enough that a busy
# second's marks take a few commits instead of one each, short enough that the marks a
# kill can catch uncommitted stay a handful (the requests in flight are far more).
MARK_LINGER = 0.002


@dataclass(slots=True)
class OutboxRow:
    id: str
    slot: str
    receiver: str
    integration: str
    group_key: str
    state: str
    created_at: float
    next_attempt_at: float
    attempts: int
    last_error: str
    notification: Mapping[str, Any]
    finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class _Enqueue:
    row: OutboxRow
    logged: Entry | None


@dataclass(frozen=True, slots=True)
class _Finish:
    ids: Sequence[str]
    state: str
    at: float
    error: str


@dataclass(frozen=True, slots=True)
class _Reschedule:
    id: str
    attempts: int
    next_attempt_at: float
    error: str


_Op = _Enqueue | _Finish | _Reschedule

# Built once: executing a prebuilt statement skips building it and its cache key.
_insert = outbox.insert()
_supersede = sql_update(outbox).where(
    outbox.c.slot == bindparam("b_slot"), outbox.c.state == PENDING).values(
    state=SUPERSEDED, finished_at=bindparam("b_at"))

_finish = sql_update(outbox).where(outbox.c.id == bindparam("b_id")).values(
    state=bindparam("b_state"), finished_at=bindparam("b_at"), last_error=bindparam("b_error"))
_reschedule = sql_update(outbox).where(outbox.c.id == bindparam("b_id")).values(
    attempts=bindparam("b_attempts"), next_attempt_at=bindparam("b_next"),
    last_error=bindparam("b_error"))


class OutboxRepository:
    """Writes are group-committed (see store/batch.py): the enqueues of concurrent flushes
    share a transaction, each caller awaiting its commit. The marks of finished deliveries
    have a writer of their own: behind a queue of enqueues (hundreds deep in a storm, on
    PostgreSQL) a mark would wait long enough for a kill to catch it uncommitted. A mark
    never needs to follow an enqueue of its batch: a row is sent only once committed."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._writes: GroupCommit[_Op, None] = GroupCommit(db, "write to the outbox",
                                                           self._write)
        self._kept = KeptConnection(db)
        self._marks: GroupCommit[_Op, None] = GroupCommit(
            self._kept, "mark deliveries in the outbox", self._write, linger=MARK_LINGER)

    async def enqueue(self, row: OutboxRow, logged: Entry | None = None) -> None:
        """Store a pending notification (and the notification log entry that says it is
        sent) in one transaction; older pending rows of the same slot are superseded."""
        await self._writes.submit(_Enqueue(row, logged))

    async def finish(self, ids: Sequence[str], state: str, at: float, error: str = "") -> None:
        """Mark rows done or failed (or superseded), and wait for the commit."""
        await self._marks.submit(_Finish(list(ids), state, at, error))

    def finish_later(self, ids: Sequence[str], state: str, at: float, error: str = "") -> None:
        """Mark rows without waiting. The mark is committed within MARK_LINGER (with the
        other marks queued by then), not left to wait long for company: a mark not yet
        committed when the process is killed means the notification is sent a second time
        after the restart, and a receiver without an idempotency key (an unsigned webhook,
        a Slack incoming webhook, MQTT) shows it twice."""
        self._marks.add(_Finish(list(ids), state, at, error))

    async def flush(self) -> None:
        """Commit the marks still queued."""
        await self._marks.flush()
        await self._writes.flush()

    async def close(self) -> None:
        await self.flush()
        await self._kept.close()

    async def reschedule(self, id_: str, *, attempts: int, next_attempt_at: float,
                         error: str) -> None:
        await self._writes.submit(_Reschedule(id_, attempts, next_attempt_at, error))

    async def _write(self, conn: StoreConnection, ops: Sequence[_Op]) -> list[None]:
        # Enqueues first, then reschedules, then finishes: a row is always enqueued in an
        # earlier batch than its own updates (it is sent only once committed), and a
        # done-mark landing after a supersede of the same row leaves it done either way.
        await self._enqueue(conn, [op for op in ops if isinstance(op, _Enqueue)])
        await conn.execute_many(_reschedule, [
            {"b_id": op.id, "b_attempts": op.attempts, "b_next": op.next_attempt_at,
             "b_error": op.error} for op in ops if isinstance(op, _Reschedule)])
        await conn.execute_many(_finish, [
            {"b_id": id_, "b_state": op.state, "b_at": op.at, "b_error": op.error}
            for op in ops if isinstance(op, _Finish) for id_ in op.ids])
        return [None] * len(ops)

    async def _enqueue(self, conn: StoreConnection, ops: Sequence[_Enqueue]) -> None:
        newest: dict[str, OutboxRow] = {}  # slot -> its newest row in this batch
        for op in ops:
            newest[op.row.slot] = op.row
        # What the store holds pending of these slots, the newest rows supersede; rows of
        # this batch superseded by a later one of their slot are stored superseded.
        await conn.execute_many(_supersede, [{"b_slot": slot, "b_at": row.created_at}
                                             for slot, row in newest.items()])
        rows = []
        for op in ops:
            row = self._encoded(op.row)
            latest = newest[op.row.slot]
            if latest is not op.row:
                row.update(state=SUPERSEDED, finished_at=latest.created_at)
            rows.append(row)
        await conn.execute_many(_insert, rows)
        entries: dict[str, dict[str, Any]] = {}
        for op in ops:
            if op.logged is not None:
                entry = entry_row(op.logged)
                old = entries.get(entry["key"])
                if old is None or old["at"] <= entry["at"]:
                    entries[entry["key"]] = entry  # one per key: a statement may not upsert twice
        await conn.execute_many(save_entries(self._db.dialect), list(entries.values()))

    def _encoded(self, row: OutboxRow) -> dict[str, Any]:
        try:
            return _to_db(row)
        except TypeError as exc:  # orjson: text that is not valid UTF-8, say
            raise StoreError(f'database "{self._db.url}": cannot write to the outbox: the '
                             f"notification of {row.group_key} cannot be stored: {exc}") from exc

    async def pending(self) -> list[OutboxRow]:
        """Every pending row, oldest first."""
        query = select(outbox).where(outbox.c.state == PENDING).order_by(
            outbox.c.created_at, outbox.c.id)
        async with self._db.transaction("read the outbox", write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_from_db(r._mapping) for r in rows]

    async def get(self, id_: str) -> OutboxRow | None:
        async with self._db.transaction("read the outbox", write=False) as conn:
            row = (await conn.execute(select(outbox).where(outbox.c.id == id_))).first()
        return None if row is None else _from_db(row._mapping)

    async def counts(self) -> dict[str, int]:
        """Rows by state."""
        query = select(outbox.c.state, func.count().label("n")).group_by(outbox.c.state)
        async with self._db.transaction("read the outbox", write=False) as conn:
            return {str(r.state): int(r.n) for r in (await conn.execute(query)).all()}

    async def delete_finished(self, before: float) -> int:
        """Forget rows that finished before `before`; how many."""
        stmt = delete(outbox).where(outbox.c.state != PENDING, outbox.c.finished_at < before)
        async with self._db.transaction("clean the outbox", write=True) as conn:
            return int((await conn.execute(stmt)).rowcount)


def _to_db(row: OutboxRow) -> dict[str, Any]:
    return {"id": row.id, "slot": row.slot, "receiver": row.receiver,
            "integration": row.integration, "group_key": row.group_key, "state": row.state,
            "created_at": row.created_at, "next_attempt_at": row.next_attempt_at,
            "attempts": row.attempts, "last_error": row.last_error,
            "finished_at": row.finished_at,
            "notification": orjson.dumps(row.notification).decode()}


def _from_db(r: RowMapping) -> OutboxRow:
    return OutboxRow(r["id"], r["slot"], r["receiver"], r["integration"], r["group_key"],
                     r["state"], r["created_at"], r["next_attempt_at"], r["attempts"],
                     r["last_error"], json.loads(r["notification"]), r["finished_at"])


@dataclass(frozen=True, slots=True)
class StateRow:
    key: str
    kind: str
    group_key: str
    receiver: str
    value: Mapping[str, Any]
    updated_at: float


class ReceiverStateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> StateRow | None:
        async with self._db.transaction("read receiver state", write=False, quick=True) as conn:
            row = (await conn.execute(
                select(receiver_state).where(receiver_state.c.key == key))).first()
        return None if row is None else _state(row._mapping)

    async def put(self, row: StateRow) -> None:
        values = {"key": row.key, "kind": row.kind, "group_key": row.group_key,
                  "receiver": row.receiver, "value": json.dumps(row.value),
                  "updated_at": row.updated_at}
        async with self._db.transaction("save receiver state", write=True) as conn:
            await conn.execute(upsert(self._db.dialect, receiver_state, ("key",)), [values])

    async def delete_older(self, before: float) -> int:
        stmt = delete(receiver_state).where(receiver_state.c.updated_at < before)
        async with self._db.transaction("clean receiver state", write=True) as conn:
            return int((await conn.execute(stmt)).rowcount)


def _state(r: RowMapping) -> StateRow:
    return StateRow(r["key"], r["kind"], r["group_key"], r["receiver"], json.loads(r["value"]),
                    r["updated_at"])
