"""Instant queries against Prometheus over its HTTP API, for `prom()` in rules.

One `PrometheusClient` per configured Prometheus. An evaluation round collects the prom()
queries of its rules and calls `query_many` once: each distinct query runs once, all of
them concurrently up to `max_concurrency`, each under its own timeout. Every failure
becomes an `EvalError` whose message a rule author can act on; it never carries a
traceback, the auth header or credentials from the URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ssl import SSLContext
from typing import Any

import aiohttp
from yarl import URL

from alertd.errors import EvalError
from alertd.model import EMPTY_LABELS, Labels, Sample, Vector

log = logging.getLogger(__name__)

# Upper bounds (seconds) of the query duration histogram; the daemon exports them as `le`.
DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                                       5.0, 10.0, 30.0)

_ERROR_SNIPPET = 200  # characters of a non-JSON error body kept in a message


@dataclass(frozen=True)
class PrometheusSettings:
    url: str
    timeout: float = 10.0
    max_concurrency: int = 16
    # The whole value of the Authorization header ("Bearer <token>" or "Basic <base64>").
    auth_header: str | None = field(default=None, repr=False)
    # As aiohttp's `ssl`: a context, False to skip verification, None or True for defaults.
    ssl: SSLContext | bool | None = None

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"prometheus timeout must be positive, got {self.timeout}")
        if self.max_concurrency < 1:
            raise ValueError(
                f"prometheus max_concurrency must be at least 1, got {self.max_concurrency}")


class PrometheusError(EvalError):
    """A failed query; `kind` says where it failed, for metrics and for `up`.

    Kinds: "connection", "timeout", "http" (an answer that is not the Prometheus API's),
    "decode" (an API answer that cannot be read), "server" (Prometheus timed out, is
    unavailable or failed inside), "query" (Prometheus rejected or could not run the query)
    and "result" (a result prom() cannot use, such as a range vector). Only the last two
    leave `up` true: they are the rule's fault, not Prometheus's.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# Failures that say nothing about whether Prometheus itself is healthy: the query was wrong.
_QUERY_FAULTS = frozenset({"query", "result"})


@dataclass
class PrometheusStats:
    """Counters of one client, read by the daemon's /metrics."""

    queries: int = 0  # queries sent (each distinct query of a query_many counts once)
    failures: int = 0
    retries: int = 0  # queries sent again after a kept-alive connection turned out closed
    failures_by_kind: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    in_flight: int = 0
    max_in_flight: int = 0
    duration_sum: float = 0.0
    duration_count: int = 0
    # Cumulative counts per DURATION_BUCKETS bound (`le`); +Inf is duration_count.
    duration_buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))

    def observe(self, seconds: float) -> None:
        self.duration_sum += seconds
        self.duration_count += 1
        for i, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.duration_buckets[i] += 1


