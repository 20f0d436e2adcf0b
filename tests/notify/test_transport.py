"""The webhook HTTP/1.1 client (`alertd.receivers.transport`) against real servers on 127.0.0.1.

What a user of `Pool.post` and `alertd.receivers.http.post` would notice:

- answers: plain and chunked bodies read whole, an answer ended by the close, interim
  1xx answers skipped, bodies beyond BODY_LIMIT cut while their status still counts;
- connections: kept alive and reused, not reused after `Connection: close`, a close by
  the server, bytes beyond the answer, a cancelled or timed-out request, or a body too
  large; at most `limit` open at once, a request's timeout bounding its wait for one;
- failures: garbage or no answer (Cut: sent, ambiguous), line breaks in headers and
  non-http URLs (BadRequest: nothing sent, not retryable), an untrusted certificate
  (Unreachable), a timeout (TimedOut, sent);
- the request itself: URL credentials as basic auth (one Authorization header), request
  target and Host header;
- redirects: not followed, the error naming only the scheme and host of the Location,
  in the suffix and in the quoted body alike.

aiohttp serves where a normal server will do; `RawServer` (asyncio streams) where the
answer must be hand-made or the connections counted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from alertd.alerts.model import Alert
from alertd.config import parse_config
from alertd.errors import ConfigError, NotifyError
from alertd.model import Labels
from alertd.notify.service import build_integrations
from alertd.receivers import Notification, http
from alertd.receivers.transport import (
    BODY_LIMIT,
    Answer,
    BadRequest,
    Cut,
    Pool,
    TimedOut,
    Unreachable,
)

TIMEOUT = 5.0  # for requests that must not time out: a hang fails the test, slowly
WAIT = 5.0  # the longest a test waits for a server to see something
SHORT = 0.2  # for requests whose timeout is the behaviour under test
JSON = {"Content-Type": "application/json"}


# --- a server by hand -----------------------------------------------------------------------


@dataclass
class Request:
    connection: int  # the server's number for the connection it came on, from 1
    line: str  # the request line
    fields: list[tuple[str, str]]  # the headers in order, lower-case names
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.fields)


Reply = Callable[[Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]
"""Writes whatever answer it likes (or none); returns whether to read the next request."""


class RawServer:
    """An HTTP/1.1 server on 127.0.0.1 whose answers are bytes written by a `Reply`.

    Counts connections (accepted, open now, most open at once) and keeps the requests."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[Request] = []
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Waits until `predicate()` holds (it is checked whenever the server sees
        something)."""
        if predicate():
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        async with asyncio.timeout(WAIT):
            await future

    def _changed(self) -> None:
        for predicate, future in self._waiters:
            if not future.done() and predicate():
                future.set_result(None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.connections += 1
        number = self.connections
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self._changed()
        try:
            while (request := await read_request(reader, number)) is not None:
                self.requests.append(request)
                self._changed()
                if not await self.reply(request, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # stopped: end quietly (asyncio logs a cancelled one)
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
            self.open -= 1
            self._changed()


async def read_request(reader: asyncio.StreamReader, connection: int) -> Request | None:
    """The next request on the connection; None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    fields = []
    for text in lines:
        name, _, value = text.partition(":")
        fields.append((name.strip().lower(), value.strip()))
    body = await reader.readexactly(int(dict(fields).get("content-length", "0")))
    return Request(connection, line, fields, body)


def answer(status: int = 200, body: bytes = b"", *headers: str) -> bytes:
    """An HTTP/1.1 answer with a Content-Length; `headers` as "Name: value" lines."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", *headers,
             f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def replying(data: bytes, *, keep: bool = True) -> Reply:
    """A Reply that writes `data` to every request, then keeps the connection or closes it."""
    async def reply(request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        await writer.drain()
        return keep
    return reply


async def write_quietly(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Writes to a connection the client may have closed already."""
    with suppress(ConnectionError):
        writer.write(data)
        await writer.drain()


# --- fixtures -------------------------------------------------------------------------------

