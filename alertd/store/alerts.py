"""Alerts posted to the API, persisted before the post is answered (schema version 8).

`POST /api/v2/alerts` answers 2xx only once the alerts it carried are committed here, so
that an acknowledged alert survives a crash; a restart puts them back into the alert store
and rebuilds the aggregation groups from them. Each row is the alert as stored after the
merge by fingerprint (owner attached), and `received_at`, when alertd first heard of it:
the aggregation group's timers after a restart count from there.

Writes are group-committed (store/batch.py): the posts in flight together share a
transaction, each waiting for the commit that holds its alerts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Boolean, Column, Double, String, Table, Text, delete, select
from sqlalchemy.engine import RowMapping

from alertd.alerts.model import Alert
from alertd.store.batch import GroupCommit
from alertd.store.connection import StoreConnection
from alertd.store.db import Database, StoreError, decode_labels, encode_labels, metadata, upsert

posted_alert = Table(
    "posted_alert", metadata,
    Column("fingerprint", String(32), primary_key=True),
    Column("labels", Text, nullable=False),
    Column("annotations", Text, nullable=False),
    Column("starts_at", Double, nullable=False),
    Column("ends_at", Double),  # None: firing until resolved (rules only; see Alert)
    Column("updated_at", Double, nullable=False),
    Column("received_at", Double, nullable=False),
    Column("generator_url", Text, nullable=False),
    Column("timeout", Boolean, nullable=False),
)


@dataclass(frozen=True, slots=True)
class PostedAlert:
    alert: Alert
    received_at: float


@dataclass(frozen=True, slots=True)
class _Stamped:
    alert: Alert
    received_at: float


class PostedAlertRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        # received_at stays that of the row updated: a group's timers count from when
        # alertd first heard of the alert, not from its latest update.
        self._upsert = upsert(db.dialect, posted_alert, ("fingerprint",), ("received_at",))
        self._writes: GroupCommit[Sequence[_Stamped], None] = GroupCommit(
            db, "store posted alerts", self._write, inline=db.inloop is not None)

    async def save(self, alerts: Sequence[Alert], received_at: float) -> None:
        """Store the alerts (as merged in the alert store) and wait for the commit; raises
        StoreError if it failed."""
        if alerts:
            await self._writes.submit([_Stamped(a, received_at) for a in alerts])

    async def _write(self, conn: StoreConnection,
                     batches: Sequence[Sequence[_Stamped]]) -> list[None]:
        rows: dict[str, dict[str, Any]] = {}
        for batch in batches:
            for stamped in batch:
                # One row per fingerprint: a statement may not upsert the same row twice
                # (PostgreSQL refuses it); the later update wins, as in the alert store.
                rows[stamped.alert.fingerprint] = self._row(stamped)
        await conn.execute_many(self._upsert, list(rows.values()))
        return [None] * len(batches)

    def _row(self, stamped: _Stamped) -> dict[str, Any]:
        try:
            return _row(stamped.alert, stamped.received_at)
        except TypeError as exc:  # orjson: text that is not valid UTF-8, say
            raise StoreError(f'database "{self._db.url}": cannot store posted alerts: alert '
                             f"{stamped.alert.labels} cannot be stored: {exc}") from exc

    async def load(self) -> list[PostedAlert]:
        """Every stored alert, the least recently updated first."""
        query = select(posted_alert).order_by(posted_alert.c.updated_at)
        async with self._db.transaction("read posted alerts", write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_from_db(r._mapping) for r in rows]

    async def delete(self, fingerprints: Iterable[str]) -> None:
        """Forget alerts the alert store collected (resolved longer than its retention)."""
        keys = list(fingerprints)
        async with self._db.transaction("clean posted alerts", write=True) as conn:
            for i in range(0, len(keys), 500):  # under SQLite's limit of bound parameters
                await conn.execute(delete(posted_alert).where(
                    posted_alert.c.fingerprint.in_(keys[i:i + 500])))

    async def delete_ended(self, before: float) -> int:
        """Forget alerts that ended before `before`; how many."""
        stmt = delete(posted_alert).where(posted_alert.c.ends_at < before)
        async with self._db.transaction("clean posted alerts", write=True) as conn:
            return int((await conn.execute(stmt)).rowcount)


def _row(alert: Alert, received_at: float) -> dict[str, Any]:
    return {"fingerprint": alert.fingerprint, "labels": encode_labels(alert.labels),
            "annotations": orjson.dumps(dict(alert.annotations)).decode(),
            "starts_at": alert.starts_at, "ends_at": alert.ends_at,
            "updated_at": alert.updated_at, "received_at": received_at,
            "generator_url": alert.generator_url, "timeout": alert.timeout}


def _from_db(r: RowMapping) -> PostedAlert:
    annotations = json.loads(r["annotations"])
    alert = Alert(decode_labels(r["labels"]), dict(annotations), r["starts_at"], r["ends_at"],
                  r["updated_at"], r["generator_url"], timeout=bool(r["timeout"]))
    return PostedAlert(alert, r["received_at"])
