"""The alert history, persisted (schema versions 4, 9 and 11); the notification log, beside
it since version 4, is in nflog.py.

`alert_history` is append-only, one row per event, shaped for the noise report's
aggregates: the fields it filters and groups by are columns, the rest is JSON text. Times
are seconds since the epoch (float). Each index costs every live append, so there is one
per query that needs it: the time (reads of a period, the retention, an import's
lookups), and with the time the fingerprint, alertname, rule and kind. An append is a
plain INSERT; an import leaves out the events stored already (history_keys.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)

from alertd.history import HistoryEvent
from alertd.history.details import decode_details, encode_details
from alertd.store.batch import unavailable
from alertd.store.db import Database, StoreError, decode_labels, encode_labels, metadata
from alertd.store.history_keys import Identity, identity, stored_identities
from alertd.store.history_read import (
    EVENT_COLUMNS,
    SCAN_COLUMNS,
    HistoryRow,
    Wanted,
    by_voter,
    paged,
    pages,
)

# An autoincrementing 64-bit id: SQLite only autoincrements an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer, "sqlite")


# The tables as the code below reads and writes them today, beside the others in db.py.

alert_history = Table(
    "alert_history", metadata,
    # Orders events of the same instant as they were appended.
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False),
    Column("kind", String, nullable=False),
    Column("fingerprint", String, nullable=False),
    Column("alertname", String, nullable=False),
    Column("rule", String),
    Column("owner", String),
    Column("severity", String),
    Column("labels", Text, nullable=False),
    Column("details", Text, nullable=False),
    # Keys of the events stored before migration 11, no longer read (history_keys.py).
    Column("event_key", String(64)),
)


# Rows fetched per query while streaming `between` and `scan`.
_PAGE = 2000
_DEFAULT_LIMIT = 1000
# Events deleted per transaction by the retention: each is short, and the loop runs
# between them, so that a first cleanup of months of history holds nothing up.
PRUNE_BATCH = 5000
# Held (per transaction) by an import into PostgreSQL, so that two imports of the same
# events at once add them once. "alertd", then 2.
_PG_IMPORT_LOCK = 0x616C6572746400_02
_APPEND = insert(alert_history)


class HistoryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, events: Sequence[HistoryEvent]) -> None:
        """Append the events, in one transaction, in the order given."""
        if not events:
            return
        try:
            rows = [_row(e) for e in events]
        except (ValueError, TypeError) as exc:
            raise StoreError(f'database "{self._db.url}": cannot append history: {exc}') from exc
        async with self._db.transaction("append history", write=True) as conn:
            await conn.execute_many(_APPEND, rows)

    def unavailable(self, exc: BaseException) -> bool:
        """Whether a failed append says the database cannot be written at all
        (store.batch.unavailable)."""
        return unavailable(exc)

    async def add(self, events: Sequence[HistoryEvent]) -> int:
        """Append those of the events that are not stored yet (an import), each once; how
        many were added. An event is stored when one of the same time, kind, fingerprint
        and details is, recorded live or imported (history_keys.py)."""
        rows: dict[Identity, dict[str, Any]] = {}
        try:
            for row in map(_row, events):
                rows.setdefault(_identity(row), row)
        except (ValueError, TypeError) as exc:
            raise StoreError(f'database "{self._db.url}": cannot import history: {exc}') from exc
        async with self._db.transaction("import history", write=True) as conn:
            if self._db.dialect == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(_PG_IMPORT_LOCK)))
            stored = await stored_identities(conn, alert_history, rows.keys())
            new = [row for key, row in rows.items() if key not in stored]
            await conn.execute_many(_APPEND, new)
        return len(new)

    async def for_alert(self, fingerprint: str, limit: int = _DEFAULT_LIMIT,
                        since: float | None = None) -> list[HistoryEvent]:
        """The alert's latest `limit` events from `since` on, oldest first."""
        cond = [alert_history.c.fingerprint == fingerprint]
        if since is not None:
            cond.append(alert_history.c.at >= since)
        return await self._latest(cond, limit, "read history of alert")

    async def for_alertname(self, name: str, since: float | None = None,
                            until: float | None = None,
                            limit: int = _DEFAULT_LIMIT) -> list[HistoryEvent]:
        """The latest `limit` events of alerts named `name` in [since, until), oldest first."""
        return await self._latest(_window([alert_history.c.alertname == name], since, until),
                                  limit, "read history of alertname")

    async def between(self, since: float | None, until: float | None,
                      kinds: Iterable[str] | None = None, owner: str | None = None,
                      rule: str | None = None) -> AsyncIterator[HistoryEvent]:
        """Every event in [since, until) (None: unbounded), oldest first, optionally of
        some kinds, one owner or one rule: what reports and exports are computed from.

        Read page by page (each page its own statement), so a week of history is never
        held in memory nor a transaction held open while the caller computes
        (history_read.py).
        """
        read = pages(self._db, since, until, Wanted.of(kinds, owner, rule), EVENT_COLUMNS,
                     _PAGE, "read history")
        async with contextlib.aclosing(read) as rows:
            async for page in rows:
                for row in page:
                    yield self._event(row, "read history")

    async def scan(self, since: float | None, until: float | None,
                   kinds: Iterable[str] | None = None) -> AsyncIterator[Iterator[HistoryRow]]:
        """The events of `between`, a page at a time, as HistoryRows: no labels nor
        severity, for the noise report, which reads a million of them."""
        read = pages(self._db, since, until, Wanted.of(kinds, None, None), SCAN_COLUMNS,
                     _PAGE, "read history")
        async with contextlib.aclosing(read) as rows:
            async for page in rows:
                yield self._rows(page)

    async def paged_rules(self, since: float, until: float, *, owner: str | None = None,
                          quiet: Sequence[str] = (), limit: int = 10) -> list[tuple[str, int]]:
        """The rules with the most pages in [since, until), and how many
        (history_read.paged)."""
        return await paged(self._db, since, until, owner, quiet, limit, "count pages")

    async def feedback_by_voter(self, since: float, until: float
                                ) -> AsyncIterator[Iterator[HistoryRow]]:
        """The feedback events of [since, until) as HistoryRows, a page at a time, each
        person's clicks on one page together, oldest first (history_read.by_voter)."""
        read = by_voter(self._db, since, until, SCAN_COLUMNS, _PAGE, "read feedback")
        async with contextlib.aclosing(read) as rows:
            async for page in rows:
                yield self._rows(page)

    async def prune(self, before: float, *, batch: int = PRUNE_BATCH) -> int:
        """Delete the events older than `before` (retention), `batch` at a time, letting
        the loop run between batches; how many."""
        h = alert_history.c
        oldest = select(h.id).where(h.at < before).limit(batch)
        stmt = delete(alert_history).where(h.id.in_(oldest.scalar_subquery()))
        total = 0
        while True:
            async with self._db.transaction("prune history", write=True) as conn:
                deleted = int((await conn.execute(stmt)).rowcount)
            total += deleted
            if deleted < batch:
                return total
            await asyncio.sleep(0)  # a SQLite delete does not suspend (store/sqlite_writer.py)

    async def _latest(self, cond: list[Any], limit: int, purpose: str) -> list[HistoryEvent]:
        h = alert_history.c
        query = (select(*(h[name] for name in EVENT_COLUMNS)).where(*cond)
                 .order_by(h.at.desc(), h.id.desc()).limit(max(0, limit)))
        async with self._db.transaction(purpose, write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [self._event(row, purpose) for row in reversed(rows)]

    def _event(self, row: Sequence[Any], purpose: str) -> HistoryEvent:
        """The event of a row of EVENT_COLUMNS."""
        at, rowid, kind, fingerprint, alertname, rule, owner, details, severity, labels = row
        try:
            return HistoryEvent(at, kind, fingerprint, alertname, rule, owner, severity,
                                decode_labels(labels), decode_details(details))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise StoreError(f'database "{self._db.url}": cannot {purpose}: event {rowid}: '
                             f"{exc}") from exc

    def _rows(self, page: Sequence[Sequence[Any]]) -> Iterator[HistoryRow]:
        """The HistoryRows of rows of SCAN_COLUMNS, each made as the caller gets to it.

        Made all at once, a page's rows and details (a few objects each) would live long
        enough to reach the garbage collector's oldest generation, and bring on its
        collections, which go over every object of the process: a sixth of a report's
        time. Made one by one, each is gone before a collection sees it.
        """
        for r in page:
            try:
                details = decode_details(r[7])
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                raise StoreError(f'database "{self._db.url}": cannot read history: event '
                                 f"{r[1]}: {exc}") from exc
            yield HistoryRow(r[0], r[2], r[3], r[4], r[5], r[6], details)


def _window(cond: list[Any], since: float | None, until: float | None) -> list[Any]:
    if since is not None:
        cond.append(alert_history.c.at >= since)
    if until is not None:
        cond.append(alert_history.c.at < until)
    return cond


def _row(e: HistoryEvent) -> dict[str, Any]:
    if not math.isfinite(e.at):
        raise ValueError(f"event {e.kind} of {e.fingerprint}: time is {e.at}")
    return {
        "at": e.at, "kind": e.kind, "fingerprint": e.fingerprint, "alertname": e.alertname,
        "rule": e.rule, "owner": e.owner, "severity": e.severity,
        "labels": encode_labels(e.labels), "details": encode_details(e.details),
    }


def _identity(row: Mapping[str, Any]) -> Identity:
    return identity(row["at"], row["kind"], row["fingerprint"], row["details"])
