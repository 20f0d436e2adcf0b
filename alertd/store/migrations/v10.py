"""Version 10: scheduled reports sent, so that none is sent twice."""

from __future__ import annotations

from sqlalchemy import Double, Index, MetaData, String
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    """Create the table of sent reports."""
    md = MetaData()
    table(md, "report_sent", [
        ("key", String, False), ("target", String, False), ("period_end", Double, False),
        ("sent_at", Double, False),
    ], Index("ix_report_sent_target", "target", "period_end"), key=["key"])
    md.create_all(conn)
