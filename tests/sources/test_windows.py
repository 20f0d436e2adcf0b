"""The windows of pushed samples keep what the rules read, offsets included."""

from __future__ import annotations

import pytest

from alertd.lang.compile import compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.parse import parse_expr
from alertd.model import Labels
from alertd.sources.push import PushedSample
from alertd.sources.windows import SampleWindows

DRIFT = "avg_over_time(score[1h]) - avg_over_time(score[1h] offset 1d)"
SCORE = Labels({"__name__": "score", "model": "churn"})


def two_days(windows: SampleWindows) -> None:
    """A sample every 10 minutes for two days (10, then 20 from 24h), trimmed as it arrives
    the way the daemon trims: an evaluation then sees what is left."""
    for i in range(289):
        t = i * 600.0
        assert windows.ingest([PushedSample(SCORE, (10.0 if i < 144 else 20.0,), t)], t) == []
        windows.trim(t)


def test_a_rule_with_an_offset_keeps_a_day_more_of_every_series() -> None:
    expr = compile_expr(parse_expr(DRIFT))
    windows = SampleWindows()
    windows.set_retention(expr.max_range, minimum=3600.0)
    assert windows.retention == 25 * 3600 + 300  # 1d + 1h + the 5m lookback
    two_days(windows)
    got = expr.eval_vector(EvalContext(2 * 86400.0, windows.store))
    # Today's hour is all 20; yesterday's (23h, 24h] is five 10s and the first 20.
    assert [(str(s.labels), s.value) for s in got] == [
        ('{model="churn"}', pytest.approx(20 - (5 * 10 + 20) / 6))]


def test_without_the_offset_yesterday_is_trimmed_and_the_comparison_is_empty() -> None:
    windows = SampleWindows()
    windows.set_retention(compile_expr(parse_expr("avg_over_time(score[1h])")).max_range,
                          minimum=3600.0)
    two_days(windows)
    expr = compile_expr(parse_expr(DRIFT))
    assert expr.eval_vector(EvalContext(2 * 86400.0, windows.store)) == []