class PrometheusClient:
    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self.up = False
        self.stats = PrometheusStats()
        base = URL(settings.url.rstrip("/"))
        self._query_url = base / "api/v1/query"
        self._ready_url = base / "-/ready"
        # Messages name Prometheus by this: the URL without user, password or query.
        self._public_url = str(base.with_user(None).with_query(None).with_fragment(None))
        self._secrets = _secrets_of(settings.auth_header, base.password)
        self._timeout_param = f"{settings.timeout:g}"
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def last_error(self) -> str | None:
        """The message of the last failed query or readiness check."""
        return self.stats.last_error

    async def __aenter__(self) -> PrometheusClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        session, self._session, self._semaphore, self._loop = self._session, None, None, None
        if session is not None and not session.closed:
            await session.close()

    def _open(self) -> tuple[aiohttp.ClientSession, asyncio.Semaphore]:
        # The session and the semaphore belong to the loop they were made in; a client
        # used from a new loop (a test, a restarted daemon) makes new ones.
        loop = asyncio.get_running_loop()
        if self._session is None or self._semaphore is None or self._loop is not loop:
            headers = {"Accept": "application/json", "User-Agent": "alertd"}
            if self.settings.auth_header:
                headers["Authorization"] = self.settings.auth_header
            ssl = True if self.settings.ssl is None else self.settings.ssl
            connector = aiohttp.TCPConnector(limit=self.settings.max_concurrency, ssl=ssl)
            self._session = aiohttp.ClientSession(
                headers=headers, connector=connector,
                timeout=aiohttp.ClientTimeout(total=None))
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrency)
            self._loop = loop
        return self._session, self._semaphore

    # --- queries ---------------------------------------------------------------------------

    async def query(self, query: str, at: float) -> Vector:
        """The instant vector of `query` at time `at`; raises EvalError when it fails."""
        session, semaphore = self._open()
        async with semaphore:
            return await self._run(session, query, at)

    async def query_many(self, queries: Iterable[str], at: float) -> dict[str, Vector | EvalError]:
        """Each distinct query once, concurrently; a failed query maps to its error."""
        distinct = list(dict.fromkeys(queries))
        if not distinct:
            return {}
        results = await asyncio.gather(*(self._query_or_error(q, at) for q in distinct))
        return dict(zip(distinct, results, strict=True))

    async def _query_or_error(self, query: str, at: float) -> Vector | EvalError:
        try:
            return await self.query(query, at)
        except EvalError as e:
            return e
        except Exception as e:  # a bug must not take the other queries of the round down
            log.exception("prometheus query %r failed unexpectedly", query)
            return EvalError(self._redact(f"prometheus query failed: {type(e).__name__}: {e}"))

    async def _run(self, session: aiohttp.ClientSession, query: str, at: float) -> Vector:
        stats = self.stats
        stats.queries += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        started = time.perf_counter()
        try:
            vector = await self._exchange(session, query, at)
        except PrometheusError as e:
            stats.failures += 1
            stats.failures_by_kind[e.kind] = stats.failures_by_kind.get(e.kind, 0) + 1
            stats.last_error = str(e)
            self.up = e.kind in _QUERY_FAULTS
            raise
        else:
            self.up = True
            return vector
        finally:
            stats.in_flight -= 1
            stats.observe(time.perf_counter() - started)

    async def _exchange(self, session: aiohttp.ClientSession, query: str, at: float) -> Vector:
        form = {"query": query, "time": f"{at:.3f}", "timeout": self._timeout_param}
        try:
            async with asyncio.timeout(self.settings.timeout):
                status, text = await self._request(session, "POST", self._query_url, form)
        except TimeoutError:
            raise PrometheusError(
                f"prometheus query timed out after {self.settings.timeout:g}s", "timeout",
            ) from None
        except aiohttp.ClientError as e:
            raise PrometheusError(self._transport_message(e), "connection") from None
        except OSError as e:
            raise PrometheusError(self._transport_message(e), "connection") from None
        return self._decode(status, text, query)

    async def _request(self, session: aiohttp.ClientSession, method: str, url: URL,
                       form: dict[str, str] | None = None) -> tuple[int, str]:
        try:
            return await _send(session, method, url, form)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as e:
            if isinstance(e, aiohttp.ClientConnectorError):
                raise
            # A pooled keep-alive connection that Prometheus closed (it restarted, or its
            # idle timeout passed) fails only when used. Both requests are read-only, so
            # ask once more, on a new connection.
            self.stats.retries += 1
            return await _send(session, method, url, form)

    def _decode(self, status: int, text: str, query: str) -> Vector:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            what = f"http {status}" if status >= 400 else "an answer that is not JSON"
            raise PrometheusError(self._redact(
                f"prometheus at {self._public_url}: {what}: {_snippet(text)}"),
                "http" if status >= 400 else "decode")
        if body.get("status") == "error" or status >= 400:
            error_type = body.get("errorType")
            error = body.get("error")
            if not isinstance(error_type, str) or not isinstance(error, str):
                raise PrometheusError(self._redact(
                    f"prometheus at {self._public_url}: http {status}: {_snippet(text)}"),
                    "http")
            # Prometheus's own overload and shutdown answers are not the query's fault.
            kind = "server" if error_type in ("timeout", "unavailable", "internal") else "query"
            raise PrometheusError(self._redact(f"prometheus: {error_type}: {error}"), kind)
        warnings = body.get("warnings")
        if warnings:
            log.warning("prometheus warned about %r: %s", query, "; ".join(map(str, warnings)))
        try:
            return _result_vector(body["data"])
        except PrometheusError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise PrometheusError(
                f"prometheus at {self._public_url}: unexpected answer "
                f"({type(e).__name__}: {e}): {_snippet(text)}", "decode") from None

    # --- health ----------------------------------------------------------------------------

    async def ready(self) -> bool:
        """Whether Prometheus answers 200 on /-/ready; never raises."""
        session, _ = self._open()
        try:
            async with asyncio.timeout(self.settings.timeout):
                status, _ = await self._request(session, "GET", self._ready_url)
            ok = status == 200
            if not ok:
                self.stats.last_error = (
                    f"prometheus at {self._public_url}: not ready (http {status})")
        except TimeoutError:
            ok = False
            self.stats.last_error = (
                f"prometheus at {self._public_url}: readiness check timed out "
                f"after {self.settings.timeout:g}s")
        except (aiohttp.ClientError, OSError) as e:
            ok = False
            self.stats.last_error = self._transport_message(e)
        self.up = ok
        return ok

    # --- messages --------------------------------------------------------------------------

    def _transport_message(self, e: BaseException) -> str:
        return self._redact(f"prometheus at {self._public_url}: {_describe_transport(e)}")

    def _redact(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, "<redacted>")
        return message


