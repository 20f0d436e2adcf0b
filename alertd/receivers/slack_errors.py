"""What a Slack Web API answer that is not "ok" means for a retry, classified once.

Slack says most failures in the body of an HTTP 200 (`"ok": false` and an error code), so
the status alone (`alertd.receivers.http.classify`) cannot tell them: the code is read too."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError

from alertd.errors import NotifyError
from alertd.receivers.http import retry_after as parse_retry_after

# Slack errors that say "later", not "never" (HTTP 429 and 5xx are retryable anyway).
RETRYABLE = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error",
                       "service_unavailable", "request_timeout", "message_limit_exceeded"})
# A page that cannot be edited any more: it is posted again.
GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def slack_error(exc: SlackApiError) -> NotifyError:
    """A Slack answer classified once: what a retry can fix and what it cannot."""
    resp = exc.response
    status = resp.status_code
    data = resp.data if isinstance(resp.data, dict) else {}
    code = str(data.get("error") or f"HTTP {status}")
    detail = "; ".join(str(e) for e in data.get("errors") or [])
    message = f"slack: {code}" + (f" ({detail})" if detail else "")
    if code == "missing_scope" and data.get("needed"):
        message += f": the app needs the {data['needed']} scope"
    headers = resp.headers or {}
    # A Retry-After date counts from now (the wall clock, as the date is).
    retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"),
                                    time.time())
    retryable = status == 429 or status >= 500 or code in RETRYABLE
    return NotifyError(message, retryable=retryable, retry_after=retry_after)