ServeRaw = Callable[[Reply], Awaitable[RawServer]]
ServeApp = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve_raw() -> AsyncIterator[ServeRaw]:
    """Starts RawServers; stops them when the test ends."""
    servers: list[RawServer] = []

    async def start(reply: Reply) -> RawServer:
        server = RawServer(reply)
        await server.start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            await server.stop()


@pytest.fixture
async def serve_app() -> AsyncIterator[ServeApp]:
    """Serves aiohttp applications on 127.0.0.1; gives their base URL."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


@pytest.fixture
async def pool() -> AsyncIterator[Pool]:
    made = Pool()
    try:
        yield made
    finally:
        await made.close()


def recording(peers: list[Any], respond: Callable[[web.Request, bytes], web.StreamResponse]
              ) -> web.Application:
    """An aiohttp app answering POST / with `respond(request, body)`; appends each
    request's client address to `peers` (one address per connection)."""
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return respond(request, body)

    app = web.Application()
    app.router.add_post("/", handle)
    return app


async def post(pool: Pool, url: str, body: bytes = b"{}", headers: dict[str, str] | None = None,
               *, timeout: float = TIMEOUT) -> Answer:
    return await pool.post(url, body, JSON if headers is None else headers, timeout=timeout)


async def notify_error(pool: Pool, url: str, body: bytes = b"{}",
                       headers: dict[str, str] | None = None, *,
                       timeout: float = TIMEOUT) -> NotifyError:
    """The NotifyError `http.post` raises for this request (fails the test if none)."""
    with pytest.raises(NotifyError) as caught:
        await http.post(pool, url, body, JSON if headers is None else headers,
                        timeout=timeout, what="webhook")
    return caught.value


# --- answers --------------------------------------------------------------------------------


async def test_a_json_answer_returns_its_body(serve_app: ServeApp, pool: Pool) -> None:
    document = {"ok": True, "id": "d-1", "note": "é"}
    url = await serve_app(recording([], lambda request, body: web.json_response(document)))
    got = await post(pool, url)
    assert got.status == 200
    assert got.headers["content-type"].startswith("application/json")
    assert json.loads(got.body) == document
    assert await http.post(pool, url, b"{}", JSON, timeout=TIMEOUT, what="webhook") == 200


async def test_a_chunked_answer_is_read_whole(serve_app: ServeApp, pool: Pool) -> None:
    document = {"accepted": list(range(3000))}
    encoded = json.dumps(document).encode()
    pieces = [encoded[i:i + 1000] for i in range(0, len(encoded), 1000)]

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=JSON)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/", chunked)
    url = await serve_app(app)
    got = await post(pool, url)
    assert got.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in got.headers
    assert got.status == 200
    assert json.loads(got.body) == document
    assert len(pieces) > 10


