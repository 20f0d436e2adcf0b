"""The 5-minute counters of an SLO over pushed series: increases, resets, windows, memory."""

from __future__ import annotations

import pytest

from alertd.model import LabelMatcher, Labels
from alertd.sources.samples import SeriesStore
from alertd.sources.slo_windows import BUCKET, CounterSelector, SloCounters

GOOD = CounterSelector("req_total", (LabelMatcher("code", "=", "200"),))
TOTAL = CounterSelector("req_total", ())
DAY = 86400.0


def store_of(points: dict[str, list[tuple[float, float]]]) -> SeriesStore:
    store = SeriesStore()
    for code, samples in points.items():
        for t, v in samples:
            store.add(Labels({"__name__": "req_total", "code": code}), t, v)
    return store


def test_increases_are_summed_over_series_per_bucket_and_a_drop_is_a_reset() -> None:
    ok = [(0, 0), (60, 100), (120, 200), (360, 50), (420, 150)]  # reset at 6m: 0 -> 50
    bad = [(0, 0), (60, 5), (120, 10), (360, 10), (420, 10)]
    counters = SloCounters(GOOD, TOTAL, 30 * DAY)
    counters.fold(store_of({"200": ok, "500": bad}), now=600)
    assert counters.window(300, 300) == (200, 210)  # (0, 5m]: two samples each
    assert counters.window(600, 300) == (150, 150)  # (5m, 10m]: the reset counts 50
    assert counters.window(600, 600) == (350, 360)


def test_folding_is_bounded_by_now_and_never_counts_a_sample_twice() -> None:
    store = store_of({"200": [(0, 0), (60, 10), (120, 20), (180, 30)]})
    counters = SloCounters(GOOD, TOTAL, 30 * DAY)
    counters.fold(store, now=60)
    counters.fold(store, now=60)
    assert counters.window(300, 300) == (10, 10)
    counters.fold(store, now=180)
    assert counters.window(300, 300) == (30, 30)


def test_a_window_that_cuts_a_bucket_takes_its_share() -> None:
    store = store_of({"200": [(t, t) for t in range(0, 1201, 60)]})  # 60 a minute
    counters = SloCounters(GOOD, TOTAL, 30 * DAY)
    counters.fold(store, now=1200)
    # (2m, 20m] cuts the bucket (0, 5m]: 3 of its 5 minutes count.
    assert counters.window(1200, 1080)[0] == pytest.approx(18 * 60)
    # The bucket under way counts as far as it went: at 11m, (10m, 11m] of (10m, 15m].
    counters = SloCounters(GOOD, TOTAL, 30 * DAY)
    counters.fold(store, now=660)
    assert counters.window(660, 60)[0] == pytest.approx(60)
    assert counters.window(660, 360)[0] == pytest.approx(360)


def test_thirty_days_keep_a_bounded_number_of_buckets() -> None:
    counters = SloCounters(GOOD, TOTAL, 30 * DAY)
    for k in range(1, int(40 * DAY / BUCKET)):  # forty days of one request per bucket
        counters.add(0, k * BUCKET, 1.0)
        counters.add(1, k * BUCKET, 1.0)
    assert len(counters.counts[0]) <= counters.capacity * 9 // 8 + 1
    assert counters.window(40 * DAY - BUCKET, 30 * DAY) == pytest.approx((8640, 8640))
    assert counters.nbytes <= 2 * 8 * 9800


def test_a_snapshot_restores_only_into_the_same_definition() -> None:
    store = store_of({"200": [(0, 0), (60, 10)], "500": [(0, 0), (60, 1)]})
    counters = SloCounters(GOOD, TOTAL, 30 * DAY, "good=a total=b")
    counters.fold(store, now=60)
    snap = counters.snapshot()
    same = SloCounters(GOOD, TOTAL, 30 * DAY, "good=a total=b")
    assert same.restore(snap)
    assert same.window(300, 300) == (10, 11)
    # The series' last samples came along: nothing is counted again.
    same.fold(store, now=60)
    assert same.window(300, 300) == (10, 11)
    other = SloCounters(GOOD, TOTAL, 30 * DAY, "good=c total=b")
    assert not other.restore(snap)
    assert other.window(300, 300) == (0, 0)
