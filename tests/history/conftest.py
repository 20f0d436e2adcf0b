"""History tests: the store's backends (SQLite and PostgreSQL, see tests/store/conftest.py)."""

from __future__ import annotations

from tests.store.conftest import backend, db_url, pg_database  # noqa: F401 (fixtures)
