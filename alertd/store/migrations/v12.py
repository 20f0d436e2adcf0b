"""Version 12: baselines of the drift functions, their versions and references."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKeyConstraint, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.engine import Connection

from alertd.store.migrations.ddl import table


def apply(conn: Connection) -> None:
    """Create the baseline tables."""
    md = MetaData()
    table(md, "baseline_name", [("name", String, False), ("last_version", Integer, False)],
          key=["name"])
    table(md, "baseline_version", [
        ("name", String, False), ("version", Integer, False), ("created_at", Double, False),
        ("created_by", String, False), ("kind", String, False), ("origin", Text, False),
        ("features", Text, False),
    ], key=["name", "version"])
    table(md, "baseline_feature", [
        ("name", String, False), ("version", Integer, False), ("feature", String, False),
        ("reference", LargeBinary, False),
    ], ForeignKeyConstraint(["name", "version"],
                            ["baseline_version.name", "baseline_version.version"]),
        key=["name", "version", "feature"])
    md.create_all(conn)
