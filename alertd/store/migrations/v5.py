"""Version 5: the outbox and the receivers' state."""

from __future__ import annotations

from sqlalchemy import Column, Double, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Create the outbox and receiver state tables."""
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
