"""Versioned schema migrations.

Each step has a version number, a description and a function over a (synchronous)
connection. `migrate` applies the steps newer than the database's version, in order, in the
caller's transaction, and records each one in `schema_version`: a failed step leaves the
database as it was (SQLite and PostgreSQL both have transactional DDL).

A step defines the tables it creates or alters itself, in its own MetaData, rather than
using the tables of db.py: those describe the latest schema and will change, while a step
must do tomorrow exactly what it did the day it was released. Never edit a released step;
add one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from alertd.store.db import StoreError, schema_version

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


def _v1_rule_states(conn: Connection) -> None:
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


def _v2_windows(conn: Connection) -> None:
    md = MetaData()
    Table(
        "window_series", md,
        Column("position", Integer, primary_key=True, autoincrement=False),
        Column("labels", Text, nullable=False),
        Column("timestamps", LargeBinary, nullable=False),
        Column("sample_values", LargeBinary, nullable=False),
    )
    md.create_all(conn)


def _v3_silences(conn: Connection) -> None:
    from alertd.store.silences import migrate_v3

    migrate_v3(conn)


def _v4_notifications(conn: Connection) -> None:
    from alertd.store.notifications import migrate_v4

    migrate_v4(conn)


def _v5_outbox(conn: Connection) -> None:
    from alertd.store.outbox import migrate_v5

    migrate_v5(conn)


def _v6_outbox_slot_index(conn: Connection) -> None:
    from alertd.store.outbox import migrate_v6

    migrate_v6(conn)


def _v7_cleanup_indexes(conn: Connection) -> None:
    from alertd.store.outbox import migrate_v7

    migrate_v7(conn)


def _v8_posted_alerts(conn: Connection) -> None:
    from alertd.store.alerts import migrate_v8

    migrate_v8(conn)


def _v9_history_keys(conn: Connection) -> None:
    from alertd.store.history_keys import migrate_v9

    migrate_v9(conn)


def _v10_report_sent(conn: Connection) -> None:
    from alertd.store.reports import migrate_v10

    migrate_v10(conn)


def _v11_cheaper_history_writes(conn: Connection) -> None:
    from alertd.store.history_keys import migrate_v11

    migrate_v11(conn)


def _v12_baselines(conn: Connection) -> None:
    from alertd.store.baselines import migrate_v12

    migrate_v12(conn)


def _v13_slo_windows(conn: Connection) -> None:
    from alertd.store.slo_windows import migrate_v13

    migrate_v13(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "rule states and their alert instances", _v1_rule_states),
    Migration(2, "snapshots of the windows of pushed samples", _v2_windows),
    Migration(3, "silences", _v3_silences),
    Migration(4, "notification log and alert history", _v4_notifications),
    Migration(5, "outbox and receiver state", _v5_outbox),
    Migration(6, "outbox index on slot and state", _v6_outbox_slot_index),
    Migration(7, "indexes for the cleanup of outbox and receiver state", _v7_cleanup_indexes),
    Migration(8, "alerts posted to the API, kept before they are acknowledged",
              _v8_posted_alerts),
    Migration(9, "a unique key per history event, so that an import adds nothing twice",
              _v9_history_keys),
    Migration(10, "scheduled reports sent, so that none is sent twice", _v10_report_sent),
    Migration(11, "history without the unique event key and the owner index, which every "
              "write paid for", _v11_cheaper_history_writes),
    Migration(12, "baselines of the drift functions: versions and their references",
              _v12_baselines),
    Migration(13, "the 5-minute counters of SLOs over pushed series", _v13_slo_windows),
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
