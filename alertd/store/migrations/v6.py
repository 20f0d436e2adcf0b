"""Version 6: the outbox indexed by (slot, state) in place of slot alone."""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """The pending rows of a slot are looked up at every enqueue; with the slot index alone,
    SQLite's planner chose the (state, next_attempt_at) index and read every pending row,
    which under a backlog (a receiver down) is all of them, at every enqueue."""
    md = MetaData()
    table = Table("outbox", md, Column("slot", String(64)), Column("state", String(16)))
    Index("ix_outbox_slot", table.c.slot).drop(conn)
    Index("ix_outbox_slot_state", table.c.slot, table.c.state).create(conn)
