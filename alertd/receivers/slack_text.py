"""Block Kit text objects for the Slack page, escaped and clipped to Slack's limits: one
text over its limit, or one malformed URL, and Slack refuses the whole message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alertd.receivers.page import web_url

Block = dict[str, Any]

BUTTON_TEXT_MAX = 75  # Slack's limit on a button's text


def escape(text: str) -> str:
    """User data in mrkdwn: &, < and > would otherwise be read as markup (links, mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int, *, markup: bool = True) -> str:
    """`text` in at most `limit` characters, ending with "…" when cut. In mrkdwn, never
    cuts inside an escape (&amp;) or a link or mention (<...>): Slack would show the
    broken markup."""
    if len(text) <= limit:
        return text
    cut = text[:max(0, limit - 1)]
    if not markup:
        return cut + "…"
    amp = cut.rfind("&")
    if amp >= len(cut) - 4 and ";" not in cut[amp:]:
        cut = cut[:amp]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[:cut.rfind("<")]
    return cut + "…"


def link(url: str, name: str) -> str:
    return f"<{escape(url).replace('|', '%7C')}|{name}>"


def usable(url: str, limit: int) -> bool:
    """Slack refuses the whole message for one malformed URL, so those are left out."""
    return len(url) <= limit and web_url(url)


def plain(text: str, limit: int) -> Block:
    text = clip(" ".join(text.split()), limit, markup=False)
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str, limit: int) -> Block:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def context(texts: Sequence[str], limit: int) -> Block | None:
    elements = [mrkdwn(t, limit) for t in texts if t]
    return {"type": "context", "elements": elements} if elements else None


def button(text: str, action_id: str, *, value: str = "", url: str = "",
           style: str = "") -> Block:
    block: Block = {"type": "button", "text": plain(text, BUTTON_TEXT_MAX),
                    "action_id": action_id}
    # Slack refuses an empty value; the handler then finds the page from the message.
    for key, item in (("value", value), ("url", url), ("style", style)):
        if item:
            block[key] = item
    return block
