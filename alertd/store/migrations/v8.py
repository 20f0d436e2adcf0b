"""Version 8: alerts posted to the API, kept before they are acknowledged."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Double, Index, MetaData, String, Table, Text
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Create the table of posted alerts."""
    md = MetaData()
    Table(
        "posted_alert", md,
        Column("fingerprint", String(32), primary_key=True),
        Column("labels", Text, nullable=False),
        Column("annotations", Text, nullable=False),
        Column("starts_at", Double, nullable=False),
        Column("ends_at", Double),
        Column("updated_at", Double, nullable=False),
        Column("received_at", Double, nullable=False),
        Column("generator_url", Text, nullable=False),
        Column("timeout", Boolean, nullable=False),
        Index("ix_posted_alert_ends_at", "ends_at"),
    )
    md.create_all(conn)