async def test_a_body_beyond_the_limit_is_cut_but_its_status_counts(
        serve_app: ServeApp, pool: Pool) -> None:
    big = bytes(range(256)) * (200 * 1024 // 256)  # 200 KiB

    def respond(request: web.Request, body: bytes) -> web.Response:
        if body == b"big":
            return web.Response(status=500, body=big)
        return web.Response(text="fine")

    peers: list[Any] = []
    url = await serve_app(recording(peers, respond))
    got = await post(pool, url, b"big")
    assert got.status == 500
    assert got.body == big[:BODY_LIMIT]

    error = await notify_error(pool, url, b"big")
    assert error.retryable
    assert not error.ambiguous
    assert "answered 500" in str(error)

    after = await post(pool, url, b"small")  # the rest of the big body is not read as it
    assert (after.status, after.body) == (200, b"fine")
    assert len(set(peers)) == 3  # each big answer cost its connection


async def test_an_answer_ended_by_the_close_counts(serve_raw: ServeRaw, pool: Pool) -> None:
    server = await serve_raw(replying(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n"
        b"down for maintenance", keep=False))
    got = await post(pool, server.url)
    assert got.status == 503
    assert got.body == b"down for maintenance"

    error = await notify_error(pool, server.url)  # on a new connection: the last one closed
    assert error.retryable
    assert not error.ambiguous
    assert "answered 503: down for maintenance" in str(error)
    assert server.connections == 2


@pytest.mark.parametrize("interim", [
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nX-Interim: 1\r\n\r\n",
])
async def test_an_interim_answer_is_skipped(serve_raw: ServeRaw, pool: Pool,
                                            interim: str) -> None:
    async def reply(request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        writer.write(interim.encode())
        await writer.drain()
        writer.write(answer(201, b"created " + request.body, "X-Final: yes"))
        return True

    server = await serve_raw(reply)
    got = await post(pool, server.url, b"one")
    assert (got.status, got.body) == (201, b"created one")
    assert got.headers["x-final"] == "yes"
    assert "x-interim" not in got.headers and "link" not in got.headers
    again = await post(pool, server.url, b"two")  # the connection is still in step
    assert (again.status, again.body) == (201, b"created two")
    assert server.connections == 1


# --- keep-alive -----------------------------------------------------------------------------


async def test_consecutive_requests_share_one_connection(serve_app: ServeApp,
                                                         pool: Pool) -> None:
    peers: list[Any] = []
    url = await serve_app(recording(peers, lambda request, body: web.Response(body=body)))
    for n in range(5):
        got = await post(pool, url, f'{{"n": {n}}}'.encode())
        assert got.body == f'{{"n": {n}}}'.encode()
    assert len(peers) == 5
    assert len(set(peers)) == 1


async def test_a_connection_idle_beyond_the_limit_is_not_reused(serve_app: ServeApp) -> None:
    # Servers close idle keep-alive connections after a while; one idle longer than the
    # limit is not risked (idle_limit 0: any pause is too long).
    peers: list[Any] = []
    url = await serve_app(recording(peers, lambda request, body: web.Response(body=body)))
    impatient = Pool(idle_limit=0.0)
    try:
        for _ in range(3):
            await post(impatient, url, b"{}")
    finally:
        await impatient.close()
    assert len(set(peers)) == 3


async def test_after_connection_close_the_next_request_opens_a_new_one(
        serve_app: ServeApp, pool: Pool) -> None:
    def respond(request: web.Request, body: bytes) -> web.Response:
        response = web.Response(text="bye" if body == b"last" else "ok")
        if body == b"last":
            response.force_close()
        return response

    peers: list[Any] = []
    url = await serve_app(recording(peers, respond))
    got = await post(pool, url, b"last")
    assert got.headers["connection"] == "close"
    assert (got.status, got.body) == (200, b"bye")
    after = await post(pool, url, b"next")
    assert (after.status, after.body) == (200, b"ok")
    assert len(set(peers)) == 2


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
        serve_raw: ServeRaw, pool: Pool) -> None:
    closed = asyncio.Event()  # the client has seen the close and closed its side

    async def reply(request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(200, b"answer %d" % request.connection))  # no Connection: close
        await writer.drain()
        if request.connection == 1:  # then close it, as a server's idle timeout does
            writer.write_eof()
            await reader.read()
            closed.set()
            return False
        return True

    server = await serve_raw(reply)
    assert (await post(pool, server.url)).body == b"answer 1"
    async with asyncio.timeout(WAIT):
        await closed.wait()
    got = await post(pool, server.url)
    assert (got.status, got.body) == (200, b"answer 2")
    assert [r.connection for r in server.requests] == [1, 2]


EXTRA = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\nhalf an answer"


@pytest.mark.parametrize("idle", [False, True], ids=["with-the-answer", "while-idle"])
async def test_bytes_after_the_answer_make_the_connection_unusable(
        serve_raw: ServeRaw, pool: Pool, idle: bool) -> None:
    """A server that answers one request twice (here: a second, unfinished answer, in
    the same write as the first or later) is out of step: the connection must not carry
    the next request, whose answer would be read as the rest of the extra one."""
    more, dropped = asyncio.Event(), asyncio.Event()

    async def reply(request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        if request.connection > 1:
            writer.write(answer(200, b"answer %d" % request.connection))
            return True
        if idle:
            writer.write(answer(200, b"answer 1"))
            await more.wait()  # the client has its answer: the connection is idle
            writer.write(EXTRA)
        else:
            writer.write(answer(200, b"answer 1") + EXTRA)  # one write, one read
        if await reader.read() == b"":
            dropped.set()
        return False

    server = await serve_raw(reply)
    first = await post(pool, server.url)
    assert (first.status, first.body) == (200, b"answer 1")
    if idle:
        more.set()
        async with asyncio.timeout(WAIT):
            await dropped.wait()
    try:
        got = await post(pool, server.url)
    except TimedOut:
        pytest.fail("the next request went out on the connection that is out of step")
    assert (got.status, got.body) == (200, b"answer 2")
    assert [r.connection for r in server.requests] == [1, 2]


async def test_a_request_racing_the_servers_close_fails_as_ambiguous(
        serve_raw: ServeRaw, pool: Pool) -> None:
    """The server closes right after answering, unannounced, and the next request leaves
    before the client has read the close: it goes out on the dead connection. The
    pool cannot know whether it arrived: a retryable, ambiguous failure, after which the
    pool is fine."""
    server = await serve_raw(replying(answer(200, b"ok"), keep=False))
    assert (await post(pool, server.url)).body == b"ok"
    error = await notify_error(pool, server.url)
    assert error.retryable
    assert error.ambiguous
    assert isinstance(error.__cause__, Cut)
    assert len(server.requests) == 1  # it had not arrived
    assert (await post(pool, server.url)).body == b"ok"
    assert [r.connection for r in server.requests] == [1, 2]


async def test_at_most_limit_connections_are_open_at_once(serve_raw: ServeRaw) -> None:
    release = asyncio.Event()

    async def reply(request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        await release.wait()
        writer.write(answer(200, b"echo " + request.body))
        return True

    server = await serve_raw(reply)
    limited = Pool(limit=2)
    try:
        posts = [asyncio.create_task(post(limited, server.url, b"%d" % n)) for n in range(5)]
        await server.until(lambda: len(server.requests) == 2)
        assert server.connections == 2
        assert not any(task.done() for task in posts)
        release.set()
        async with asyncio.timeout(WAIT):
            answers = await asyncio.gather(*posts)
    finally:
        await limited.close()
    assert [a.body for a in answers] == [b"echo %d" % n for n in range(5)]
    assert len(server.requests) == 5
    assert server.connections == 2  # the other three waited, then reused them
    assert server.most_open == 2


async def test_a_request_whose_time_runs_out_waiting_for_a_slot_is_not_sent(
        serve_raw: ServeRaw) -> None:
    """With every connection busy, a request's timeout also bounds its wait for one:
    it ends on time, as TimedOut(sent=False), and is not written later on the
    connection that comes free (the receiver would act on a request reported failed)."""
    release = asyncio.Event()

    async def reply(request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        if request.body == b"busy":
            await release.wait()
        writer.write(answer(200, b"answer to " + request.body))
        return True

    server = await serve_raw(reply)
    limited = Pool(limit=1)
    try:
        busy = asyncio.create_task(post(limited, server.url, b"busy"))
        await server.until(lambda: len(server.requests) == 1)
        # The busy request's answer, and with it the connection, comes free only well
        # after the next request's time is up.
        asyncio.get_running_loop().call_later(SHORT * 3, release.set)
        with pytest.raises(TimedOut) as caught:
            await post(limited, server.url, b"late", timeout=SHORT)
        ended_in_time = not release.is_set()
        assert (await busy).body == b"answer to busy"
    finally:
        await limited.close()
    assert not caught.value.sent, "the request was written after its deadline"
    assert ended_in_time, "the request waited for a connection past its timeout"
    assert [r.body for r in server.requests] == [b"busy"]


# --- a request that ends early --------------------------------------------------------------


def late_for_first(late: asyncio.Event, written: asyncio.Event) -> Reply:
    """Answers a "first" request only once `late` is set, and `written` when it did;
    any other request at once, with the request's own body."""
    async def reply(request: Request, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        if request.body == b"first":
            await late.wait()
            await write_quietly(writer, answer(200, b"stale answer to first"))
            written.set()
        else:
            writer.write(answer(200, b"answer to " + request.body))
        return True
    return reply


async def test_a_cancelled_request_does_not_leave_its_answer_to_the_next(
        serve_raw: ServeRaw, pool: Pool) -> None:
    late, written = asyncio.Event(), asyncio.Event()
    server = await serve_raw(late_for_first(late, written))
    first = asyncio.create_task(post(pool, server.url, b"first"))
    await server.until(lambda: len(server.requests) == 1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    late.set()
    async with asyncio.timeout(WAIT):
        await written.wait()  # the stale answer is out before the next request
    got = await post(pool, server.url, b"second")
    assert (got.status, got.body) == (200, b"answer to second")
    assert [(r.connection, r.body) for r in server.requests] == [(1, b"first"),
                                                                 (2, b"second")]


async def test_a_timeout_waiting_for_the_answer_is_timed_out_after_sending(
        serve_raw: ServeRaw, pool: Pool) -> None:
    late, written = asyncio.Event(), asyncio.Event()
    server = await serve_raw(late_for_first(late, written))
    started = time.monotonic()
    with pytest.raises(TimedOut) as caught:
        async with asyncio.timeout(WAIT):  # a TimeoutError here: the timeout was ignored
            await post(pool, server.url, b"first", timeout=SHORT)
    assert SHORT <= time.monotonic() - started < WAIT
    assert caught.value.sent
    assert len(server.requests) == 1

    late.set()
    async with asyncio.timeout(WAIT):
        await written.wait()
    got = await post(pool, server.url, b"second")
    assert (got.status, got.body) == (200, b"answer to second")
    assert [r.connection for r in server.requests] == [1, 2]

    late.clear()
    error = await notify_error(pool, server.url, b"first", timeout=SHORT)
    assert error.retryable
    assert error.ambiguous
    assert isinstance(error.__cause__, TimedOut)


# --- no answer ------------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", [
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"<html><body>hello</body></html>\r\n",
    b"HTTP/1.1 2OO OK\r\n\r\n",
])
async def test_a_garbage_answer_is_cut_after_sending(serve_raw: ServeRaw, pool: Pool,
                                                     garbage: bytes) -> None:
    server = await serve_raw(replying(garbage))  # and keeps the connection open
    with pytest.raises(Cut) as caught:
        await post(pool, server.url)
    assert caught.value.sent
    assert "invalid HTTP answer" in str(caught.value)

    error = await notify_error(pool, server.url)
    assert error.retryable
    assert error.ambiguous
    assert len(server.requests) == 2


async def test_a_close_without_an_answer_is_cut_after_sending(serve_raw: ServeRaw,
                                                              pool: Pool) -> None:
    server = await serve_raw(replying(b"", keep=False))
    with pytest.raises(Cut) as caught:
        await post(pool, server.url)
    assert caught.value.sent

    error = await notify_error(pool, server.url)
    assert error.retryable
    assert error.ambiguous
    assert "may have arrived" in str(error)
    assert len(server.requests) == 2


# --- requests that cannot be made -----------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"X-Note": "a\r\nX-Injected: yes"},
    {"X-Note": "a\nX-Injected: yes"},
    {"X-Note": "a\r"},
    {"X-Note\r\nX-Injected": "yes"},
    {"X-Note": "ok", "X-Other": "b\r\n\r\nPOST /admin HTTP/1.1"},
])
async def test_a_line_break_in_a_header_sends_nothing(serve_raw: ServeRaw, pool: Pool,
                                                      headers: dict[str, str]) -> None:
    server = await serve_raw(replying(answer(200, b"ok")))
    with pytest.raises(BadRequest) as caught:
        await post(pool, server.url, headers=headers)
    assert not caught.value.sent

    error = await notify_error(pool, server.url, headers=headers)
    assert not error.retryable

    await post(pool, server.url, headers={"X-Note": "fine"})  # the only one that arrives
    assert server.connections == 1
    [request] = server.requests
    assert request.headers["x-note"] == "fine"
    assert "x-injected" not in request.headers


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1/hook",
    "file:///etc/passwd",
    "mailto:ops@example.com",
    "http:///hook",
    "https://",
    "127.0.0.1:8080/hook",
    "",
    "http://127.0.0.1:99999/hook",
])
async def test_a_url_that_is_not_http_to_a_host_is_a_bad_request(pool: Pool,
                                                                 url: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await post(pool, url)
    assert not caught.value.sent

    error = await notify_error(pool, url)
    assert not error.retryable
    assert "cannot be reached" in str(error)


# --- the request ----------------------------------------------------------------------------


async def test_credentials_in_the_url_are_sent_as_basic_auth(serve_raw: ServeRaw,
                                                             pool: Pool) -> None:
    server = await serve_raw(replying(answer(204)))
    port = server.port
    got = await post(pool, f"http://user:pa%20ss@127.0.0.1:{port}/path?q=1", b'{"a": 1}')
    assert got.status == 204
    await post(pool, f"http://127.0.0.1:{port}/other")

    with_credentials, without = server.requests
    assert with_credentials.line == "POST /path?q=1 HTTP/1.1"
    assert with_credentials.headers["host"] == f"127.0.0.1:{port}"
    scheme, _, encoded = with_credentials.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded) == b"user:pa ss"
    assert with_credentials.headers["content-type"] == "application/json"
    assert with_credentials.headers["content-length"] == "8"
    assert with_credentials.body == b'{"a": 1}'

    assert without.line == "POST /other HTTP/1.1"
    assert "authorization" not in without.headers


