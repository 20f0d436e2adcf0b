"""`alertd silence add|query|expire`: amtool's silence commands, against a running alertd.

They talk to alertd's Alertmanager-compatible API (so they work against Alertmanager too),
take amtool's flags and matcher syntax, and print what amtool prints.
"""

from __future__ import annotations

import getpass
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from alertd import __version__
from alertd.durations import parse_duration
from alertd.silence.model import (
    InvalidSilence,
    SilenceError,
    is_equal,
    is_regex,
    matcher_text,
    parse_matcher,
    parse_time,
)
from alertd.silence.silences import CLI_AGENT

DEFAULT_URL = "http://127.0.0.1:9095"

F = TypeVar("F", bound=Callable[..., Any])


class Client:
    """The silence endpoints of Alertmanager's v2 API, over urllib (the CLI needs no loop)."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def add(self, silence: Mapping[str, Any]) -> str:
        answer = self._call("POST", "/api/v2/silences", body=silence)
        sid = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(sid, str):
            raise SilenceError(f"alertd at {self.url} answered without a silence id: {answer!r}")
        return sid

    def query(self, filters: Sequence[str] = ()) -> list[dict[str, Any]]:
        answer = self._call("GET", "/api/v2/silences", query=[("filter", f) for f in filters])
        if not isinstance(answer, list):
            raise SilenceError(f"alertd at {self.url} answered with something else than a "
                               f"list of silences: {answer!r}")
        return answer

    def expire(self, silence_id: str) -> None:
        self._call("DELETE", "/api/v2/silence/" + urllib.parse.quote(silence_id, safe=""))

    def _call(self, method: str, path: str, *, query: Sequence[tuple[str, str]] = (),
              body: Mapping[str, Any] | None = None) -> Any:
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        # Names the CLI, so that alertd records the silences it makes as made with it.
        headers = {"Accept": "application/json", "User-Agent": f"{CLI_AGENT}/{__version__}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = "Bearer " + self._token
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                text = response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace")
            raise SilenceError(f"[{method} {path}] {exc.code}: {_message(detail)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SilenceError(f'cannot reach alertd at "{self.url}": {reason}') from None
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise SilenceError(f"[{method} {path}] the answer is not JSON: {text[:200]}") from None


def _message(body: str) -> str:
    # Alertmanager's errors are JSON strings; go-swagger's are {"code", "message"} objects.
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip() or "(no message)"
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return body.strip()


# --- what the commands do, without the command line ----------------------------------------

def with_alertname(args: Sequence[str]) -> list[str]:
    """amtool's matcher arguments, a bare first one made a matcher of the alertname."""
    texts = list(args)
    if texts:
        try:
            parse_matcher(texts[0])
        except InvalidSilence:
            texts[0] = "alertname=" + json.dumps(texts[0], ensure_ascii=False)
    return texts


def parse_matchers(args: Sequence[str]) -> list[dict[str, Any]]:
    """amtool's matcher arguments as API matchers; a bare first one is the alertname."""
    out = []
    for text in with_alertname(args):
        m = parse_matcher(text)
        out.append({"name": m.name, "value": m.value, "isRegex": is_regex(m),
                    "isEqual": is_equal(m)})
    return out


def build_silence(matchers: Sequence[str], *, author: str, comment: str, duration: str,
                  start: str | None, end: str | None, now: float,
                  require_comment: bool = True,
                  expire_on_resolve: bool | None = None) -> dict[str, Any]:
    """The postableSilence `amtool silence add` would send."""
    parsed = parse_matchers(matchers)
    if not parsed:
        raise SilenceError("no matchers specified")
    starts_at = _parse_time(start) if start else now
    if end:
        ends_at = _parse_time(end)
    else:
        seconds, problem = parse_duration(duration) if duration != "0" else (0.0, None)
        if seconds is None:
            raise SilenceError(f'invalid duration "{duration}": {problem}')
        if seconds == 0:
            raise SilenceError("silence duration must be greater than 0")
        ends_at = starts_at + seconds
    if starts_at > ends_at:
        raise SilenceError("silence cannot start after it ends")
    if require_comment and not comment:
        raise SilenceError("comment required by config")
    body: dict[str, Any] = {
        "matchers": parsed,
        "startsAt": _rfc3339(starts_at),
        "endsAt": _rfc3339(ends_at),
        "createdBy": author,
        "comment": comment,
    }
    if expire_on_resolve is not None:
        body["expireOnResolve"] = expire_on_resolve
    return body


def select(silences: Sequence[Mapping[str, Any]], *, expired: bool, now: float,
           within: float | None = None, created_by: str | None = None) -> list[Mapping[str, Any]]:
    """What `amtool silence query` shows: the unexpired silences, or with `expired` the
    expired ones; `within` keeps those ending (or that ended) within that many seconds."""
    out = []
    for s in silences:
        ends = _parse_time(str(s["endsAt"]))
        if expired != (ends <= now):
            continue
        if within and (ends > now + within if not expired else ends < now - within):
            continue
        if created_by is not None and s.get("createdBy") != created_by:
            continue
        out.append(s)
    return out


def render(silences: Sequence[Mapping[str, Any]], output: str = "simple") -> str:
    """The silences as amtool prints them: `simple` or `extended` tables, or `json`."""
    if output == "json":
        return json.dumps(list(silences), ensure_ascii=False)
    ordered = sorted(silences, key=lambda s: _parse_time(str(s["endsAt"])))
    if output == "extended":
        header = ["ID", "Matchers", "Starts At", "Ends At", "Updated At", "Created By",
                  "Comment"]
        rows = [[str(s["id"]), "{" + ",".join(_matchers(s)) + "}", _date(s["startsAt"]),
                 _date(s["endsAt"]), _date(s["updatedAt"]), str(s["createdBy"]),
                 str(s["comment"])] for s in ordered]
    else:
        header = ["ID", "Matchers", "Ends At", "Created By", "Comment"]
        rows = [[str(s["id"]), " ".join(_matchers(s)), _date(s["endsAt"]), str(s["createdBy"]),
                 str(s["comment"])] for s in ordered]
    return tabulate([header, *rows])


