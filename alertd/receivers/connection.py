"""One kept-alive HTTP/1.1 connection of the webhook client (`alertd.receivers.transport`):
the request written in one piece, the answer read by httptools's callbacks, and what a
failure to get one means for a retry (was the request sent?)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httptools

BODY_LIMIT = 64 * 1024  # bytes of an answer kept; beyond, the connection is dropped


class TransportError(Exception):
    """No answer. `sent` says whether the request was written: if so, it may have arrived."""

    sent = False


class BadRequest(TransportError):
    """The request cannot be made at all (scheme, host, a line break in a header)."""


class Unreachable(TransportError):
    """No connection could be made."""


class Cut(TransportError):
    """The connection failed or the answer could not be read after the request left."""

    sent = True


class TimedOut(TransportError):
    def __init__(self, *, sent: bool) -> None:
        super().__init__("timed out")
        self.sent = sent


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes  # at most BODY_LIMIT bytes


class Connection(asyncio.Protocol):
    """One connection; one request at a time. httptools calls the on_* methods."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.idle_since = 0.0
        self.closed = False
        self._answer: asyncio.Future[Answer] | None = None
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._reusable = False

    # --- the request ---------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._status, self._headers, self._body, self._size = 0, {}, [], 0
        self._reusable = False
        self.transport.write(data)
        return self._answer

    @property
    def reusable(self) -> bool:
        return self._reusable and not self.closed

    def expire(self) -> None:
        self._fail(TimedOut(sent=True))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # --- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._done():  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Cut(f"invalid HTTP answer: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._status and not self._done():
            # The status has arrived: the answer counts by it, its body cut short (or,
            # without a Content-Length, ended by the close).
            self._finish(reusable=False)
        else:
            reason = f"{type(exc).__name__}: {exc}" if exc else "connection closed by the peer"
            self._fail(Cut(reason))

    # --- httptools callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._done():
            # A second answer to one request (or bytes after the answer, in the same read):
            # whatever follows would be taken for the next request's answer.
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self._size < BODY_LIMIT:
            self._body.append(body[:BODY_LIMIT - self._size])
        self._size += len(body)
        if self._size > BODY_LIMIT:  # not worth reading on: the status is what counts
            self._finish(reusable=False)
            self.close()

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim answer: the real one follows
            self._status, self._headers = 0, {}
            return
        self._finish(reusable=self.parser.should_keep_alive())

    # --- internals -------------------------------------------------------------------------
    def _done(self) -> bool:
        return self._answer is None or self._answer.done()

    def _finish(self, *, reusable: bool) -> None:
        if not self._done():
            assert self._answer is not None
            self._reusable = reusable
            self._answer.set_result(Answer(self._status, self._headers, b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        if not self._done():
            assert self._answer is not None
            self._answer.set_exception(exc)
