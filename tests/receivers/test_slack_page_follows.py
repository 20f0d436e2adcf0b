"""A Slack page stays true: links to look at, the worst alert first, Acknowledge acting
once, and the silence made from the page followed to its end.

The daemon runs in process with a fake clock; pages go to the Slack double (which
refuses what Slack refuses, Block Kit included) and PagerDuty's; clicks are built by the
Slack double from the page as it is, signed as Slack signs them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alertd.daemon import Daemon
from alertd.history import HistoryEvent
from alertd.timefmt import rfc3339
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack, Message
from tests.receivers.slack_daemon import HEAD, ONCALL_SLACK, SECRET, T0, SlackDaemon

ROUTING_KEY = "0123456789abcdef0123456789abcdef"
ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
GRAFANA = "https://grafana.example.com/d/churn?var-version=v2"

CONFIG = HEAD + """\
notify:
  slack: {{signing_secret: {secret}}}
""" + ONCALL_SLACK + """\
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pd}/v2/enqueue
owners:
  - name: ml-platform
    matchers: ['team="ml"']
"""


class Env(SlackDaemon):
    def __init__(self, tmp_path: Path, slack: FakeSlack, pd: FakePagerDuty) -> None:
        super().__init__(tmp_path, slack)
        self.pd = pd

    async def start(self) -> Daemon:
        return await self.start_with(CONFIG, pd=self.pd.url, routing_key=ROUTING_KEY)

    async def click(self, action_id: str, user: str) -> None:
        assert self.daemon
        self.clock.advance(1)  # a person's clicks are seconds apart
        body, headers = self.slack.click(SECRET, self.current(), action_id, user=user,
                                         user_name=user[2:-2].lower(),
                                         timestamp=int(self.clock.now()))
        async with self.http.post(self.daemon.listen_url + "/api/alertd/v1/slack/actions",
                                  data=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
        await self.daemon.notifications.actions.settle()

    async def history(self, kind: str) -> list[HistoryEvent]:
        assert self.daemon and self.daemon.history and self.daemon.store
        await self.daemon.history.flush()
        events: list[HistoryEvent] = []
        for a in self.daemon.alerts.alerts():
            events += await self.daemon.store.history.for_alert(a.fingerprint)
        return [e for e in events if e.kind == kind]


@pytest.fixture
async def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              no_proxy: None) -> AsyncIterator[Env]:
    monkeypatch.chdir(tmp_path)
    async with FakeSlack() as slack, FakePagerDuty() as pd:
        e = Env(tmp_path, slack, pd)
        try:
            yield e
        finally:
            await e.close()


def alert(version: str, **annotations: str) -> dict[str, Any]:
    return {"labels": {"alertname": "ChurnLatencyP99High", "model_version": version,
                       "team": "ml", "severity": "critical"},
            "annotations": {"summary": "p99 latency high", **annotations},
            "startsAt": rfc3339(T0),
            "generatorURL": f"http://prometheus:9090/graph?g0.expr=p99%7Bv%3D%22{version}%22%7D"}


def buttons(page: Message) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in page.blocks or [] if b["type"] == "actions"
            for e in b["elements"]}


def notes(page: Message) -> str:
    """The page's actions log (the context block listing what responders did)."""
    found = [e["text"] for b in page.blocks or [] if b["type"] == "context"
             for e in b["elements"] if " · " in e["text"] and "receiver " not in e["text"]]
    return "\n".join(found)


async def test_a_page_links_to_the_dashboard_and_the_worst_alerts_graph(env: Env) -> None:
    await env.start()
    page = await env.page(alert("v1", dashboard=GRAFANA), alert("v2", dashboard=GRAFANA))
    found = buttons(page)  # the double accepted them: valid Block Kit
    assert found["alertd_dashboard"]["url"] == GRAFANA
    assert found["alertd_graph"]["text"]["text"] == "Graph"
    assert found["alertd_graph"]["url"].startswith("http://prometheus:9090/graph?")
    assert page.text == "[FIRING:2] ChurnLatencyP99High (owner ml-platform) — p99 latency high"
    assert "group {}" not in json.dumps(page.blocks)


