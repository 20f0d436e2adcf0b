"""Alertmanager's alert API: `filter=` and `receiver=` regexes in RE2's syntax, exact names."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.daemon.harness import Harness, harness_fixture  # noqa: F401 (the fixture)

HINT = ("(RE2 syntax, as in Prometheus, has no backreferences, look-around or possessive "
        "quantifiers)")
SLOW = "a" * 40 + "!"


async def request(h: Harness, method: str, path: str, body: Any = None,
                  **query: str) -> tuple[int, Any]:
    async with h.http.request(method, h.daemon.listen_url + path, json=body,
                              params=query) as resp:
        text = await resp.text()
        return resp.status, (await resp.json(content_type=None)) if text else None


async def post_alerts(h: Harness, *instances: str) -> None:
    body = [{"labels": {"alertname": f"Down{i}", "instance": inst}}
            for i, inst in enumerate(instances)]
    status, answer = await request(h, "POST", "/api/v2/alerts", body)
    assert status == 200, answer


@pytest.mark.parametrize(("query", "message"), [
    ({"filter": 'instance=~"(a)\\1"'}, 'the regular expression of matcher "instance=~"(a)\\1"" '
                                       f"is invalid: invalid escape sequence: `\\1` {HINT}"),
    ({"filter": 'instance=~"db(?=-1)"'}, 'the regular expression of matcher '
                                         '"instance=~"db(?=-1)"" is invalid: invalid perl '
                                         f"operator: `(?=` {HINT}"),
    ({"receiver": "(?<!x)console"}, 'invalid receiver regular expression "(?<!x)console": '
                                    f"invalid perl operator: `(?<!` {HINT}"),
])
async def test_query_regexes_re2_rejects_are_400(harness: Harness, query: dict[str, str],
                                                 message: str) -> None:
    await post_alerts(harness, "db-1")
    assert await request(harness, "GET", "/api/v2/alerts", **query) == (400, message)


async def test_filter_regexes_are_anchored_and_linear(harness: Harness) -> None:
    await post_alerts(harness, SLOW, "a" * 40, "db-1:9100")
    started = time.perf_counter()
    status, found = await request(harness, "GET", "/api/v2/alerts", filter='instance=~"(a+)+"')
    assert time.perf_counter() - started < 0.5
    assert status == 200 and [a["labels"]["instance"] for a in found] == ["a" * 40]
    status, found = await request(harness, "GET", "/api/v2/alerts", filter='instance=~"db-1"')
    assert (status, found) == (200, [])  # anchored: "db-1" is not all of "db-1:9100"
    status, found = await request(harness, "GET", "/api/v2/alerts", receiver="consol")
    assert (status, found) == (200, [])
    status, found = await request(harness, "GET", "/api/v2/alerts", receiver="[[:alpha:]]+")
    assert status == 200 and len(found) == 3


@pytest.mark.parametrize("name", ["instance\n", "alertname\n", "\ninstance"])
async def test_a_label_name_with_a_newline_is_400(harness: Harness, name: str) -> None:
    body = [{"labels": {"alertname": "Down", name: "db-1"}}]
    status, answer = await request(harness, "POST", "/api/v2/alerts", body)
    assert status == 400 and f'invalid label name "{name}"' in answer
    assert await request(harness, "GET", "/api/v2/alerts") == (200, [])
