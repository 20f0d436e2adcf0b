"""Version 9: a unique key per history event, so that an import adds nothing twice.

`event_key` and its canonical JSON are this step's own: the keys it wrote stay in their
rows, and a later change to how history_keys.py compares events must not change them.
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

from alertd.store.migrations.ddl import table

_ID = BigInteger().with_variant(Integer, "sqlite")
_PAGE = 5000  # rows per step of the backfill


def event_key(at: float, kind: str, fingerprint: str, details: Any) -> str:
    """The key of an event; `details` as JSON values (the details column, decoded)."""
    return hashlib.sha256(_canonical([repr(float(at)), kind, fingerprint, details])).hexdigest()


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, which orjson refuses
        return json.dumps(value, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode()


def apply(conn: Connection) -> None:
    """Add alert_history.event_key, fill it in, and make it unique."""
    conn.exec_driver_sql("ALTER TABLE alert_history ADD COLUMN event_key VARCHAR(64)")
    md = MetaData()
    h = table(md, "alert_history", [
        Column("id", _ID, primary_key=True), ("at", Double, False), ("kind", String, False),
        ("fingerprint", String, False), ("details", Text, False),
        ("event_key", String(64), True),
    ])
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
