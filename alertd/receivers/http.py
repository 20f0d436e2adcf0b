"""HTTP delivery shared by the integrations: what an answer or a failure means for a retry.

    2xx                      delivered
    408, 429, 5xx            retryable; 429 and 503 carry the Retry-After wait if given
    other 4xx, 3xx           not retryable: the same request will fail the same way
    no connection            retryable
    failure after sending    retryable and ambiguous: the receiver may have it already
    bad URL or header        not retryable

A 504 is ambiguous too: a proxy gave up waiting, the receiver may have processed it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

from alertd.errors import NotifyError
from alertd.receivers.transport import BadRequest, Pool, TransportError

__all__ = ["classify", "post", "redact_urls", "retry_after", "transport_error"]

_BODY_SHOWN = 200  # characters of a failed answer's body in the error message
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^/\s@'\"]*@)?([^/\s?#'\"]*)[^\s'\"]*")


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date.

    None when absent or unreadable; a date in the past gives 0."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        wait = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # a "-0000" zone; HTTP dates are always in GMT
            when = when.replace(tzinfo=UTC)
        wait = max(0.0, when.timestamp() - now)
    return wait if math.isfinite(wait) else None


def classify(status: int, headers: Mapping[str, str], body: str, *, what: str,
             now: float | None = None) -> NotifyError | None:
    """None for a 2xx answer, else the NotifyError it amounts to.

    `what` names the integration in the message; `now` (unix seconds, default the wall
    clock) reads a Retry-After date."""
    if 200 <= status < 300:
        return None
    # URLs in the body cut to scheme and host, as everywhere in messages: an error page
    # often repeats the request's URL, and its path or query may hold a token.
    text = redact_urls(" ".join(body.split()))[:_BODY_SHOWN]
    message = f"{what} answered {status}: {text}" if text else f"{what} answered {status}"
    if status not in (408, 429) and not 500 <= status < 600:
        return NotifyError(message, retryable=False)
    wait = None
    if status in (429, 503):
        wait = retry_after(_header(headers, "Retry-After"), time.time() if now is None else now)
    return NotifyError(message, retryable=True, retry_after=wait, ambiguous=status == 504)


def transport_error(exc: TransportError, *, what: str) -> NotifyError:
    """The NotifyError for a request that got no answer."""
    reason = redact_urls(str(exc))
    if isinstance(exc, BadRequest):
        return NotifyError(f"{what} cannot be reached: {reason}", retryable=False)
    if not exc.sent:
        return NotifyError(f"{what} unreachable: {reason}", retryable=True)
    return NotifyError(f"{what} failed after the request was sent (it may have arrived): "
                       f"{reason}", retryable=True, ambiguous=True)


def redact_urls(text: str) -> str:
    """`text` with every URL cut to scheme and host: paths and queries often hold tokens."""
    return _URL.sub(lambda m: f"{m.group(1)}{m.group(2)}/…", text)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # A plain dict is case-sensitive; aiohttp's headers are not.
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


# --- sending --------------------------------------------------------------------------------


async def post(session: Pool, url: str, data: bytes, headers: Mapping[str, str],
               *, timeout: float, what: str) -> int:
    """POSTs `data` and returns the 2xx status; raises NotifyError as `classify` and
    `transport_error` say. `session` keeps the connections; close it when done."""
    try:
        answer = await session.post(url, data, headers, timeout=timeout)
    except TransportError as exc:
        raise transport_error(exc, what=what) from exc
    body = answer.body.decode("utf-8", "replace")
    error = classify(answer.status, answer.headers, body, what=what)
    if error is not None:
        location = answer.headers.get("location")
        if 300 <= answer.status < 400 and location:  # not followed: say where it points
            error = NotifyError(f"{error} (redirects to {redact_urls(location)})",
                                retryable=False)
        raise error
    return answer.status
