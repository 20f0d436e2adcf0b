"""Range queries over Prometheus history, for baselines: prometheus-api-client, off the loop.

The daemon's live prom() queries are instant queries over aiohttp (sources/prometheus.py).
A baseline pull is rare and can be long, so it goes through prometheus-api-client's
synchronous client in a worker thread (`asyncio.to_thread`), with a timeout per request
and one for the whole pull. Prometheus answers at most 11,000 points per series and
query, so a long range is asked for in pieces of at most MAX_POINTS steps each.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from yarl import URL

from alertd.errors import AlertdError
from alertd.model import Labels

__all__ = ["MAX_POINTS", "RangeError", "RangeSeries", "RangeSettings", "query_range"]

MAX_POINTS = 10_000
RangeSeries = tuple[Labels, list[float]]
_SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


class RangeError(AlertdError):
    """A range query that failed; the message names Prometheus and the query."""


@dataclass(frozen=True)
class RangeSettings:
    url: str
    timeout: float = 30.0  # per request
    auth_header: str | None = field(default=None, repr=False)
    verify: bool = True  # TLS certificate verification
    ca_file: str | None = None
    cert: tuple[str, str] | None = None  # client certificate and key files

    @property
    def public_url(self) -> str:
        base = URL(self.url.rstrip("/"))
        return str(base.with_user(None).with_query(None).with_fragment(None))


def pieces(start: float, end: float, step: float) -> list[tuple[float, float]]:
    """[start, end] cut into ranges of at most MAX_POINTS steps, none overlapping."""
    out: list[tuple[float, float]] = []
    at = start
    while at <= end:
        last = min(at + (MAX_POINTS - 1) * step, end)
        out.append((at, last))
        at = last + step
    return out


async def query_range(settings: RangeSettings, query: str, start: float, end: float,
                      step: float, *, deadline: float | None = None) -> list[RangeSeries]:
    """Every series of `query` over [start, end] at `step`, with its values in time order
    (NaN kept). `deadline`: seconds for the whole pull (default: each piece's timeout,
    plus one)."""
    parts = pieces(start, end, step)
    limit = deadline if deadline is not None else settings.timeout * (len(parts) + 1)
    try:
        results = await asyncio.wait_for(
            asyncio.to_thread(_pull, settings, query, parts, step), timeout=limit)
    except TimeoutError:
        raise RangeError(f"{settings.public_url}: the range query {query!r} took longer than "
                         f"{limit:g}s") from None
    return _merge(results, query)


def _pull(settings: RangeSettings, query: str, parts: Sequence[tuple[float, float]],
          step: float) -> list[list[Mapping[str, Any]]]:
    # Imported here: only baseline pulls need it (and requests with it).
    import requests
    from prometheus_api_client import PrometheusConnect
    from prometheus_api_client.exceptions import PrometheusApiClientException
    from urllib3.util.retry import Retry

    headers = {"Authorization": settings.auth_header} if settings.auth_header else None
    retry = Retry(total=2, backoff_factor=0.5, status_forcelist=[502, 503, 504])
    where = settings.public_url
    session = requests.Session()
    session.verify = (settings.ca_file or True) if settings.verify else False
    session.cert = settings.cert
    try:
        with PrometheusConnect(url=settings.url.rstrip("/"), headers=headers, retry=retry,
                               session=session, timeout=settings.timeout) as prom:
            return [prom.custom_query_range(query, start_time=_time(a), end_time=_time(b),
                                            step=f"{step:g}s") for a, b in parts]
    except PrometheusApiClientException as exc:
        raise RangeError(f"{where}: the range query {query!r} failed: {exc}") from None
    except requests.Timeout:
        raise RangeError(f"{where}: the range query {query!r} timed out after "
                         f"{settings.timeout:g}s") from None
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise RangeError(f"{where}: cannot reach Prometheus for the range query {query!r} "
                         f"({reason})") from None


def _merge(results: Sequence[Sequence[Mapping[str, Any]]], query: str) -> list[RangeSeries]:
    series: dict[Labels, list[float]] = {}
    for result in results:
        if not isinstance(result, list):
            raise RangeError(f"the range query {query!r} did not return series (a range "
                             "query of a scalar or string cannot be a baseline)")
        for item in result:
            labels = Labels(item.get("metric", {}))
            values = series.setdefault(labels, [])
            values.extend(_value(v) for _, v in item.get("values", []))
    return list(series.items())


def _value(text: Any) -> float:
    if isinstance(text, str) and text in _SPECIAL:
        return _SPECIAL[text]
    return float(text)


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
