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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    md = MetaData()
    Table(
        "rule_state", md,
        Column("rule", String, primary_key=True),
        Column("health", String, nullable=False),
        Column("last_error", Text),
        Column("last_eval", Double),
        Column("nodata", Boolean, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False,
               server_default=func.now()),
    )
    Table(
        "alert_instance", md,
        Column("rule", String, nullable=False),
        Column("fingerprint", String, nullable=False),
        Column("labels", Text, nullable=False),
        Column("expr_labels", Text, nullable=False),
        Column("status", String, nullable=False),
        Column("active_at", Double, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("fired_at", Double),
        Column("resolved_at", Double),
        Column("keep_firing_since", Double),
        Column("last_seen", Double),
        Column("nodata", Boolean, nullable=False),
        PrimaryKeyConstraint("rule", "fingerprint"),
        ForeignKeyConstraint(["rule"], ["rule_state.rule"]),
    )
    md.create_all(conn)
