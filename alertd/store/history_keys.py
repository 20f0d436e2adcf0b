"""What makes a history event the event it is, so that importing history twice adds
nothing (schema versions 9 and 11).

An event is its time, kind, fingerprint and details: two events equal in those are one
fact. Migration 9 stored a digest of them (`event_key`) under a unique index, and every
append computed it; migration 11 dropped the index, because it made every live write
slower to serve a rare import. Live events are stored without a key, and an import
compares instead (`identity`): the stored events at the imported times, found through the
index on the time, against the imported ones. The keys migration 9 wrote stay in their
rows, unread (dropping the column would rewrite the table, and SQLite before 3.35 cannot).

`event_key` is part of migration 9, frozen with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from alertd.store.db import StoreConnection

_ID = BigInteger().with_variant(Integer, "sqlite")
_PAGE = 5000  # rows per step of the backfill
_TIMES_PER_QUERY = 500  # times an import looks up at once (SQLite: at most 999 parameters)


# An event's identity: its time, kind, fingerprint, and details as canonical JSON.
Identity = tuple[float, str, str, bytes]


def identity(at: float, kind: str, fingerprint: str, details: str) -> Identity:
    """The identity of an event; `details` as the details column holds them.

    Details are compared as JSON values (the order of their keys aside): 1, 1.0 and true
    differ, as they do when read back."""
    try:
        value = orjson.loads(details)
    except orjson.JSONDecodeError:
        value = json.loads(details)  # an integer beyond 64 bits, which only json writes
    return (at, kind, fingerprint, _canonical(value))


async def stored_identities(conn: StoreConnection, history: Table,
                            wanted: Collection[Identity]) -> set[Identity]:
    """Those of the identities that events stored in `history` have.

    The candidates are the events at the same times, through the index on the time: a few
    rows a time, where the (fingerprint, at) index would be probed for every pair of a
    fingerprint and a time."""
    h = history.c
    near = {key[:3] for key in wanted}
    times = sorted({key[0] for key in wanted})
    found: set[Identity] = set()
    for start in range(0, len(times), _TIMES_PER_QUERY):
        query = select(h.at, h.kind, h.fingerprint, h.details).where(
            h.at.in_(times[start:start + _TIMES_PER_QUERY]))
        for row in await conn.execute(query):
            if (row.at, row.kind, row.fingerprint) in near:  # decode only the likely ones
                found.add(identity(row.at, row.kind, row.fingerprint, row.details))
    return found


def event_key(at: float, kind: str, fingerprint: str, details: Any) -> str:
    """The key of an event; `details` as JSON values (the details column, decoded)."""
    return hashlib.sha256(_canonical([repr(float(at)), kind, fingerprint, details])).hexdigest()


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, which orjson refuses
        return json.dumps(value, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode()


def migrate_v9(conn: Connection) -> None:
    """Add alert_history.event_key, fill it in, and make it unique (frozen: never edit,
    add a step)."""
    conn.exec_driver_sql("ALTER TABLE alert_history ADD COLUMN event_key VARCHAR(64)")
    md = MetaData()
    h = Table(
        "alert_history", md,
        Column("id", _ID, primary_key=True),
        Column("at", Double, nullable=False),
        Column("kind", String, nullable=False),
        Column("fingerprint", String, nullable=False),
        Column("details", Text, nullable=False),
        Column("event_key", String(64)),
    )
    _backfill(conn, h)
    Index("ux_alert_history_event_key", h.c.event_key, unique=True).create(conn)


def _backfill(conn: Connection, h: Table) -> None:
    """Key every stored event, in pages ordered by time. Of identical events (only those
    of one instant can be), the first gets the key and the others keep none: nothing
    recorded is deleted, and the unique index holds."""
    fill = update(h).where(h.c.id == bindparam("row_id")).values(event_key=bindparam("key"))
    after: tuple[float, int] | None = None
    seen: set[str] = set()  # keys given at the instant `after` is at
    while True:
        query = select(h.c.id, h.c.at, h.c.kind, h.c.fingerprint, h.c.details)
        if after is not None:
            query = query.where(or_(h.c.at > after[0],
                                    and_(h.c.at == after[0], h.c.id > after[1])))
        rows = conn.execute(query.order_by(h.c.at, h.c.id).limit(_PAGE)).all()
        keys = []
        for row in rows:
            if after is None or row.at != after[0]:
                seen.clear()
            after = (row.at, row.id)
            key = event_key(row.at, row.kind, row.fingerprint, json.loads(row.details))
            if key not in seen:
                seen.add(key)
                keys.append({"row_id": row.id, "key": key})
        if keys:
            conn.execute(fill, keys)
        if len(rows) < _PAGE:
            return


def migrate_v11(conn: Connection) -> None:
    """Drop the unique index on event_key, which every live append paid for (imports
    compare events instead), and the index on (owner, at), which no query uses (frozen:
    never edit, add a step)."""
    for name in ("ux_alert_history_event_key", "ix_alert_history_owner_at"):
        conn.exec_driver_sql(f"DROP INDEX {name}")
