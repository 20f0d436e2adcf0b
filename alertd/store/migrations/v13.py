"""Version 13: the 5-minute counters of SLOs over pushed series."""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    """Create the SLO counter table."""
    md = MetaData()
    table(md, "slo_window", [
        ("slo", String, False), ("definition", Text, False), ("first_bucket", Integer, False),
        ("good", LargeBinary, False), ("total", LargeBinary, False),
        ("last_samples", Text, False),
    ], key=["slo"])
    md.create_all(conn)
