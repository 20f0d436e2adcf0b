"""Version 7: indexes for the cleanup of the outbox and the receivers' state."""

from __future__ import annotations

from sqlalchemy import Column, Double, Index, MetaData, Table
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Index what the cleanup deletes by: finished outbox rows by finished_at, receiver
    state by updated_at. Without them each cleanup read every row, holding the loop the
    longer the week's rows."""
    md = MetaData()
    out = Table("outbox", md, Column("finished_at", Double))
    state = Table("receiver_state", md, Column("updated_at", Double))
    Index("ix_outbox_finished_at", out.c.finished_at).create(conn)
    Index("ix_receiver_state_updated_at", state.c.updated_at).create(conn)
