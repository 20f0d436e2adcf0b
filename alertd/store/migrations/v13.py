"""Version 13: the 5-minute counters of SLOs over pushed series."""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, Text
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Create the SLO counter table."""
    md = MetaData()
    Table(
        "slo_window", md,
        Column("slo", String, primary_key=True),
        Column("definition", Text, nullable=False),
        Column("first_bucket", Integer, nullable=False),
        Column("good", LargeBinary, nullable=False),
        Column("total", LargeBinary, nullable=False),
        Column("last_samples", Text, nullable=False),
    )
    md.create_all(conn)
