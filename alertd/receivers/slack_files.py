"""Posting a file (the weekly report's chart) in a Slack channel or thread.

Slack retired files.upload; slack-sdk's `files_upload_v2` does the three steps that
replace it: files.getUploadURLExternal (name and length), an HTTP POST of the bytes to
the URL it answers, files.completeUploadExternal (the file id and title, the channel and
thread). Both API methods need the `files:write` scope. Reference: integrations.md §8.1.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from alertd.errors import NotifyError
from alertd.receivers.slack_errors import RETRYABLE


async def upload_file(client: AsyncWebClient, *, channel: str, thread_ts: str | None,
                      filename: str, content: bytes, title: str,
                      initial_comment: str | None) -> str:
    """Share `content` as `filename` in `channel` (in the thread of `thread_ts`, if
    given), with `initial_comment` as the message introducing it; returns the file's id.

    Raises NotifyError, retryable when a later attempt may succeed.
    """
    try:
        resp = await client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, filename=filename, content=content,
            title=title, initial_comment=initial_comment)
    except SlackApiError as exc:
        raise _api_error(exc) from exc
    except SlackRequestError as exc:  # the upload URL refused the bytes
        raise NotifyError(f"slack: uploading {filename!r} failed: {exc}",
                          retryable=False) from exc
    except TimeoutError as exc:  # the file may have been shared all the same
        raise NotifyError("slack: no answer in time", retryable=True, ambiguous=True) from exc
    except aiohttp.ClientError as exc:
        raise NotifyError(f"slack unreachable: {type(exc).__name__}: {exc}",
                          retryable=True) from exc
    file = resp.get("file")
    if not isinstance(file, dict) or not file.get("id"):
        raise NotifyError("slack: files.completeUploadExternal named no file",
                          retryable=False)
    return str(file["id"])


def _api_error(exc: SlackApiError) -> NotifyError:
    resp = exc.response
    data = resp.data if isinstance(resp.data, dict) else {}
    code = str(data.get("error") or f"HTTP {resp.status_code}")
    message = f"slack: {code}"
    if code == "missing_scope" and data.get("needed"):
        message += f": the app needs the {data['needed']} scope"
    retryable = resp.status_code == 429 or resp.status_code >= 500 or code in RETRYABLE
    return NotifyError(message, retryable=retryable)
