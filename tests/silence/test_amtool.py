"""The real `amtool` (Alertmanager 0.25) against alertd's silence API on a free port.

amtool needs nothing but the four silence endpoints for its silence commands. It reads the
real clock (a silence it adds starts at its "now"; `query` hides silences that ended before
its "now"), so the server here keeps real time; the state rules themselves are tested with
a fake clock in test_silences.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from alertd.silence.model import parse_time
from tests.silence.conftest import WALL_CLOCK, Api, start_api

AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def api(wall_clock_api: Api) -> Api:
    return wall_clock_api


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # amtool reads $HOME/.config/amtool/config.yml: keep whatever is there out of the tests.
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


async def amtool(api: Api, home: Path, *args: str) -> Run:
    if not os.access(AMTOOL, os.X_OK):
        pytest.fail(f"amtool is not installed ({AMTOOL}): these tests drive the real binary; "
                    "install Debian's prometheus-alertmanager", pytrace=False)
    proc = await asyncio.create_subprocess_exec(
        AMTOOL, f"--alertmanager.url={api.url}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(home), "USER": "tester",
             "TZ": "UTC"})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def get_silence(api: Api, sid: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{api.url}/api/v2/silence/{sid}") as r:
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


def table(text: str) -> list[list[str]]:
    """amtool's simple table as rows of cells (cells are separated by two spaces or more)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