async def test_credentials_in_the_url_do_not_add_a_second_authorization(
        serve_raw: ServeRaw, pool: Pool) -> None:
    """A webhook with credentials in its URL and an http_config authorization: the
    request must carry one Authorization header (it is a singleton field; Go's client,
    as Alertmanager's, sends the configured one, aiohttp refuses the combination)."""
    server = await serve_raw(replying(answer(204)))
    await post(pool, f"http://user:pass@127.0.0.1:{server.port}/hook",
               headers={"Authorization": "Bearer t0ken"})
    [request] = server.requests
    sent = [value for name, value in request.fields if name == "authorization"]
    assert len(sent) == 1, sent


# --- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_not_followed_and_its_target_is_redacted(
        serve_raw: ServeRaw, pool: Pool, status: int) -> None:
    target = await serve_raw(replying(answer(200, b"followed")))
    location = f"{target.url}/hooks/T0KEN-s3cret?sig=abc123"
    server = await serve_raw(replying(answer(status, b"", f"Location: {location}")))

    got = await post(pool, server.url)
    assert got.status == status
    assert got.headers["location"] == location

    error = await notify_error(pool, server.url)
    assert not error.retryable
    message = str(error)
    assert f"answered {status}" in message
    assert f"redirects to {target.url}/" in message
    assert "T0KEN-s3cret" not in message and "abc123" not in message
    assert target.connections == 0


