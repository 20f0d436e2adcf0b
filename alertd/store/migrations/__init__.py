"""Versioned schema migrations, one module per version (v1.py, v2.py, ...).

Each step has a version number, a description and a function over a (synchronous)
connection. `migrate` applies the steps newer than the database's version, in order, in the
caller's transaction, and records each one in `schema_version`: a failed step leaves the
database as it was (SQLite and PostgreSQL both have transactional DDL).

A step defines the tables it creates or alters itself, in its own MetaData, rather than
using the tables the repositories read and write: those describe the latest schema and will
change, while a step must do tomorrow exactly what it did the day it was released. Never
edit a released step; add one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from alertd.store.db import StoreError, schema_version
from alertd.store.migrations import v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Migration", "SchemaVersionError", "check_order",
           "current_version", "migrate"]

# Held (per transaction) by whoever migrates a PostgreSQL database, so that replicas
# starting together migrate it once. "alertd", then 1.
_PG_LOCK = 0x616C6572746400_01


class SchemaVersionError(StoreError):
    """The database was migrated by a newer alertd than this one."""

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(f"database schema version {found} is newer than this alertd "
                         f"({supported}); upgrade alertd")
        self.found = found
        self.supported = supported


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "rule states and their alert instances", v1.apply),
    Migration(2, "snapshots of the windows of pushed samples", v2.apply),
    Migration(3, "silences", v3.apply),
    Migration(4, "notification log and alert history", v4.apply),
    Migration(5, "outbox and receiver state", v5.apply),
    Migration(6, "outbox index on slot and state", v6.apply),
    Migration(7, "indexes for the cleanup of outbox and receiver state", v7.apply),
    Migration(8, "alerts posted to the API, kept before they are acknowledged", v8.apply),
    Migration(9, "a unique key per history event, so that an import adds nothing twice",
              v9.apply),
    Migration(10, "scheduled reports sent, so that none is sent twice", v10.apply),
    Migration(11, "history without the unique event key and the owner index, which every "
              "write paid for", v11.apply),
    Migration(12, "baselines of the drift functions: versions and their references",
              v12.apply),
    Migration(13, "the 5-minute counters of SLOs over pushed series", v13.apply),
)


def check_order(migrations: Sequence[Migration]) -> None:
    """Versions must be 1, 2, 3...: a gap or a repeat is a mistake in the list."""
    for expected, step in enumerate(migrations, start=1):
        if step.version != expected:
            raise ValueError(f"migration {step.description!r} has version {step.version}, "
                             f"expected {expected}")


check_order(MIGRATIONS)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The version of the database's schema; 0 when it was never migrated."""
    if not conn.dialect.has_table(conn, schema_version.name):
        return 0
    return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)


def migrate(conn: Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the pending steps in the connection's transaction; the versions applied."""
    check_order(migrations)
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK)))
    schema_version.create(conn, checkfirst=True)
    found = current_version(conn)
    latest = migrations[-1].version if migrations else 0
    if found > latest:
        raise SchemaVersionError(found, latest)
    applied: list[int] = []
    for step in migrations[found:]:
        step.apply(conn)
        conn.execute(insert(schema_version).values(version=step.version,
                                                   description=step.description))
        applied.append(step.version)
    return applied