async def _send(session: aiohttp.ClientSession, method: str, url: URL,
                form: dict[str, str] | None) -> tuple[int, str]:
    async with session.request(method, url, data=form) as resp:
        return resp.status, await resp.text(errors="replace")


def _describe_transport(e: BaseException) -> str:
    """A one-line, lowercase reason for a failed connection, without a traceback."""
    if isinstance(e, aiohttp.ClientConnectorCertificateError):
        return f"tls certificate verification failed ({e.certificate_error})"
    if isinstance(e, aiohttp.ClientSSLError):
        return f"tls error ({e.os_error})"
    if isinstance(e, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve host {e.host!r}"
    if isinstance(e, aiohttp.ClientConnectorError):
        cause: BaseException = e.os_error
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect ({_os_reason(cause)})"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(e, aiohttp.ClientPayloadError):
        return "answer cut short"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError):
        return f"connection failed ({_os_reason(e)})"
    return f"request failed ({type(e).__name__}: {e})"


def _os_reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return str(e) or type(e).__name__


def _secrets_of(auth_header: str | None, url_password: str | None) -> tuple[str, ...]:
    secrets: list[str] = []
    if auth_header:
        secrets.append(auth_header)
        _, _, credential = auth_header.partition(" ")
        if credential.strip():
            secrets.append(credential.strip())
    if url_password:
        secrets.append(url_password)
    # Longest first, so the whole header is replaced before its credential part.
    return tuple(sorted(secrets, key=len, reverse=True))


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return "(empty body)"
    if len(text) > _ERROR_SNIPPET:
        return repr(text[:_ERROR_SNIPPET] + "...")
    return repr(text)


def _result_vector(data: Mapping[str, Any]) -> Vector:
    result_type = data["resultType"]
    result = data["result"]
    if result_type == "vector":
        out: Vector = []
        for item in result:
            value = item.get("value")
            if value is None:
                if "histogram" in item:
                    raise PrometheusError(
                        "prom() got a native histogram sample, which alertd cannot use; "
                        "query a float series instead (histogram_quantile(), "
                        "histogram_count(), histogram_sum())", "result")
                raise KeyError("value")
            out.append(Sample(_labels(item["metric"]), float(value[1])))
        return out
    if result_type == "scalar":
        return [Sample(EMPTY_LABELS, float(result[1]))]
    if result_type == "matrix":
        raise PrometheusError("prom() needs an instant vector, got a range vector", "result")
    if result_type == "string":
        raise PrometheusError("prom() needs an instant vector, got a string", "result")
    raise ValueError(f"unknown result type {result_type!r}")


def _labels(metric: Mapping[str, str]) -> Labels:
    if not isinstance(metric, Mapping):
        raise TypeError("metric is not an object")
    return Labels(metric)
