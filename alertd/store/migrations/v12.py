"""Version 12: baselines of the drift functions, their versions and references."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Double,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Create the baseline tables."""
    md = MetaData()
    Table(
        "baseline_name", md,
        Column("name", String, primary_key=True),
        Column("last_version", Integer, nullable=False),
    )
    Table(
        "baseline_version", md,
        Column("name", String, nullable=False),
        Column("version", Integer, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("created_by", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("origin", Text, nullable=False),
        Column("features", Text, nullable=False),
        PrimaryKeyConstraint("name", "version"),
    )
    Table(
        "baseline_feature", md,
        Column("name", String, nullable=False),
        Column("version", Integer, nullable=False),
        Column("feature", String, nullable=False),
        Column("reference", LargeBinary, nullable=False),
        PrimaryKeyConstraint("name", "version", "feature"),
        ForeignKeyConstraint(["name", "version"],
                             ["baseline_version.name", "baseline_version.version"]),
    )
    md.create_all(conn)
