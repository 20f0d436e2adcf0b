"""Bearer tokens follow the configuration: a reload that rotates them applies to every
endpoint at once, and a rotated token file applies without one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from alertd.daemon import Daemon
from tests.api.conftest import CONFIG, start_daemon, write_config

READS = [
    "/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/silences", "/api/v2/receivers",
    "/api/v2/status", "/api/alertd/v1/history?alertname=X", "/api/alertd/v1/rules",
    "/api/alertd/v1/status", "/api/alertd/v1/alerts/0123456789abcdef/history",
]
SILENCE = {"matchers": [{"name": "alertname", "value": "A", "isRegex": False}],
           "startsAt": "2027-01-15T08:00:00Z", "endsAt": "2027-01-15T09:00:00Z",
           "createdBy": "ana", "comment": "x"}


def tokens(write: str, read: str) -> str:
    return f"api:\n  write_tokens: [{write}]\n  read_tokens: [{read}]\n"


@pytest.fixture
async def rotated(tmp_path: Path) -> AsyncIterator[Daemon]:
    """Started with write token A and read token R, then reloaded with B and S."""
    config = write_config(tmp_path, tokens("token-A", "token-R"))
    daemon = await start_daemon(config)
    try:
        write_config(tmp_path, tokens("token-B", "token-S"))
        async with aiohttp.ClientSession(daemon.listen_url) as http, http.post(
                "/-/reload", headers=bearer("token-A")) as resp:
            assert resp.status == 200, await resp.text()
        yield daemon
    finally:
        await daemon.stop()


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def status(http: aiohttp.ClientSession, method: str, path: str, token: str, *,
                 scheme: str = "Bearer", body: object = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    async with http.request(method, path, data=data, headers={
            **bearer(token, scheme), "Content-Type": "application/json"}) as resp:
        await resp.read()
        return resp.status


async def test_a_reload_rotates_the_tokens_of_every_endpoint(rotated: Daemon) -> None:
    async with aiohttp.ClientSession(rotated.listen_url) as http:
        for token in ("token-A", "token-R", "token-S"):
            for method, path, body in [("POST", "/api/v2/alerts", [{"labels": {"a": "b"}}]),
                                       ("POST", "/api/v2/silences", SILENCE),
                                       ("POST", "/-/reload", None)]:
                assert await status(http, method, path, token, body=body) == 401, (token, path)
        for token in ("token-A", "token-R"):
            for path in READS:
                assert await status(http, "GET", path, token) == 401, (token, path)

        async with http.post("/api/v2/silences", json=SILENCE,
                             headers=bearer("token-B", "bearer")) as resp:
            assert resp.status == 200  # the scheme is case-insensitive (RFC 6750)
            sid = (await resp.json())["silenceID"]
        for token in ("token-B", "token-S"):
            for path in [*READS, f"/api/v2/silence/{sid}"]:
                assert await status(http, "GET", path, token, scheme="bearer") == 200, path
        assert await status(http, "DELETE", f"/api/v2/silence/{sid}", "token-A") == 401
        assert await status(http, "DELETE", f"/api/v2/silence/{sid}", "token-S") == 401
        assert await status(http, "DELETE", f"/api/v2/silence/{sid}", "token-B",
                            scheme="BEARER") == 200
        assert await status(http, "POST", "/api/v2/alerts", "token-B",
                            body=[{"labels": {"a": "b"}}]) == 200
        assert await status(http, "POST", "/-/reload", "token-B") == 200


async def test_removing_every_write_token_opens_writes_everywhere(tmp_path: Path) -> None:
    config = write_config(tmp_path, tokens("token-A", "token-R"))
    daemon = await start_daemon(config)
    try:
        write_config(tmp_path, "api:\n  read_tokens: [token-R]\n")
        async with aiohttp.ClientSession(daemon.listen_url) as http:
            assert await status(http, "POST", "/-/reload", "token-A") == 200
            async with http.post("/api/v2/silences", json=SILENCE) as resp:
                assert resp.status == 200
                sid = (await resp.json())["silenceID"]
            async with http.delete(f"/api/v2/silence/{sid}") as resp:
                assert resp.status == 200
            async with http.post("/api/v2/alerts", json=[{"labels": {"a": "b"}}]) as resp:
                assert resp.status == 200
            async with http.get("/api/v2/silences") as resp:
                assert resp.status == 401  # reads still need token-R
    finally:
        await daemon.stop()


async def test_a_rotated_token_file_applies_at_the_next_request(tmp_path: Path) -> None:
    secret = tmp_path / "write-token"
    secret.write_text("token-A\n")
    daemon = await start_daemon(write_config(tmp_path, f"api:\n  write_token_files: [{secret}]\n"))
    try:
        async with aiohttp.ClientSession(daemon.listen_url) as http:
            body = [{"labels": {"a": "b"}}]
            assert await status(http, "POST", "/api/v2/alerts", "token-A", body=body) == 200
            secret.write_text("token-B\n")
            assert await status(http, "POST", "/api/v2/alerts", "token-A", body=body) == 401
            assert await status(http, "POST", "/api/v2/silences", "token-B",
                                body=SILENCE) == 200
            secret.unlink()  # cannot be read: refused, never opened
            assert await status(http, "POST", "/api/v2/alerts", "token-B", body=body) == 503
    finally:
        await daemon.stop()


async def test_the_samples_endpoint_takes_its_own_tokens_through_the_same_check(
        tmp_path: Path) -> None:
    config = tmp_path / "alertd.yml"
    config.write_text(CONFIG.replace(
        "prometheus: {enabled: false}",
        "prometheus: {enabled: false}\n  webhook: {bearer_tokens: [push-token]}")
        + tokens("token-A", "token-R"))
    daemon = await start_daemon(config)
    samples = [{"metric": "m", "labels": {"a": "b"}, "value": 1}]
    try:
        async with aiohttp.ClientSession(daemon.listen_url) as http:
            async with http.post("/api/alertd/v1/samples", json=samples) as resp:
                assert resp.status == 401
                assert await resp.json() == {"error": "missing bearer token"}
                assert resp.headers["WWW-Authenticate"] == 'Bearer realm="alertd"'
            async with http.post("/api/alertd/v1/samples", json=samples,
                                 headers=bearer("token-A")) as resp:
                assert resp.status == 401  # the API's tokens do not open it
                assert await resp.json() == {"error": "invalid bearer token"}
                assert resp.headers["WWW-Authenticate"] == (
                    'Bearer realm="alertd", error="invalid_token"')
            assert await status(http, "POST", "/api/alertd/v1/samples", "push-token",
                                body=samples) == 202
    finally:
        await daemon.stop()


async def test_refusals_have_the_error_body_of_their_endpoint(rotated: Daemon) -> None:
    async with aiohttp.ClientSession(rotated.listen_url) as http:
        async with http.get("/api/v2/alerts") as resp:
            assert (resp.status, await resp.json()) == (401, "missing bearer token")
        async with http.get("/api/v2/silences") as resp:
            assert (resp.status, await resp.json()) == (401, "missing bearer token")
        async with http.get("/api/alertd/v1/rules") as resp:
            assert (resp.status, await resp.json()) == (401, {"error": "missing bearer token"})
        async with http.get("/api/alertd/v1/report") as resp:
            assert (resp.status, await resp.json()) == (401, {"error": "missing bearer token"})
        async with http.post("/-/reload") as resp:
            assert (resp.status, await resp.json()) == (
                401, {"status": "error", "error": "missing bearer token"})
