"""Pages in Slack and PagerDuty, end to end: alerts posted to the daemon (in process, a
fake clock), delivered to the local Slack and PagerDuty doubles, buttons clicked with
Slack's signed requests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from alertd.daemon import Daemon
from alertd.timefmt import rfc3339
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.recording import RecordingSink, recording_sink
from tests.fakes.slack import FakeSlack, Message, signed_block_actions
from tests.receivers.slack_daemon import HEAD, ONCALL_SLACK, SECRET, T0, SlackDaemon

ROUTING_KEY = "0123456789abcdef0123456789abcdef"

CONFIG = HEAD + """\
notify:
  fallback_receiver: fallback
  failing_after: 3
  slack: {{signing_secret: {secret}}}
""" + ONCALL_SLACK + """\
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pd}/v2/enqueue
  - name: fallback
    webhook_configs: [{{url: '{fallback}/fallback'}}]
owners:
  - name: ml
    matchers: ['team="ml"']
    slack_handle: S0ML0TEAM
    runbook_base_url: https://runbooks.example.com/ml
"""


class Env(SlackDaemon):
    def __init__(self, tmp_path: Path, slack: FakeSlack, pd: FakePagerDuty,
                 fallback: RecordingSink) -> None:
        super().__init__(tmp_path, slack)
        self.pd = pd
        self.fallback = fallback

    async def start(self, channel: str = "C0001") -> Daemon:
        return await self.start_with(CONFIG, pd=self.pd.url, channel=channel,
                                     routing_key=ROUTING_KEY, fallback=self.fallback.url)

    async def at(self, seconds: float, *alerts: dict[str, Any]) -> None:
        """Move the clock to T0 + seconds, post `alerts`, flush and deliver what is due."""
        assert self.daemon
        self.clock.set(T0 + seconds)
        if alerts:
            await self.post(alerts)
        await self.deliver_due()
        n = self.daemon.notifications
        await self.daemon.scheduler.step_meta(self.clock.now())
        await n.dispatcher.flush_due(self.clock.now())
        await n.settle()

    async def click(self, action_id: str, value: str, *, secret: str = SECRET,
                    age: float = 0.0, user: str = "U0ALICE01") -> int:
        assert self.daemon
        body, headers = signed_block_actions(secret, action_id=action_id, value=value,
                                             user=user, timestamp=int(self.clock.now() - age))
        async with self.http.post(self.daemon.listen_url + "/api/alertd/v1/slack/actions",
                                  data=body, headers=headers) as resp:
            return resp.status

    async def history(self, fingerprint: str) -> list[dict[str, Any]]:
        assert self.daemon
        assert self.daemon.history is not None
        await self.daemon.history.flush()
        async with self.http.get(self.daemon.listen_url
                                 + f"/api/alertd/v1/alerts/{fingerprint}/history") as resp:
            result: list[dict[str, Any]] = await resp.json()
            return result

    def pages(self, channel: str = "C0001") -> list[Message]:
        return self.slack.messages(channel)


@pytest.fixture
async def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              no_proxy: None) -> AsyncIterator[Env]:
    monkeypatch.chdir(tmp_path)
    async with FakeSlack() as slack, FakePagerDuty() as pd, recording_sink() as fallback:
        e = Env(tmp_path, slack, pd, fallback)
        try:
            yield e
        finally:
            await e.close()


def alert(name: str, *, ends: float | None = None, **labels: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} on {labels.get('instance', '?')}"},
        "startsAt": rfc3339(T0),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }
    if ends is not None:
        body["endsAt"] = rfc3339(ends)
    return body


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in message.blocks or [] if b["type"] == "actions"
            for e in b["elements"]}


def block_text(message: Message) -> str:
    return json.dumps(message.blocks)


async def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait for a background task (a button's work) to show, without a fixed sleep."""
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


LATENCY = alert("ModelLatencyHigh", instance="a", team="ml", severity="critical")


async def test_a_page_says_what_broke_who_owns_it_and_what_to_do(env: Env) -> None:
    await env.start()
    await env.at(0, LATENCY)
    assert env.pages() == []  # group_wait
    await env.at(30, LATENCY)
    (page,) = env.pages()
    header = next(b for b in page.blocks or [] if b["type"] == "header")["text"]["text"]
    assert "CRITICAL" in header and "ModelLatencyHigh" in header
    text = block_text(page)
    assert "ModelLatencyHigh on a" in text  # the summary
    assert "<!subteam^S0ML0TEAM>" in text  # the owner's Slack handle is mentioned
    actions = buttons(page)
    assert actions["alertd_runbook"]["url"] == "https://runbooks.example.com/ml/ModelLatencyHigh"
    assert actions["alertd_graph"]["url"] == "http://prometheus:9090/graph?g0.expr=up"
    for action in ("alertd_ack", "alertd_silence_1h", "alertd_useful", "alertd_noise"):
        assert actions[action]["value"] == actions["alertd_ack"]["value"]
    assert page.text.startswith("[FIRING:1] ModelLatencyHigh")  # the notification text
    assert page.metadata is not None and page.metadata["event_type"] == "alertd_page"
    # PagerDuty: one incident for the group, its severity mapped, owner in the details.
    (incident,) = env.pd.open_incidents()
    assert incident.severity == "critical" and incident.status == "triggered"
    assert incident.custom_details["owner"] == "ml"