async def test_acknowledge_acts_once_and_then_says_who(env: Env) -> None:
    await env.start()
    await env.page(alert("v1"), alert("v2"))
    await env.click("alertd_ack", ALICE)
    page = env.current()
    ack = buttons(page)["alertd_ack"]
    assert ack["text"]["text"] == "Acknowledged by alice"
    # One per firing alert, from Slack, and as PagerDuty accepted it.
    acks = sorted(e.details["via"] for e in await env.history("ack"))
    assert acks == ["pagerduty", "pagerduty", "slack", "slack"]
    assert [e["event_action"] for e in env.pd.events] == ["trigger", "acknowledge"]
    edits = len(page.versions)

    await env.click("alertd_ack", ALICE)  # a double click
    await env.click("alertd_ack", BOB)  # or someone else, a moment later
    assert sorted(e.details["via"] for e in await env.history("ack")) == acks
    assert [e["event_action"] for e in env.pd.events] == ["trigger", "acknowledge"]
    assert len(env.current().versions) == edits  # the page did not change
    assert notes(env.current()).count("acknowledged") == 1


async def test_the_page_says_when_its_silence_is_expired(env: Env) -> None:
    daemon = await env.start()
    await env.page(alert("v1"))
    await env.click("alertd_silence_1h", CAROL)
    assert "silenced it for 1h" in notes(env.current())
    (silence,) = list(daemon.notifications.silences)

    env.clock.set(T0 + 20 * 60)  # 08:20: someone expires it (amtool, alertd silence expire)
    async with env.http.delete(daemon.listen_url + f"/api/v2/silence/{silence.id}") as resp:
        assert resp.status == 200
    await daemon.notifications.actions.settle()
    said = notes(env.current())
    assert f"silence by <@{CAROL}> ended · 08:20 UTC" in said
    assert "silenced it for 1h" not in said


async def test_the_page_says_when_its_silence_runs_out(env: Env) -> None:
    daemon = await env.start()
    await env.page(alert("v1"))
    await env.click("alertd_silence_1h", CAROL)  # at 08:00:31, until 09:00:31
    edits = len(env.current().versions)

    env.clock.set(T0 + 59 * 60)
    daemon.notifications.sweep(env.clock.now())
    await daemon.notifications.actions.settle()
    assert len(env.current().versions) == edits  # still holds

    env.clock.set(T0 + 61 * 60)
    daemon.notifications.sweep(env.clock.now())
    await daemon.notifications.actions.settle()
    assert f"silence by <@{CAROL}> ended · 09:00 UTC" in notes(env.current())
    daemon.notifications.sweep(env.clock.now() + 10)  # told once
    await daemon.notifications.actions.settle()
    assert len(env.current().versions) == edits + 1


async def test_the_page_follows_a_silence_an_update_replaced(env: Env) -> None:
    daemon = await env.start()
    await env.page(alert("v1"))
    await env.click("alertd_silence_1h", CAROL)
    (silence,) = list(daemon.notifications.silences)
    env.clock.set(T0 + 10 * 60)
    # amtool silence update: new matchers cannot be changed in place, so Alertmanager's
    # rules expire the silence and create another (annotations left out are kept).
    body = {"id": silence.id, "createdBy": "bob", "comment": "only v1",
            "startsAt": rfc3339(silence.starts_at), "endsAt": rfc3339(T0 + 2 * 3600),
            "matchers": [{"name": "alertname", "value": "ChurnLatencyP99High",
                          "isRegex": False, "isEqual": True},
                         {"name": "model_version", "value": "v1", "isRegex": False,
                          "isEqual": True}]}
    async with env.http.post(daemon.listen_url + "/api/v2/silences", json=body) as resp:
        assert resp.status == 200, await resp.text()
        successor = (await resp.json())["silenceID"]
    await daemon.notifications.actions.settle()
    said = notes(env.current())
    assert f"silenced it (silence {successor[:8]}, changed to end 10:00 UTC)" in said
    assert "ended" not in said

    env.clock.set(T0 + 20 * 60)
    async with env.http.delete(daemon.listen_url + f"/api/v2/silence/{successor}") as resp:
        assert resp.status == 200
    await daemon.notifications.actions.settle()
    assert f"silence by <@{CAROL}> ended · 08:20 UTC" in notes(env.current())
