"""Reading the alert history in time order, page by page: the read path behind
HistoryRepository.between and .scan (notifications.py).

Each page is one statement, so its own snapshot: no transaction is held open while the
caller computes. It goes through the driver's own connection (asyncpg's, or aiosqlite's):
a report reads a million rows, and SQLAlchemy's rows and transactions cost more than the
database's work. The next page is asked for before the caller gets the current one, so
that PostgreSQL, in its own process, reads it while the caller computes.

A page is the first rows after the last one read, in (at, id) order, within a time
window. Without the window, a page's cost would depend on the plan: lacking statistics (a
new table; PostgreSQL without autovacuum's ANALYZE), SQLite and PostgreSQL both take the
(kind, at) index and sort all the rest of the range at every page, which made a report
over a million events quadratic (two minutes on PostgreSQL). Within a window a page costs
about the window's rows whatever the plan; a window grows up to MAX_GROWTH times after a
short page and shrinks to the span that held the last full one.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, NamedTuple

from alertd.store.db import Database

# What a report aggregates; `id` second, after `at`: a page ends at their last values.
SCAN_COLUMNS = ("at", "id", "kind", "fingerprint", "alertname", "rule", "owner", "details")
# A whole event (notifications._event reads them in this order).
EVENT_COLUMNS = (*SCAN_COLUMNS, "severity", "labels")

FIRST_WINDOW = 3600.0  # seconds
MIN_WINDOW = 1.0  # many events of one instant: no narrower
MAX_GROWTH = 8.0

Rows = Sequence[Sequence[Any]]
Fetch = Callable[[str, Sequence[Any]], Awaitable[Rows]]


class HistoryRow(NamedTuple):
    """An event as `scan` gives it: what the noise report reads (alertd.noise.event), not
    the labels nor the severity, and a named tuple, which costs a fifth as much to make as
    a HistoryEvent."""

    at: float
    kind: str
    fingerprint: str
    alertname: str
    rule: str | None
    owner: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Wanted:
    """Which events: of these kinds (None: all), of this owner, of this rule."""

    kinds: tuple[str, ...] | None = None
    owner: str | None = None
    rule: str | None = None

    @classmethod
    def of(cls, kinds: Iterable[str] | None, owner: str | None,
           rule: str | None) -> Wanted:
        return cls(None if kinds is None else tuple(sorted(set(kinds))), owner, rule)


async def pages(db: Database, since: float | None, until: float | None, wanted: Wanted,
                columns: Sequence[str], page: int, purpose: str) -> AsyncGenerator[Rows, None]:
    """The rows of the events in [since, until) (None: unbounded) that are wanted, their
    `columns` in order, oldest first, `page` rows at most at a time. Events appended once
    the read has begun may be left out."""
    if wanted.kinds == ():
        return
    sql, extra = _select(columns, wanted, db.dialect), _parameters(wanted)
    async with _fetcher(db, purpose) as fetch:
        bounds = await _bounds(fetch, since, until)
        if bounds is None:
            return
        windows = _Windows(*bounds, page)
        pending: asyncio.Future[Rows] | None = _start(fetch(sql, windows.parameters(extra)))
        try:
            while pending is not None:
                rows = await pending
                pending = None
                if windows.advance(rows):
                    pending = _start(fetch(sql, windows.parameters(extra)))
                    await asyncio.sleep(0)  # let it go out before the caller computes
                if rows:
                    yield rows
        finally:
            if pending is not None:
                await _drop(pending)


class _Windows:
    """Where the next page starts and the window it is read in (see the module's text)."""

    def __init__(self, since: float, until: float, page: int) -> None:
        self.until = until
        self.page = page
        self.after = (since, -1)  # the (at, id) of the last row read; ids start at 1
        self.width = FIRST_WINDOW
        self.end = min(until, since + self.width)

    def parameters(self, extra: Sequence[Any]) -> list[Any]:
        at, rowid = self.after
        return [at, self.end, at, rowid, *extra, self.page]

    def advance(self, rows: Rows) -> bool:
        """After a page of `rows`: whether there is more to read, and from where."""
        if len(rows) >= self.page:
            last = rows[-1]
            self.width = max(float(last[0]) - self.after[0], MIN_WINDOW)
            self.after = (float(last[0]), int(last[1]))
        elif self.end >= self.until:
            return False
        else:
            self.width *= min(MAX_GROWTH, self.page / max(len(rows), 1))
            self.after = (self.end, -1)
        self.end = min(self.until, self.after[0] + self.width)
        return True


def _select(columns: Sequence[str], wanted: Wanted, dialect: str) -> str:
    where = ["at >= ?", "at < ?", "(at, id) > (?, ?)"]
    if wanted.kinds is not None:
        # SQLite: `+kind` keeps the (kind, at) index out of the plan, so that the rows of
        # several kinds come off the index on `at` (or on (rule, at)) in order, with no
        # sort: a third faster. One kind comes off (kind, at) in order too, and reading
        # a rare one (silences) does not walk every event. PostgreSQL weighs the plans
        # by its statistics.
        kind = "+kind" if dialect == "sqlite" and len(wanted.kinds) > 1 else "kind"
        where.append(f"{kind} IN ({', '.join('?' * len(wanted.kinds))})")
    if wanted.owner is not None:
        where.append("owner = ?")
    if wanted.rule is not None:
        where.append("rule = ?")
    sql = (f"SELECT {', '.join(columns)} FROM alert_history WHERE {' AND '.join(where)} "
           "ORDER BY at, id LIMIT ?")
    return _numbered(sql) if dialect == "postgresql" else sql


def _parameters(wanted: Wanted) -> list[Any]:
    """The parameters of the conditions after the window's, in _select's order."""
    return [*(wanted.kinds or ()), *(v for v in (wanted.owner, wanted.rule) if v is not None)]


def _numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's $1, $2, ... (no other `?` is in the SQL)."""
    parts = sql.split("?")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


async def _bounds(fetch: Fetch, since: float | None,
                  until: float | None) -> tuple[float, float] | None:
    """[since, until) narrowed to the times stored (each found by the index on `at`);
    None when nothing is stored in it."""
    # Each in its own subquery: SQLite reads min() and max() off the index only alone.
    sql = ("SELECT (SELECT min(at) FROM alert_history), "
           "(SELECT max(at) FROM alert_history)")
    (first, last), = await fetch(sql, ())
    if first is None:
        return None
    lo = float(first) if since is None else max(float(since), float(first))
    hi = math.nextafter(float(last), math.inf)  # the last one included
    if until is not None:
        hi = min(hi, float(until))
    return (lo, hi) if lo < hi else None


@contextlib.asynccontextmanager
async def _fetcher(db: Database, purpose: str) -> AsyncIterator[Fetch]:
    """A function that runs one statement and gives its rows."""
    if db.shared:  # in-memory SQLite: the connection is shared, so through `transaction`
        async def shared(sql: str, parameters: Sequence[Any]) -> Rows:
            async with db.transaction(purpose, write=False) as conn:
                return (await conn.exec_driver_sql(sql, tuple(parameters))).all()

        yield shared
        return
    async with db.driver(purpose) as raw:
        if db.dialect == "postgresql":
            async def fetch_pg(sql: str, parameters: Sequence[Any]) -> Rows:
                rows: Rows = await raw.fetch(sql, *parameters)
                return rows

            yield fetch_pg
        else:
            async def fetch_sqlite(sql: str, parameters: Sequence[Any]) -> Rows:
                return list(await raw.execute_fetchall(sql, parameters))

            yield fetch_sqlite


def _voter_key(dialect: str) -> tuple[str, str, str]:
    """SQL for whose verdict on which page a feedback event is, as
    alertd.noise.verdicts.verdict_key says (compared as text): (person, Slack channel,
    message ts), or (person, fingerprint, group key) for feedback naming no message."""
    json_field = _json_field(dialect)

    def field(name: str) -> str:
        return f"COALESCE({json_field(name)}, '')"

    paged = f"({field('channel')} <> '' AND {field('ts')} <> '')"
    return (field("by"), f"CASE WHEN {paged} THEN {field('channel')} ELSE fingerprint END",
            f"CASE WHEN {paged} THEN {field('ts')} ELSE {field('group_key')} END")


async def by_voter(db: Database, since: float, until: float, columns: Sequence[str],
                   page: int, purpose: str) -> AsyncGenerator[Rows, None]:
    """The `feedback` events in [since, until), their `columns`, ordered by whose verdict
    on which page they are, then by time: the events of one verdict come together, so a
    reader keeps one verdict at a time whatever the number of them. One statement (the
    database sorts the few feedback events), read `page` rows at a time."""
    key = ", ".join(_voter_key(db.dialect))
    sql = (f"SELECT {', '.join(columns)} FROM alert_history WHERE kind = 'feedback' "
           f"AND at >= ? AND at < ? ORDER BY {key}, at, id")
    if db.shared:  # in-memory SQLite: small, and its one connection is shared
        async with db.transaction(purpose, write=False) as conn:
            rows = (await conn.exec_driver_sql(sql, (since, until))).all()
        for first in range(0, len(rows), page):
            yield rows[first:first + page]
        return
    async with db.driver(purpose) as raw:
        if db.dialect == "postgresql":
            async with raw.transaction(readonly=True):
                cursor = await raw.cursor(_numbered(sql), since, until)
                while chunk := await cursor.fetch(page):
                    yield chunk
            return
        async with raw.execute(sql, (since, until)) as cursor:
            while chunk := await cursor.fetchmany(page):
                yield chunk


def _start(read: Awaitable[Rows]) -> asyncio.Future[Rows]:
    return asyncio.ensure_future(read)


async def _drop(pending: asyncio.Future[Rows]) -> None:
    """A page no longer wanted (the caller stopped early): cancelled, and waited for, so
    that the connection goes back to the pool idle."""
    pending.cancel()
    await asyncio.wait([pending])
    if not pending.cancelled():
        pending.exception()  # retrieved: an error of a page nobody reads is no news


async def paged(db: Database, since: float, until: float, owner: str | None,
                quiet: Sequence[str], limit: int, purpose: str) -> list[tuple[str, int]]:
    """The rules (an event's rule, else its alertname) with the most pages in [since,
    until) (of `owner`'s alerts, when given), most first, and how many: notifications
    delivered to Slack or PagerDuty through a receiver not among `quiet`, counted once
    per delivery id (alertd.noise.pages), whether or not they carried a firing alert.
    One statement: the database counts off the (kind, at) index, reading each delivery's
    details once (PostgreSQL parsed them again for every field asked)."""
    pg = db.dialect == "postgresql"

    def field(name: str) -> str:
        return f"(d ->> '{name}')" if pg else f"CAST(json_extract(d, '$.{name}') AS TEXT)"

    window = "kind = 'delivery' AND at >= ? AND at < ?"
    if owner is not None:
        window += " AND owner = ?"
    kept = [f"{field('outcome')} = 'ok'", f"{field('integration')} IN ('slack', 'pagerduty')"]
    if quiet:
        kept.append(f"{field('receiver')} NOT IN ({', '.join('?' * len(quiet))})")
    page = f"COALESCE({field('delivery')}, {field('receiver')} || {field('group_key')} || " \
           f"CAST(at AS TEXT))"
    sql = (f"WITH deliveries AS {'MATERIALIZED ' if pg else ''}("
           f"SELECT COALESCE(rule, alertname) AS name, at, "
           f"{'details::jsonb' if pg else 'details'} AS d FROM alert_history WHERE {window}) "
           f"SELECT name, COUNT(DISTINCT {page}) AS n FROM deliveries "
           f"WHERE {' AND '.join(kept)} GROUP BY name ORDER BY n DESC, name LIMIT ?")
    parameters = [since, until, *([] if owner is None else [owner]), *quiet, limit]
    async with _fetcher(db, purpose) as fetch:
        rows = await fetch(_numbered(sql) if pg else sql, parameters)
    return [(str(name), int(n)) for name, n in rows]


def _json_field(dialect: str) -> Callable[[str], str]:
    """SQL for a text field of an event's details."""
    if dialect == "postgresql":
        return lambda name: f"((details::jsonb) ->> '{name}')"
    return lambda name: f"CAST(json_extract(details, '$.{name}') AS TEXT)"