async def test_the_page_is_kept_current_and_resolution_goes_green_in_its_thread(env: Env) -> None:
    await env.start()
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    other = alert("ModelLatencyHigh", instance="b", team="ml", severity="critical")
    await env.at(60, LATENCY, other)
    await env.at(330, LATENCY, other)  # group_interval: the new alert joins
    (page,) = env.pages()  # edited, not posted again
    assert len(page.versions) == 2
    assert "ModelLatencyHigh on b" in block_text(page)
    assert env.slack.replies("C0001", page.ts) == []
    # Both resolve.
    await env.at(400, alert("ModelLatencyHigh", instance="a", team="ml", severity="critical",
                            ends=T0 + 390),
                 alert("ModelLatencyHigh", instance="b", team="ml", severity="critical",
                       ends=T0 + 390))
    await env.at(630)
    (page,) = env.pages()
    header = next(b for b in page.blocks or [] if b["type"] == "header")["text"]["text"]
    assert "RESOLVED" in header and ":large_green_circle:" in header
    assert "alertd_ack" not in buttons(page)  # nothing to acknowledge any more
    (reply,) = env.slack.replies("C0001", page.ts)
    assert "esolved" in reply.text
    (incident,) = env.pd.incidents
    assert incident.status == "resolved"
    # It fires again: a new incident, a new message.
    await env.at(700, LATENCY)
    await env.at(930, LATENCY)
    assert len(env.pages()) == 2
    assert len(env.pd.incidents) == 2


async def test_repeats_go_into_the_thread_until_acknowledged(env: Env) -> None:
    await env.start()
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    (page,) = env.pages()
    await env.at(30 + 4 * 3600 + 1, LATENCY)
    assert len(env.pages()) == 1
    (reply,) = env.slack.replies("C0001", page.ts)
    assert "till firing" in reply.text
    assert await env.click("alertd_ack", buttons(page)["alertd_ack"]["value"]) == 200
    await eventually(lambda: "acknowledged" in block_text(env.pages()[0]), "the ack")
    await env.at(30 + 8 * 3600 + 2, LATENCY)
    assert len(env.slack.replies("C0001", page.ts)) == 1  # acknowledged: no more nagging


async def test_acknowledge_reaches_pagerduty_and_the_history(env: Env) -> None:
    daemon = await env.start()
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    (page,) = env.pages()
    value = buttons(page)["alertd_ack"]["value"]
    assert await env.click("alertd_ack", value) == 200
    await eventually(lambda: env.pd.open_incidents()[0].status == "acknowledged", "PD ack")
    await eventually(lambda: "acknowledged" in block_text(env.pages()[0]), "the page")
    assert "<@U0ALICE01>" in block_text(env.pages()[0])  # who did it
    fingerprint = daemon.alerts.alerts()[0].fingerprint
    events = await env.history(fingerprint)
    acks = [e for e in events if e["kind"] == "ack"]
    assert acks and "U0ALICE01" in acks[0]["details"]["by"]


async def test_forged_and_stale_clicks_are_refused_and_change_nothing(env: Env) -> None:
    daemon = await env.start()
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    (page,) = env.pages()
    value = buttons(page)["alertd_silence_1h"]["value"]
    assert await env.click("alertd_silence_1h", value, secret="not-the-secret") == 401
    assert await env.click("alertd_silence_1h", value, age=301) == 401
    async with env.http.post(daemon.listen_url + "/api/alertd/v1/slack/actions",
                             data=b"payload=%7B%7D") as resp:
        assert resp.status == 401  # unsigned
    await daemon.notifications.settle()
    assert len(daemon.notifications.silences) == 0
    assert len(env.pages()[0].versions) == 1
    # Within the window (4m59s old) the same click is accepted.
    assert await env.click("alertd_silence_1h", value, age=299) == 200
    await eventually(lambda: len(daemon.notifications.silences) == 1, "the silence")


