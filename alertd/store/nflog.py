"""The notification log, persisted (schema version 4).

`nflog_entry` holds one row per (group key, receiver): the last notification sent. The
outbox saves entries too, with the rows it enqueues (outbox.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from typing import Any

from sqlalchemy import Column, Double, String, Table, Text, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from alertd.nflog.log import Entry
from alertd.store.db import Database, StoreError, metadata

# The table as the code below reads and writes it today, beside the others in db.py.

# Keyed by a digest of (group key, receiver): a group key holds the group's label values,
# which may be longer than a PostgreSQL B-tree entry can be.
nflog_entry = Table(
    "nflog_entry", metadata,
    Column("key", String(64), primary_key=True),
    Column("group_key", Text, nullable=False),
    Column("receiver", Text, nullable=False),
    Column("firing", Text, nullable=False),  # JSON array of fingerprints, sorted
    Column("resolved", Text, nullable=False),
    Column("at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
)

def entry_key(group_key: str, receiver: str) -> str:
    text = json.dumps([group_key, receiver], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_row(entry: Entry) -> dict[str, Any]:
    return {
        "key": entry_key(entry.group_key, entry.receiver),
        "group_key": entry.group_key,
        "receiver": entry.receiver,
        "firing": json.dumps(sorted(entry.firing)),
        "resolved": json.dumps(sorted(entry.resolved)),
        "at": entry.at,
        "expires_at": entry.expires_at,
    }


@functools.cache
def save_entries(dialect: str) -> Any:
    """The upsert that stores entries (executed with their rows) unless newer ones are
    stored; built once (see db.upsert)."""
    t = nflog_entry
    ins = postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
    return ins.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={c.name: ins.excluded[c.name] for c in t.columns if c.name != "key"},
        where=ins.excluded.at >= t.c.at,
    )


class NotificationLogRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, entry: Entry) -> None:
        """Insert or replace the entry of (group key, receiver), unless a newer one is stored.

        Newer wins as when Alertmanager merges its peers' logs: a replica that logs late
        does not take back what another one sent since.
        """
        for name in ("at", "expires_at"):
            if not math.isfinite(getattr(entry, name)):
                raise StoreError(f'database "{self._db.url}": cannot save notification log: '
                                 f"{name} is {getattr(entry, name)}")
        async with self._db.transaction("save notification log", write=True) as conn:
            await conn.execute(save_entries(self._db.dialect), [entry_row(entry)])

    async def load_all(self) -> list[Entry]:
        """Every stored entry, expired or not."""
        query = select(nflog_entry).order_by(nflog_entry.c.group_key, nflog_entry.c.receiver)
        async with self._db.transaction("load notification log", write=False) as conn:
            rows = (await conn.execute(query)).all()
        try:
            return [Entry(r.group_key, r.receiver, _fingerprints(r.firing),
                          _fingerprints(r.resolved), r.at, r.expires_at) for r in rows]
        except ValueError as exc:
            raise StoreError(f'database "{self._db.url}": cannot load notification log: '
                             f"{exc}") from exc

    async def forget(self, group_key: str, receiver: str, at: float) -> bool:
        """Delete the entry of (group key, receiver) if it is the one logged at `at` (a
        later notification's entry stays); whether one was deleted."""
        stmt = delete(nflog_entry).where(
            nflog_entry.c.key == entry_key(group_key, receiver), nflog_entry.c.at == at)
        async with self._db.transaction("forget a notification log entry", write=True) as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def delete_expired(self, now: float) -> int:
        """Delete the entries expired at `now`; how many."""
        stmt = delete(nflog_entry).where(nflog_entry.c.expires_at <= now)
        async with self._db.transaction("delete expired notification log entries",
                                        write=True) as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)


def _fingerprints(text: str) -> frozenset[str]:
    data = json.loads(text)
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise ValueError(f"fingerprints are not a list of strings: {text!r}")
    return frozenset(data)
