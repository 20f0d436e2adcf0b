"""Silence tests: the store's backends (SQLite and PostgreSQL, see tests/store/conftest.py),
a recording repository, and an API server on a free port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from alertd.api.auth import ACCESS, Access
from alertd.api.silences import SilenceContext, install
from alertd.clock import Clock, FakeClock, SystemClock
from alertd.model import LabelMatcher
from alertd.silence import Silence, Silences
from tests.store.conftest import backend, db_url, pg_database, store  # noqa: F401 (fixtures)

T0 = 1_700_000_000.0
HOUR = 3600.0


def sil(*matchers: LabelMatcher | str, start: float = T0, end: float = T0 + HOUR,
        sid: str = "", comment: str = "deploy", created_by: str = "ana",
        expire_on_resolve: bool = False) -> Silence:
    """A silence; matchers as LabelMatcher or as `name op value` text."""
    from alertd.silence import parse_matcher

    ms = tuple(m if isinstance(m, LabelMatcher) else parse_matcher(m) for m in matchers)
    return Silence(id=sid, matchers=ms or (LabelMatcher("alertname", "=", "Foo"),),
                   starts_at=start, ends_at=end, created_by=created_by, comment=comment,
                   expire_on_resolve=expire_on_resolve)


class MemoryRepository:
    """A repository that keeps rows in a dict, records every call, and can be made to fail."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self.rows = {s.id: s for s in silences}
        self.saves: list[tuple[Silence, ...]] = []
        self.deletes: list[list[str]] = []
        self.fail: Exception | None = None

    async def save(self, *silences: Silence) -> None:
        if self.fail is not None:
            raise self.fail
        self.saves.append(silences)
        for s in silences:
            self.rows[s.id] = s

    async def load_all(self) -> list[Silence]:
        return sorted(self.rows.values(), key=lambda s: s.id)

    async def delete(self, ids: Iterable[str]) -> None:
        if self.fail is not None:
            raise self.fail
        wanted = list(ids)
        self.deletes.append(wanted)
        for sid in wanted:
            self.rows.pop(sid, None)


class Api:
    """A real aiohttp server on a free port serving the silence routes."""

    def __init__(self, server: TestServer, silences: Silences, clock: Clock) -> None:
        self.server = server
        self.silences = silences
        self.clock = clock

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


async def start_api(*, clock: Clock | None = None, write_tokens: frozenset[str] = frozenset(),
                    read_tokens: frozenset[str] | None = None,
                    extra: list[web.RouteDef] | None = None) -> Api:
    clock = clock if clock is not None else FakeClock(T0)
    silences = Silences(MemoryRepository())
    app = web.Application()
    app[ACCESS] = Access.fixed(write_tokens, read_tokens)
    install(app, SilenceContext(silences, clock))
    app.add_routes(extra or [])
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Api(server, silences, clock)


@contextlib.asynccontextmanager
async def serving(clock: Clock | None = None) -> AsyncIterator[Api]:
    started = await start_api(clock=clock)
    try:
        yield started
    finally:
        await started.server.close()


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """The server, its clock a fake one at T0."""
    async with serving() as started:
        yield started


# amtool reads the real clock itself (the default start of a silence, which silences
# `query` shows): the server it talks to keeps real time too.
WALL_CLOCK = SystemClock()


@pytest.fixture
async def wall_clock_api() -> AsyncIterator[Api]:
    """The server for clients that read the real clock themselves: amtool, the CLI."""
    async with serving(WALL_CLOCK) as started:
        yield started
