"""Nothing lost, nothing twice: the daemon, run as a process, killed with SIGKILL while
its notifications are in the outbox, then started again.

Two moments are covered: after the outbox write but before Slack and PagerDuty took the
notification (both down), and after they took it but before alertd heard back (their
answers held back). Either way, after the restart each notification has arrived, Slack
has one message and PagerDuty one incident.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from alertd.timefmt import rfc3339
from tests.daemon.helpers import PROCESS_HEAD, AlertdProcess, free_port
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack

ROUTING_KEY = "0123456789abcdef0123456789abcdef"

CONFIG = PROCESS_HEAD + """\
notify:
  retry: {{initial_backoff: 100ms, max_backoff: 200ms}}
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: oncall
    slack_configs:
      - app_token: xoxb-test
        app_url: {slack}/api/chat.postMessage
        channel: C0001
        pace: 0s
    pagerduty_configs:
      - routing_key: {routing_key}
        url: {pd}/v2/enqueue
"""


@pytest.fixture
async def doubles(no_proxy: None) -> AsyncIterator[tuple[FakeSlack, FakePagerDuty]]:
    async with FakeSlack() as slack, FakePagerDuty() as pd:
        yield slack, pd


def start_alertd(tmp_path: Path, slack: FakeSlack, pd: FakePagerDuty) -> AlertdProcess:
    port = free_port()
    (tmp_path / "alertd.yml").write_text(CONFIG.format(port=port, slack=slack.url, pd=pd.url,
                                                       routing_key=ROUTING_KEY))
    alertd = AlertdProcess(tmp_path, port)
    alertd.start()
    return alertd


def post_alert(alertd: AlertdProcess) -> None:
    body = json.dumps([{"labels": {"alertname": "ModelDown", "severity": "critical"},
                        "annotations": {"summary": "the model stopped answering"},
                        "startsAt": rfc3339(time.time() - 60)}]).encode()
    req = urllib.request.Request(alertd.url + "/api/v2/alerts", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def outbox(tmp_path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(tmp_path / "data" / "alertd.db") as db:
        rows = db.execute("SELECT integration, state, attempts FROM outbox "
                          "ORDER BY integration").fetchall()
    return [(str(i), str(s), int(a)) for i, s, a in rows]


async def eventually(check: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)  # the doubles serve while this waits
    raise AssertionError(f"timed out waiting for {what}")


def settled(tmp_path: Path) -> bool:
    rows = outbox(tmp_path)
    return bool(rows) and all(state == "done" for _, state, _ in rows)


async def test_killed_before_the_receivers_took_it(
        tmp_path: Path, doubles: tuple[FakeSlack, FakePagerDuty]) -> None:
    slack, pd = doubles
    slack.down = pd.down = True
    alertd = await asyncio.to_thread(start_alertd, tmp_path, slack, pd)
    try:
        await asyncio.to_thread(post_alert, alertd)
        # Written to the outbox, attempted, failed: still pending.
        await eventually(lambda: {(i, s) for i, s, a in outbox(tmp_path) if a >= 1} == {
            ("oncall/pagerduty/1", "pending"), ("oncall/slack/0", "pending")},
            "failed attempts recorded in the outbox")
        await asyncio.to_thread(alertd.kill)
        slack.down = pd.down = False
        await asyncio.to_thread(alertd.start)
        await eventually(lambda: settled(tmp_path), "the outbox to drain after the restart")
    finally:
        await asyncio.to_thread(alertd.stop)
    assert len(slack.messages("C0001")) == 1
    (incident,) = pd.incidents
    assert incident.trigger_count == 1 and incident.status == "triggered"


async def test_killed_after_the_receivers_took_it_but_before_they_answered(
        tmp_path: Path, doubles: tuple[FakeSlack, FakePagerDuty]) -> None:
    slack, pd = doubles
    alertd = await asyncio.to_thread(start_alertd, tmp_path, slack, pd)
    try:
        slack.hold()
        pd.hold()
        await asyncio.to_thread(post_alert, alertd)
        await slack.wait_held(1, timeout=20)
        await pd.wait_held(1, timeout=20)
        # Slack has the message and PagerDuty the incident; alertd has not heard back.
        assert {(i, s) for i, s, _ in outbox(tmp_path)} == {
            ("oncall/pagerduty/1", "pending"), ("oncall/slack/0", "pending")}
        await asyncio.to_thread(alertd.kill)
        slack.release()
        pd.release()
        await asyncio.to_thread(alertd.start)
        await eventually(lambda: settled(tmp_path), "the outbox to drain after the restart")
    finally:
        await asyncio.to_thread(alertd.stop)
    # The resend found its message instead of posting a second one...
    assert len(slack.messages("C0001")) == 1
    assert any(method == "conversations.history" for method, _ in slack.calls)
    # ...and PagerDuty deduplicated the resend into the open incident: one page.
    (incident,) = pd.incidents
    assert incident.status == "triggered" and incident.trigger_count == 2
