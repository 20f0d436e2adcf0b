"""The schema the migrations build is the one the code reads and writes, and a database
upgraded from any older version ends up with exactly the schema of a new one; on SQLite and
PostgreSQL alike (see conftest.py)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Table, inspect, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import create_async_engine

import alertd.store
from alertd.store import LATEST_VERSION, MIGRATIONS, Store
from alertd.store.db import metadata, open_database
from alertd.store.migrations import migrate

# The indexes the queries rely on, by table: name, columns, unique. The code's tables do
# not declare them (only the migrations create them), so they are written out here.
INDEXES: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {
    "alert_history": {
        "ix_alert_history_at": (("at",), False),
        "ix_alert_history_fingerprint_at": (("fingerprint", "at"), False),
        "ix_alert_history_alertname_at": (("alertname", "at"), False),
        "ix_alert_history_rule_at": (("rule", "at"), False),
        "ix_alert_history_kind_at": (("kind", "at"), False),
    },
    "nflog_entry": {"ix_nflog_entry_expires_at": (("expires_at",), False)},
    "outbox": {
        "ix_outbox_state_next_attempt_at": (("state", "next_attempt_at"), False),
        "ix_outbox_slot_state": (("slot", "state"), False),
        "ix_outbox_finished_at": (("finished_at",), False),
    },
    "receiver_state": {
        "ix_receiver_state_kind_updated_at": (("kind", "updated_at"), False),
        "ix_receiver_state_updated_at": (("updated_at",), False),
    },
    "posted_alert": {"ix_posted_alert_ends_at": (("ends_at",), False)},
    "report_sent": {"ix_report_sent_target": (("target", "period_end"), False)},
    "silence": {"silence_ends_at": (("ends_at",), False)},
}


def code_tables() -> dict[str, Table]:
    """Every table the repositories define, each module of the package imported (a table
    is on `metadata` once the module defining it is loaded)."""
    for module in pkgutil.walk_packages(alertd.store.__path__, "alertd.store."):
        importlib.import_module(module.name)
    return {t.name: t for t in metadata.sorted_tables}


def describe(conn: Connection) -> dict[str, Any]:
    """The whole schema as the database reports it: per table its columns (type as the
    dialect writes it, nullability, default), primary key, foreign keys and indexes."""
    insp = inspect(conn)
    out: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        columns = {c["name"]: (c["type"].compile(dialect=conn.dialect), c["nullable"],
                               c.get("default")) for c in insp.get_columns(name)}
        foreign = sorted((tuple(f["constrained_columns"]), f["referred_table"],
                          tuple(f["referred_columns"])) for f in insp.get_foreign_keys(name))
        indexes = {i["name"]: (tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                   for i in insp.get_indexes(name)}
        out[name] = {"columns": columns,
                     "primary_key": insp.get_pk_constraint(name)["constrained_columns"],
                     "foreign_keys": foreign, "indexes": indexes}
    return out


def expected(tables: dict[str, Table], dialect: Dialect) -> dict[str, Any]:
    """`describe`'s answer for the code's tables, defaults aside (their text is the
    database's own)."""
    out: dict[str, Any] = {}
    for name, t in sorted(tables.items()):
        declared = {i.name: (tuple(c.name for c in i.columns), bool(i.unique))
                    for i in t.indexes}
        foreign = sorted((tuple(c.parent.name for c in fk.elements), fk.referred_table.name,
                          tuple(c.column.name for c in fk.elements))
                         for fk in t.foreign_key_constraints)
        out[name] = {
            "columns": {c.name: (c.type.compile(dialect=dialect), c.nullable,
                                 c.server_default is not None) for c in t.columns},
            "primary_key": [c.name for c in t.primary_key],
            "foreign_keys": foreign,
            "indexes": {**declared, **INDEXES.get(name, {})},
        }
    return out


def without_default_text(schema: dict[str, Any], tables: dict[str, Table]) -> dict[str, Any]:
    """Each column's default as whether it has one. A primary key's sequence (PostgreSQL's
    BIGSERIAL) is the column's type, not a default the code declares."""
    for name, table in schema.items():
        primary = set(table["primary_key"]) if name in tables else set()
        table["columns"] = {c: (kind, nullable, default is not None and c not in primary)
                            for c, (kind, nullable, default) in table["columns"].items()}
    return schema


async def schema_of(url: str) -> dict[str, Any]:
    async with await Store.open(url) as store, store.engine.connect() as conn:
        return await conn.run_sync(describe)


async def test_migrations_build_the_schema_the_code_uses(store: Store) -> None:
    async with store.engine.connect() as conn:
        actual = await conn.run_sync(describe)
        dialect = conn.dialect
    tables = code_tables()
    assert without_default_text(actual, tables) == expected(tables, dialect)
    # Every index a code table declares is one the migrations make, and listed here.
    for t in tables.values():
        assert {i.name for i in t.indexes} <= set(INDEXES.get(t.name, {}))


async def empty(url: str) -> None:
    """Drop everything in the database at `url`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    engine = create_async_engine(parsed)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("version", range(1, LATEST_VERSION))
async def test_an_upgraded_database_has_the_schema_of_a_new_one(db_url: str,
                                                                 version: int) -> None:
    new = await schema_of(db_url)
    await empty(db_url)
    db = open_database(db_url)
    try:
        async with db.transaction("migrate", write=True) as conn:
            assert await conn.run_sync(migrate, MIGRATIONS[:version]) == list(
                range(1, version + 1))
    finally:
        await db.dispose()

    assert await schema_of(db_url) == new
