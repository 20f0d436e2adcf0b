"""The series value notation of rule unit tests (promtool's)."""

from __future__ import annotations

import math

import pytest

from alertd.ruletest.notation import NotationError, expand, format_value, parse_number
from alertd.series import is_stale


def test_plain_numbers() -> None:
    assert expand("1 2.5 -3 +4 .5 1e3 -1.5E-2") == [1, 2.5, -3, 4, 0.5, 1000, -0.015]


def test_special_numbers() -> None:
    values = expand("Inf -Inf +Inf NaN inf nan")
    assert values[:3] == [math.inf, -math.inf, math.inf]
    assert values[4] == math.inf
    assert all(math.isnan(v) for v in (values[3], values[5]) if v is not None)
    # A NaN value is a sample, not a stale marker.
    assert values[3] is not None and not is_stale(values[3])


def test_increasing_series_has_n_plus_one_values() -> None:
    assert expand("0+10x3") == [0, 10, 20, 30]
    assert expand("-2+1.5x2") == [-2, -0.5, 1]


def test_decreasing_series() -> None:
    assert expand("10-2x3") == [10, 8, 6, 4]
    assert expand("-1-1x2") == [-1, -2, -3]


def test_repeated_value() -> None:
    assert expand("7x2") == [7, 7, 7]
    assert expand("0.05x0") == [0.05]
    assert expand("1e3x1") == [1000, 1000]


def test_steps_do_not_drift() -> None:
    # a + i*b, not repeated additions: ten steps of 0.1 end exactly at 1.
    assert expand("0+0.1x10")[-1] == 1.0


def test_missing_samples() -> None:
    assert expand("1 _ 3") == [1, None, 3]
    # promtool: `_x3` is three missing steps (whereas `1x3` is four values).
    assert expand("_x3") == [None, None, None]
    assert expand("1 _x2 4") == [1, None, None, 4]


def test_stale_marker() -> None:
    values = expand("1 stale 2")
    assert values[0] == 1 and values[2] == 2
    assert values[1] is not None and is_stale(values[1])


def test_items_are_placed_one_after_another() -> None:
    assert expand("1x1 _ 5-1x1 stale")[:5] == [1, 1, None, 5, 4]
    assert len(expand("0.05x10 0.2x20")) == 11 + 21


def test_empty_and_extra_whitespace() -> None:
    assert expand("") == []
    assert expand("  1   2\t3\n") == [1, 2, 3]


@pytest.mark.parametrize(
    ("text", "item", "position"),
    [
        ("0 1+x3", "1+x3", 2),
        ("abc", "abc", 1),
        ("1 2 3x", "3x", 3),
        ("x3", "x3", 1),
        ("1+2", "1+2", 1),
        ("1x-3", "1x-3", 1),
        ("_x", "_x", 1),
        ("stalex2", "stalex2", 1),
        ("1,2", "1,2", 1),
        ("1_000", "1_000", 1),
        ("0x1f 1", "0x1f", 1),
        ("1 2 1+1x2x3", "1+1x2x3", 3),
    ],
)
def test_invalid_items_name_the_item_and_its_position(text: str, item: str,
                                                      position: int) -> None:
    with pytest.raises(NotationError) as info:
        expand(text)
    assert info.value.item == item
    assert info.value.position == position
    assert str(info.value).startswith(f'invalid item "{item}" at position {position}')


def test_huge_expansion_is_refused() -> None:
    with pytest.raises(NotationError, match="more than"):
        expand("0+1x100000000")


def test_parse_number() -> None:
    assert parse_number("-1.5e3") == -1500
    assert parse_number("Inf") == math.inf
    assert parse_number("1+1x3") is None
    assert parse_number("") is None
    assert parse_number(" 1") is None


def test_format_value() -> None:
    assert format_value(3.0) == "3"
    assert format_value(-0.25) == "-0.25"
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
    assert format_value(math.nan) == "NaN"
    assert format_value(1 / 6) == "0.16666666666666666"
