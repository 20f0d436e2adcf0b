"""`alertd silence add|query|expire` against a real server, printing what amtool prints."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from alertd.silence import SilenceError
from alertd.silence.cli import build_silence, render, select, silence, tabulate
from alertd.silence.model import parse_time
from tests.silence.conftest import HOUR, T0, WALL_CLOCK, Api, start_api

AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


@pytest.fixture
def api(wall_clock_api: Api) -> Api:
    return wall_clock_api


async def cli(api: Api | None, *args: str, url: str | None = None) -> Result:
    """The command, run off the event loop (it makes blocking requests to the server)."""
    target = url or (api.url if api is not None else "")
    runner = CliRunner(env={"ALERTD_URL": None, "ALERTD_TOKEN": None})
    return await asyncio.to_thread(runner.invoke, silence, [*args, f"--alertd.url={target}"])


async def amtool(api: Api, *args: str) -> str:
    if not os.access(AMTOOL, os.X_OK):
        pytest.fail(f"amtool is not installed ({AMTOOL}): the output is compared with it",
                    pytrace=False)
    proc = await asyncio.create_subprocess_exec(
        AMTOOL, f"--alertmanager.url={api.url}", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={"HOME": "/nonexistent", "TZ": "UTC"})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


async def test_add_query_expire(api: Api) -> None:
    sid = ok(await cli(api, "add", "Foo", 'severity=~"page|ticket"', "env!=dev", "-c", "deploy",
                       "-a", "ana", "-d", "2h")).strip()
    s = api.silences.get(sid)
    assert s is not None
    assert [str(m) for m in s.matchers] == ['alertname="Foo"', 'severity=~"page|ticket"',
                                            'env!="dev"']
    assert (s.created_by, s.comment, s.expire_on_resolve) == ("ana", "deploy", False)
    assert 2 * HOUR - 10 < s.ends_at - s.starts_at <= 2 * HOUR
    other = ok(await cli(api, "add", "alertname=Bar", "-c", "x", "--expire-on-resolve",
                         "--start=2099-01-01T00:00:00Z", "--end=2099-01-02T00:00:00Z")).strip()
    pending = api.silences.get(other)
    assert pending is not None and pending.expire_on_resolve
    assert pending.starts_at == parse_time("2099-01-01T00:00:00Z")

    assert ok(await cli(api, "query", "-q")).split() == [sid, other]
    assert ok(await cli(api, "query", "-q", "Bar")).split() == [other]
    assert ok(await cli(api, "query", "-q", 'severity="page|ticket"')).split() == [sid]

    assert ok(await cli(api, "expire", sid, other)) == ""
    assert ok(await cli(api, "query", "-q")) == ""
    assert sorted(ok(await cli(api, "query", "--expired", "-q")).split()) == sorted([sid, other])


async def test_tables_are_amtools_own(api: Api) -> None:
    ok(await cli(api, "add", "Foo", 'msg="say \\"hi\\""', "-c", "first one", "-a", "ana",
                 "-d", "3h"))
    ok(await cli(api, "add", "alertname=Bar", "team!~db.*", "-c", "x", "-a", "bo", "-d", "1h"))
    ok(await cli(api, "add", "Baz", "-c", "x", "-a", "bo", "--start=2099-01-01T00:00:00Z",
                 "--end=2099-01-01T01:00:00Z"))
    for args in ([], ["-o", "extended"], ["-q"], ["alertname=~B.*"], ["--created-by=bo"]):
        mine = ok(await cli(api, "query", *args))
        assert mine == await amtool(api, "silence", "query", *args), args
    expired = ok(await cli(api, "query", "-q", "Bar")).strip()
    ok(await cli(api, "expire", expired))
    for args in (["--expired"], ["--expired", "-o", "extended"]):
        assert ok(await cli(api, "query", *args)) == await amtool(api, "silence", "query", *args)


async def test_refusals_are_errors_with_alertds_words(api: Api) -> None:
    result = await cli(api, "add", "Foo")
    assert isinstance(result.exception, SilenceError)
    assert str(result.exception) == "comment required by config"
    assert ok(await cli(api, "add", "Foo", "--no-require-comment")).strip()
    result = await cli(api, "add", 'foo=~".*"', "-c", "x")
    assert isinstance(result.exception, SilenceError)
    assert str(result.exception) == ("[POST /api/v2/silences] 400: at least one matcher must "
                                     "not match the empty string")
    result = await cli(api, "expire", str(uuid.uuid4()))
    assert str(result.exception).endswith("404: silence not found")
    result = await cli(api, "expire")
    assert str(result.exception) == "no silence IDs specified"
    result = await cli(None, "query", url="http://127.0.0.1:1")
    assert str(result.exception).startswith('cannot reach alertd at "http://127.0.0.1:1"')


async def test_tokens_from_the_environment_or_a_flag() -> None:
    api = await start_api(clock=WALL_CLOCK, write_tokens=frozenset({"w"}))
    try:
        result = await cli(api, "add", "Foo", "-c", "x")
        assert str(result.exception).endswith("401: missing bearer token")
        assert ok(await cli(api, "add", "Foo", "-c", "x", "--token=w")).strip()
        runner = CliRunner(env={"ALERTD_URL": api.url, "ALERTD_TOKEN": "w"})
        result = await asyncio.to_thread(runner.invoke, silence, ["add", "Bar", "-c", "x"])
        assert result.exit_code == 0, result.exception
        assert len(api.silences) == 2
    finally:
        await api.server.close()


# --- without a server -----------------------------------------------------------------------

def test_build_silence_like_amtool() -> None:
    body = build_silence(["Foo", "env!=dev"], author="ana", comment="c", duration="1h30m",
                         start=None, end=None, now=T0 + 0.1234)
    assert body == {
        "matchers": [{"name": "alertname", "value": "Foo", "isRegex": False, "isEqual": True},
                     {"name": "env", "value": "dev", "isRegex": False, "isEqual": False}],
        "startsAt": "2023-11-14T22:13:20.123Z",
        "endsAt": "2023-11-14T23:43:20.123Z",
        "createdBy": "ana",
        "comment": "c",
    }
    body = build_silence(['a b c'], author="", comment="", duration="1h", start=None,
                         end="2023-11-15T00:00:00+01:00", now=T0, require_comment=False,
                         expire_on_resolve=True)
    assert body["matchers"][0]["value"] == "a b c"  # a bare alertname with spaces
    assert body["endsAt"] == "2023-11-14T23:00:00.000Z" and body["expireOnResolve"] is True


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"matchers": []}, "no matchers specified"),
    ({"duration": "0"}, "silence duration must be greater than 0"),
    ({"duration": "soon"}, 'invalid duration "soon"'),
    ({"start": "2023-11-15T00:00:00Z", "end": "2023-11-14T00:00:00Z"},
     "silence cannot start after it ends"),
    ({"end": "tomorrow"}, 'invalid time "tomorrow"'),
    ({"matchers": ["Foo", "a=~("]}, "invalid regular expression"),
    ({"matchers": ["Foo", 'a="b']}, "unescaped double quote"),
])
def test_build_silence_errors(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"matchers": ["Foo"], "author": "a", "comment": "c",
                            "duration": "1h", "start": None, "end": None, "now": T0}
    args.update(kwargs)
    with pytest.raises(SilenceError, match=message):
        build_silence(**args)


def test_select_like_amtool_query() -> None:
    def s(sid: str, ends: str, by: str = "ana") -> dict[str, Any]:
        return {"id": sid, "endsAt": ends, "createdBy": by}

    items = [s("soon", "2023-11-14T22:30:00Z"), s("late", "2023-11-15T22:30:00Z", "bo"),
             s("gone", "2023-11-14T22:00:00Z"), s("long-gone", "2023-11-10T00:00:00Z")]

    def ids(**kw: Any) -> list[str]:
        return [x["id"] for x in select(items, now=T0, **kw)]

    assert ids(expired=False) == ["soon", "late"]
    assert ids(expired=True) == ["gone", "long-gone"]
    assert ids(expired=False, within=HOUR) == ["soon"]
    assert ids(expired=True, within=HOUR) == ["gone"]
    assert ids(expired=False, created_by="bo") == ["late"]


def test_tabulate_pads_every_cell_like_gos_tabwriter(tmp_path: Path) -> None:
    assert tabulate([["ID", "Comment"], ["abc", "x"]]) == "ID   Comment  \nabc  x        "
    assert render([], "simple") == "ID  Matchers  Ends At  Created By  Comment  "
    assert render([], "json") == "[]"
