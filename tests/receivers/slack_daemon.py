"""The daemon in the test's process, on a fake clock, paging the Slack double: what the
Slack end-to-end tests share. Their alertd.yml is built from the parts below (each a
`str.format` template) and their own `notify:` section, receivers and owners."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from alertd.clock import FakeClock
from alertd.config import load_config
from alertd.daemon import Daemon
from tests.fakes.slack import FakeSlack, Message

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

# Everything before the `notify:` section: the alerts are posted, no rule files.
HEAD = """\
listen: 127.0.0.1:0
storage: sqlite:///alertd.db
console: false
sources:
  prometheus: {{enabled: false}}
"""

# The route to `oncall` and its Slack config; more receivers or configs may follow.
ONCALL_SLACK = """\
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: oncall
    slack_configs:
      - app_token: xoxb-test
        app_url: {slack}/api/chat.postMessage
        channel: {channel}
        send_resolved: true
        pace: 0s
"""


class SlackDaemon:
    """A daemon started from a config template, the Slack double it pages, its clock at
    T0 and an HTTP session to its API."""

    def __init__(self, tmp_path: Path, slack: FakeSlack) -> None:
        self.tmp_path = tmp_path
        self.slack = slack
        self.clock = FakeClock(T0)
        self.http = aiohttp.ClientSession()
        self.daemon: Daemon | None = None

    async def start_with(self, config: str, **values: str) -> Daemon:
        """Start the daemon of `config` formatted with the signing secret, the Slack
        double's URL, channel C0001 and `values`, which take precedence."""
        path = self.tmp_path / "alertd.yml"
        path.write_text(config.format(
            **{"secret": SECRET, "slack": self.slack.url, "channel": "C0001", **values}))
        (self.tmp_path / "rules").mkdir(exist_ok=True)
        self.daemon = Daemon(load_config(str(path)), str(path), self.clock)
        await self.daemon.start(schedule=False)
        return self.daemon

    async def post(self, alerts: Sequence[dict[str, Any]]) -> None:
        assert self.daemon
        async with self.http.post(self.daemon.listen_url + "/api/v2/alerts",
                                  json=list(alerts)) as resp:
            assert resp.status == 200, await resp.text()

    async def deliver_due(self) -> None:
        """Flush the groups that are due and deliver what they put in the outbox."""
        assert self.daemon
        n = self.daemon.notifications
        await n.dispatcher.flush_due(self.clock.now())
        n.deliverer.deliver_due(self.clock.now())
        await n.settle()

    async def page(self, *alerts: dict[str, Any]) -> Message:
        """Post `alerts`, wait out group_wait, deliver: the page."""
        for seconds in (0, 30):
            self.clock.set(T0 + seconds)
            await self.post(alerts)
            await self.deliver_due()
        return self.current()

    def current(self) -> Message:
        (page,) = self.slack.messages("C0001")
        return page

    async def close(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
        await self.http.close()
