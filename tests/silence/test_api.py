"""Alertmanager's v2 silence API: shapes per the OpenAPI spec, errors, bearer tokens."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from alertd.clock import FakeClock
from tests.silence.conftest import HOUR, T0, Api, start_api

GETTABLE_KEYS = {"id", "status", "updatedAt", "matchers", "startsAt", "endsAt", "createdBy",
                 "comment", "annotations", "expireOnResolve"}


def postable(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matchers": [{"name": "alertname", "value": "Foo", "isRegex": False, "isEqual": True},
                     {"name": "severity", "value": "page|ticket", "isRegex": True}],
        "startsAt": "2023-11-14T22:13:20.000Z",  # T0
        "endsAt": "2023-11-14T23:13:20.000Z",
        "createdBy": "ana",
        "comment": "deploy",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
async def http(api: Api) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(api.url) as session:
        yield session


async def post(http: aiohttp.ClientSession, body: Any, **kw: Any) -> tuple[int, Any]:
    async with http.post("/api/v2/silences", json=body, **kw) as r:
        return r.status, await r.json(content_type=None)


async def get(http: aiohttp.ClientSession, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.get(path, **kw) as r:
        text = await r.text()
        return r.status, (None if not text else await r.json(content_type=None))


async def test_post_then_get_in_the_spec_shape(api: Api, http: aiohttp.ClientSession) -> None:
    status, body = await post(http, postable())
    assert status == 200 and set(body) == {"silenceID"}
    sid = body["silenceID"]
    assert uuid.UUID(sid).version == 4
    status, got = await get(http, f"/api/v2/silence/{sid}")
    assert status == 200
    assert got == {
        "id": sid,
        "status": {"state": "active"},
        "updatedAt": "2023-11-14T22:13:20.000Z",
        "matchers": [
            {"name": "alertname", "value": "Foo", "isRegex": False, "isEqual": True},
            {"name": "severity", "value": "page|ticket", "isRegex": True, "isEqual": True},
        ],
        "startsAt": "2023-11-14T22:13:20.000Z",
        "endsAt": "2023-11-14T23:13:20.000Z",
        "createdBy": "ana",
        "comment": "deploy",
        "annotations": {},
        "expireOnResolve": False,
    }
    status, listed = await get(http, "/api/v2/silences")
    assert status == 200 and listed == [got]


async def test_negative_matchers_offsets_and_extensions(api: Api,
                                                        http: aiohttp.ClientSession) -> None:
    status, body = await post(http, postable(
        matchers=[{"name": "env", "value": "prod", "isRegex": False, "isEqual": False},
                  {"name": "team", "value": "db.*", "isRegex": True, "isEqual": False},
                  {"name": "alertname", "value": "Foo", "isRegex": False}],
        startsAt="2023-11-15T00:13:20.5+02:00", endsAt="2023-11-14T23:13:20.123456789Z",
        expireOnResolve=True, annotations={"ticket": "OPS-1"}))
    assert status == 200, body
    s = api.silences.get(body["silenceID"])
    assert s is not None
    assert [m.op for m in s.matchers] == ["!=", "!~", "="]
    assert (s.starts_at, s.ends_at) == (T0 + 0.5, T0 + HOUR + 0.123)
    assert s.expire_on_resolve and dict(s.annotations) == {"ticket": "OPS-1"}
    _, got = await get(http, f"/api/v2/silence/{s.id}")
    assert set(got) == GETTABLE_KEYS
    assert got["startsAt"] == "2023-11-14T22:13:20.500Z"
    assert got["endsAt"] == "2023-11-14T23:13:20.123Z"
    assert got["expireOnResolve"] is True and got["annotations"] == {"ticket": "OPS-1"}
    assert [(m["isRegex"], m["isEqual"]) for m in got["matchers"]] == [
        (False, False), (True, False), (False, True)]


async def test_update_in_place_keeps_the_id_and_alertd_fields(
        api: Api, http: aiohttp.ClientSession) -> None:
    _, body = await post(http, postable(expireOnResolve=True, annotations={"a": "b"}))
    sid = body["silenceID"]
    assert isinstance(api.clock, FakeClock)
    api.clock.advance(60)
    # What an Alertmanager client sends back: the GET body, without alertd's fields.
    _, got = await get(http, f"/api/v2/silence/{sid}")
    update = {k: got[k] for k in ("matchers", "startsAt", "createdBy", "comment")}
    update.update(id=sid, endsAt="2023-11-15T00:13:20.000Z", comment="longer")
    status, body = await post(http, update)
    assert (status, body) == (200, {"silenceID": sid})
    _, got = await get(http, f"/api/v2/silence/{sid}")
    assert got["endsAt"] == "2023-11-15T00:13:20.000Z" and got["comment"] == "longer"
    assert got["updatedAt"] == "2023-11-14T22:14:20.000Z"
    assert got["expireOnResolve"] is True and got["annotations"] == {"a": "b"}
    # Given explicitly, they change.
    status, body = await post(http, {**update, "expireOnResolve": False, "annotations": {}})
    assert body == {"silenceID": sid}
    _, got = await get(http, f"/api/v2/silence/{sid}")
    assert got["expireOnResolve"] is False and got["annotations"] == {}


async def test_update_of_an_active_start_replaces_the_silence(
        api: Api, http: aiohttp.ClientSession) -> None:
    _, body = await post(http, postable())
    sid = body["silenceID"]
    assert isinstance(api.clock, FakeClock)
    api.clock.advance(60)
    status, body = await post(http, postable(id=sid, startsAt="2023-11-14T22:13:50.000Z"))
    assert status == 200 and body["silenceID"] != sid
    _, old = await get(http, f"/api/v2/silence/{sid}")
    assert old["status"] == {"state": "expired"} and old["endsAt"] == "2023-11-14T22:14:20.000Z"
    _, new = await get(http, f"/api/v2/silence/{body['silenceID']}")
    assert new["status"] == {"state": "active"}
    assert new["startsAt"] == "2023-11-14T22:14:20.000Z"  # not in the past: now


@pytest.mark.parametrize(("body", "message"), [
    ([], "the body must be a JSON object"),
    (postable(matchers=None), "matchers in body is required"),
    (postable(matchers=[]), "matchers in body should have at least 1 items"),
    (postable(createdBy=None), "createdBy in body is required"),
    (postable(comment=None), "comment in body is required"),
    (postable(startsAt=None), "startsAt in body is required"),
    (postable(endsAt="tomorrow"), 'endsAt in body must be of type date-time: "tomorrow"'),
    (postable(endsAt="2023-02-30T00:00:00Z"), "endsAt in body must be of type date-time"),
    (postable(comment=3), "comment in body must be of type string"),
    (postable(expireOnResolve="yes"), "expireOnResolve in body must be of type boolean"),
    (postable(annotations={"a": 1}), "annotations in body must be an object of strings"),
    (postable(matchers=[{"name": "a", "value": "b"}]), "matchers.0.isRegex in body is required"),
    (postable(matchers=[{"name": "a", "value": "(", "isRegex": True}]),
     'invalid label matcher 0: invalid regular expression "("'),
    (postable(matchers=[{"name": "a", "value": ".*", "isRegex": True}]),
     "at least one matcher must not match the empty string"),
    (postable(matchers=[{"name": "a b", "value": "x", "isRegex": False}]),
     'invalid label matcher 0: invalid label name "a b"'),
    (postable(startsAt="2023-11-14T23:13:20.000Z"), "start time must be before end time"),
    (postable(endsAt="2023-11-14T22:13:19.000Z", startsAt="2023-11-14T21:00:00Z"),
     "end time can't be in the past"),
])
async def test_invalid_posts_are_400_with_a_message(http: aiohttp.ClientSession, body: Any,
                                                    message: str) -> None:
    status, answer = await post(http, body)
    assert status == 400
    assert isinstance(answer, str) and message in answer


async def test_not_json_is_400(http: aiohttp.ClientSession) -> None:
    async with http.post("/api/v2/silences", data=b"{nope") as r:
        assert r.status == 400
        assert "parsing silence body failed" in await r.json()


async def test_posting_an_unknown_id_is_404(http: aiohttp.ClientSession) -> None:
    status, answer = await post(http, postable(id=str(uuid.uuid4())))
    assert (status, answer) == (404, "silence not found")


async def test_get_and_delete_unknown_or_malformed_ids(http: aiohttp.ClientSession) -> None:
    unknown = str(uuid.uuid4())
    assert (await get(http, f"/api/v2/silence/{unknown}"))[0] == 404
    async with http.delete(f"/api/v2/silence/{unknown}") as r:
        assert r.status == 404
    # An id that is not a UUID names no silence: 404, which the spec documents (a 422
    # is not among getSilence's and deleteSilence's answers).
    assert await get(http, "/api/v2/silence/not-a-uuid") == (404, "silence not found")
    async with http.delete("/api/v2/silence/not-a-uuid") as r:
        assert (r.status, await r.json()) == (404, "silence not found")


async def test_delete_expires_and_again_is_500_as_in_alertmanager(
        api: Api, http: aiohttp.ClientSession) -> None:
    _, body = await post(http, postable())
    sid = body["silenceID"]
    async with http.delete(f"/api/v2/silence/{sid}") as r:
        assert r.status == 200
    _, got = await get(http, f"/api/v2/silence/{sid}")
    assert got["status"] == {"state": "expired"} and got["endsAt"] == "2023-11-14T22:13:20.000Z"
    async with http.delete(f"/api/v2/silence/{sid}") as r:
        assert r.status == 500
        assert await r.json() == f"silence {sid} already expired"


async def test_list_filters_and_states(api: Api, http: aiohttp.ClientSession) -> None:
    _, a = await post(http, postable())
    _, b = await post(http, postable(
        matchers=[{"name": "alertname", "value": "Bar", "isRegex": False}],
        startsAt="2023-11-15T00:00:00Z", endsAt="2023-11-15T01:00:00Z"))
    _, c = await post(http, postable(
        matchers=[{"name": "alertname", "value": "Baz", "isRegex": False}]))
    async with http.delete(f"/api/v2/silence/{c['silenceID']}"):
        pass

    async def ids(query: list[tuple[str, str]]) -> list[str]:
        status, body = await get(http, "/api/v2/silences", params=query)
        assert status == 200, body
        return [s["id"] for s in body]

    a_id, b_id, c_id = a["silenceID"], b["silenceID"], c["silenceID"]
    assert await ids([]) == [a_id, b_id, c_id]  # active, pending, expired
    assert await ids([("filter", 'alertname="Foo"')]) == [a_id]
    assert await ids([("filter", "alertname=~B.*")]) == [b_id, c_id]
    assert await ids([("filter", 'alertname!="Foo"'), ("filter", 'severity=""')]) == [b_id, c_id]
    assert await ids([("filter", 'severity="page|ticket"')]) == [a_id]
    assert await ids([("expired", "false")]) == [a_id, b_id]
    assert await ids([("active", "false"), ("pending", "0")]) == [c_id]
    status, body = await get(http, "/api/v2/silences", params=[("filter", "nonsense")])
    assert (status, body) == (400, "bad matcher format: nonsense")
    status, body = await get(http, "/api/v2/silences", params=[("active", "maybe")])
    assert status == 400 and "active in query must be of type boolean" in body


async def test_write_tokens_guard_writes_reads_stay_open() -> None:
    api = await start_api(write_tokens=frozenset({"w1", "w2"}))
    try:
        async with aiohttp.ClientSession(api.url) as http:
            status, body = await post(http, postable())
            assert (status, body) == (401, "missing bearer token")
            status, body = await post(http, postable(),
                                      headers={"Authorization": "Bearer nope"})
            assert (status, body) == (401, "invalid bearer token")
            async with http.post("/api/v2/silences", json=postable(),
                                 headers={"Authorization": "Basic dzE6"}) as r:
                assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
            status, body = await post(http, postable(), headers={"Authorization": "Bearer w2"})
            assert status == 200
            sid = body["silenceID"]
            async with http.delete(f"/api/v2/silence/{sid}") as r:
                assert r.status == 401
            assert (await get(http, "/api/v2/silences"))[0] == 200
            assert (await get(http, f"/api/v2/silence/{sid}"))[0] == 200
            async with http.delete(f"/api/v2/silence/{sid}",
                                   headers={"Authorization": "bearer w1"}) as r:
                assert r.status == 200
    finally:
        await api.server.close()


async def test_read_tokens_guard_reads_and_write_tokens_open_them_too() -> None:
    api = await start_api(write_tokens=frozenset({"w"}), read_tokens=frozenset({"r"}))
    try:
        async with aiohttp.ClientSession(api.url) as http:
            assert (await get(http, "/api/v2/silences"))[0] == 401
            unknown = f"/api/v2/silence/{uuid.uuid4()}"
            assert (await get(http, unknown))[0] == 401
            for token in ("r", "w"):
                auth = {"Authorization": f"Bearer {token}"}
                assert (await get(http, "/api/v2/silences", headers=auth))[0] == 200
                assert (await get(http, unknown, headers=auth))[0] == 404
            status, _ = await post(http, postable(), headers={"Authorization": "Bearer r"})
            assert status == 401  # a read token does not write
    finally:
        await api.server.close()

