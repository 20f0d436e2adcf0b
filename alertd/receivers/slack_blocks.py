"""The Slack page: a PageView as Block Kit blocks, with a short plain fallback text.

Slack refuses a whole message when one block breaks one limit (invalid_blocks,
msg_blocks_too_long), and a page that is not delivered is worse than a page cut short. So
every text is clipped to its limit here, and a long group is summarised ("+N more"),
never rejected. Limits: reference/integrations.md §1.7.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence

from alertd.receivers import pagerduty_event
from alertd.receivers.page import (
    ActionNote,
    AlertLine,
    PageView,
    ValueRange,
    distinct_keys,
)
from alertd.receivers.slack_feedback import verdict_counts
from alertd.receivers.slack_text import Block
from alertd.receivers.slack_text import button as _button
from alertd.receivers.slack_text import clip as _clip
from alertd.receivers.slack_text import context as _context
from alertd.receivers.slack_text import escape as _escape
from alertd.receivers.slack_text import link as _link
from alertd.receivers.slack_text import mrkdwn as _mrkdwn
from alertd.receivers.slack_text import plain as _plain
from alertd.receivers.slack_text import usable as _usable
from alertd.receivers.timewords import clock as _clock
from alertd.receivers.timewords import duration as _duration
from alertd.templates.filters import go_g4

# Slack's limits.
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
CONTEXT_TEXT_MAX = 3000
BUTTON_VALUE_MAX = 2000
BUTTON_URL_MAX = 3000
BLOCK_TEXT_BUDGET = 12_000  # cumulative block text beyond which: msg_blocks_too_long
FALLBACK_MAX = 4000  # chat.update refuses a longer top-level text

# Our own caps, below Slack's: together, everything but the alert list stays inside the
# budget (about 11,000 characters at most), so the list always has room for a few lines.
OWNER_MAX = 300
LABELS_MAX = 2000
ABOUT_MAX = 1000
FLAPPING_MAX = 500  # a few "flapping: ..." lines
BECAUSE_MAX = 500  # one line saying which inputs made a composite fire
LINK_URL_MAX = 1000  # longer links are left out of mrkdwn rather than clipped (and broken)
NOTE_MAX = 280
NOTES_SHOWN = 5
LISTED_MAX = 10
LINE_MAX = 280
FALLBACK_LEN = 1000  # mobile notifications show only this text: keep it short
THREAD_LISTED = 5

ACK, SILENCE_1H, USEFUL, NOISE = "alertd_ack", "alertd_silence_1h", "alertd_useful", "alertd_noise"
# The link buttons' action ids are "alertd_" and the link's kind: alertd_runbook,
# alertd_dashboard, alertd_graph.

_BADGES = {"critical": ":red_circle:", "error": ":red_circle:",
           "warning": ":large_orange_circle:"}
_NEUTRAL = ":large_blue_circle:"
_RESOLVED = ":large_green_circle:"
# Slack user ids: U or W, then upper-case letters and digits (at least one digit, so that
# a name written in capitals stays a name).
_USER_ID = re.compile(r"[UW](?=[A-Z]*[0-9])[A-Z0-9]+")
_MARKUP = re.compile(r"<[@!][^<>]*>")


def render(view: PageView, *, buttons: bool = True, title: str | None = None,
           text: str | None = None) -> tuple[str, list[Block]]:
    """The page as (fallback text, blocks).

    `title` replaces the alert name in the header (the status and severity badge stays,
    so a page still turns green when resolved); `text` replaces the summary. Both come
    from the operator's templates and are used as mrkdwn as rendered, links included.
    Raises ValueError when `view.action_value` is too long for a button value.
    """
    if len(view.action_value) > BUTTON_VALUE_MAX:
        raise ValueError(f"action value is {len(view.action_value)} characters long, "
                         f"over Slack's {BUTTON_VALUE_MAX}")
    flapping = _context([_escape(view.flapping)], FLAPPING_MAX)
    head = [_header(view, title), _summary(view, text), flapping, _labels(view)]
    tail = [_about(view, links=not buttons), _notes(view), _actions(view) if buttons else None]
    fixed = [b for b in (*head, *tail) if b is not None]
    room = min(SECTION_TEXT_MAX, BLOCK_TEXT_BUDGET - _text_size(fixed))
    listing = _listing(view, room)
    blocks = [b for b in (*head, listing, *tail) if b is not None]
    return _fallback(view, title), blocks


def thread_reply(view: PageView, kind: str, *,
                 notified: Collection[str] | None = None) -> tuple[str, list[Block]]:
    """A short reply in the page's thread: `kind` is "resolved", "repeat" or "update".

    For "update", `notified` holds the fingerprints of the alerts the thread last showed
    firing: firing alerts not among them are listed as new. Without it, only the
    resolved alerts are listed.
    """
    if kind == "resolved":
        return _resolved_reply(view)
    if kind == "repeat":
        return _repeat_reply(view)
    if kind == "update":
        return _update_reply(view, notified)
    raise ValueError(f'unknown thread reply kind "{kind}"')


def _text_size(blocks: Iterable[Block]) -> int:
    """The characters of text in `blocks`, as counted against Slack's cumulative budget."""
    return sum(len(t) for block in blocks for t in _texts(block))