async def test_a_redirects_body_does_not_reveal_the_target(serve_raw: ServeRaw,
                                                           pool: Pool) -> None:
    """Express's `res.redirect` (and Werkzeug's) write the Location into the body too:
    the message must not show it there either."""
    target = await serve_raw(replying(answer(200, b"followed")))
    location = f"{target.url}/hooks/T0KEN-s3cret?sig=abc123"
    body = f"Found. Redirecting to {location}".encode()
    server = await serve_raw(replying(answer(302, body, f"Location: {location}",
                                             "Content-Type: text/plain")))
    error = await notify_error(pool, server.url)
    assert not error.retryable
    message = str(error)
    assert "redirects to" in message
    assert "T0KEN-s3cret" not in message and "abc123" not in message
    assert target.connections == 0


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS tests need the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


@pytest.fixture
async def tls_server(certificate: tuple[Path, Path]) -> AsyncIterator[RawServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server = RawServer(replying(answer(200, b"secure")))
    await server.start(context)
    try:
        yield server
    finally:
        await server.stop()


async def test_https_with_an_untrusted_certificate_is_unreachable(
        tls_server: RawServer, pool: Pool) -> None:
    url = f"https://127.0.0.1:{tls_server.port}/hook"
    with pytest.raises(Unreachable) as caught:
        await post(pool, url)
    assert not caught.value.sent
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)

    error = await notify_error(pool, url)
    assert error.retryable
    assert not error.ambiguous
    assert tls_server.requests == []


