"""Version 4: the notification log and the alert history."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Double, Index, Integer, MetaData, String, Text
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table

# An autoincrementing 64-bit id: SQLite only autoincrements an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer, "sqlite")


def apply(conn: Connection) -> None:
    """Create the notification log and history tables."""
    md = MetaData()
    table(md, "nflog_entry", [
        ("key", String(64), False), ("group_key", Text, False), ("receiver", Text, False),
        ("firing", Text, False), ("resolved", Text, False), ("at", Double, False),
        ("expires_at", Double, False),
    ], Index("ix_nflog_entry_expires_at", "expires_at"), key=["key"])
    table(md, "alert_history", [
        Column("id", _ID, primary_key=True, autoincrement=True),
        ("at", Double, False), ("kind", String, False), ("fingerprint", String, False),
        ("alertname", String, False), ("rule", String, True), ("owner", String, True),
        ("severity", String, True), ("labels", Text, False), ("details", Text, False),
    ],
        Index("ix_alert_history_at", "at"),
        Index("ix_alert_history_fingerprint_at", "fingerprint", "at"),
        Index("ix_alert_history_alertname_at", "alertname", "at"),
        Index("ix_alert_history_rule_at", "rule", "at"),
        Index("ix_alert_history_owner_at", "owner", "at"),
        Index("ix_alert_history_kind_at", "kind", "at"))
    md.create_all(conn)
