"""Version 8: alerts posted to the API, kept before they are acknowledged."""

from __future__ import annotations

from sqlalchemy import Boolean, Double, Index, MetaData, String, Text
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    """Create the table of posted alerts."""
    md = MetaData()
    table(md, "posted_alert", [
        ("fingerprint", String(32), False), ("labels", Text, False),
        ("annotations", Text, False), ("starts_at", Double, False), ("ends_at", Double, True),
        ("updated_at", Double, False), ("received_at", Double, False),
        ("generator_url", Text, False), ("timeout", Boolean, False),
    ], Index("ix_posted_alert_ends_at", "ends_at"), key=["fingerprint"])
    md.create_all(conn)