async def test_https_with_a_trusted_certificate_works(
        tls_server: RawServer, certificate: tuple[Path, Path]) -> None:
    """The other side of the test above: the same server, its certificate trusted."""
    trusting = Pool(tls=ssl.create_default_context(cafile=certificate[0]))
    try:
        got = await post(trusting, f"https://127.0.0.1:{tls_server.port}/hook")
    finally:
        await trusting.close()
    assert (got.status, got.body) == (200, b"secure")
    [request] = tls_server.requests
    assert request.line == "POST /hook HTTP/1.1"



@pytest.mark.parametrize("tls_config", ["{ca_file: '%(ca)s'}", "{insecure_skip_verify: true}",
                                        None], ids=["ca_file", "insecure", "none"])
async def test_a_webhooks_tls_config_is_used_for_delivery(
        tls_server: RawServer, certificate: tuple[Path, Path], tls_config: str | None) -> None:
    url = f"https://127.0.0.1:{tls_server.port}/hook"
    http_config = "" if tls_config is None else (
        "\n        http_config: {tls_config: " + tls_config % {"ca": certificate[0]} + "}")
    config = parse_config("route: {receiver: hook}\nreceivers:\n  - name: hook\n"
                          f"    webhook_configs:\n      - url: '{url}'{http_config}\n")
    [notifier] = build_integrations(config.receivers, console=None, external_url="")["hook"]
    alert = Alert(Labels({"alertname": "TLS"}), {}, 1_800_000_000.0, None, 1_800_000_000.0)
    n = Notification("hook", "{}:{}", Labels(), [alert], 1_800_000_000.0)
    try:
        if tls_config is None:  # the system's CAs do not know the self-signed certificate
            with pytest.raises(NotifyError, match="CERTIFICATE_VERIFY_FAILED"):
                await notifier.notify(n)
            assert tls_server.requests == []
        else:
            assert await notifier.notify(n) == "200"
            assert [r.line for r in tls_server.requests] == ["POST /hook HTTP/1.1"]
    finally:
        await notifier.close()