async def test_a_replayed_click_is_refused_and_acts_once(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    daemon = await env.start()
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    (page,) = env.pages()
    value = buttons(page)["alertd_silence_1h"]["value"]
    body, headers = signed_block_actions(SECRET, action_id="alertd_silence_1h", value=value,
                                         user="U0ALICE01", timestamp=int(env.clock.now()))
    url = daemon.listen_url + "/api/alertd/v1/slack/actions"
    async with env.http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 200
    await eventually(lambda: len(daemon.notifications.silences) == 1, "the silence")
    # The same signed request again, a minute later: still inside Slack's five-minute
    # signature window, but it was already taken.
    env.clock.set(T0 + 90)
    async with env.http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 401
    await daemon.notifications.settle()
    assert len(daemon.notifications.silences) == 1
    assert any("replayed" in r.getMessage() for r in caplog.records
               if r.name == "alertd.api")
    # A new click (signed afresh) still acts.
    assert await env.click("alertd_silence_1h", value, user="U0BOB0001") == 200
    await eventually(lambda: len(daemon.notifications.silences) == 2, "the second silence")


async def test_silence_1h_silences_the_group_and_says_so(env: Env) -> None:
    daemon = await env.start()
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    (page,) = env.pages()
    assert await env.click("alertd_silence_1h", buttons(page)["alertd_silence_1h"]["value"],
                           user="U0BOB0001") == 200
    await eventually(lambda: "silenced it for 1h" in block_text(env.pages()[0]), "the note")
    (silence,) = list(daemon.notifications.silences)
    assert [(m.name, m.op, m.value) for m in silence.matchers] == [
        ("alertname", "=", "ModelLatencyHigh")]
    assert silence.ends_at - silence.starts_at == 3600
    assert "U0BOB0001" in silence.created_by
    # The silence holds at the next flushes: a new alert of the group is not sent.
    edits = len(env.pages()[0].versions)  # the page as posted, and the note
    other = alert("ModelLatencyHigh", instance="b", team="ml", severity="critical")
    await env.at(300, LATENCY, other)
    await env.at(330, LATENCY, other)
    assert len(env.pages()[0].versions) == edits
    assert "ModelLatencyHigh on b" not in block_text(env.pages()[0])


async def test_useful_and_noise_are_recorded_for_the_noise_report(env: Env) -> None:
    daemon = await env.start()
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    (page,) = env.pages()
    assert await env.click("alertd_noise", buttons(page)["alertd_noise"]["value"]) == 200
    await eventually(lambda: "marked it noise" in block_text(env.pages()[0]), "the note")
    fingerprint = daemon.alerts.alerts()[0].fingerprint
    verdicts = [e["details"]["verdict"] for e in await env.history(fingerprint)
                if e["kind"] == "feedback"]
    assert verdicts == ["noise"]
    # A click naming no page changes nothing.
    assert await env.click("alertd_useful", "0" * 64) == 200
    await daemon.notifications.settle()
    assert [e["details"]["verdict"] for e in await env.history(fingerprint)
            if e["kind"] == "feedback"] == ["noise"]


async def test_a_429_storm_is_waited_out_as_slack_asks(env: Env) -> None:
    await env.start()
    for _ in range(3):
        env.slack.inject(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "20"})
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    assert env.pages() == []
    await env.at(49, LATENCY)  # Retry-After not over: no attempt
    assert len([c for c in env.slack.calls if c[0] == "chat.postMessage"]) == 1
    await env.at(51, LATENCY)
    await env.at(72, LATENCY)
    await env.at(93, LATENCY)
    assert len(env.pages()) == 1  # delivered once, not once per attempt
    assert len([c for c in env.slack.calls if c[0] == "chat.postMessage"]) == 4


async def test_slack_down_raises_notifications_failing_to_the_fallback(env: Env) -> None:
    daemon = await env.start()
    env.slack.down = True
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    for t in (32, 35, 40, 50):  # backoff 0.5-1s, 1-2s, 2-4s...
        await env.at(t, LATENCY)
    assert env.pages() == []
    failing = [a for a in daemon.alerts.active(env.clock.now())
               if a.labels["alertname"] == "AlertdNotificationsFailing"]
    assert [a.labels["integration"] for a in failing] == ["oncall/slack/0"]
    await env.at(90, LATENCY)  # the fallback route's group_wait
    assert any(b["commonLabels"].get("alertname") == "AlertdNotificationsFailing"
               for b in env.fallback.received)
    # Slack comes back: the page goes out once, and the meta-alert resolves.
    env.slack.down = False
    await env.at(200, LATENCY)
    assert len(env.pages()) == 1
    assert not [a for a in daemon.alerts.active(env.clock.now())
                if a.labels["alertname"] == "AlertdNotificationsFailing"]
    metrics = await (await env.http.get(daemon.listen_url + "/metrics")).text()
    assert 'alertd_notifications_total{integration="slack",receiver="oncall"} 1.0' in metrics
    assert 'alertd_notification_retries_total{integration="slack",receiver="oncall"}' in metrics


async def test_an_unknown_channel_fails_at_once_without_retries(env: Env) -> None:
    daemon = await env.start(channel="C0NOPE000")
    await env.at(0, LATENCY)
    await env.at(30, LATENCY)
    calls = len(env.slack.calls)
    await env.at(300, LATENCY)
    assert len(env.slack.calls) == calls  # not retried: a retry cannot fix it
    failing = [a for a in daemon.alerts.active(env.clock.now())
               if a.labels["alertname"] == "AlertdNotificationsFailing"]
    assert len(failing) == 1
    metrics = await (await env.http.get(daemon.listen_url + "/metrics")).text()
    assert ('alertd_notifications_failing{id="oncall/slack/0",integration="slack",'
            'receiver="oncall"} 1.0' in metrics)
