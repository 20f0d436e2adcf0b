"""Version 3: silences."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Double, Index, MetaData, String, Table, Text
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Create the silence tables."""
    md = MetaData()
    Table(
        "silence", md,
        Column("id", String, primary_key=True),
        Column("matchers", Text, nullable=False),
        Column("starts_at", Double, nullable=False),
        Column("ends_at", Double, nullable=False),
        Column("updated_at", Double, nullable=False),
        Column("created_by", Text, nullable=False),
        Column("comment", Text, nullable=False),
        Column("annotations", Text, nullable=False),
        Column("expire_on_resolve", Boolean, nullable=False),
        # Garbage collection looks for silences that ended long ago.
        Index("silence_ends_at", "ends_at"),
    )
    md.create_all(conn)
