"""Samples pushed over HTTP: `POST /api/alertd/v1/samples`.

The body is one sample object or a JSON array of them (schema in `alertd.sources.push`).
Every valid sample is stored, even when others in the same request are not:

    202 {"accepted": N}                               all stored
    400 {"accepted": N, "errors": [{index, field, message}, ...]}   some were invalid
    422 {"accepted": N, "errors": [...]}              all valid, but the store refused some

The 202 is sent once the samples are in the store. An invalid sample has an error for each
of its wrong fields, so one answer lists everything to fix. Errors are sorted by index
(`null` for a single object or for the body as a whole); at most `MAX_ERRORS_SHOWN` are listed, and
`errors_not_shown` counts the rest. Other answers: 401 (bearer token), 413 (body limit), 415
(content type), each with `{"error": "..."}`.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import hdrs, web

from alertd.clock import Clock
from alertd.sources.push import (
    PushedSample,
    SampleError,
    decode_payload,
    invalid_samples,
    parse_samples,
)

SAMPLES_PATH = "/api/alertd/v1/samples"
MAX_ERRORS_SHOWN = 1000

log = logging.getLogger("alertd.webhook")


class SampleSink(Protocol):
    """Where pushed samples go (the sample store)."""

    def ingest(self, samples: Sequence[PushedSample], now: float) -> list[tuple[int, str]]:
        """Store the samples (`now` stands for a missing timestamp).

        Returns (position in `samples`, reason) for each sample the store refused, e.g.
        out of order or over a series limit; the others are stored.
        """
        ...


class WebhookMetrics(Protocol):
    """What the webhook reports about itself (alertd's /metrics implements this)."""

    def request(self, status: int) -> None: ...

    def samples_ingested(self, n: int) -> None: ...

    def samples_rejected(self, n: int, reason: str) -> None:
        """`reason` is "invalid" (schema) or "store" (refused by the store)."""
        ...


@dataclass
class WebhookCounters:
    """WebhookMetrics as plain counters."""

    requests: Counter[int] = field(default_factory=Counter)
    ingested: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def request(self, status: int) -> None:
        self.requests[status] += 1

    def samples_ingested(self, n: int) -> None:
        self.ingested += n

    def samples_rejected(self, n: int, reason: str) -> None:
        self.rejected[reason] += n


def webhook_routes(
    sink: SampleSink,
    clock: Clock,
    *,
    tokens: frozenset[str],
    max_body_bytes: int,
    metrics: WebhookMetrics | None = None,
) -> list[web.RouteDef]:
    """The route of the samples endpoint; with `tokens`, requests need one as a bearer token."""
    handler = _SamplesHandler(sink, clock, tokens, max_body_bytes, metrics)
    return [web.post(SAMPLES_PATH, handler.handle)]


class _SamplesHandler:
    def __init__(
        self,
        sink: SampleSink,
        clock: Clock,
        tokens: frozenset[str],
        max_body_bytes: int,
        metrics: WebhookMetrics | None,
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._tokens = tuple(t.encode() for t in tokens)
        self._max = max_body_bytes
        self._metrics = metrics

    async def handle(self, request: web.Request) -> web.Response:
        response = await self._handle(request)
        if self._metrics is not None:
            self._metrics.request(response.status)
        return response

    async def _handle(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        body = await _read_at_most(request, self._max)
        if body is None:
            return self._too_large()
        payload, error = decode_payload(body)
        if error is not None:
            self._count_rejected(1, "invalid")
            return _json(400, {"accepted": 0, "errors": [_error_json(error)]})
        return self._store(payload)

    def _refuse(self, request: web.Request) -> web.Response | None:
        """The answer to a request refused before its body is read, if it is."""
        if self._tokens:
            unauthorized = self._check_token(request.headers.get(hdrs.AUTHORIZATION))
            if unauthorized is not None:
                return unauthorized
        if hdrs.CONTENT_TYPE in request.headers and not _is_json(request.content_type):
            return _error(415, f'content type "{request.content_type}" is not supported; '
                               "send application/json")
        length = request.content_length
        if length is not None and length > self._max:
            return self._too_large()
        return None

    def _store(self, payload: object) -> web.Response:
        valid, errors = parse_samples(payload)
        refused: list[tuple[int, str]] = []
        if valid:
            try:
                refused = self._sink.ingest([s for _, s in valid], self._clock.now())
            except Exception:
                log.exception("storing pushed samples failed")
                return _error(500, "internal error while storing the samples")
        accepted = len(valid) - len(refused)
        if self._metrics is not None:
            self._metrics.samples_ingested(accepted)
        self._count_rejected(invalid_samples(errors), "invalid")
        self._count_rejected(len(refused), "store")
        if not errors and not refused:
            return _json(202, {"accepted": accepted})

        single = type(payload) is not list
        errors.extend(SampleError(None if single else valid[pos][0], None, reason)
                      for pos, reason in refused)
        errors.sort(key=_by_index)
        answer: dict[str, object] = {
            "accepted": accepted,
            "errors": [_error_json(e) for e in errors[:MAX_ERRORS_SHOWN]],
        }
        if len(errors) > MAX_ERRORS_SHOWN:
            answer["errors_not_shown"] = len(errors) - MAX_ERRORS_SHOWN
        return _json(400 if len(errors) > len(refused) else 422, answer)

    def _check_token(self, header: str | None) -> web.Response | None:
        if header is None:
            return _unauthorized("missing bearer token", invalid=False)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized('the Authorization header must be "Bearer <token>"',
                                 invalid=False)
        given = token.strip().encode()
        # Compare with every token, so the time taken says nothing about which one is close.
        ok = False
        for expected in self._tokens:
            ok |= hmac.compare_digest(given, expected)
        return None if ok else _unauthorized("invalid bearer token", invalid=True)

    def _too_large(self) -> web.Response:
        response = _error(413, f"the body is larger than the limit of {self._max} bytes")
        response.force_close()  # the rest of the body is not read
        return response

    def _count_rejected(self, n: int, reason: str) -> None:
        if n and self._metrics is not None:
            self._metrics.samples_rejected(n, reason)


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (whatever Content-Length said)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _by_index(error: SampleError) -> int:
    return -1 if error.index is None else error.index


def _error_json(error: SampleError) -> dict[str, object]:
    return {"index": error.index, "field": error.field, "message": error.message}


def _json(status: int, body: object) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json(status, {"error": message})


def _unauthorized(message: str, *, invalid: bool) -> web.Response:
    challenge = 'Bearer realm="alertd"' + (', error="invalid_token"' if invalid else "")
    response = _error(401, message)
    response.headers[hdrs.WWW_AUTHENTICATE] = challenge
    return response
