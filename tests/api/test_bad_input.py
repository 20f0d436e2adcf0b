"""Input that cannot be used is refused where it comes in, with a 400 naming the field:
text with a lone surrogate, times RFC 3339 cannot write, malformed or deeply nested JSON.
The valid parts of a request are kept, and nothing stored afterwards breaks a listing."""

from __future__ import annotations

import json
import math
from typing import Any

import aiohttp
import pytest

from alertd.alerts.model import Alert
from alertd.daemon import Daemon
from alertd.model import LabelMatcher, Labels
from alertd.silence import Silence
from alertd.timefmt import rfc3339
from alertd.validation import LATEST
from tests.api.conftest import T0

S = "\ud800"  # a lone surrogate: JSON can carry it ("\ud800"), UTF-8 cannot
UNICODE = "invalid text (a lone surrogate or a NUL character)"
YEAR_10000 = "9999-12-31T23:59:59-14:00"  # 10000-01-01T13:59:59Z


async def post(http: aiohttp.ClientSession, path: str, body: object) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()  # escapes \ud800
    async with http.post(path, data=data,
                         headers={"Content-Type": "application/json"}) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def get(http: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with http.get(path) as resp:
        return resp.status, await resp.json()


def alert(name: str, **fields: Any) -> dict[str, Any]:
    return {"labels": {"alertname": name}, **fields}


def silence(**changes: Any) -> dict[str, Any]:
    return {"matchers": [{"name": "alertname", "value": "A", "isRegex": False}],
            "startsAt": rfc3339(T0), "endsAt": rfc3339(T0 + 3600), "createdBy": "ana",
            "comment": "deploy", **changes}


# --- lone surrogates ------------------------------------------------------------------------


@pytest.mark.parametrize(("item", "message"), [
    ({"labels": {"alertname": "X", "team": S}}, f"[1].labels.team: {UNICODE}"),
    ({"labels": {"alertname": "X", S: "v"}}, f"[1].labels: {UNICODE} in a name"),
    (alert("X", annotations={"summary": S}), f"[1].annotations.summary: {UNICODE}"),
    (alert("X", annotations={S: "s"}), f"[1].annotations: {UNICODE} in a name"),
    (alert("X", generatorURL="http://x/" + S), f"[1].generatorURL: {UNICODE}"),
    (alert("X", startsAt="2027-01-15T08:00:00Z" + S), f"[1].startsAt: {UNICODE}"),
    # A NUL: valid UTF-8, but PostgreSQL refuses it in text, so no store could keep it.
    (alert("X", annotations={"summary": "a\x00b"}), f"[1].annotations.summary: {UNICODE}"),
])
async def test_alerts_with_a_lone_surrogate_are_refused_naming_index_and_field(
        http: aiohttp.ClientSession, item: dict[str, Any], message: str) -> None:
    status, answer = await post(http, "/api/v2/alerts", [alert("Ok"), item])
    assert (status, answer) == (400, message)
    _, listed = await get(http, "/api/v2/alerts")
    assert [a["labels"]["alertname"] for a in listed] == ["Ok"]  # the valid one was kept


@pytest.mark.parametrize(("change", "message"), [
    ({"createdBy": S}, f"createdBy in body: {UNICODE}"),
    ({"comment": "x" + S}, f"comment in body: {UNICODE}"),
    ({"matchers": [{"name": "alertname", "value": S, "isRegex": False}]},
     f"matchers.0.value in body: {UNICODE}"),
    ({"matchers": [{"name": S, "value": "x", "isRegex": False}]},
     f"matchers.0.name in body: {UNICODE}"),
    ({"annotations": {"ticket": S}}, f"annotations.ticket in body: {UNICODE}"),
])
async def test_silences_with_a_lone_surrogate_are_refused_naming_the_field(
        http: aiohttp.ClientSession, change: dict[str, Any], message: str) -> None:
    assert await post(http, "/api/v2/silences", silence(**change)) == (400, message)
    assert await get(http, "/api/v2/silences") == (200, [])


async def test_pushed_samples_with_a_lone_surrogate_are_refused_naming_sample_and_field(
        http: aiohttp.ClientSession, daemon: Daemon) -> None:
    status, answer = await post(http, "/api/alertd/v1/samples", [
        {"metric": "errors", "labels": {"model": "churn"}, "value": 1},
        {"metric": "errors", "labels": {"model": S}, "value": 2},
        {"metric": "errors" + S, "value": 3},
        {"metric": "errors", "labels": {S: "x"}, "value": 4},
    ])
    assert status == 400
    assert answer == {"accepted": 1, "errors": [
        {"index": 1, "field": "labels.model", "message": UNICODE},
        {"index": 2, "field": "metric", "message": UNICODE},
        {"index": 3, "field": "labels", "message": f"{UNICODE} in a label name"},
    ]}
    assert len(daemon.windows.store) == 1
    # The fixture's stop() snapshots the windows: it would fail on a stored surrogate.


# --- times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["startsAt", "endsAt"])
async def test_alert_times_beyond_year_9999_in_utc_are_refused(
        http: aiohttp.ClientSession, field: str) -> None:
    status, answer = await post(http, "/api/v2/alerts", [alert("Late", **{field: YEAR_10000})])
    assert status == 400
    assert answer == (f'[0].{field}: date-time "{YEAR_10000}" is outside the years 1 to '
                      "9999 (UTC)")
    assert (await get(http, "/api/v2/alerts"))[0] == 200
    assert (await get(http, "/api/v2/alerts/groups"))[0] == 200


@pytest.mark.parametrize("field", ["startsAt", "endsAt"])
async def test_silence_times_beyond_year_9999_in_utc_are_refused(
        http: aiohttp.ClientSession, field: str) -> None:
    status, answer = await post(http, "/api/v2/silences", silence(**{field: YEAR_10000}))
    assert (status, answer) == (
        400, f'{field} in body: "{YEAR_10000}" is outside the years 1 to 9999 (UTC)')
    assert await get(http, "/api/v2/silences") == (200, [])


@pytest.mark.parametrize(("timestamp", "message"), [
    (YEAR_10000, f'"{YEAR_10000}" is outside the years 1 to 9999 (UTC)'),
    (math.nan, "must be unix seconds, got nan"),
    (math.inf, "must be unix seconds, got inf"),
    (-math.inf, "must be unix seconds, got -inf"),
    (10 ** 400, "must be unix seconds, got " + "1" + "0" * 63 + "..."),
])
async def test_sample_timestamps_that_are_no_time_are_refused(
        http: aiohttp.ClientSession, timestamp: object, message: str) -> None:
    # json.dumps writes NaN and Infinity as Python's json reads them (not RFC 8259 JSON).
    status, answer = await post(http, "/api/alertd/v1/samples",
                                {"metric": "m", "value": 1, "timestamp": timestamp})
    assert (status, answer) == (400, {"accepted": 0, "errors": [
        {"index": None, "field": "timestamp", "message": message}]})


async def test_times_stored_beyond_what_rfc3339_writes_are_listed_clamped(
        http: aiohttp.ClientSession, daemon: Daemon) -> None:
    """Defence in depth: values stored before the checks (or by other means) never make a
    listing fail; here an alert merged in directly and a silence read from the store as
    it would be after a restart."""
    daemon.alerts.put([Alert(Labels({"alertname": "Far"}), {}, T0, LATEST + 1e9, T0)], T0)
    assert daemon.store is not None
    far = Silence(id="6a1f0d5e-0000-4000-8000-000000000001",
                  matchers=(LabelMatcher("alertname", "=", "Far"),), starts_at=T0,
                  ends_at=LATEST * 10, created_by="ana", comment="old", updated_at=T0)
    await daemon.store.silences.save(far)
    await daemon.notifications.silences.load(T0)
    status, alerts = await get(http, "/api/v2/alerts")
    assert status == 200 and alerts[0]["endsAt"] == "9999-12-31T23:59:59.999Z"
    assert alerts[0]["status"]["silencedBy"] == [far.id]
    assert (await get(http, "/api/v2/alerts/groups"))[0] == 200
    status, silences = await get(http, "/api/v2/silences")
    assert status == 200 and silences[0]["endsAt"] == "9999-12-31T23:59:59.999Z"


@pytest.mark.parametrize(("t", "text"), [
    (T0, "2027-01-15T08:00:00.000Z"),
    (LATEST, "9999-12-31T23:59:59.999Z"),
    (253_402_300_799.999_999_9, "9999-12-31T23:59:59.999Z"),  # rounds into year 10000
    (1e300, "9999-12-31T23:59:59.999Z"),
    (math.inf, "9999-12-31T23:59:59.999Z"),
    (-1e300, "0001-01-01T00:00:00.000Z"),
    (-math.inf, "0001-01-01T00:00:00.000Z"),
    (math.nan, "0001-01-01T00:00:00.000Z"),
])
def test_rfc3339_never_raises(t: float, text: str) -> None:
    assert rfc3339(t) == text


# --- malformed JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v2/alerts", "/api/v2/silences",
                                  "/api/alertd/v1/samples"])
@pytest.mark.parametrize(("body", "reason"), [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
    (b'[{"labels": {"alertname": "x"}, "n": NaN}]', "NaN"),
    (b"\xff\xfe[]", "not UTF-8"),
    (b"", "empty"),
    (b"[1, 2", "invalid JSON"),
])
async def test_malformed_bodies_are_a_400_with_a_reason(
        http: aiohttp.ClientSession, path: str, body: bytes, reason: str) -> None:
    if path.endswith("samples") and reason == "NaN":
        return  # pushed samples take NaN, as Python's json writes it (see push.py)
    status, answer = await post(http, path, body)
    assert status == 400, answer
    assert reason in json.dumps(answer)


async def test_a_charset_in_the_content_type_does_not_change_json(
        http: aiohttp.ClientSession) -> None:
    # JSON is UTF-8 (RFC 8259); an unknown charset used to raise while decoding.
    async with http.post("/api/v2/alerts", data=json.dumps([alert("A")]).encode(),
                         headers={"Content-Type": "application/json; charset=nope"}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