# --- through an HTTP proxy --------------------------------------------------------------------


class ForwardProxy:
    """An HTTP proxy: absolute-form requests are passed on to their origin as they are, and
    CONNECT opens a tunnel; both then relay bytes. Notes each request line with its
    Proxy-Authorization; `refuse` answers CONNECT with a 407."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.seen: list[tuple[str, str | None]] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line, *fields = head.decode("latin-1").split("\r\n")[:-2]
        headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
        self.seen.append((line, headers.get("proxy-authorization")))
        method, target, _ = line.split(" ")
        if method == "CONNECT":
            if self.refuse:
                writer.write(answer(407, b"", "Proxy-Authenticate: Basic"))
                await writer.drain()
                writer.close()
                return
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            origin = URL(target)
            assert origin.host is not None and origin.port is not None
            up_reader, up_writer = await asyncio.open_connection(origin.host, origin.port)
            up_writer.write(head)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(_relay(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _relay(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with suppress(ConnectionError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def forward_proxy() -> AsyncIterator[ForwardProxy]:
    proxy = ForwardProxy()
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_an_http_url_is_asked_of_the_proxy_in_absolute_form(
        serve_raw: ServeRaw, forward_proxy: ForwardProxy) -> None:
    origin = await serve_raw(replying(answer(200, b"via proxy")))
    user_proxy = forward_proxy.url.replace("http://", "http://alertd:s%20cret@")
    through = Pool(proxy=user_proxy)
    try:
        for _ in range(2):
            got = await post(through, f"http://u:p@127.0.0.1:{origin.port}/hook?x=1")
            assert (got.status, got.body) == (200, b"via proxy")
    finally:
        await through.close()
    line, auth = forward_proxy.seen[0]
    assert line == f"POST http://127.0.0.1:{origin.port}/hook?x=1 HTTP/1.1"  # no credentials
    assert auth == "Basic " + base64.b64encode(b"alertd:s cret").decode()
    assert len(forward_proxy.seen) == 1  # the second request went on the kept connection
    [first, _] = origin.requests
    assert first.headers["host"] == f"127.0.0.1:{origin.port}"
    assert first.headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()


async def test_an_https_url_goes_through_a_connect_tunnel(
        tls_server: RawServer, certificate: tuple[Path, Path],
        forward_proxy: ForwardProxy) -> None:
    through = Pool(tls=ssl.create_default_context(cafile=certificate[0]),
                   proxy=forward_proxy.url)
    try:
        got = await post(through, f"https://127.0.0.1:{tls_server.port}/hook")
    finally:
        await through.close()
    assert (got.status, got.body) == (200, b"secure")
    assert forward_proxy.seen == [(f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1", None)]
    assert [r.line for r in tls_server.requests] == ["POST /hook HTTP/1.1"]


@pytest.mark.parametrize("proxy_state", ["refusing", "down"])
async def test_a_proxy_that_refuses_or_is_down_leaves_the_request_unsent(
        tls_server: RawServer, proxy_state: str) -> None:
    refusing = ForwardProxy(refuse=True)
    await refusing.start()
    proxy = refusing.url if proxy_state == "refusing" else f"http://127.0.0.1:{free_port()}"
    through = Pool(proxy=proxy)
    try:
        with pytest.raises(NotifyError) as caught:
            await http.post(through, f"https://127.0.0.1:{tls_server.port}/hook", b"{}",
                            JSON, timeout=TIMEOUT, what="webhook")
    finally:
        await through.close()
        await refusing.stop()
    error = str(caught.value)
    assert caught.value.retryable and not caught.value.ambiguous
    assert "unreachable" in error and "through the proxy" in error
    if proxy_state == "refusing":
        assert "407" in error
    assert tls_server.requests == []


async def test_a_webhooks_proxy_url_must_be_http() -> None:
    config = parse_config(
        "route: {receiver: hook}\nreceivers:\n  - name: hook\n    webhook_configs:\n"
        "      - url: 'https://example.com/hook'\n"
        "        http_config: {proxy_url: 'https://proxy.example.com:3128'}\n")
    with pytest.raises(ConfigError, match=r"webhook_configs\[0\]\.http_config\.proxy_url"):
        build_integrations(config.receivers, console=None, external_url="")


async def test_a_webhooks_proxy_url_is_used_for_delivery(
        serve_raw: ServeRaw, forward_proxy: ForwardProxy) -> None:
    origin = await serve_raw(replying(answer(200)))
    config = parse_config(
        "route: {receiver: hook}\nreceivers:\n  - name: hook\n    webhook_configs:\n"
        f"      - url: 'http://127.0.0.1:{origin.port}/hook'\n"
        f"        http_config: {{proxy_url: '{forward_proxy.url}'}}\n")
    [notifier] = build_integrations(config.receivers, console=None, external_url="")["hook"]
    alert = Alert(Labels({"alertname": "Proxied"}), {}, 1_800_000_000.0, None, 1_800_000_000.0)
    try:
        assert await notifier.notify(Notification("hook", "{}:{}", Labels(), [alert],
                                                  1_800_000_000.0)) == "200"
    finally:
        await notifier.close()
    assert [line for line, _ in forward_proxy.seen] == [
        f"POST http://127.0.0.1:{origin.port}/hook HTTP/1.1"]
