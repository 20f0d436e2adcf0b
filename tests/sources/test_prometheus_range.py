"""Range queries over Prometheus history for baselines, against a real Prometheus."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertd.rules.baselines import Resolver
from alertd.rules.files import check_paths
from alertd.sources.prometheus_range import (
    MAX_POINTS,
    RangeError,
    RangeSeries,
    RangeSettings,
    pieces,
    query_range,
)
from alertd.store import Store
from alertd.store.baselines import baseline_repository
from tests.fixtures.prometheus import (  # noqa: F401
    Exporter,
    PrometheusServer,
    free_port,
    prometheus_exporter_fixture,
    prometheus_server_fixture,
)

NAME = "baseline_range_test_value"


async def scraped(exporter: Exporter, server: PrometheusServer) -> tuple[float, float]:
    """Serve 20 series per feature and wait until Prometheus has scraped them twice; the
    range that holds those scrapes."""
    start = float(int(time.time()) - 1)
    for k in range(20):
        exporter.set(NAME, {"feature": "age", "i": str(k)}, 20 + k)
        exporter.set(NAME, {"feature": "income", "i": str(k)}, 1000 + 10 * k)
    await server.await_value(f"count(count_over_time({NAME}[1m]) >= 2)",
                             lambda v: bool(v) and v[0].value == 40)
    return start, float(int(time.time()) + 1)


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_range_query_returns_every_series_with_its_values(
        prometheus_exporter: Exporter, prometheus_server: PrometheusServer) -> None:
    start, end = await scraped(prometheus_exporter, prometheus_server)
    series = await query_range(RangeSettings(prometheus_server.url), NAME, start, end, 1.0)
    assert len(series) == 40
    by_key = {(labels["feature"], labels["i"]): values for labels, values in series}
    assert len(by_key[("age", "3")]) >= 2
    assert set(by_key[("age", "3")]) == {23.0}
    assert set(by_key[("income", "19")]) == {1190.0}


async def test_a_prometheus_baseline_is_pulled_once_and_stored(
        tmp_path: Path, prometheus_exporter: Exporter,
        prometheus_server: PrometheusServer) -> None:
    start, end = await scraped(prometheus_exporter, prometheus_server)
    rules = tmp_path / "a.rules"
    rules.write_text(
        f'baseline "history" {{\n  prometheus = "{NAME}"\n  from = "{rfc3339(start)}"\n'
        f'  to = "{rfc3339(end)}"\n  step = 1s\n  bins = 4\n}}\n'
        'alert Drift {\n  when = psi(fv[1h], baseline="history") by (feature) > 0.25\n}\n')
    checked = check_paths([str(rules)])
    assert checked.ok, checked.diagnostics
    settings = RangeSettings(prometheus_server.url)
    pulls: list[str] = []

    async def pull(query: str, a: float, b: float, step: float) -> list[RangeSeries]:
        pulls.append(query)
        return await query_range(settings, query, a, b, step)

    async with await Store.open(f"sqlite:///{tmp_path}/s.db") as store:
        repo = baseline_repository(store)
        first = await Resolver(repo, pull, time.time, "t").load(checked.baselines,
                                                                checked.groups)
        again = await Resolver(repo, None, time.time, "t").load(checked.baselines,
                                                                checked.groups)
        stored = await repo.latest("history")
    assert pulls == [NAME]  # the second load used the stored version
    assert first["history"].label == again["history"].label == "history@1"
    age = first["history"].features["age"]
    assert (age.kind, age.sample.min(), age.sample.max()) == ("numeric", 20.0, 39.0)
    assert stored is not None and stored.kind == "prometheus"
    assert stored.origin["prometheus"] == NAME and stored.origin["from"] == start


async def test_a_query_prometheus_rejects_says_why(prometheus_server: PrometheusServer) -> None:
    with pytest.raises(RangeError, match=r"the range query 'sum\(' failed: HTTP Status Code "
                                         r"400 .*bad_data"):
        await query_range(RangeSettings(prometheus_server.url), "sum(", time.time() - 60,
                          time.time(), 1.0)


async def test_an_unreachable_prometheus() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RangeError, match=f"{url}: cannot reach Prometheus for the range "
                                         r"query 'up' \(ConnectionError\)"):
        await query_range(RangeSettings(url, timeout=2), "up", time.time() - 60, time.time(),
                          1.0)


def test_a_long_range_is_asked_for_in_pieces() -> None:
    parts = pieces(0.0, 25_000.0, 1.0)
    assert parts == [(0.0, MAX_POINTS - 1.0), (MAX_POINTS, 2 * MAX_POINTS - 1.0),
                     (2 * MAX_POINTS, 25_000.0)]
    assert pieces(0.0, 600.0, 60.0) == [(0.0, 600.0)]