def _texts(block: Block) -> Iterable[str]:
    if "text" in block:
        yield block["text"]["text"]
    for item in (*block.get("fields", ()), *block.get("elements", ())):
        yield item["text"]["text"] if item.get("type") == "button" else item["text"]


# Blocks of the page.

def _header(view: PageView, title: str | None) -> Block:
    if view.status == "resolved":
        badge = f"{_RESOLVED} RESOLVED"
    else:
        level = pagerduty_event.severity(view.severity, default="info")
        badge = f"{_BADGES.get(level, _NEUTRAL)} {(view.severity or 'firing').upper()}"
    return {"type": "header", "text": _plain(f"{badge} · {title or view.title}", HEADER_MAX)}


def _summary(view: PageView, text: str | None) -> Block:
    block: Block = {"type": "section", "fields": _fields(view)}
    body = text or _escape(view.summary)
    if body.strip():
        block["text"] = _mrkdwn(body, SECTION_TEXT_MAX)
    return block


def _fields(view: PageView) -> list[Block]:
    fields = []
    if view.because:
        # A composite's own value (1) says nothing; its inputs' values do.
        fields.append(("Fired because", _clip(_escape(view.because), BECAUSE_MAX)))
    elif view.value is not None:
        fields.append(("Value", _value(view.value) + _range(view.value_range)))
    fields.append(("Since", _since(view)))
    if view.owner:
        owner = " ".join(p for p in (_escape(view.owner), _mention(view.owner_mention)) if p)
        fields.append(("Owner", _clip(owner, OWNER_MAX)))
    if len(view.firing) + len(view.resolved) > 1:
        fields.append(("Alerts", _counts(view)))
    return [_mrkdwn(f"*{name}*\n{value}", FIELD_MAX) for name, value in fields]


def _range(spread: ValueRange | None) -> str:
    if spread is None:
        return ""
    span = f"{_value(spread.low)}\N{EN DASH}{_value(spread.high)}"
    return f" ({span} over {spread.count} alerts)"


def _labels(view: PageView) -> Block | None:
    if not view.labels:
        return None
    pairs = " · ".join(f"{k}={v}" for k, v in view.labels.items())
    return _context([_escape(pairs)], LABELS_MAX)


def _listing(view: PageView, room: int) -> Block | None:
    lines = [*view.firing, *view.resolved]
    if len(lines) < 2 or room <= 0:
        return None
    text = _alert_list(lines, lines, view.summary, room, LISTED_MAX,
                       mark_resolved=bool(view.firing))
    return {"type": "section", "text": _mrkdwn(text, room)} if text else None


