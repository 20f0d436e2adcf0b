"""Version 5: the outbox and the receivers' state."""

from __future__ import annotations

from sqlalchemy import Double, Index, Integer, MetaData, String, Text
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    """Create the outbox and receiver state tables."""
    md = MetaData()
    table(md, "outbox", [
        ("id", String(64), False), ("slot", String(64), False), ("receiver", Text, False),
        ("integration", Text, False), ("group_key", Text, False),
        ("state", String(16), False), ("created_at", Double, False),
        ("next_attempt_at", Double, False), ("attempts", Integer, False),
        ("last_error", Text, False), ("finished_at", Double, True),
        ("notification", Text, False),
    ],
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_outbox_slot", "slot"),
        key=["id"])
    table(md, "receiver_state", [
        ("key", String(64), False), ("kind", String(32), False), ("group_key", Text, False),
        ("receiver", Text, False), ("value", Text, False), ("updated_at", Double, False),
    ], Index("ix_receiver_state_kind_updated_at", "kind", "updated_at"), key=["key"])
    md.create_all(conn)
