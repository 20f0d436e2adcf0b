"""Regexes in silences: RE2's syntax, rejected where they enter (API, command line)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from alertd.silence import SilenceError
from alertd.silence.cli import build_silence
from alertd.silence.model import InvalidSilence, parse_matcher
from tests.silence.conftest import T0, Api
from tests.silence.test_api import get, post, postable

HINT = ("(RE2 syntax, as in Prometheus, has no backreferences, look-around or possessive "
        "quantifiers)")


@pytest.fixture
async def http(api: Api) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(api.url) as session:
        yield session


@pytest.mark.parametrize(("value", "reason"), [
    (r"(a)\1", r"invalid escape sequence: `\1`"),
    ("db(?=-1)", "invalid perl operator: `(?=`"),
])
async def test_a_silence_with_a_regex_re2_rejects_is_400(http: aiohttp.ClientSession,
                                                         value: str, reason: str) -> None:
    status, answer = await post(http, postable(matchers=[
        {"name": "instance", "value": value, "isRegex": True, "isEqual": True}]))
    assert (status, answer) == (
        400, f'invalid label matcher 0: invalid regular expression "{value}": {reason} {HINT}')


async def test_a_silence_list_filter_with_a_regex_re2_rejects_is_400(
        http: aiohttp.ClientSession) -> None:
    status, answer = await get(http, "/api/v2/silences",
                               params=[("filter", 'instance=~"db(?=-1)"')])
    assert (status, answer) == (
        400, f'invalid regular expression "db(?=-1)": invalid perl operator: `(?=` {HINT}')


async def test_a_silence_regex_matches_whole_values_in_linear_time(
        api: Api, http: aiohttp.ClientSession) -> None:
    status, answer = await post(http, postable(matchers=[
        {"name": "instance", "value": "(a+)+", "isRegex": True, "isEqual": True}]))
    assert status == 200, answer
    silence = api.silences.get(answer["silenceID"])
    assert silence is not None
    assert not silence.matches({"instance": "a" * 40 + "!"})
    assert silence.matches({"instance": "a" * 40})


async def test_a_label_name_with_a_trailing_newline_is_400(http: aiohttp.ClientSession) -> None:
    # The silence validator already matched whole names; this keeps it exact.
    status, answer = await post(http, postable(matchers=[
        {"name": "instance\n", "value": "db", "isRegex": False, "isEqual": True}]))
    assert (status, answer) == (400, 'invalid label matcher 0: invalid label name "instance\n"')


def test_parse_matcher_rejects_what_re2_rejects() -> None:
    with pytest.raises(InvalidSilence, match=r"invalid perl operator: `\(\?<!`"):
        parse_matcher('instance=~"(?<!db)-1"')


def test_the_command_line_rejects_what_re2_rejects() -> None:
    args: dict[str, Any] = {"author": "a", "comment": "c", "duration": "1h", "start": None,
                            "end": None, "now": T0}
    with pytest.raises(SilenceError, match=r'invalid regular expression "\(a\)\\1"'):
        build_silence(["Foo", r'instance=~"(a)\\1"'], **args)
