"""GET /api/alertd/v1/report and GET /report: the daemon's report over its own store, the
query parameters as the command line takes them, and the API's read tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from alertd.api.app import build_app
from alertd.clock import FakeClock
from alertd.config import load_config
from alertd.daemon import Daemon
from alertd.report.source import ReportQuery, ReportUnavailable
from alertd.store import StoreError
from tests.api.conftest import T0, start_daemon, write_config
from tests.report.fixtures import sample_report
from tests.report.history import write_history
from tests.report.page import parse

DAY = 86400.0


class FixedSource:
    """A report source that answers with a fixture and remembers what it was asked."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.queries: list[ReportQuery] = []

    async def __call__(self, query: ReportQuery) -> dict[str, Any]:
        self.queries.append(query)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
async def quiet_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    """A started daemon that does not serve: the tests serve apps built over it."""
    config = write_config(tmp_path)
    daemon = Daemon(load_config(str(config)), str(config), FakeClock(T0))
    await daemon.start(serve=False, schedule=False)
    try:
        yield daemon
    finally:
        await daemon.stop()


async def client_for(daemon: Daemon, source: FixedSource) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_app(replace(daemon.api_context(), report=source))))
    await client.start_server()
    return client


async def test_the_json_endpoint_answers_with_the_report(quiet_daemon: Daemon) -> None:
    source = FixedSource(sample_report())
    client = await client_for(quiet_daemon, source)
    try:
        resp = await client.get("/api/alertd/v1/report",
                                params={"from": "-3d", "to": "now", "owner": "risk"})
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.json() == sample_report()
        resp = await client.get("/api/alertd/v1/report")
        assert resp.status == 200
    finally:
        await client.close()
    assert source.queries == [ReportQuery(T0 - 3 * DAY, T0, "risk", T0),
                              ReportQuery(T0 - 7 * DAY, T0, None, T0)]


async def test_the_page_is_html_that_may_run_nothing(quiet_daemon: Daemon) -> None:
    source = FixedSource(sample_report())
    client = await client_for(quiet_daemon, source)
    try:
        resp = await client.get("/report", params={"from": "2026-11-23", "to": "", "owner": ""})
        assert resp.status == 200
        assert resp.content_type == "text/html" and resp.charset == "utf-8"
        policy = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        doc = parse(await resp.text())
    finally:
        await client.close()
    assert doc.find("title").text.startswith("Alert noise report, all owners")
    assert doc.find("a", id="previous-period").attrs["href"].startswith(
        "?from=2026-11-16T00%3A00%3A00Z&to=2026-11-23T00%3A00%3A00Z")
    # An empty field means the default, as the page's form sends it.
    assert source.queries == [ReportQuery(1_795_392_000.0, T0, None, T0)]


@pytest.mark.parametrize(("query", "message"), [
    ("from=yesterday", 'from: invalid time "yesterday": write RFC 3339'),
    ("from=-1d&to=-2d", "from must be before to"),
    ("from=-1d&from=-2d", "from: give it once"),
    ("owner=%00", "owner: invalid text"),
    ("from=2020-01-01", "from, to: a report covers at most 366 days"),
])
async def test_bad_parameters_are_400s_naming_the_parameter(quiet_daemon: Daemon, query: str,
                                                             message: str) -> None:
    source = FixedSource(sample_report())
    client = await client_for(quiet_daemon, source)
    try:
        resp = await client.get("/api/alertd/v1/report?" + query)
        assert resp.status == 400
        assert (await resp.json())["error"].startswith(message)
        page = await client.get("/report?" + query)
        assert page.status == 400 and page.content_type == "text/html"
        assert message.replace('"', "&quot;") in await page.text()
    finally:
        await client.close()
    assert source.queries == []


@pytest.mark.parametrize("problem", [
    ReportUnavailable("alertd has not started: no store is open yet"),
    StoreError('database "sqlite+aiosqlite:///x.db": cannot read history: disk I/O error'),
])
async def test_a_store_that_cannot_be_read_is_a_503(quiet_daemon: Daemon,
                                                    problem: Exception) -> None:
    client = await client_for(quiet_daemon, FixedSource(problem))
    try:
        resp = await client.get("/api/alertd/v1/report")
        assert resp.status == 503
        assert (await resp.json()) == {"error": str(problem)}
        assert (await client.get("/report")).status == 503
    finally:
        await client.close()


async def test_the_daemon_reports_over_its_own_history(tmp_path: Path) -> None:
    daemon = await start_daemon(write_config(tmp_path))
    try:
        assert daemon.store is not None
        await write_history(daemon.store)
        async with aiohttp.ClientSession(daemon.listen_url) as http:
            params = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-30T00:00:00Z"}
            async with http.get("/api/alertd/v1/report", params=params) as resp:
                assert resp.status == 200
                report = await resp.json()
            async with http.get("/report", params=params) as resp:
                assert resp.status == 200
                doc = parse(await resp.text())
    finally:
        await daemon.stop()
    assert report["period"]["from"].startswith("2026-11-23T00:00:00")
    assert report["totals"]["pages"] == 6
    assert report["rules"][0]["rule"] == "ChurnLatencyP99High"
    cards = {c.attrs["data-figure"]: c.attrs["data-value"] for c in doc.iter("li", class_="card")}
    assert cards["pages"] == "6"


async def test_both_need_a_read_token_when_reads_have_tokens(tmp_path: Path) -> None:
    extra = "api:\n  write_tokens: [token-W]\n  read_tokens: [token-R]\n"
    daemon = await start_daemon(write_config(tmp_path, extra))
    try:
        async with aiohttp.ClientSession(daemon.listen_url) as http:
            for path in ("/api/alertd/v1/report", "/report"):
                async with http.get(path) as resp:
                    assert resp.status == 401
                    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="alertd"'
                async with http.get(path, headers={"Authorization": "Bearer nope"}) as resp:
                    assert resp.status == 401
                for token in ("token-R", "token-W"):
                    async with http.get(path, headers={"Authorization": f"Bearer {token}"}) \
                            as resp:
                        assert resp.status == 200, path
    finally:
        await daemon.stop()
