"""Version 4: the notification log and the alert history."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Double, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import Connection

# An autoincrementing 64-bit id: SQLite only autoincrements an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer, "sqlite")


def apply(conn: Connection) -> None:
    """Create the notification log and history tables."""
    md = MetaData()
    Table(
        "nflog_entry", md,
        Column("key", String(64), primary_key=True),
        Column("group_key", Text, nullable=False),
        Column("receiver", Text, nullable=False),
        Column("firing", Text, nullable=False),
        Column("resolved", Text, nullable=False),
        Column("at", Double, nullable=False),
        Column("expires_at", Double, nullable=False),
        Index("ix_nflog_entry_expires_at", "expires_at"),
    )
    Table(
        "alert_history", md,
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("at", Double, nullable=False),
        Column("kind", String, nullable=False),
        Column("fingerprint", String, nullable=False),
        Column("alertname", String, nullable=False),
        Column("rule", String),
        Column("owner", String),
        Column("severity", String),
        Column("labels", Text, nullable=False),
        Column("details", Text, nullable=False),
        Index("ix_alert_history_at", "at"),
        Index("ix_alert_history_fingerprint_at", "fingerprint", "at"),
        Index("ix_alert_history_alertname_at", "alertname", "at"),
        Index("ix_alert_history_rule_at", "rule", "at"),
        Index("ix_alert_history_owner_at", "owner", "at"),
        Index("ix_alert_history_kind_at", "kind", "at"),
    )
    md.create_all(conn)
