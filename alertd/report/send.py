"""Posting one report to one Slack channel: the Block Kit message through chat.postMessage,
then the chart PNG in its thread (files_upload_v2, which needs `files:write`).

The chart is secondary: once the message is posted the period counts as sent
(`on_posted`), and a chart that fails to render or upload is logged, not retried, so a
retry never posts the message twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from alertd.errors import NotifyError
from alertd.receivers.slack import RETRYABLE, api_base
from alertd.receivers.slack_files import upload_file
from alertd.report import sections
from alertd.report.slack_message import fallback_text, report_blocks, report_link

log = logging.getLogger("alertd.report")

TIMEOUT_S = 30


@dataclass(frozen=True, slots=True)
class SlackTarget:
    receiver: str
    token: str
    app_url: str  # Alertmanager's app_url (…/api/chat.postMessage) or the API base
    channel: str


async def send_report(target: SlackTarget, report: Mapping[str, Any], external_url: str, *,
                      on_posted: Callable[[], Awaitable[None]]) -> str:
    """Post `report` to the target's channel and its chart in the thread; the message's ts.
    Raises NotifyError when the message could not be posted."""
    client = AsyncWebClient(token=target.token, base_url=api_base(target.app_url),
                            timeout=TIMEOUT_S, retry_handlers=[])
    blocks = report_blocks(report, report_link(external_url, report))
    try:
        resp = await client.chat_postMessage(channel=target.channel,
                                             text=fallback_text(report), blocks=blocks,
                                             unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        raise NotifyError(f"slack: {code}", retryable=code in RETRYABLE) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise NotifyError(f"slack unreachable: {type(exc).__name__}: {exc}",
                          retryable=True) from exc
    ts, channel = str(resp["ts"]), str(resp["channel"])
    await on_posted()
    await _chart(client, channel, ts, report)
    return ts


async def _chart(client: AsyncWebClient, channel: str, ts: str,
                 report: Mapping[str, Any]) -> None:
    from alertd.report.chart_png import chart_png  # matplotlib: only loaded when sending

    try:
        # Rendering takes a fraction of a second of CPU: off the event loop.
        png = await asyncio.to_thread(chart_png, report)
        end = str(sections.mapping(report.get("period")).get("to", ""))[:10]
        # The channel's id as chat.postMessage answered it, not the configured `#name`:
        # files.completeUploadExternal takes only an id.
        await upload_file(client, channel=channel, thread_ts=ts,
                          filename=f"alert-noise-{end}.png", content=png,
                          title="Pages per day and top rules", initial_comment=None)
    except (NotifyError, ValueError, RuntimeError) as exc:
        log.error("the noise report's chart was not posted: %s", exc)
