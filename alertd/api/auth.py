"""Bearer tokens for the HTTP API: one check for every protected endpoint.

The tokens are asked for when each request arrives, never kept from start-up: a reload
that rotates `api.write_tokens` or `api.read_tokens` (or the file behind a
`write_token_files` entry) applies to every endpoint at once.

Writes (posting alerts and silences, expiring silences, reloading) need a write token when
any is set; with none set they are open. Reads need a read or a write token when read
tokens are set (an empty list: only write tokens); otherwise they are open.

The app keeps its `Access` under `ACCESS`; a route is wrapped in `reads` or `writes` (or, for
the samples endpoint, whose tokens are its own and read at start, `fixed_tokens`):

    web.get("/api/alertd/v1/rules", reads(rules, alertd_error))
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import hdrs, web

from alertd.errors import AlertdError

log = logging.getLogger("alertd.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# How an endpoint family writes an error: (status, message) -> response.
ErrorBody = Callable[[int, str], web.Response]
# The tokens that open a request; None: it is open to all.
Tokens = Callable[[web.Request], frozenset[str] | None]


@dataclass(frozen=True)
class Access:
    """Where the current tokens come from. `write()` gives the write tokens; `read()` the
    tokens that open reads (read and write tokens, as `ApiConfig.read()` gives them), or
    None when reads are open."""

    write: Callable[[], frozenset[str]]
    read: Callable[[], frozenset[str] | None]

    @classmethod
    def fixed(cls, write: frozenset[str] = frozenset(),
              read: frozenset[str] | None = None) -> Access:
        """Tokens that never change; `read` holds the read tokens only."""
        readers = None if read is None else read | write
        return cls(write=lambda: write, read=lambda: readers)

    def writers(self) -> frozenset[str] | None:
        """The tokens that open writes; None: open to all (no write token is set)."""
        return self.write() or None


ACCESS = web.AppKey("access", Access)


def reads(handler: Handler, error: ErrorBody) -> Handler:
    """`handler` behind the read tokens of the app's `Access`."""
    return guarded(lambda request: request.app[ACCESS].read(), handler, error)


def writes(handler: Handler, error: ErrorBody) -> Handler:
    """`handler` behind the write tokens of the app's `Access`."""
    return guarded(lambda request: request.app[ACCESS].writers(), handler, error)


def guarded_routes(routes: Sequence[tuple[str, str, Handler]],
                   error: ErrorBody) -> list[web.RouteDef]:
    """Each (method, path, handler) behind the app's tokens: a GET (with its HEAD, as
    `web.get` adds it) behind the read tokens, any other method behind the write tokens."""
    return [web.get(path, reads(handler, error)) if method == hdrs.METH_GET
            else web.route(method, path, writes(handler, error))
            for method, path, handler in routes]


def fixed_tokens(tokens: frozenset[str], handler: Handler, error: ErrorBody) -> Handler:
    """`handler` behind `tokens`, which never change; with none it is open."""
    opening = tokens or None
    return guarded(lambda request: opening, handler, error)


@dataclass(frozen=True)
class Refusal:
    message: str
    invalid_token: bool  # a token was given but is not one of ours (RFC 6750's error code)


def refusal(header: str | None, tokens: frozenset[str] | None) -> Refusal | None:
    """Why a request with this Authorization header may not go on; None when it may."""
    if tokens is None:
        return None
    if header is None:
        return Refusal("missing bearer token", invalid_token=False)
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:  # the scheme is case-insensitive (RFC 6750)
        return Refusal('the Authorization header must be "Bearer <token>"', invalid_token=False)
    # aiohttp decodes headers with surrogateescape: this gives back the bytes as sent.
    given = token.encode("utf-8", "surrogateescape")
    ok = False
    # Compared with every token, so the time taken says nothing about which one is close.
    for expected in sorted(tokens):
        ok |= hmac.compare_digest(given, expected.encode("utf-8", "surrogateescape"))
    return None if ok else Refusal("invalid bearer token", invalid_token=True)


def guarded(tokens: Tokens, handler: Handler, error: ErrorBody) -> Handler:
    """`handler`, run once the request's bearer token is one of `tokens(request)`; else
    the refusal, written by `error`."""

    async def guard(request: web.Request) -> web.StreamResponse:
        try:
            current = tokens(request)
        except AlertdError as exc:  # a token file that cannot be read now: refuse
            log.warning("cannot check the bearer token of %s %s: %s", request.method,
                        request.path, exc)
            return error(503, "the API tokens cannot be read; see alertd's log")
        refused = refusal(request.headers.get(hdrs.AUTHORIZATION), current)
        if refused is not None:
            return unauthorized(error, refused)
        return await handler(request)

    return guard


def unauthorized(error: ErrorBody, refused: Refusal) -> web.Response:
    response = error(401, refused.message)
    response.headers[hdrs.WWW_AUTHENTICATE] = (
        'Bearer realm="alertd"' + (', error="invalid_token"' if refused.invalid_token else ""))
    return response