def tabulate(rows: Sequence[Sequence[str]], padding: int = 2) -> str:
    """Columns as Go's tabwriter lays them out for amtool: every cell padded, the last too."""
    widths = [max(len(row[i]) for row in rows) + padding for i in range(len(rows[0]))]
    return "\n".join("".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     for row in rows)


def _matchers(s: Mapping[str, Any]) -> list[str]:
    out = []
    for m in s.get("matchers") or []:
        regex, equal = bool(m.get("isRegex")), m.get("isEqual", True) is not False
        op = ("=~" if equal else "!~") if regex else ("=" if equal else "!=")
        out.append(matcher_text(str(m["name"]), op, str(m["value"])))
    return out


def _parse_time(text: str) -> float:
    try:
        return parse_time(text)
    except ValueError:
        raise SilenceError(f'invalid time "{text}": expected RFC 3339, as in '
                           "2006-01-02T15:04:05-07:00") from None


def _rfc3339(t: float) -> str:
    # Whole milliseconds, as amtool sends them.
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _date(text: Any) -> str:
    return datetime.fromtimestamp(_parse_time(str(text)), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- the commands ---------------------------------------------------------------------------

def _connection(fn: F) -> F:
    options = [
        click.option("--alertd.url", "url", envvar="ALERTD_URL", default=DEFAULT_URL,
                     show_default=True, help="The alertd (or Alertmanager) to talk to."),
        click.option("--token", envvar="ALERTD_TOKEN", default=None,
                     help="Bearer token for the API (better given as $ALERTD_TOKEN)."),
        click.option("--timeout", default="30s", show_default=True,
                     help="Timeout for each request."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _client(url: str, token: str | None, timeout: str) -> Client:
    seconds, problem = parse_duration(timeout)
    if seconds is None or seconds <= 0:
        raise SilenceError(f'invalid timeout "{timeout}": {problem or "must be positive"}')
    return Client(url, token=token, timeout=seconds)


@click.group(name="silence", context_settings={"help_option_names": ["-h", "--help"]})
def silence() -> None:
    """Add, expire or view silences (as `amtool silence` does)."""


@silence.command()
@click.option("-a", "--author", default=None, help="Username for the createdBy field "
              "(default: the current user).")
@click.option("-c", "--comment", default="", help="A comment to help describe the silence.")
@click.option("-d", "--duration", default="1h", show_default=True, help="Duration of silence.")
@click.option("--start", default=None,
              help="When the silence starts, RFC 3339 (2006-01-02T15:04:05-07:00); now if unset.")
@click.option("--end", default=None, help="When the silence ends (overrides --duration).")
@click.option("--require-comment/--no-require-comment", default=True, hidden=True)
@click.option("--expire-on-resolve", is_flag=True, default=None,
              help="Expire the silence once the alerts it silences have all resolved.")
@click.argument("matchers", nargs=-1)
@_connection
def add(author: str | None, comment: str, duration: str, start: str | None, end: str | None,
        require_comment: bool, expire_on_resolve: bool | None, matchers: Sequence[str],
        url: str, token: str | None, timeout: str) -> None:
    """Add a silence: `alertd silence add alertname=Foo 'severity=~"page|ticket"' -c why`.

    A first matcher without an operator is the alertname: `alertd silence add Foo`.
    """
    body = build_silence(matchers, author=author if author is not None else _username(),
                         comment=comment, duration=duration, start=start, end=end,
                         now=time.time(), require_comment=require_comment,
                         expire_on_resolve=expire_on_resolve)
    click.echo(_client(url, token, timeout).add(body))


@silence.command()
@click.option("--expired", is_flag=True, help="Show expired silences instead of active ones.")
@click.option("-q", "--quiet", is_flag=True, help="Only show silence ids.")
@click.option("--created-by", default=None, help="Show the silences of this creator only.")
@click.option("--within", default=None,
              help="Show silences that will expire or have expired within a duration.")
@click.option("-o", "--output", type=click.Choice(["simple", "extended", "json"]),
              default="simple", show_default=True)
@click.argument("matchers", nargs=-1)
@_connection
def query(expired: bool, quiet: bool, created_by: str | None, within: str | None, output: str,
          matchers: Sequence[str], url: str, token: str | None, timeout: str) -> None:
    """List silences, filtered by matchers (a bare first one is the alertname)."""
    filters = with_alertname(matchers)
    window = None
    if within is not None:
        window, problem = parse_duration(within)
        if window is None:
            raise SilenceError(f'invalid duration "{within}": {problem}')
    found = _client(url, token, timeout).query(filters)
    shown = select(found, expired=expired, now=time.time(), within=window, created_by=created_by)
    if quiet:
        for s in shown:
            click.echo(s["id"])
    else:
        click.echo(render(shown, output))


@silence.command()
@click.argument("ids", nargs=-1)
@_connection
def expire(ids: Sequence[str], url: str, token: str | None, timeout: str) -> None:
    """Expire silences by id."""
    if not ids:
        raise SilenceError("no silence IDs specified")
    client = _client(url, token, timeout)
    for sid in ids:
        client.expire(sid)


def _username() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


__all__ = ["Client", "build_silence", "parse_matchers", "render", "select", "silence",
           "tabulate"]
