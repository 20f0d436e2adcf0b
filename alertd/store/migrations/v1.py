"""Version 1: rule states and their alert instances."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKeyConstraint,
    LargeBinary,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    md = MetaData()
    table(md, "rule_state", [
        ("rule", String, False), ("health", String, False), ("last_error", Text, True),
        ("last_eval", Double, True), ("nodata", Boolean, False),
        Column("updated_at", DateTime(timezone=True), nullable=False,
               server_default=func.now()),
    ], key=["rule"])
    table(md, "alert_instance", [
        ("rule", String, False), ("fingerprint", String, False), ("labels", Text, False),
        ("expr_labels", Text, False), ("status", String, False),
        ("active_at", Double, False), ("value", LargeBinary, False),
        ("fired_at", Double, True), ("resolved_at", Double, True),
        ("keep_firing_since", Double, True), ("last_seen", Double, True),
        ("nodata", Boolean, False),
    ], ForeignKeyConstraint(["rule"], ["rule_state.rule"]), key=["rule", "fingerprint"])
    md.create_all(conn)
