"""Modals for the Slack double: the trigger_ids it issues with the clicks it simulates,
views.open, and the state of the views it opened as a `view_submission` carries it.

Slack's contract (/work/shared/reference/integrations.md §1.9 and §8.2; the method
reference of views.open): a trigger_id comes with an interaction, works once and for 3
seconds; `view` is a modal view object (a JSON string in a form body); the bot token
needs no scope; a view over 250 kB is `view_too_large`, an invalid one
`invalid_arguments` with the violations in `response_metadata.messages`.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes import Clock
from tests.fakes.slack_blockkit import input_elements, validate_view

Args = dict[str, Any]

TRIGGER_LIFETIME = 3.0
VIEW_MAX_BYTES = 250_000


@dataclass
class _Trigger:
    user: str
    issued: float
    used: bool = False


@dataclass(frozen=True)
class OpenedView:
    """A view opened by views.open; `view` as stored, block_ids filled in."""

    id: str
    trigger_id: str
    user: str
    view: dict[str, Any]
    opened: float
    hash: str

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id", ""))

    @property
    def private_metadata(self) -> str:
        return str(self.view.get("private_metadata", ""))


class Modals:
    """Issues trigger_ids, opens views with them, and answers a submission's state."""

    def __init__(self, clock: Clock, *,
                 with_block_ids: Callable[[list[Any], str], list[Any]],
                 stamp: Mapping[str, str]) -> None:
        self.clock = clock
        self.opened: list[OpenedView] = []
        self._triggers: dict[str, _Trigger] = {}
        self._with_block_ids = with_block_ids
        self._stamp = dict(stamp)  # app_id, bot_id, team_id of the views
        self._seq = itertools.count(1)

    def issue(self, user: str) -> str:
        """A trigger_id, as an interaction by `user` carries one."""
        n = next(self._seq)
        trigger_id = f"{n}.{int(self.clock())}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(user, self.clock())
        return trigger_id

    def views_open(self, args: Args) -> Args:
        trigger_id = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
        if not trigger_id:
            return _invalid_arguments(["missing required field: trigger_id"])
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if trigger.used:
            return {"ok": False, "error": "exchanged_trigger_id"}
        if self.clock() - trigger.issued > TRIGGER_LIFETIME:
            return {"ok": False, "error": "expired_trigger_id"}
        view, problem = _view_arg(args.get("view"))
        if problem:
            return _invalid_arguments([problem])
        if len(json.dumps(view)) > VIEW_MAX_BYTES:
            return {"ok": False, "error": "view_too_large"}
        errors = validate_view(view)
        if errors:
            return _invalid_arguments(errors)
        trigger.used = True
        opened = self._store(trigger_id, trigger.user, view)
        return {"ok": True, "view": self.view_object(opened, {})}

    def view_object(self, opened: OpenedView, values: Mapping[str, Any]) -> Args:
        """The view as Slack returns and submits it, with `values` as its state."""
        v = opened.view
        return {
            "id": opened.id, "type": "modal", "title": v["title"],
            "submit": v.get("submit"), "close": v.get("close"), "blocks": v["blocks"],
            "private_metadata": opened.private_metadata, "callback_id": opened.callback_id,
            "external_id": v.get("external_id", ""), "state": {"values": dict(values)},
            "hash": opened.hash, "clear_on_close": bool(v.get("clear_on_close")),
            "notify_on_close": bool(v.get("notify_on_close")), "root_view_id": opened.id,
            "previous_view_id": None, "app_installed_team_id": self._stamp["team_id"],
            **self._stamp,
        }

    def state(self, opened: OpenedView, answers: Mapping[str, str | None], *,
              check_required: bool) -> dict[str, Any]:
        """`view.state.values` for `answers` (block_id -> the text typed or the value of
        the option picked). Slack's client does not send a form with a required field
        empty: `check_required=False` builds one anyway (a forged or replayed request)."""
        inputs = input_elements(opened.view)
        unknown = set(answers) - set(inputs)
        if unknown:
            raise ValueError(f"no input block {sorted(unknown)} in view {opened.id}")
        values: dict[str, Any] = {}
        for block_id, (action_id, element, optional) in inputs.items():
            answer = answers.get(block_id)
            if answer is None and not optional and check_required:
                raise ValueError(f"Slack does not submit a form with {block_id} empty")
            values[block_id] = {action_id: _element_state(element, answer)}
        return values

    def _store(self, trigger_id: str, user: str, view: dict[str, Any]) -> OpenedView:
        view_id = f"V{next(self._seq):09d}"
        stored = {**view, "blocks": self._with_block_ids(view["blocks"], view_id)}
        opened = OpenedView(view_id, trigger_id, user, stored, self.clock(),
                            f"{int(self.clock())}.{secrets.token_hex(4)}")
        self.opened.append(opened)
        return opened


def _view_arg(value: Any) -> tuple[Any, str]:
    """(the view, "") or (None, why there is none); a form body carries it as JSON."""
    if value is None:
        return None, "missing required field: view"
    if isinstance(value, str):
        try:
            return json.loads(value), ""
        except ValueError:
            return None, "invalid `view`"
    return value, ""


def _element_state(element: dict[str, Any], answer: str | None) -> dict[str, Any]:
    kind = element["type"]
    if kind == "plain_text_input":
        return {"type": kind, "value": answer}
    options = {o["value"]: o for o in element.get("options", [])}
    if answer is not None and answer not in options:
        raise ValueError(f"{answer!r} is not an option of {element['action_id']}")
    picked = options.get(answer) if answer is not None else None
    if kind == "checkboxes":
        return {"type": kind, "selected_options": [picked] if picked else []}
    return {"type": kind, "selected_option": picked}


def _invalid_arguments(messages: list[str]) -> Args:
    return {"ok": False, "error": "invalid_arguments",
            "response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}}
