"""Figures as the report shows them."""

from __future__ import annotations

import pytest

from alertd.report import units
from alertd.report.units import MINUS


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0, "0s"), (0.4, "0.4s"), (42, "42s"), (59.6, "1m"), (60, "1m"),
    (725, "12m5s"), (3600, "1h"), (11520, "3h12m"), (11545, "3h12m"), (86400, "1d"),
    (3 * 86400 + 4 * 3600 + 59, "3d4h"), (-90, "-1m30s"),
])
def test_durations_show_their_two_largest_units(seconds: float | None, text: str) -> None:
    assert units.duration(seconds) == text


@pytest.mark.parametrize(("share", "text"), [
    (None, "—"), (0.0, "0%"), (1.0, "100%"), (0.4249, "42%"), (0.004, "0.4%"), (0.05, "5%"),
])
def test_shares_are_percentages(share: float | None, text: str) -> None:
    assert units.share(share) == text


@pytest.mark.parametrize(("now", "before", "kind", "text"), [
    (12, 5, "count", "+7"), (5, 6, "count", MINUS + "1"), (3, 3, "count", "±0"),
    (1234, 0, "count", "+1,234"), (None, 3, "count", ""), (3, None, "count", ""),
    (7200.0, 3600.0, "duration", "+1h"), (60.0, 3660.0, "duration", MINUS + "1h"),
    (0.75, 0.5, "share", "+25 pp"), (0.2, 0.5, "share", MINUS + "30 pp"),
    (1.5, 0.25, "rate", "+1.2"),
])
def test_changes_are_signed_in_the_figures_unit(now: float | None, before: float | None,
                                                kind: str, text: str) -> None:
    assert units.delta(now, before, kind) == text


def test_counts_rates_and_times() -> None:
    assert units.count(12345) == "12,345"
    assert units.count(None) == "—"
    assert units.rate(2.0) == "2"
    assert units.rate(0.25) == "0.2"
    assert units.timestamp("2026-11-30T09:15:42.123Z") == "2026-11-30 09:15 UTC"
    assert units.timestamp("2026-11-30T10:15:00+01:00") == "2026-11-30 09:15 UTC"
    assert units.timestamp(None) == "—"
    assert units.number(True) is None
    assert units.number("3") is None
