"""The HTTP/1.1 client of webhook deliveries: connections kept alive per origin, answers
parsed by httptools (llhttp, Node.js's parser).

Why not aiohttp's ClientSession, which alertd uses everywhere else: a delivery POST needs
one request line, a few headers and a body out, and the status, a header or two and the
start of the body back. The session's request and response objects, header multidicts,
cookie jar and tracing cost about 150 µs of CPU a request; at a thousand notifications a
second that was a quarter of alertd's CPU and, with the loop that busy, most of a page's
latency. Here a request is one write and one parser callback chain.

What it does not do, on purpose: redirects are answers, not followed (the same request to
the same URL would get the same one; the error names the Location); no compression; no
100-continue. TLS is verified against the system's CAs unless the receiver's tls_config
says otherwise. Through an HTTP proxy (http_config.proxy_url), an http:// URL is asked of
the proxy in absolute form and an https:// one through a CONNECT tunnel, as curl and Go do.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from yarl import URL

from alertd.receivers.connection import (
    BODY_LIMIT,
    Answer,
    BadRequest,
    Connection,
    Cut,
    TimedOut,
    TransportError,
    Unreachable,
)

# The errors and the answer are defined beside the connection; callers take them from here.
__all__ = ["BODY_LIMIT", "Answer", "BadRequest", "Cut", "Pool", "TimedOut", "TransportError",
           "Unreachable"]

IDLE_LIMIT = 15.0  # seconds a kept-alive connection may idle before it is not reused
CONNECTIONS = 100  # connections open at once per pool, as aiohttp's default


@dataclass(slots=True)
class _Target:
    """What a URL amounts to, worked out once per URL."""

    key: tuple[str, str, int]  # scheme, host, port: the connections it may share
    host: str
    port: int
    tls: bool
    head: bytes  # request line and Host header
    auth: bytes  # the Authorization header of credentials in the URL, or b""
    url: str = ""  # the URL without credentials, for a proxy's request line

    def via(self, proxy: _Proxy) -> _Target:
        """This http:// target asked of `proxy`: the request line names the whole URL, and
        the proxy's credentials go with it."""
        host = self.head.partition(b"\r\n")[2]
        head = b"POST " + self.url.encode("ascii") + b" HTTP/1.1\r\n" + host + proxy.auth
        return _Target(self.key, self.host, self.port, self.tls, head, self.auth, self.url)


@dataclass(frozen=True, slots=True)
class _Proxy:
    host: str
    port: int
    auth: bytes  # a Proxy-Authorization header line, or b""


