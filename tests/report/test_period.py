"""The period of a report from what a person types."""

from __future__ import annotations

import pytest

from alertd.report.period import DEFAULT_LENGTH, Period, PeriodError, parse_period, parse_when

NOW = 1_796_000_000.0  # 2026-11-30T00:53:20Z
DAY = 86400.0


@pytest.mark.parametrize(("text", "at"), [
    ("now", NOW), ("-7d", NOW - 7 * DAY), ("now-36h", NOW - 36 * 3600), ("now - 1w", NOW - 7 * DAY),
    ("+1h", NOW + 3600), ("2026-11-30", 1_795_996_800.0),
    ("2026-11-30T00:00:00Z", 1_795_996_800.0), ("2026-11-30T01:00:00+01:00", 1_795_996_800.0),
    ("2026-11-30T00:00:00.5Z", 1_795_996_800.5),
])
def test_times(text: str, at: float) -> None:
    assert parse_when(text, NOW, "--from") == at


def test_the_default_period_is_the_last_seven_days() -> None:
    assert parse_period(None, None, NOW) == Period(NOW - DEFAULT_LENGTH, NOW)
    assert parse_period("-30d", None, NOW) == Period(NOW - 30 * DAY, NOW)
    assert parse_period(None, "2026-11-30", NOW) == Period(1_795_996_800.0 - 7 * DAY,
                                                           1_795_996_800.0)


@pytest.mark.parametrize(("start", "end", "message"), [
    ("yesterday", None, '--from: invalid time "yesterday": write RFC 3339'),
    (None, "2026-13-01", '--to: invalid time "2026-13-01"'),
    ("-7x", None, '--from: invalid duration "7x"'),
    ("-1h30", None, '--from: invalid duration "1h30"'),
    ("-99999y", None, '--from: "-99999y" is outside the years 1 to 9999'),
    ("now", "-1d", "--from must be before --to: 2026-11-30T00:53:20Z is not before "
                   "2026-11-29T00:53:20Z"),
    ("2025-01-01", None, "--from, --to: a report covers at most 366 days, not 698"),
])
def test_mistakes_name_the_option(start: str | None, end: str | None, message: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(start, end, NOW)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_messages_use_the_names_given() -> None:
    with pytest.raises(PeriodError, match=r'^from: invalid time "x"'):
        parse_period("x", None, NOW, names=("from", "to"))
