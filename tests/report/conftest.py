"""The report's tests read stores of both backends, as the store's tests do."""

from __future__ import annotations

from tests.store.conftest import backend, db_url, pg_database  # noqa: F401 (fixtures)