@dataclass
class Pool:
    """Kept-alive connections by origin, for one integration; `close` when done.

    `post` raises a TransportError when no answer came. `tls` verifies https servers
    (default: against the system's CAs); `server_name` is the name their certificate must
    hold when it is not the URL's host; `proxy` is an HTTP proxy to go through."""

    tls: ssl.SSLContext | None = None
    server_name: str | None = None
    proxy: str | None = None  # http://[user:password@]host:port
    limit: int = CONNECTIONS
    idle_limit: float = IDLE_LIMIT
    _idle: defaultdict[tuple[str, str, int], list[Connection]] = field(
        default_factory=lambda: defaultdict(list))
    _targets: dict[str, _Target] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None
    _proxy_parsed: _Proxy | None = None
    _open: set[Connection] = field(default_factory=set)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *,
                   timeout: float) -> Answer:
        target = self._target(url)
        auth = target.auth if target.auth and not _has_authorization(headers) else b""
        request = b"".join((target.head, auth, _headers(headers, len(body)), body))
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._slots.locked():  # every connection busy: wait for one, within the time
            try:
                async with asyncio.timeout_at(deadline):
                    await self._slots.acquire()
            except TimeoutError:
                raise TimedOut(sent=False) from None
        else:
            await self._slots.acquire()
        try:
            return await self._exchange(target, request, deadline)
        finally:
            self._slots.release()

    async def close(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()

    # --- internals -------------------------------------------------------------------------
    async def _exchange(self, target: _Target, request: bytes, deadline: float) -> Answer:
        conn = self._reuse(target.key)
        if conn is None:
            try:
                async with asyncio.timeout_at(deadline):
                    conn = await self._connect(target)
            except TimeoutError:
                raise TimedOut(sent=False) from None
        answer = conn.send(request)
        # A timer on the answer rather than asyncio.timeout around the await: the same
        # deadline at a fraction of the cost, paid at every request.
        timer = asyncio.get_running_loop().call_at(deadline, conn.expire)
        try:
            result = await answer
        except BaseException:
            conn.close()  # failed, timed out or cancelled mid-answer: unusable
            self._open.discard(conn)
            raise
        finally:
            timer.cancel()
        if conn.reusable:
            conn.idle_since = time.monotonic()
            self._idle[target.key].append(conn)
        else:
            conn.close()
            self._open.discard(conn)
        return result

    def _reuse(self, key: tuple[str, str, int]) -> Connection | None:
        idle = self._idle.get(key)
        cutoff = time.monotonic() - self.idle_limit
        while idle:
            conn = idle.pop()  # the most recent: the least likely to be closed by the peer
            if not conn.closed and conn.idle_since >= cutoff:
                return conn
            conn.close()
            self._open.discard(conn)
        return None

    async def _connect(self, target: _Target) -> Connection:
        loop = asyncio.get_running_loop()
        tls = self._context() if target.tls else None
        server_name = (self.server_name or target.host) if tls else None
        proxy = self._proxy()
        try:
            if proxy is None:
                _, conn = await loop.create_connection(
                    Connection, target.host, target.port, ssl=tls, server_hostname=server_name)
            elif tls is None:  # the proxy is asked in absolute form (see _Target.via_proxy)
                _, conn = await loop.create_connection(Connection, proxy.host, proxy.port)
            else:
                conn = await _tunnel(proxy, target, tls, server_name)
        except OSError as exc:  # ssl.SSLError is one too
            reason = exc.strerror or str(exc) or type(exc).__name__
            where = f"{target.host}:{target.port}" if proxy is None else (
                f"{target.host}:{target.port} through the proxy {proxy.host}:{proxy.port}")
            raise Unreachable(f"cannot connect to {where}: {reason}") from exc
        self._open.add(conn)
        return conn

    def _proxy(self) -> _Proxy | None:
        if self.proxy is None:
            return None
        if self._proxy_parsed is None:
            self._proxy_parsed = _parse_proxy(self.proxy)
        return self._proxy_parsed

    def _context(self) -> ssl.SSLContext:
        if self.tls is None:  # loading the CAs takes milliseconds: once per pool
            self.tls = ssl.create_default_context()
        return self.tls

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = _parse(url)
            proxy = self._proxy()
            if proxy is not None and not target.tls:
                target = target.via(proxy)
            self._targets[url] = target
        return target


def _parse(url: str) -> _Target:
    try:
        u = URL(url)
        if u.scheme not in ("http", "https") or not u.raw_host or u.port is None:
            raise BadRequest(f"not an http(s) URL: {u.scheme or '?'}://{u.raw_host or ''}")
        head = (f"POST {u.raw_path_qs or '/'} HTTP/1.1\r\n"
                f"Host: {u.host_port_subcomponent}\r\n").encode("ascii")
        auth = b""
        if u.user is not None:  # credentials in the URL: basic auth, as clients do
            pair = base64.b64encode(f"{u.user}:{u.password or ''}".encode()).decode()
            auth = f"Authorization: Basic {pair}\r\n".encode("ascii")
    except (TypeError, ValueError) as exc:  # UnicodeError is a ValueError
        raise BadRequest(f"invalid URL: {exc}") from None
    return _Target((u.scheme, u.raw_host, u.port), u.raw_host, u.port, u.scheme == "https",
                   head, auth, str(u.with_user(None)))


def _parse_proxy(url: str) -> _Proxy:
    try:
        u = URL(url)
        if u.scheme != "http" or not u.raw_host or u.port is None:
            raise BadRequest(f"the proxy must be an http:// URL: {u.scheme or '?'}://"
                             f"{u.raw_host or ''}")
        auth = b""
        if u.user is not None:
            pair = base64.b64encode(f"{u.user}:{u.password or ''}".encode()).decode()
            auth = f"Proxy-Authorization: Basic {pair}\r\n".encode("ascii")
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"invalid proxy URL: {exc}") from None
    return _Proxy(u.raw_host, u.port, auth)


class _Handshake(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT: its status line and headers, nothing more."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._data = b""

    def data_received(self, data: bytes) -> None:
        self._data += data
        end = self._data.find(b"\r\n\r\n")
        if end >= 0 and not self.answer.done():
            self.answer.set_result(self._data[:end])
        elif len(self._data) > BODY_LIMIT and not self.answer.done():
            self.answer.set_exception(OSError("the proxy's answer to CONNECT is too long"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc or OSError("the proxy closed the connection"))


async def _tunnel(proxy: _Proxy, target: _Target, tls: ssl.SSLContext,
                  server_name: str | None) -> Connection:
    """A TLS connection to `target` through a CONNECT tunnel of `proxy`."""
    loop = asyncio.get_running_loop()
    transport, handshake = await loop.create_connection(_Handshake, proxy.host, proxy.port)
    try:
        authority = f"{target.host}:{target.port}".encode("ascii")
        if ":" in target.host:  # an IPv6 address
            authority = f"[{target.host}]:{target.port}".encode("ascii")
        transport.write(b"CONNECT " + authority + b" HTTP/1.1\r\nHost: " + authority
                        + b"\r\n" + proxy.auth + b"\r\n")
        head = await handshake.answer
        status = head.split(b"\r\n", 1)[0].split(b" ", 2)
        if len(status) < 2 or not status[1].isdigit() or not 200 <= int(status[1]) < 300:
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            raise OSError(f"the proxy answered CONNECT with {line!r}")
        conn = Connection()
        secure = await loop.start_tls(transport, conn, tls, server_hostname=server_name)
        if secure is None:
            raise OSError("TLS could not start in the proxy's tunnel")
        conn.connection_made(secure)
        return conn
    except BaseException:
        transport.close()
        raise


def _has_authorization(headers: Mapping[str, str]) -> bool:
    # The configured header wins over credentials in the URL, as in Go's client.
    return any(name.lower() == "authorization" for name in headers)


def _headers(headers: Mapping[str, str], length: int) -> bytes:
    text = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    # A line break inside a name or value would end the header early and let the rest be
    # read as another header, or as a second request.
    if text.count("\n") != len(headers) or text.count("\r") != len(headers):
        raise BadRequest("a header name or value holds a line break")
    try:
        return f"{text}Content-Length: {length}\r\n\r\n".encode("latin-1")
    except UnicodeEncodeError:
        raise BadRequest("a header holds characters HTTP cannot carry") from None
