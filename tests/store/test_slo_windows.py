"""Stored SLO counters (SQLite and PostgreSQL, see conftest.py): a restart keeps them."""

from __future__ import annotations

import math

from alertd.model import LabelMatcher, Labels
from alertd.sources.slo_windows import CounterSelector, SloCounters
from alertd.store import LATEST_VERSION, Store
from alertd.store.slo_windows import slo_window_repository

GOOD = CounterSelector("requests_total", (LabelMatcher("code", "=", "200"),))
TOTAL = CounterSelector("requests_total", ())


async def test_counters_come_back_bit_for_bit_with_their_last_samples(store: Store) -> None:
    assert LATEST_VERSION >= 13
    repo = slo_window_repository(store)
    counters = SloCounters(GOOD, TOTAL, 30 * 86400.0, "good=a total=b")
    for k in range(1, 100):
        counters.add(0, k * 300.0, 0.1 * k)
        counters.add(1, k * 300.0, 1.0 * k)
    series = Labels({"__name__": "requests_total", "code": "200"})
    counters.last[0][series] = (29_700.0, 123.5)
    counters.last[1][series] = (29_700.0, math.nan)
    await repo.save({"checkout": counters.snapshot()})
    loaded = await repo.load()
    again = SloCounters(GOOD, TOTAL, 30 * 86400.0, "good=a total=b")
    assert again.restore(loaded["checkout"])
    assert list(again.counts[0]) == list(counters.counts[0])
    assert list(again.counts[1]) == list(counters.counts[1])
    assert again.last[0] == {series: (29_700.0, 123.5)}
    assert math.isnan(again.last[1][series][1])
    await repo.save({})
    assert await repo.load() == {}
