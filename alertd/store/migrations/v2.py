"""Version 2: snapshots of the windows of pushed samples."""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, MetaData, Text
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    md = MetaData()
    table(md, "window_series", [
        Column("position", Integer, primary_key=True, autoincrement=False),
        ("labels", Text, False), ("timestamps", LargeBinary, False),
        ("sample_values", LargeBinary, False),
    ])
    md.create_all(conn)
