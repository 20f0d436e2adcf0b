"""Useful / Noise on a Slack page: the notes verdicts leave on it, the counts its buttons
show, and the form (a modal) that asks why a page was noise.

The page keeps no record of verdicts but its notes, so the counts are read back from
them: `verdict_note` writes what `note_verdict` reads. The form's answer comes back to
the same Request URL with nothing of the click but what the form carried in its
`private_metadata`: `FormOrigin` is that, the page and the Slack message it is about.
Limits: docs.slack.dev/reference/views (title, submit and close 24 characters, 100
blocks, private_metadata 3,000, callback_id 255).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from alertd.receivers.feedback import NOISE, REASONS, USEFUL
from alertd.receivers.page import ActionNote

NOISE_FORM = "alertd_noise_reason"  # the modal's callback_id
REASON_BLOCK, REASON_ACTION = "alertd_reason", "reason"
COMMENT_BLOCK, COMMENT_ACTION = "alertd_comment", "comment"
PICK_A_REASON = "pick a reason"

PRIVATE_METADATA_MAX = 3000
ABOUT_MAX = 3000  # section text
COMMENT_MAX = 3000  # plain_text_input's max_length may not exceed this

_VERDICT_NOTE = "marked it {verdict}"


# --- verdicts on the page ---------------------------------------------------------------

def verdict_note(verdict: str, reason: str | None = None) -> str:
    """What the page says of a verdict: "marked it noise (too sensitive)"."""
    note = _VERDICT_NOTE.format(verdict=verdict)
    return f"{note} ({REASONS[reason].lower()})" if reason else note


def note_verdict(note: ActionNote) -> str | None:
    """The verdict a note records ("useful", "noise"), or None for other actions."""
    for verdict in (USEFUL, NOISE):
        said = _VERDICT_NOTE.format(verdict=verdict)
        if note.what == said or note.what.startswith(f"{said} ("):
            return verdict
    return None


def verdict_counts(notes: Iterable[ActionNote]) -> tuple[int, int]:
    """(useful, noise): one verdict per person, their latest, as the noise report counts."""
    latest: dict[str, str] = {}
    for note in notes:
        verdict = note_verdict(note)
        if verdict is not None:
            latest[note.who] = verdict
    votes = list(latest.values())
    return votes.count(USEFUL), votes.count(NOISE)


# --- the form -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FormOrigin:
    """The page a form is about, carried through Slack in the form's private_metadata."""

    page: str  # the page's key, as in its buttons' value
    channel: str  # the message the Noise button was on
    ts: str
    group_key: str | None = None  # as when Noise was clicked
    delivery: str | None = None

    def encode(self) -> str:
        """As private_metadata; a long group key is left out (the page has it too).
        Raises ValueError when even the rest is over Slack's limit."""
        for origin in (self, replace(self, group_key=None)):
            text = json.dumps({k: v for k, v in asdict(origin).items() if v is not None},
                              separators=(",", ":"))
            if len(text) <= PRIVATE_METADATA_MAX:
                return text
        raise ValueError("the page's origin does not fit in a modal's private_metadata")

    @classmethod
    def decode(cls, text: str) -> FormOrigin:
        """Raises ValueError for anything `encode` did not write."""
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) - {"page", "channel", "ts", "group_key",
                                                       "delivery"}:
            raise ValueError("not a page's origin")
        if not all(isinstance(v, str) for v in data.values()):
            raise ValueError("not a page's origin")
        if not all(data.get(k) for k in ("page", "channel", "ts")):
            raise ValueError("not a page's origin")
        return cls(**data)


def noise_form(origin: FormOrigin, about: str) -> dict[str, Any]:
    """The modal asking why the page `about` (its title) was noise."""
    about = " ".join(about.split()) or "this page"
    intro = (f"{about}\n\nYour Noise verdict is counted. Saying why helps the weekly "
             "review prune or fix the alert.")
    options = [{"text": _plain(label), "value": value} for value, label in REASONS.items()]
    return {
        "type": "modal",
        "callback_id": NOISE_FORM,
        "title": _plain("Why is it noise?"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "private_metadata": origin.encode(),
        "blocks": [
            {"type": "section", "text": _plain(_clip(intro, ABOUT_MAX))},
            {"type": "input", "block_id": REASON_BLOCK, "label": _plain("Why?"),
             "element": {"type": "radio_buttons", "action_id": REASON_ACTION,
                         "options": options}},
            {"type": "input", "block_id": COMMENT_BLOCK, "optional": True,
             "label": _plain("Anything to add?"),
             "element": {"type": "plain_text_input", "action_id": COMMENT_ACTION,
                         "multiline": True, "max_length": COMMENT_MAX}},
        ],
    }


def form_answer(view: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(reason, comment) from a submitted form's state; None for what is missing."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping):
        return None, None
    picked = _field(values, REASON_BLOCK, REASON_ACTION).get("selected_option")
    reason = picked.get("value") if isinstance(picked, Mapping) else None
    comment = _field(values, COMMENT_BLOCK, COMMENT_ACTION).get("value")
    text = (comment.strip() or None) if isinstance(comment, str) else None
    return (reason if reason in REASONS else None), text


def _field(values: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    block = values.get(block_id)
    found = block.get(action_id) if isinstance(block, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
