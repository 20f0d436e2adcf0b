"""Version 3: silences."""

from __future__ import annotations

from sqlalchemy import Boolean, Double, Index, MetaData, String, Text
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    """Create the silence tables."""
    md = MetaData()
    table(md, "silence", [
        ("id", String, False), ("matchers", Text, False), ("starts_at", Double, False),
        ("ends_at", Double, False), ("updated_at", Double, False),
        ("created_by", Text, False), ("comment", Text, False), ("annotations", Text, False),
        ("expire_on_resolve", Boolean, False),
    ],
        # Garbage collection looks for silences that ended long ago.
        Index("silence_ends_at", "ends_at"),
        key=["id"])
    md.create_all(conn)
