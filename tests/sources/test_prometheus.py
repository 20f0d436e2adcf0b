"""The Prometheus client, against a real Prometheus and, for faults, local stub servers."""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from alertd.errors import EvalError
from alertd.model import EMPTY_LABELS, Labels
from alertd.sources.prometheus import PrometheusClient, PrometheusSettings
from tests.fixtures.prometheus import (  # noqa: F401
    Exporter,
    PrometheusServer,
    free_port,
    prometheus_exporter_fixture,
    prometheus_server_fixture,
    same_value,
    start_prometheus_fixture,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def client_for(url: str, **settings: object) -> AsyncIterator[PrometheusClient]:
    client = PrometheusClient(PrometheusSettings(url=url, **settings))  # type: ignore[arg-type]
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def stub_server(handler: Handler) -> AsyncIterator[str]:
    """A local HTTP server answering /api/v1/query with `handler`; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/api/v1/query", handler)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def vector_body(samples: list[tuple[dict[str, str], str]]) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [1700000000.0, value]} for labels, value in samples]}}


# --- against a real Prometheus -----------------------------------------------------------


async def test_vector_query_returns_the_exporters_values_and_labels(
        prometheus_exporter: Exporter, prometheus_server: PrometheusServer) -> None:
    name = "vector_test_latency_seconds"
    prometheus_exporter.set(name, {"model_version": "v1"}, 0.25)
    prometheus_exporter.set(name, {"model_version": "v2"}, float("nan"))
    prometheus_exporter.set(name, {"model_version": "v3"}, float("inf"))
    await prometheus_server.await_value(name, lambda v: len(v) == 3)

    async with client_for(prometheus_server.url) as client:
        vector = await client.query(name, time.time())

    assert client.up
    by_version = {s.labels["model_version"]: s for s in vector}
    assert set(by_version) == {"v1", "v2", "v3"}
    assert by_version["v1"].labels == Labels({
        "__name__": name, "instance": prometheus_exporter.target, "job": "exporter",
        "model_version": "v1"})
    assert by_version["v1"].value == 0.25
    assert math.isnan(by_version["v2"].value)
    assert by_version["v3"].value == math.inf


async def test_a_removed_series_is_gone_from_the_next_answer(
        prometheus_exporter: Exporter, prometheus_server: PrometheusServer) -> None:
    name = "removed_test_value"
    prometheus_exporter.set(name, {"pod": "a"}, 1)
    prometheus_exporter.set(name, {"pod": "b"}, 2)
    await prometheus_server.await_value(name, lambda v: len(v) == 2)
    prometheus_exporter.remove(name, {"pod": "a"})
    await prometheus_server.await_value(name, lambda v: len(v) == 1)

    async with client_for(prometheus_server.url) as client:
        vector = await client.query(f"sum by (pod) ({name})", time.time())
    assert vector == [(Labels({"pod": "b"}), 2.0)]


async def test_a_scalar_is_one_sample_without_labels(
        prometheus_exporter: Exporter, prometheus_server: PrometheusServer) -> None:
    prometheus_exporter.set("scalar_test_value", None, 4)
    await prometheus_server.await_value("scalar_test_value", same_value(4))
    async with client_for(prometheus_server.url) as client:
        assert await client.query("scalar(scalar_test_value) * 2", time.time()) == [
            (EMPTY_LABELS, 8.0)]
        assert await client.query("1 + 1", time.time()) == [(EMPTY_LABELS, 2.0)]


async def test_a_range_vector_or_a_string_is_an_eval_error(
        prometheus_server: PrometheusServer) -> None:
    async with client_for(prometheus_server.url) as client:
        with pytest.raises(EvalError, match=r"^prom\(\) needs an instant vector, got a range "
                                            r"vector$"):
            await client.query('up{job="exporter"}[1m]', time.time())
        with pytest.raises(EvalError, match="got a string"):
            await client.query('"hello"', time.time())
        assert client.up  # Prometheus answered; the query was wrong


async def test_a_syntax_error_carries_the_prometheus_message(
        prometheus_server: PrometheusServer) -> None:
    async with client_for(prometheus_server.url) as client:
        with pytest.raises(EvalError) as info:
            await client.query("sum(rate(x[5m])", time.time())
    message = str(info.value)
    assert message.startswith('prometheus: bad_data: invalid parameter "query": ')
    assert "parse error" in message
    assert client.stats.failures == 1
    assert client.stats.failures_by_kind == {"query": 1}


async def test_query_many_runs_each_distinct_query_once(
        prometheus_exporter: Exporter, prometheus_server: PrometheusServer) -> None:
    prometheus_exporter.set("many_test_value", {"k": "a"}, 1)
    await prometheus_server.await_value("many_test_value", same_value(1))
    queries = ["many_test_value", "many_test_value * 10", "many_test_value", "oops(",
               "many_test_value * 10"]

    async with client_for(prometheus_server.url) as client:
        results = await client.query_many(queries, time.time())

    assert list(results) == ["many_test_value", "many_test_value * 10", "oops("]
    assert [s.value for s in results["many_test_value"]] == [1.0]  # type: ignore[union-attr]
    assert [s.value for s in results["many_test_value * 10"]] == [10.0]  # type: ignore[union-attr]
    assert isinstance(results["oops("], EvalError)
    assert client.stats.queries == 3
    assert client.stats.duration_count == 3


async def test_stopping_prometheus_is_an_eval_error_and_starting_it_recovers(
        start_prometheus: Callable[..., PrometheusServer]) -> None:
    server = start_prometheus()
    async with client_for(server.url, auth_header="Bearer t0ps3cret") as client:
        assert await client.query("vector(1)", time.time()) == [(EMPTY_LABELS, 1.0)]
        assert client.up and await client.ready()

        server.stop()
        with pytest.raises(EvalError) as info:
            await client.query("vector(1)", time.time())
        assert str(info.value) == f"prometheus at {server.url}: connection refused"
        assert not client.up
        assert not await client.ready()
        assert client.stats.last_error == f"prometheus at {server.url}: connection refused"

        server.start()
        assert await client.ready() and client.up
        assert await client.query("vector(1)", time.time()) == [(EMPTY_LABELS, 1.0)]
        assert client.up

        # A restart between two queries: the kept-alive connection is stale, not an error.
        server.stop()
        server.start()
        assert await client.query("vector(2)", time.time()) == [(EMPTY_LABELS, 2.0)]
        assert client.up


# --- faults, from local stub servers -----------------------------------------------------


async def test_query_many_runs_queries_concurrently_up_to_the_bound() -> None:
    bound = 3
    asked: list[str] = []
    in_flight = 0
    peak = 0
    # Requests are held until `bound` of them are in flight together: the test passes only
    # if the client really sends that many at once, and never more.
    all_in = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        query = str((await request.post())["query"])
        asked.append(query)
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= bound:
            all_in.set()
        await all_in.wait()
        in_flight -= 1
        return web.json_response(vector_body([({"q": query}, "1")]))

    queries = [f"q{i}" for i in range(10)] * 2
    async with stub_server(handler) as url, \
            client_for(url, max_concurrency=bound, timeout=5.0) as client:
        results = await client.query_many(queries, 1700000000.0)

    assert sorted(asked) == sorted(set(queries))
    assert peak == bound
    assert client.stats.max_in_flight == bound
    assert all(results[q] == [(Labels({"q": q}), 1.0)] for q in set(queries))


async def test_a_query_that_gets_no_answer_times_out() -> None:
    forms: list[dict[str, str]] = []
    release = asyncio.Event()

    async def never_answers(request: web.Request) -> web.Response:
        forms.append({k: str(v) for k, v in (await request.post()).items()})
        await release.wait()
        return web.json_response(vector_body([]))

    async with stub_server(never_answers) as url, client_for(url, timeout=0.2) as client:
        try:
            with pytest.raises(EvalError, match=r"^prometheus query timed out after 0\.2s$"):
                await client.query("up", 1700000000.5)
        finally:
            release.set()
    assert not client.up
    assert forms == [{"query": "up", "time": "1700000000.500", "timeout": "0.2"}]
    assert client.stats.failures_by_kind == {"timeout": 1}


@pytest.mark.parametrize("auth_header", [
    "Bearer s3cr3t-t0ken",
    "Basic " + base64.b64encode(b"alertd:pa55word").decode(),
])
async def test_the_auth_header_is_sent_and_never_shown(auth_header: str) -> None:
    async def gateway(request: web.Request) -> web.Response:
        got = request.headers.get("Authorization", "")
        if got != auth_header:
            # Some gateways echo what they rejected; the client must not repeat it.
            return web.Response(status=401, text=f"bad credentials: {got}")
        return web.json_response(vector_body([({"job": "api"}, "1")]))

    async with stub_server(gateway) as url:
        async with client_for(url, auth_header=auth_header) as client:
            assert await client.query("up", 1700000000.0) == [(Labels({"job": "api"}), 1.0)]
        async with client_for(url, auth_header=auth_header + "x") as client:
            with pytest.raises(EvalError) as info:
                await client.query("up", 1700000000.0)
    message = str(info.value)
    assert message.startswith(f"prometheus at {url}: http 401: ")
    assert auth_header.split()[1] not in message
    assert "<redacted>" in message
    assert client.stats.last_error == message


async def test_credentials_in_the_url_are_sent_and_never_shown() -> None:
    expected = "Basic " + base64.b64encode(b"alertd:pa55word").decode()

    async def gateway(request: web.Request) -> web.Response:
        assert request.headers.get("Authorization") == expected
        return web.json_response(vector_body([]))

    async with stub_server(gateway) as url:
        with_credentials = url.replace("http://", "http://alertd:pa55word@")
        async with client_for(with_credentials) as client:
            assert await client.query("up", 1700000000.0) == []

    port = free_port()  # nothing listens there
    async with client_for(f"http://alertd:pa55word@127.0.0.1:{port}") as client:
        with pytest.raises(EvalError) as info:
            await client.query("up", 1700000000.0)
    assert str(info.value) == f"prometheus at http://127.0.0.1:{port}: connection refused"


@pytest.mark.parametrize(("status", "body", "expected"), [
    (502, "<html>bad gateway</html>", "http 502: '<html>bad gateway</html>'"),
    (200, "{not json", "an answer that is not JSON: '{not json'"),
    (200, '{"status": "success", "data": {"resultType": "vector", "result": [{}]}}',
     "unexpected answer"),
])
async def test_answers_that_are_not_the_prometheus_api_are_eval_errors(
        status: int, body: str, expected: str) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type="text/html")

    async with stub_server(broken) as url, client_for(url) as client:
        with pytest.raises(EvalError) as info:
            await client.query("up", 1700000000.0)
    assert str(info.value).startswith(f"prometheus at {url}: ")
    assert expected in str(info.value)
    assert not client.up


async def test_a_prometheus_error_answer_names_its_type() -> None:
    async def overloaded(request: web.Request) -> web.Response:
        return web.json_response({"status": "error", "errorType": "timeout",
                                  "error": "query timed out in expression evaluation"},
                                 status=503)

    async with stub_server(overloaded) as url, client_for(url) as client:
        results = await client.query_many(["up"], 1700000000.0)
    error = results["up"]
    assert isinstance(error, EvalError)
    assert str(error) == "prometheus: timeout: query timed out in expression evaluation"
    assert not client.up  # Prometheus is in trouble, not the query
    assert client.stats.failures_by_kind == {"server": 1}
