"""The store fixtures of tests/store (SQLite and PostgreSQL, see its conftest.py), for the
report built from a real store."""

from __future__ import annotations

from tests.store.conftest import backend, db_url, pg_database, store

__all__ = ["backend", "db_url", "pg_database", "store"]
