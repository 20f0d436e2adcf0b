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

from sqlalchemy import Column, Double, Index, Integer, MetaData, String, Table, Text, delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection, RowMapping

from alertd.nflog.log import Entry
from alertd.store.db import Database, metadata, upsert
from alertd.store.notifications import entry_row, save_entry


def migrate_v5(conn: Connection) -> None:
    """Create the outbox and receiver state tables (frozen: never edit, add a step)."""
    md = MetaData()
    Table(
        "outbox", md,
        Column("id", String(64), primary_key=True),
        Column("slot", String(64), nullable=False),
        Column("receiver", Text, nullable=False),
        Column("integration", Text, nullable=False),
        Column("group_key", Text, nullable=False),
        Column("state", String(16), nullable=False),
        Column("created_at", Double, nullable=False),
        Column("next_attempt_at", Double, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text, nullable=False),
        Column("finished_at", Double),
        Column("notification", Text, nullable=False),
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_outbox_slot", "slot"),
    )
    Table(
        "receiver_state", md,
        Column("key", String(64), primary_key=True),
        Column("kind", String(32), nullable=False),
        Column("group_key", Text, nullable=False),
        Column("receiver", Text, nullable=False),
        Column("value", Text, nullable=False),
        Column("updated_at", Double, nullable=False),
        Index("ix_receiver_state_kind_updated_at", "kind", "updated_at"),
    )
    md.create_all(conn)


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


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, row: OutboxRow, logged: Entry | None = None) -> list[str]:
        """Store a pending notification (and the notification log entry that says it is
        sent) in one transaction; older pending rows of the same slot are superseded.
        Returns the ids superseded."""
        async with self._db.transaction("write to the outbox", write=True) as conn:
            older = (await conn.execute(
                select(outbox.c.id).where(outbox.c.slot == row.slot,
                                          outbox.c.state == PENDING))).scalars().all()
            if older:
                await conn.execute(
                    sql_update(outbox).where(outbox.c.id.in_(older)).values(
                        state=SUPERSEDED, finished_at=row.created_at))
            await conn.execute(outbox.insert().values(_to_db(row)))
            if logged is not None:
                await conn.execute(save_entry(self._db.dialect, entry_row(logged)))
        return list(older)

    async def finish(self, ids: Sequence[str], state: str, at: float, error: str = "") -> None:
        """Mark rows done or failed (or superseded)."""
        async with self._db.transaction("update the outbox", write=True) as conn:
            await conn.execute(sql_update(outbox).where(outbox.c.id.in_(list(ids))).values(
                state=state, finished_at=at, last_error=error))

    async def reschedule(self, id_: str, *, attempts: int, next_attempt_at: float,
                         error: str) -> None:
        async with self._db.transaction("update the outbox", write=True) as conn:
            await conn.execute(sql_update(outbox).where(outbox.c.id == id_).values(
                attempts=attempts, next_attempt_at=next_attempt_at, last_error=error))

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
        from sqlalchemy import func

        query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        async with self._db.transaction("read the outbox", write=False) as conn:
            return {state: int(n) for state, n in (await conn.execute(query)).all()}

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
            "finished_at": row.finished_at, "notification": json.dumps(row.notification)}


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
        async with self._db.transaction("read receiver state", write=False) as conn:
            row = (await conn.execute(
                select(receiver_state).where(receiver_state.c.key == key))).first()
        return None if row is None else _state(row._mapping)

    async def put(self, row: StateRow) -> None:
        values = {"key": row.key, "kind": row.kind, "group_key": row.group_key,
                  "receiver": row.receiver, "value": json.dumps(row.value),
                  "updated_at": row.updated_at}
        async with self._db.transaction("save receiver state", write=True) as conn:
            await conn.execute(upsert(self._db.dialect, receiver_state, ["key"]), [values])

    async def find(self, kind: str, group_key: str) -> list[StateRow]:
        query = select(receiver_state).where(receiver_state.c.kind == kind,
                                             receiver_state.c.group_key == group_key)
        async with self._db.transaction("read receiver state", write=False) as conn:
            return [_state(r._mapping) for r in (await conn.execute(query)).all()]

    async def delete_older(self, before: float) -> int:
        stmt = delete(receiver_state).where(receiver_state.c.updated_at < before)
        async with self._db.transaction("clean receiver state", write=True) as conn:
            return int((await conn.execute(stmt)).rowcount)


def _state(r: RowMapping) -> StateRow:
    return StateRow(r["key"], r["kind"], r["group_key"], r["receiver"], json.loads(r["value"]),
                    r["updated_at"])