async def test_add_query_update_expire(api: Api, home: Path) -> None:
    added = await amtool(api, home, "silence", "add", "alertname=Foo", 'severity=~"page|ticket"',
                         "--comment=x", "--author=y", "--duration=1h")
    assert added.code == 0, added.stderr
    sid = added.stdout.strip()
    assert uuid.UUID(sid).version == 4

    got = await get_silence(api, sid)
    assert got["matchers"] == [
        {"name": "alertname", "value": "Foo", "isRegex": False, "isEqual": True},
        {"name": "severity", "value": "page|ticket", "isRegex": True, "isEqual": True},
    ]
    assert (got["status"], got["createdBy"], got["comment"]) == ({"state": "active"}, "y", "x")
    length = parse_time(got["endsAt"]) - parse_time(got["startsAt"])
    assert 3590 < length <= 3600  # an hour from amtool's now; starts at alertd's

    query = await amtool(api, home, "silence", "query")
    assert query.code == 0, query.stderr
    rows = table(query.stdout)
    assert rows[0] == ["ID", "Matchers", "Ends At", "Created By", "Comment"]
    assert rows[1][0] == sid and rows[1][1] == 'alertname="Foo" severity=~"page|ticket"'
    assert rows[1][3:] == ["y", "x"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", rows[1][2])
    assert (await amtool(api, home, "silence", "query", "-q")).stdout.split() == [sid]
    assert (await amtool(api, home, "silence", "query", "-q", "Foo")).stdout.split() == [sid]
    assert (await amtool(api, home, "silence", "query", "-q", "alertname=Bar")).stdout == ""
    assert (await amtool(api, home, "silence", "query", "-q",
                         'severity=~"page.*"')).stdout.split() == [sid]

    # update reads the silence and posts it back with a new end: same id, in place.
    update = await amtool(api, home, "silence", "update", sid, "--duration=2h",
                          "--comment=longer")
    assert update.code == 0, update.stderr
    assert table(update.stdout)[1][0] == sid
    got2 = await get_silence(api, sid)
    assert got2["startsAt"] == got["startsAt"] and got2["comment"] == "longer"
    assert parse_time(got2["endsAt"]) == parse_time(got["startsAt"]) + 7200
    assert len(api.silences) == 1

    expire = await amtool(api, home, "silence", "expire", sid)
    assert expire.code == 0, expire.stderr
    assert (await get_silence(api, sid))["status"] == {"state": "expired"}
    assert (await amtool(api, home, "silence", "query", "-q")).stdout == ""
    expired = await amtool(api, home, "silence", "query", "--expired", "-q")
    assert expired.stdout.split() == [sid]

    again = await amtool(api, home, "silence", "expire", sid)
    assert again.code != 0 and f"silence {sid} already expired" in again.stderr


async def test_pending_silences_and_their_updates(api: Api, home: Path) -> None:
    added = await amtool(api, home, "silence", "add", "job=api", "-c", "maintenance", "-a", "y",
                         "--start=2099-01-01T00:00:00Z", "--end=2099-01-01T02:00:00+01:00")
    assert added.code == 0, added.stderr
    sid = added.stdout.strip()
    got = await get_silence(api, sid)
    assert got["status"] == {"state": "pending"}
    assert (got["startsAt"], got["endsAt"]) == ("2099-01-01T00:00:00.000Z",
                                                "2099-01-01T01:00:00.000Z")
    # A pending silence may move to another future start in place.
    update = await amtool(api, home, "silence", "update", sid, "--start=2099-01-01T00:30:00Z",
                          "--end=2099-01-01T03:00:00Z")
    assert update.code == 0, update.stderr
    got = await get_silence(api, sid)
    assert (got["startsAt"], got["endsAt"]) == ("2099-01-01T00:30:00.000Z",
                                                "2099-01-01T03:00:00.000Z")
    assert len(api.silences) == 1
    # Expiring a pending silence makes it start and end now.
    assert (await amtool(api, home, "silence", "expire", sid)).code == 0
    got = await get_silence(api, sid)
    assert got["status"] == {"state": "expired"} and got["startsAt"] == got["endsAt"]


async def test_query_output_json_then_import(api: Api, home: Path, tmp_path: Path) -> None:
    for name in ("A", "B"):
        run = await amtool(api, home, "silence", "add", name, 'env!="dev"', "-c", f"c{name}",
                           "-a", "y")
        assert run.code == 0, run.stderr
    exported = await amtool(api, home, "silence", "query", "-o", "json")
    assert exported.code == 0, exported.stderr
    silences = json.loads(exported.stdout)
    assert sorted(s["comment"] for s in silences) == ["cA", "cB"]
    path = tmp_path / "silences.json"
    path.write_text(exported.stdout)

    # Without --force the ids are kept: each silence is updated in place.
    run = await amtool(api, home, "silence", "import", str(path))
    assert run.code == 0, run.stderr
    assert sorted(run.stdout.split()) == sorted(s["id"] for s in silences)
    assert len(api.silences) == 2
    # With --force, new silences.
    run = await amtool(api, home, "silence", "import", "--force", str(path))
    assert run.code == 0, run.stderr
    assert len(run.stdout.split()) == 2 and not set(run.stdout.split()) & {s["id"]
                                                                           for s in silences}
    assert len(api.silences) == 4


async def test_alertd_refusals_reach_the_amtool_user(api: Api, home: Path) -> None:
    run = await amtool(api, home, "silence", "add", 'foo=~".*"', "-c", "x")
    assert run.code != 0
    assert "at least one matcher must not match the empty string" in run.stderr
    # The API answers 404 to an unknown id, as the spec says; amtool 0.25's client predates
    # that answer in the spec, and says so.
    run = await amtool(api, home, "silence", "expire", str(uuid.uuid4()))
    assert run.code != 0 and "status 404" in run.stderr


async def test_bearer_token_from_amtool_http_config(home: Path, tmp_path: Path) -> None:
    api = await start_api(clock=WALL_CLOCK, write_tokens=frozenset({"s3cret"}),
                          read_tokens=frozenset({"reader"}))
    try:
        denied = await amtool(api, home, "silence", "add", "Foo", "-c", "x")
        assert denied.code != 0 and "401" in denied.stderr
        config = tmp_path / "http.yml"
        config.write_text("authorization:\n  type: Bearer\n  credentials: s3cret\n")
        added = await amtool(api, home, f"--http.config.file={config}", "silence", "add", "Foo",
                             "-c", "x")
        assert added.code == 0, added.stderr
        assert (await amtool(api, home, "silence", "query")).code != 0
        config.write_text("authorization:\n  credentials: reader\n")
        query = await amtool(api, home, f"--http.config.file={config}", "silence", "query",
                             "-q")
        assert query.stdout.split() == [added.stdout.strip()]
    finally:
        await api.server.close()