def _about(view: PageView, *, links: bool) -> Block | None:
    """Why this page was sent, where it was routed, and (without buttons) where to look.

    The group key means nothing to a responder: it is behind the "alertd" link, the
    decision chain of the page's first alert (its route, group key and deliveries)."""
    parts = [_escape(p) for p in (view.reason, f"receiver {view.receiver}") if p]
    if _usable(view.history_url, LINK_URL_MAX):
        parts.append(_link(view.history_url, "alertd"))
    # One element per link: a link is never cut, and at most LINK_URL_MAX long.
    elements = [_mrkdwn(_link(link.url, link.name), CONTEXT_TEXT_MAX)
                for link in (view.links if links else ()) if _usable(link.url, LINK_URL_MAX)]
    if parts:
        elements.append(_mrkdwn(" · ".join(parts), ABOUT_MAX))
    return {"type": "context", "elements": elements} if elements else None


def _notes(view: PageView) -> Block | None:
    """The actions log: the latest few, since the page is where responders coordinate."""
    if not view.actions:
        return None
    shown = view.actions[-NOTES_SHOWN:]
    lines = [_clip(_note(n, view.now), NOTE_MAX) for n in shown]
    if len(view.actions) > len(shown):
        lines.insert(0, f"+{len(view.actions) - len(shown)} earlier")
    return _context(["\n".join(lines)], CONTEXT_TEXT_MAX)


def _actions(view: PageView) -> Block:
    value = view.action_value
    elements = []
    if view.status == "firing":
        # Once acknowledged, the button says by whom; a second click changes nothing.
        ack = (_button(f"Acknowledged by {view.acknowledged_by}", ACK, value=value)
               if view.acknowledged_by else
               _button("Acknowledge", ACK, value=value, style="primary"))
        elements += [ack, _button("Silence 1h", SILENCE_1H, value=value)]
    for link in view.links:
        if _usable(link.url, BUTTON_URL_MAX):
            elements.append(_button(link.name, f"alertd_{link.kind}", url=link.url))
    # Responders judge noise after the fact too, so the verdicts stay on resolved pages.
    useful, noise = verdict_counts(view.actions)
    elements += [_button(_counted("Useful", useful), USEFUL, value=value),
                 _button(_counted("Noise", noise), NOISE, value=value)]
    return {"type": "actions", "elements": elements}


def _counted(name: str, count: int) -> str:
    return f"{name} ({count})" if count else name


def _fallback(view: PageView, title: str | None) -> str:
    status = f"FIRING:{len(view.firing)}" if view.status == "firing" else "RESOLVED"
    text = f"[{status}] {title or view.title}"
    if view.owner:
        text += f" (owner {view.owner})"
    if view.summary:
        text += f" — {view.summary}"
    return _clip(_escape(" ".join(text.split())), min(FALLBACK_LEN, FALLBACK_MAX))


# Thread replies.

def _resolved_reply(view: PageView) -> tuple[str, list[Block]]:
    lines = view.resolved
    after = _duration(_ended(lines, view.now) - _started(lines, view.since))
    head = f"{_RESOLVED} *Resolved* after {after}"
    # A single alert is named by the page it replies to; a group says which ones.
    body = _alert_list(lines, [*view.firing, *lines], view.summary, SECTION_TEXT_MAX,
                       THREAD_LISTED) if len(lines) > 1 else ""
    return _reply(f"Resolved after {after}: {view.title}", [head, body])


def _repeat_reply(view: PageView) -> tuple[str, list[Block]]:
    n = len(view.firing)
    text = f"Still firing: {n} alert{'s' if n != 1 else ''}, for {_duration(view.now - view.since)}"
    return _reply(f"{text}: {view.title}", [f":repeat: {text}"])


def _update_reply(view: PageView,
                  notified: Collection[str] | None) -> tuple[str, list[Block]]:
    everyone = [*view.firing, *view.resolved]
    joined = [] if notified is None else [a for a in view.firing if a.fingerprint not in notified]
    parts: list[str] = []
    plain: list[str] = []
    for emoji, what, lines in ((":heavy_plus_sign:", "new", joined),
                               (":white_check_mark:", "resolved", view.resolved)):
        if lines:
            listed = _alert_list(lines, everyone, view.summary, SECTION_TEXT_MAX // 2,
                                 THREAD_LISTED)
            parts.append(f"{emoji} *{len(lines)} {what}*\n{listed}")
            plain.append(f"{len(lines)} {what}")
    now = f"Now {len(view.firing)} firing."
    parts.append(now)
    return _reply(f"{', '.join(plain) or 'No change'}: {view.title}. {now}", ["\n".join(parts)])


