"""HTTP delivery shared by the integrations: what an answer or a failure means for a retry.

    2xx                      delivered
    408, 429, 5xx            retryable; 429 and 503 carry the Retry-After wait if given
    other 4xx, 3xx           not retryable: the same request will fail the same way
    no connection            retryable
    failure after sending    retryable and ambiguous: the receiver may have it already

A 504 is ambiguous too: a proxy gave up waiting, the receiver may have processed it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from types import SimpleNamespace

import aiohttp

from alertd.errors import NotifyError

__all__ = ["classify", "new_session", "post", "redact_urls", "retry_after", "transport_error"]

_BODY_SHOWN = 200  # characters of a failed answer's body in the error message
_BODY_READ = 64 * 1024  # bytes read of any answer; beyond that the connection is dropped
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^/\s@'\"]*@)?([^/\s?#'\"]*)[^\s'\"]*")
# Errors that say the request itself is wrong: sending it again cannot help.
_PERMANENT: tuple[type[Exception], ...] = (
    aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError, aiohttp.RedirectClientError,
    aiohttp.TooManyRedirects,
)


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
    text = " ".join(body.split())[:_BODY_SHOWN]
    message = f"{what} answered {status}: {text}" if text else f"{what} answered {status}"
    if status not in (408, 429) and not 500 <= status < 600:
        return NotifyError(message, retryable=False)
    wait = None
    if status in (429, 503):
        wait = retry_after(_header(headers, "Retry-After"), time.time() if now is None else now)
    return NotifyError(message, retryable=True, retry_after=wait, ambiguous=status == 504)


def transport_error(exc: BaseException, *, what: str, sent: bool) -> NotifyError:
    """The NotifyError for a request that got no answer; `sent` says whether it left."""
    if isinstance(exc, _PERMANENT):
        return NotifyError(f"{what} cannot be reached: {_describe(exc)}", retryable=False)
    if not sent:
        return NotifyError(f"{what} unreachable: {_describe(exc)}", retryable=True)
    return NotifyError(f"{what} failed after the request was sent (it may have arrived): "
                       f"{_describe(exc)}", retryable=True, ambiguous=True)


def redact_urls(text: str) -> str:
    """`text` with every URL cut to scheme and host: paths and queries often hold tokens."""
    return _URL.sub(lambda m: f"{m.group(1)}{m.group(2)}/…", text)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {reason}"
    text = redact_urls(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # A plain dict is case-sensitive; aiohttp's headers are not.
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


# --- sending --------------------------------------------------------------------------------


class _Progress:
    """How far one request got, noted by the session's tracing."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


async def _on_headers_sent(session: aiohttp.ClientSession, ctx: SimpleNamespace,
                           params: aiohttp.TraceRequestHeadersSentParams) -> None:
    progress = ctx.trace_request_ctx
    if isinstance(progress, _Progress):
        progress.sent = True


def new_session() -> aiohttp.ClientSession:
    """A session for `post`: it notes when a request has been sent, which makes a later
    failure ambiguous. Create it in the running loop; close it when done."""
    tracing = aiohttp.TraceConfig()
    tracing.on_request_headers_sent.append(_on_headers_sent)
    return aiohttp.ClientSession(trace_configs=[tracing])


async def post(session: aiohttp.ClientSession, url: str, data: bytes, headers: Mapping[str, str],
               *, timeout: float, what: str) -> int:
    """POSTs `data` and returns the 2xx status; raises NotifyError as `classify` and
    `transport_error` say. `session` comes from `new_session`."""
    progress = _Progress()
    try:
        async with session.post(url, data=data, headers=dict(headers),
                                timeout=aiohttp.ClientTimeout(total=timeout),
                                trace_request_ctx=progress) as resp:
            body = await _read_capped(resp)
            error = classify(resp.status, resp.headers, body, what=what)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise transport_error(exc, what=what, sent=progress.sent) from exc
    if error is not None:
        raise error
    return resp.status


async def _read_capped(resp: aiohttp.ClientResponse) -> str:
    """The start of the answer's body. Reading it lets the connection be reused; an answer
    cut short still counts by its status, which has arrived."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < _BODY_READ:
            chunk = await resp.content.read(_BODY_READ - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (TimeoutError, aiohttp.ClientError):
        pass
    return b"".join(chunks).decode("utf-8", "replace")
