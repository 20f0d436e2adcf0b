"""Version 10: scheduled reports sent, so that none is sent twice."""

from __future__ import annotations

from sqlalchemy import Column, Double, Index, MetaData, String, Table
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Create the table of sent reports."""
    md = MetaData()
    Table(
        "report_sent", md,
        Column("key", String, primary_key=True),
        Column("target", String, nullable=False),
        Column("period_end", Double, nullable=False),
        Column("sent_at", Double, nullable=False),
        Index("ix_report_sent_target", "target", "period_end"),
    )
    md.create_all(conn)
