"""Version 2: snapshots of the windows of pushed samples."""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, Text
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    md = MetaData()
    Table(
        "window_series", md,
        Column("position", Integer, primary_key=True, autoincrement=False),
        Column("labels", Text, nullable=False),
        Column("timestamps", LargeBinary, nullable=False),
        Column("sample_values", LargeBinary, nullable=False),
    )
    md.create_all(conn)
