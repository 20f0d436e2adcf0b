"""What Useful / Noise put on the page and in the form, checked against the Slack
double's Block Kit validation (what Slack would refuse)."""

from __future__ import annotations

import json

import pytest

from alertd.alerts.model import Alert
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.receivers.feedback import REASONS
from alertd.receivers.page import ActionNote, page_view
from alertd.receivers.slack_blocks import render
from alertd.receivers.slack_feedback import (
    PRIVATE_METADATA_MAX,
    FormOrigin,
    form_answer,
    noise_form,
    verdict_counts,
    verdict_note,
)
from tests.fakes.slack_blockkit import validate_blocks, validate_view

NOW = 1_800_000_000.0


def note(who: str, what: str) -> ActionNote:
    return ActionNote(who, what, NOW)


def test_each_person_counts_once_with_their_latest_verdict() -> None:
    notes = [note("U1", verdict_note("useful")), note("U1", verdict_note("useful")),
             note("U2", verdict_note("noise")), note("U3", "acknowledged"),
             note("U1", verdict_note("noise", "wrong_team")),
             note("U4", verdict_note("useful"))]
    assert verdict_counts(notes) == (1, 2)


def test_the_buttons_show_the_counts_within_slacks_limits() -> None:
    a = Alert(Labels({"alertname": "ChurnModelDrift", "severity": "warning"}), {}, NOW - 60,
              None, NOW - 60)
    n = Notification("team-ml/slack", "{}:{}", Labels({}), [a], NOW)
    notes = [note("U1", verdict_note("noise")), note("U2", verdict_note("noise", "duplicate")),
             note("U3", verdict_note("useful"))]
    _, blocks = render(page_view(n, actions=notes, action_value="k" * 64))
    texts = {e["action_id"]: e["text"]["text"] for b in blocks if b["type"] == "actions"
             for e in b["elements"]}
    assert (texts["alertd_useful"], texts["alertd_noise"]) == ("Useful (1)", "Noise (2)")
    assert validate_blocks(blocks) == []
    _, before = render(page_view(n, action_value="k" * 64))
    assert "Noise" in [e["text"]["text"] for b in before if b["type"] == "actions"
                       for e in b["elements"]]


def test_the_noise_form_is_a_modal_slack_accepts() -> None:
    origin = FormOrigin("k" * 64, "C0001", "1800000000.000100", '{}:{alertname="X"}', "d1")
    view = noise_form(origin, "ChurnModelDrift: drift on " + "x" * 5000)
    assert validate_view(view) == []
    options = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == list(REASONS)
    assert FormOrigin.decode(view["private_metadata"]) == origin


def test_a_group_key_too_long_for_private_metadata_is_left_out() -> None:
    origin = FormOrigin("k" * 64, "C0001", "1800000000.000100", "g" * 5000, "d1")
    text = origin.encode()
    assert len(text) <= PRIVATE_METADATA_MAX
    assert FormOrigin.decode(text).group_key is None
    assert validate_view(noise_form(origin, "X")) == []
    with pytest.raises(ValueError):
        FormOrigin("k" * 4000, "C0001", "1.000100").encode()


@pytest.mark.parametrize("text", ["", "{}", "[]", '{"page": "k"}',
                                  '{"page": "k", "channel": "C", "ts": 1}',
                                  '{"page": "k", "channel": "C", "ts": "1", "x": "y"}'])
def test_private_metadata_alertd_did_not_write_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        FormOrigin.decode(text)


def state(reason: object, comment: object) -> dict[str, object]:
    return {"state": {"values": {
        "alertd_reason": {"reason": {"type": "radio_buttons", "selected_option": reason}},
        "alertd_comment": {"comment": {"type": "plain_text_input", "value": comment}}}}}


def test_the_answer_is_read_from_the_forms_state() -> None:
    picked = {"text": {"type": "plain_text", "text": "Wrong team"}, "value": "wrong_team"}
    assert form_answer(state(picked, " ours is ml-infra \n")) == ("wrong_team",
                                                                  "ours is ml-infra")
    assert form_answer(state(None, None)) == (None, None)
    assert form_answer(state({"value": "because"}, "   ")) == (None, None)
    assert form_answer(json.loads('{"state": []}')) == (None, None)
