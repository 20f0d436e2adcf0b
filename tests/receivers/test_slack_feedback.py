"""Useful / Noise on a Slack page: one verdict per person per page, linked to the page,
and Noise asking why in a Slack form (a modal).

The daemon runs in process with a fake clock; clicks and form submissions are built by
the Slack double (tests/fakes/slack.py) from the page it holds, with trigger_ids it
issued and that expire after 3 s of its own clock, and signed as Slack signs them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alertd.daemon import Daemon
from alertd.history import HistoryEvent
from alertd.receivers.feedback import verdicts
from alertd.timefmt import rfc3339
from tests.fakes import ManualClock
from tests.fakes.slack import FakeSlack, Message
from tests.fakes.slack_modals import OpenedView
from tests.receivers.slack_daemon import HEAD, ONCALL_SLACK, SECRET, T0, SlackDaemon

ACTIONS = "/api/alertd/v1/slack/actions"
ALICE, BOB = "U0ALICE01", "U0BOB0001"

CONFIG = HEAD + """\
notify:
  slack: {{signing_secret: {secret}}}
""" + ONCALL_SLACK


class Env(SlackDaemon):
    def __init__(self, tmp_path: Path, slack: FakeSlack, slack_clock: ManualClock) -> None:
        super().__init__(tmp_path, slack)
        self.slack_clock = slack_clock  # expires the double's trigger_ids

    async def start(self) -> Daemon:
        return await self.start_with(CONFIG)

    def signed_click(self, action_id: str, user: str,
                     **kw: Any) -> tuple[bytes, dict[str, str]]:
        self.clock.advance(1)  # a person's clicks are seconds apart
        return self.slack.click(SECRET, self.current(), action_id, user=user,
                                user_name=user.lower(), timestamp=int(self.clock.now()), **kw)

    async def send(self, signed: tuple[bytes, dict[str, str]]) -> tuple[int, str]:
        """POST a signed interaction; (status, body), once its work is done."""
        assert self.daemon
        body, headers = signed
        async with self.http.post(self.daemon.listen_url + ACTIONS, data=body,
                                  headers=headers) as resp:
            answer = resp.status, await resp.text()
        await self.daemon.notifications.actions.settle()
        return answer

    async def click(self, action_id: str, user: str, **kw: Any) -> None:
        assert await self.send(self.signed_click(action_id, user, **kw)) == (200, "")

    async def submit(self, view: OpenedView, answers: dict[str, str | None],
                     **kw: Any) -> tuple[int, str]:
        self.clock.advance(1)
        return await self.send(self.slack.submit_view(
            SECRET, view, answers, user_name=view.user.lower(),
            timestamp=int(self.clock.now()), **kw))

    async def feedback(self) -> list[HistoryEvent]:
        assert self.daemon and self.daemon.history and self.daemon.store
        await self.daemon.history.flush()
        events: list[HistoryEvent] = []
        for a in self.daemon.alerts.alerts():
            events += await self.daemon.store.history.for_alert(a.fingerprint)
        return sorted((e for e in events if e.kind == "feedback"), key=lambda e: e.at)


@pytest.fixture
async def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              no_proxy: None) -> AsyncIterator[Env]:
    monkeypatch.chdir(tmp_path)
    slack_clock = ManualClock()
    async with FakeSlack(clock=slack_clock) as slack:
        e = Env(tmp_path, slack, slack_clock)
        try:
            yield e
        finally:
            await e.close()


def alert(instance: str) -> dict[str, Any]:
    return {"labels": {"alertname": "ModelLatencyHigh", "instance": instance, "team": "ml"},
            "annotations": {"summary": f"p99 latency high on {instance}"},
            "startsAt": rfc3339(T0)}


def button_texts(page: Message) -> dict[str, str]:
    return {e["action_id"]: e["text"]["text"] for b in page.blocks or []
            if b["type"] == "actions" for e in b["elements"]}


def by(user: str) -> str:
    return f"{user.lower()} (slack {user})"


async def test_repeated_clicks_count_once_per_person_and_name_the_page(env: Env) -> None:
    await env.start()
    page = await env.page(alert("a"), alert("b"))
    await env.click("alertd_useful", ALICE)
    await env.click("alertd_useful", ALICE)  # again: still one verdict
    assert button_texts(env.current())["alertd_useful"] == "Useful (1)"
    await env.click("alertd_noise", BOB)  # and closes the form unanswered
    await env.click("alertd_noise", ALICE)  # changes her mind
    texts = button_texts(env.current())
    assert (texts["alertd_useful"], texts["alertd_noise"]) == ("Useful", "Noise (2)")

    events = await env.feedback()
    assert len(events) == 4 * 2  # every click is kept, on each alert of the page
    assert {(e.details["channel"], e.details["ts"]) for e in events} == {("C0001", page.ts)}
    assert all(e.details["group_key"] == events[0].details["group_key"] for e in events)
    assert 'alertname="ModelLatencyHigh"' in events[0].details["group_key"]
    found = verdicts(events)
    assert {k: e.details["verdict"] for k, e in found.items()} == {
        (by(ALICE), "C0001", page.ts): "noise", (by(BOB), "C0001", page.ts): "noise"}


async def test_the_delivery_in_the_message_metadata_is_recorded_when_slack_sends_it(
        env: Env) -> None:
    await env.start()
    page = await env.page(alert("a"))
    assert page.metadata is not None
    await env.click("alertd_useful", ALICE, include_metadata=True)
    (event,) = await env.feedback()
    assert event.details["delivery"] == page.metadata["event_payload"]["delivery"]
    assert event.details["delivery"]


async def test_noise_asks_why_and_the_answer_refines_the_verdict(env: Env) -> None:
    await env.start()
    page = await env.page(alert("a"))
    await env.click("alertd_noise", ALICE)
    (view,) = env.slack.views  # opened with the click's trigger_id: the double checked it
    assert view.user == ALICE and view.callback_id == "alertd_noise_reason"
    origin = json.loads(view.private_metadata)
    assert (origin["channel"], origin["ts"]) == ("C0001", page.ts)
    (pending,) = await env.feedback()
    assert pending.details["verdict"] == "noise" and "reason" not in pending.details

    answer = await env.submit(view, {"alertd_reason": "too_sensitive",
                                     "alertd_comment": "  fires on every deploy  "})
    assert answer == (200, "")  # an empty 200 closes the form
    first, refined = await env.feedback()
    assert refined.details["verdict"] == "noise"
    assert refined.details["reason"] == "too_sensitive"
    assert refined.details["comment"] == "fires on every deploy"
    assert (refined.details["channel"], refined.details["ts"]) == ("C0001", page.ts)
    assert refined.details["group_key"] == pending.details["group_key"]
    (verdict,) = verdicts([first, refined]).values()
    assert verdict.details["reason"] == "too_sensitive"
    shown = json.dumps(env.current().blocks)
    assert button_texts(env.current())["alertd_noise"] == "Noise (1)"  # still one person
    assert "marked it noise (too sensitive)" in shown


async def test_a_form_sent_without_a_reason_gets_the_fields_error(env: Env) -> None:
    await env.start()
    await env.page(alert("a"))
    await env.click("alertd_noise", ALICE)
    (view,) = env.slack.views
    status, body = await env.submit(view, {"alertd_comment": "no idea"},
                                    check_required=False)
    assert status == 200
    assert json.loads(body) == {"response_action": "errors",
                                "errors": {"alertd_reason": "pick a reason"}}
    assert len(await env.feedback()) == 1  # the click's; nothing from the form


async def test_an_expired_trigger_opens_no_form_but_the_noise_counts(env: Env) -> None:
    await env.start()
    await env.page(alert("a"))
    signed = env.signed_click("alertd_noise", ALICE)
    env.slack_clock.advance(3.5)  # the click reached alertd too late to open the form
    assert await env.send(signed) == (200, "")
    assert [c for c, _ in env.slack.calls].count("views.open") == 1
    assert env.slack.views == []
    (event,) = await env.feedback()
    assert event.details["verdict"] == "noise"
    assert button_texts(env.current())["alertd_noise"] == "Noise (1)"


async def test_forged_or_foreign_submissions_change_nothing(env: Env) -> None:
    await env.start()
    await env.page(alert("a"))
    await env.click("alertd_noise", ALICE)
    (view,) = env.slack.views
    body, headers = env.slack.submit_view(SECRET, view, {"alertd_reason": "duplicate"},
                                          timestamp=int(env.clock.now()))
    assert await env.send((body, {**headers, "X-Slack-Signature": "v0=" + "0" * 64})) == (
        401, json.dumps({"error": "invalid or stale Slack signature"}))
    # Signed, but the form's private_metadata is not one alertd wrote.
    forged = OpenedView(view.id, view.trigger_id, view.user,
                        {**view.view, "private_metadata": "{}"}, view.opened, view.hash)
    status, _ = await env.submit(forged, {"alertd_reason": "duplicate"})
    assert status == 400
    assert len(await env.feedback()) == 1