def _reply(plain: str, texts: Sequence[str]) -> tuple[str, list[Block]]:
    blocks = [{"type": "section", "text": _mrkdwn(t, SECTION_TEXT_MAX)} for t in texts if t]
    return _clip(_escape(" ".join(plain.split())), FALLBACK_LEN), blocks


# The alert list.

def _alert_list(lines: Sequence[AlertLine], group: Sequence[AlertLine], shared_summary: str,
                limit: int, most: int, *, mark_resolved: bool = False) -> str:
    """Up to `most` alerts, one line each, and "+N more" for the rest, in `limit` chars.

    Alerts are told apart by the labels whose values differ across `group`."""
    keys = distinct_keys(group)
    shown: list[str] = []
    for line in lines[:most]:
        entry = _alert_line(line, keys, shared_summary, mark_resolved)
        hidden = len(lines) - len(shown) - 1
        reserve = len(_more(hidden)) + 1 if hidden else 0
        if sum(len(s) + 1 for s in shown) + len(entry) + reserve > limit:
            break
        shown.append(entry)
    if len(shown) < len(lines):
        shown.append(_more(len(lines) - len(shown)))
    return _clip("\n".join(shown), limit)


def _alert_line(line: AlertLine, keys: Sequence[str], shared_summary: str,
                mark_resolved: bool) -> str:
    labels = ", ".join(f"{k}={line.labels[k]}" for k in keys if k in line.labels)
    summary = line.summary if line.summary != shared_summary else ""
    because = f"fired because {line.because}" if line.because else ""
    what = " — ".join(_escape(p) for p in (labels, summary, because) if p) or (
        f"`{line.fingerprint}`")
    # The value and the state go last but are kept when a long summary is cut.
    tail = (f" — *{_value(line.value)}*" if line.value is not None and not line.because
            else "")
    tail += " _(resolved)_" if mark_resolved and line.resolved else ""
    return f"• {_clip(what, LINE_MAX - len(tail) - 2)}{tail}"



def _more(n: int) -> str:
    return f"+{n} more"


# Words and numbers.

def _value(value: float) -> str:
    """A value at a glance: integers without decimals, else four significant digits."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return go_g4(value)


def _since(view: PageView) -> str:
    if view.status == "resolved":
        ended = _ended(view.resolved, view.now)
        return f"resolved after {_duration(ended - view.since)}"
    return f"firing for {_duration(view.now - view.since)} (since {_clock(view.since, view.now)})"


def _counts(view: PageView) -> str:
    counts = ((len(view.firing), "firing"), (len(view.resolved), "resolved"))
    return " · ".join(f"{n} {what}" for n, what in counts if n)


def _mention(mention: str) -> str:
    """Mention markup (<@U...>, <!subteam^S...>) as is; a handle Slack cannot notify is
    shown as written, so it is user data like any other."""
    return mention if _MARKUP.fullmatch(mention) else _escape(mention)


def _note(note: ActionNote, now: float) -> str:
    who = f"<@{note.who}>" if _USER_ID.fullmatch(note.who) else _escape(note.who)
    if note.silence_ended is not None:
        # The page follows the silence: "silenced it for 1h" would now be untrue.
        return f"silence by {who} ended · {_clock(note.silence_ended, now)}"
    return f"{who} {_escape(note.what)} · {_clock(note.at, now)}"


def _ended(lines: Sequence[AlertLine], default: float) -> float:
    return max((a.ends_at for a in lines if a.ends_at is not None), default=default)


def _started(lines: Sequence[AlertLine], default: float) -> float:
    return min((a.starts_at for a in lines), default=default)
