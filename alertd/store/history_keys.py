"""Schema version 9: every history event has a key, so that importing history twice adds
nothing.

The key is a digest of what makes an event the event it is: its time, kind, fingerprint
and details (`event_key`). A unique index holds it: an event appended again (an import of
the same file, a second import of an export) is not stored twice. Two identical events
recorded at the same instant are one fact, and are kept once.

`event_key` is part of this migration: the keys it wrote into existing rows and those the
code writes from now on must stay equal, so changing it means a new migration that
computes the keys again.
"""

from __future__ import annotations

import hashlib
import json
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

_ID = BigInteger().with_variant(Integer, "sqlite")
_PAGE = 5000  # rows per step of the backfill


def event_key(at: float, kind: str, fingerprint: str, details: Any) -> str:
    """The key of an event; `details` as JSON values (the details column, decoded)."""
    whole = [repr(float(at)), kind, fingerprint, details]
    try:
        text = orjson.dumps(whole, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, which orjson refuses
        text = json.dumps(whole, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode()
    return hashlib.sha256(text).hexdigest()


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
