"""alertd.regex: RE2 with Prometheus's semantics, bounded in time and memory."""

from __future__ import annotations

import time

import pytest

from alertd.regex import MAX_MEM, Regex, RegexError


def test_long_values_are_matched_in_linear_time() -> None:
    value = "a" * 1_000_000 + "!"
    started = time.perf_counter()
    assert not Regex("(a+)+").matches(value)
    assert not Regex("(a|aa)*").matches(value)
    assert Regex("(?:a*)*!").matches(value)
    assert time.perf_counter() - started < 0.5


def test_a_pattern_over_the_memory_budget_is_rejected() -> None:
    # A thousand repetitions of every Unicode letter: a program far over the budget.
    with pytest.raises(RegexError) as info:
        Regex(r"\pL{1000}")
    assert str(info.value) == f"the pattern is too large (RE2 compiles it within " \
                              f"{MAX_MEM >> 20}MiB)"


def test_the_error_says_what_re2_lacks() -> None:
    with pytest.raises(RegexError) as info:
        Regex(r"(a)\1")
    assert str(info.value) == (r"invalid escape sequence: `\1` (RE2 syntax, as in Prometheus, "
                               "has no backreferences, look-around or possessive quantifiers)")
    with pytest.raises(RegexError) as info:
        Regex("(")
    assert str(info.value) == "missing ): `(`"


def test_any_byte_is_rejected_as_go_rejects_it() -> None:
    with pytest.raises(RegexError, match="invalid escape sequence"):
        Regex(r"a\C")
    assert Regex(r"a\\C").matches("a\\C")  # an escaped backslash, then "C"
    assert Regex(r"\Q\C\E").matches("\\C")  # quoted: literal text


def test_a_lone_surrogate_is_matched_in_a_value_and_refused_in_a_pattern() -> None:
    # JSON can carry "\ud800"; such a value must not break routing or silences.
    assert Regex(".*").matches("x\ud800")
    assert not Regex("x").matches("\ud800")
    found = Regex("(.)(.*)").match("é\ud800")
    assert found is not None and found.group(2) == "\ud800"
    with pytest.raises(RegexError, match="invalid UTF-8: a lone surrogate"):
        Regex("a\ud800")


def test_groups_by_number_and_name() -> None:
    found = Regex("v(?P<major>[0-9]+)(-rc)?").match("v12")
    assert found is not None
    assert (found.group(0), found.group(1), found.group("major"), found.group(2)) == \
        ("v12", "12", "12", None)
    with pytest.raises(IndexError):
        found.group(3)
    with pytest.raises(IndexError):
        found.group("minor")
    assert Regex("v(.*)").match("x") is None
