"""Alerts in, notifications out: the daemon's dispatch path with Alertmanager's timers.

The daemon runs in process with a fake clock; alerts are posted over HTTP as Prometheus
would, webhook receivers deliver to a capture server, and flushes are driven with
`flush_due(now)` instead of waiting for timers.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from alertd.clock import FakeClock
from alertd.config import load_config
from alertd.daemon import Daemon
from alertd.notify import service as notify_service
from alertd.store import StoreError
from alertd.timefmt import rfc3339

T0 = 1_800_000_000.0  # a Friday, 08:00 UTC


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Capture:
    """A webhook receiver that records what it is sent, per path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.port = free_port()
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.path, await request.json()))
        return web.Response(status=self.status)

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.received if p == path]


CONFIG = """\
listen: 127.0.0.1:0
storage: sqlite:///alertd.db
console: false
sources:
  prometheus: {{enabled: false}}
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['team="batch"']
      receiver: team
      mute_time_intervals: [weekends]
    - matchers: ['team="db"']
      receiver: team
      notify_resolved_after_mute: true
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
    - matchers: ['cluster="eu"']
      receiver: team
receivers:
  - name: team
    webhook_configs: [{{url: 'http://127.0.0.1:{port}/team'}}]
  - name: pager
    webhook_configs:
      - {{url: 'http://127.0.0.1:{port}/pager'}}
      - {{url: 'http://127.0.0.1:{port}/pager-firing-only', send_resolved: false}}
inhibit_rules:
  - source_matchers: ['alertname="ClusterDown"']
    target_matchers: ['severity="warning"']
    equal: [cluster]
time_intervals:
  - name: weekends
    time_intervals: [{{weekdays: ['saturday', 'sunday']}}]
owners:
  - name: storage-team
    matchers: ['alertname=~"Disk.*"']
    runbook_base_url: https://runbooks.example.com/storage
"""


class Harness:
    def __init__(self, tmp_path: Path, capture: Capture, clock: FakeClock) -> None:
        self.tmp_path = tmp_path
        self.capture = capture
        self.clock = clock
        self.daemon: Daemon | None = None
        self.http = aiohttp.ClientSession()

    async def start(self) -> Daemon:
        path = self.tmp_path / "alertd.yml"
        path.write_text(CONFIG.format(port=self.capture.port))
        (self.tmp_path / "rules").mkdir(exist_ok=True)
        self.daemon = Daemon(load_config(str(path)), str(path), self.clock)
        await self.daemon.start(schedule=False)
        return self.daemon

    async def stop(self) -> None:
        if self.daemon:
            await self.daemon.stop()
            self.daemon = None

    async def post(self, *alerts: dict[str, Any]) -> int:
        assert self.daemon
        async with self.http.post(self.daemon.listen_url + "/api/v2/alerts",
                                  json=list(alerts)) as resp:
            return resp.status

    async def get(self, path: str) -> Any:
        assert self.daemon
        async with self.http.get(self.daemon.listen_url + path) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def at(self, seconds: float, *alerts: dict[str, Any]) -> None:
        """Move the clock to T0 + seconds, post `alerts` (as Prometheus re-sends firing
        alerts at every evaluation), and flush what is due."""
        assert self.daemon
        self.clock.set(T0 + seconds)
        if alerts:
            assert await self.post(*alerts) == 200
        n = self.daemon.notifications
        await n.dispatcher.flush_due(self.clock.now())
        n.deliverer.deliver_due(self.clock.now())  # retries whose backoff has passed
        await n.settle()


def pages(harness: Harness, alertname: str) -> list[dict[str, Any]]:
    """What /team was sent about the group of `alertname` (not, say, about the
    AlertdNotificationsFailing that a failing delivery raises)."""
    return [body for body in harness.capture.to("/team")
            if body["groupLabels"].get("alertname") == alertname]


def alert(name: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, **labels}, "annotations": {"summary": f"{name} fired"},
            "generatorURL": "http://prometheus:9090/graph"}


@pytest.fixture
async def capture() -> AsyncIterator[Capture]:
    c = Capture()
    app = web.Application()
    app.router.add_post("/{tail:.*}", c.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", c.port).start()
    yield c
    await runner.cleanup()


@pytest.fixture
async def harness(tmp_path: Path, capture: Capture) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, capture, FakeClock(T0))
    await h.start()
    yield h
    await h.stop()
    await h.http.close()


async def test_group_wait_groups_alerts_and_dedup_suppresses_repeats(harness: Harness) -> None:
    assert await harness.post(alert("HighLatency", instance="a"),
                              alert("HighLatency", instance="b")) == 200
    await harness.at(10)
    assert harness.capture.to("/team") == []  # still in group_wait
    await harness.at(30)
    (first,) = harness.capture.to("/team")
    assert first["version"] == "4" and first["status"] == "firing"
    assert first["groupLabels"] == {"alertname": "HighLatency"}
    assert first["notification_reason"] == "first notification"
    assert sorted(a["labels"]["instance"] for a in first["alerts"]) == ["a", "b"]
    # Prometheus sends the same alerts again and again: nothing new, nobody is paged.
    a, b, c = (alert("HighLatency", instance=i) for i in "abc")
    for minute in range(1, 11):
        await harness.at(30 + minute * 60, a, b)
    assert len(harness.capture.to("/team")) == 1
    # A new alert in the group goes out at the next group interval, not before.
    await harness.at(30 + 660, a, b, c)
    assert len(harness.capture.to("/team")) == 1
    await harness.at(30 + 900, a, b, c)
    second = harness.capture.to("/team")[-1]
    assert second["notification_reason"] == "new alerts added"
    assert len(second["alerts"]) == 3


async def test_resolved_alerts_are_notified_then_leave_the_group(harness: Harness) -> None:
    await harness.post(alert("DiskFull", instance="db1"))
    await harness.at(30)
    (firing,) = harness.capture.to("/team")
    # Owners: the alert got its owner and runbook at ingest.
    assert firing["alerts"][0]["labels"]["owner"] == "storage-team"
    assert firing["alerts"][0]["annotations"]["runbook_url"] == (
        "https://runbooks.example.com/storage/DiskFull")
    ended = {**alert("DiskFull", instance="db1"), "endsAt": rfc3339(T0 + 60)}
    await harness.post(ended)
    await harness.at(330)
    resolved = harness.capture.to("/team")[-1]
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["endsAt"] == rfc3339(T0 + 60)
    await harness.at(630)
    assert len(harness.capture.to("/team")) == 2  # nothing more: the group is gone
    assert harness.daemon and harness.daemon.notifications.dispatcher.groups == {}


async def test_continue_reaches_both_receivers(harness: Harness) -> None:
    await harness.post(alert("ClusterDown", cluster="eu", severity="critical"))
    await harness.at(30)
    # The pager route continues, so the next matching route (cluster="eu") takes it too;
    # the root's receiver does not, as in Alertmanager.
    assert len(harness.capture.to("/pager")) == 1
    assert len(harness.capture.to("/team")) == 1
    # The same alertname elsewhere joins the pager's group (its next flush) only.
    eu = alert("ClusterDown", cluster="eu", severity="critical")
    us = alert("ClusterDown", cluster="us", severity="critical")
    await harness.at(60, eu, us)
    await harness.at(330, eu, us)
    assert len(harness.capture.to("/pager")) == 2
    assert len(harness.capture.to("/pager")[-1]["alerts"]) == 2
    assert len(harness.capture.to("/team")) == 1


async def test_inhibition_and_silences_apply_at_flush_time(harness: Harness) -> None:
    await harness.post(alert("ReplicaLag", cluster="eu", severity="warning"),
                       alert("ReplicaLag", cluster="us", severity="warning"))
    # The source fires after the targets were posted: inhibition applies at flush.
    await harness.post(alert("ClusterDown", cluster="eu", severity="critical"))
    await harness.at(30)
    lag = [b for b in harness.capture.to("/team") if b["groupLabels"]["alertname"] == "ReplicaLag"]
    assert [a["labels"]["cluster"] for a in lag[0]["alerts"]] == ["us"]
    # The API says why the other one is quiet.
    alerts = await harness.get('/api/v2/alerts?filter=alertname="ReplicaLag"')
    status = {a["labels"]["cluster"]: a["status"] for a in alerts}
    assert status["eu"]["state"] == "suppressed" and status["eu"]["inhibitedBy"]
    assert status["us"]["state"] == "active"
    # A silence made after the alert fired still applies at the next flush.
    assert harness.daemon
    body = {"matchers": [{"name": "alertname", "value": "Queue.*", "isRegex": True}],
            "startsAt": rfc3339(T0 + 40), "endsAt": rfc3339(T0 + 3600),
            "createdBy": "sre", "comment": "known"}
    async with harness.http.post(harness.daemon.listen_url + "/api/v2/silences",
                                 json=body) as resp:
        assert resp.status == 200
        silence_id = (await resp.json())["silenceID"]
    backlog = alert("QueueBacklog", queue="q1")
    await harness.at(50, backlog)
    await harness.at(100, backlog)
    await harness.at(400, backlog)
    assert [b for b in harness.capture.to("/team")
            if b["groupLabels"]["alertname"] == "QueueBacklog"] == []
    (silenced,) = await harness.get('/api/v2/alerts?filter=alertname="QueueBacklog"')
    assert silenced["status"]["silencedBy"] == [silence_id]


async def test_mute_time_intervals_hold_notifications(harness: Harness) -> None:
    saturday, monday = 86_400.0, 3 * 86_400.0
    late = alert("BatchLate", team="batch")
    await harness.at(saturday, late)
    await harness.at(saturday + 30, late)
    assert harness.capture.to("/team") == []
    (shown,) = await harness.get('/api/v2/alerts?filter=alertname="BatchLate"')
    assert shown["status"]["state"] == "suppressed"
    assert shown["status"]["mutedBy"] == ["weekends"]
    # Monday morning: the next flush delivers.
    await harness.at(monday, late)
    assert len(harness.capture.to("/team")) == 1


async def test_a_restart_does_not_page_again(harness: Harness) -> None:
    a = alert("HighLatency", instance="a")
    await harness.at(0, a)
    await harness.at(30, a)
    assert len(harness.capture.to("/team")) == 1
    await harness.stop()
    harness.clock.set(T0 + 60)
    await harness.start()
    # Prometheus goes on sending the alert; the notification log remembers it was sent.
    await harness.at(60, a)
    await harness.at(120, a)
    await harness.at(400, a)
    assert len(harness.capture.to("/team")) == 1


async def test_failed_delivery_is_retried_with_backoff(harness: Harness) -> None:
    harness.capture.status = 503
    a = alert("HighLatency", instance="a")
    await harness.at(0, a)
    await harness.at(30, a)
    assert len(harness.capture.to("/team")) == 1
    await harness.at(30.4, a)  # the backoff after a first failure is 0.5-1s
    assert len(harness.capture.to("/team")) == 1
    harness.capture.status = 200
    await harness.at(31.1, a)
    assert len(harness.capture.to("/team")) == 2
    # Delivered: the next flushes have nothing new to say.
    await harness.at(200, a)
    await harness.at(330, a)
    assert len(harness.capture.to("/team")) == 2
    assert harness.daemon
    fingerprint = harness.capture.to("/team")[0]["alerts"][0]["fingerprint"]
    async with harness.http.get(harness.daemon.listen_url
                                + f"/api/alertd/v1/alerts/{fingerprint}/history") as resp:
        events = await resp.json()
    kinds = [(e["kind"], e["details"].get("outcome")) for e in events]
    assert ("delivery", "retry") in kinds and ("delivery", "ok") in kinds
    assert kinds[0] == ("transition", None) and ("route", None) in kinds
    async with harness.http.get(harness.daemon.listen_url + f"/api/alertd/v1/alerts/"
                                f"{fingerprint}/history?format=text") as resp:
        text = await resp.text()
    assert "team" in text


async def test_a_notification_given_up_is_sent_again_at_the_next_flush(
        harness: Harness) -> None:
    # As in Alertmanager, a notification that never went out is not "already sent": the
    # next flush (group_interval later) tries again instead of waiting repeat_interval.
    harness.capture.status = 400  # not retryable: given up at once
    a = alert("HighLatency", instance="a")
    await harness.at(0, a)
    await harness.at(30, a)
    assert len(pages(harness, "HighLatency")) == 1
    harness.capture.status = 200
    await harness.at(200, a)
    assert len(pages(harness, "HighLatency")) == 1  # group_interval has not passed
    await harness.at(330, a)
    sent = pages(harness, "HighLatency")
    assert len(sent) == 2
    assert sent[1]["notification_reason"] == "first notification"
    # Delivered now: the next flush has nothing new, even after a restart.
    await harness.stop()
    await harness.start()
    await harness.at(630, a)
    assert len(pages(harness, "HighLatency")) == 2


async def test_a_restart_remembers_a_given_up_notification_as_not_sent(
        harness: Harness) -> None:
    harness.capture.status = 400
    a = alert("HighLatency", instance="a")
    await harness.at(0, a)
    await harness.at(30, a)
    await harness.stop()  # the log's entry for that notification is gone from the store
    harness.capture.status = 200
    await harness.start()
    await harness.at(60, a)
    await harness.at(90, a)  # the group is new again after the restart: group_wait
    sent = pages(harness, "HighLatency")
    assert len(sent) == 2
    assert sent[1]["notification_reason"] == "first notification"


async def test_a_reload_that_removes_a_failing_integration_resolves_its_alert(
        harness: Harness) -> None:
    harness.capture.status = 400
    await harness.at(0, alert("HighLatency", instance="a"))
    await harness.at(30)
    assert harness.daemon
    n = harness.daemon.notifications

    def failing() -> list[str]:
        return [a.labels["integration"] for a in harness.daemon.alerts.active(
            harness.clock.now()) if a.labels["alertname"] == "AlertdNotificationsFailing"]

    assert failing() == ["team/webhook/0"]
    # The receiver "team" is renamed: its integration team/webhook/0 is gone.
    text = CONFIG.format(port=harness.capture.port)
    path = harness.tmp_path / "alertd.yml"
    path.write_text(text.replace("name: team\n", "name: renamed\n").replace(
        "receiver: team", "receiver: renamed"))
    await n.reconfigure(load_config(str(path)))
    await harness.daemon.run_until_idle()  # the meta-alert's step
    assert failing() == []
    assert n.failing_integrations == {}


async def test_a_notification_whose_outbox_write_failed_is_sent_at_the_next_flush(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # The database refuses the write: nothing was sent, so the log must not say it was.
    assert harness.daemon and harness.daemon.store
    outbox = harness.daemon.store.outbox
    enqueue = outbox.enqueue

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise StoreError('database "x": cannot write the outbox: disk I/O error')

    monkeypatch.setattr(outbox, "enqueue", refused)
    a = alert("HighLatency", instance="a")
    await harness.at(0, a)
    await harness.at(30, a)
    assert pages(harness, "HighLatency") == []
    monkeypatch.setattr(outbox, "enqueue", enqueue)
    await harness.at(330, a)  # group_interval later
    sent = pages(harness, "HighLatency")
    assert len(sent) == 1 and sent[0]["notification_reason"] == "first notification"


async def test_a_failed_cleanup_does_not_stop_the_sweeps(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    assert harness.daemon and harness.daemon.store
    monkeypatch.setattr(notify_service, "SWEEP_INTERVAL", 0.0)  # a sweep at every turn
    cleanups: list[float] = []
    second = asyncio.Event()

    async def delete_finished(before: float) -> int:
        cleanups.append(before)
        if len(cleanups) == 1:
            raise StoreError('database "x": cannot clean the outbox: database is locked')
        second.set()
        return 0

    monkeypatch.setattr(harness.daemon.store.outbox, "delete_finished", delete_finished)
    sweeping = asyncio.create_task(harness.daemon.notifications._maintenance())
    try:
        await asyncio.wait_for(second.wait(), 10)  # the cleanup after the failed one
    finally:
        sweeping.cancel()
    assert len(cleanups) == 2


async def test_a_reload_whose_receiver_cannot_be_built_changes_nothing(
        harness: Harness) -> None:
    assert harness.daemon
    path = harness.tmp_path / "alertd.yml"
    # A signing secret file is read when the receivers are built, after the file loads.
    secret = harness.tmp_path / "signing-secret"
    secret.write_text("not a Standard Webhooks secret")
    team = f"    webhook_configs: [{{url: 'http://127.0.0.1:{harness.capture.port}/team'}}]"
    path.write_text(CONFIG.format(port=harness.capture.port).replace(
        team, team[:-2] + f", signing_secret_files: ['{secret}']}}]").replace(
        "  receiver: team\n  group_by", "  receiver: pager\n  group_by"))
    status = await harness.daemon.reload()
    assert not status.success
    assert status.error is not None
    assert "receivers[0].webhook_configs[0].signing_secret_files[0]" in status.error
    # The old routes and receivers go on: an alert still reaches /team, not /pager.
    await harness.at(0, alert("HighLatency", instance="a"))
    await harness.at(30)
    assert len(pages(harness, "HighLatency")) == 1


async def test_a_reload_applies_a_new_external_url_to_notifications(harness: Harness) -> None:
    assert harness.daemon
    (harness.tmp_path / "alertd.yml").write_text(
        "external_url: https://alertd.example.com\n" + CONFIG.format(port=harness.capture.port))
    assert (await harness.daemon.reload()).success
    await harness.at(0, alert("HighLatency", instance="a"))
    await harness.at(30)
    [page] = pages(harness, "HighLatency")
    assert page["externalURL"] == "https://alertd.example.com"


async def test_post_validation_names_the_bad_alert(harness: Harness) -> None:
    assert harness.daemon
    async with harness.http.post(harness.daemon.listen_url + "/api/v2/alerts", data=json.dumps(
            [alert("Ok"), {"labels": {}}, {"labels": {"alertname": "X"},
                                           "startsAt": rfc3339(T0), "endsAt": rfc3339(T0 - 60)}]),
            headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
        message = await resp.json()  # the spec's BadRequest: a JSON string
        assert isinstance(message, str)
    assert "[1].labels" in message and "[2]: endsAt is before startsAt" in message
    names = [a["labels"]["alertname"] for a in await harness.get("/api/v2/alerts")]
    assert names == ["Ok"]  # the valid one was kept
    groups = await harness.get("/api/v2/alerts/groups")
    assert [g["receiver"]["name"] for g in groups] == ["team"]
    receivers = await harness.get("/api/v2/receivers")
    assert [r["name"] for r in receivers] == ["team", "pager"]


async def silence(harness: Harness, name: str, **labels: str) -> None:
    assert harness.daemon
    matchers = {"alertname": name, **labels}
    body = {"matchers": [{"name": k, "value": v, "isRegex": False} for k, v in matchers.items()],
            "startsAt": rfc3339(harness.clock.now()), "endsAt": rfc3339(T0 + 86_400),
            "createdBy": "sre", "comment": "maintenance"}
    async with harness.http.post(harness.daemon.listen_url + "/api/v2/silences",
                                 json=body) as resp:
        assert resp.status == 200


@pytest.mark.parametrize(("team", "told"), [("db", True), ("web", False)])
async def test_resolution_after_a_silence_is_told_when_the_route_asks(
        harness: Harness, team: str, told: bool) -> None:
    firing = alert("ReplicaBroken", team=team)
    await harness.at(0, firing)
    await harness.at(30, firing)
    assert len(harness.capture.to("/team")) == 1
    await silence(harness, "ReplicaBroken")
    await harness.at(100, firing)
    await harness.at(200, {**firing, "endsAt": rfc3339(T0 + 200)})
    await harness.at(330)
    sent = harness.capture.to("/team")
    if told:
        assert len(sent) == 2 and sent[-1]["status"] == "resolved"
    else:
        assert len(sent) == 1  # Alertmanager's behaviour: the silence holds the resolution


async def test_a_silenced_alert_keeps_its_group_firing_until_it_resolves_too(
        harness: Harness) -> None:
    a, b = alert("ReplicaBroken", team="db", instance="a"), alert("ReplicaBroken", team="db",
                                                                     instance="b")
    await harness.at(0, a, b)
    await harness.at(30, a, b)
    (paged,) = harness.capture.to("/team")
    assert len(paged["alerts"]) == 2
    await silence(harness, "ReplicaBroken", instance="b")
    await harness.at(200, {**a, "endsAt": rfc3339(T0 + 200)}, b)
    await harness.at(330, b)
    # a resolved, but b, which the receiver was paged for, still fires: the notification
    # must not read as the end of the group (for PagerDuty it would resolve the incident).
    told = harness.capture.to("/team")[-1]
    assert told["status"] == "firing"
    assert told["notification_reason"] != "all alerts resolved"
    states = {x["labels"]["instance"]: x["status"] for x in told["alerts"]}
    assert states == {"a": "resolved", "b": "firing"}
    # b resolves while still silenced: the receiver that saw it firing is told.
    await harness.at(400, {**b, "endsAt": rfc3339(T0 + 400)})
    await harness.at(630)
    last = harness.capture.to("/team")[-1]
    assert last["status"] == "resolved"
    assert last["notification_reason"] == "all alerts resolved"
    assert [x["labels"]["instance"] for x in last["alerts"]] == ["b"]
    await harness.at(930)
    assert harness.daemon and harness.daemon.notifications.dispatcher.groups == {}


async def test_a_group_of_silenced_resolved_alerts_goes_away(harness: Harness) -> None:
    firing = alert("Flaky", team="web")
    await harness.at(0, firing)
    await silence(harness, "Flaky")
    await harness.at(30, {**firing, "endsAt": rfc3339(T0 + 20)})
    assert harness.capture.to("/team") == []
    assert harness.daemon and harness.daemon.notifications.dispatcher.groups == {}


async def test_a_silence_can_end_with_the_alert(harness: Harness) -> None:
    assert harness.daemon
    firing = alert("Deploying", team="web")
    await harness.at(0, firing)
    body = {"matchers": [{"name": "alertname", "value": "Deploying", "isRegex": False}],
            "startsAt": rfc3339(T0), "endsAt": rfc3339(T0 + 86_400), "createdBy": "ci",
            "comment": "during the deploy", "expireOnResolve": True}
    async with harness.http.post(harness.daemon.listen_url + "/api/v2/silences",
                                 json=body) as resp:
        silence_id = (await resp.json())["silenceID"]
    await harness.at(60, {**firing, "endsAt": rfc3339(T0 + 60)})
    for _ in range(100):  # the expiry runs as a task once the alert resolved
        silence = await harness.get(f"/api/v2/silence/{silence_id}")
        if silence["status"]["state"] == "expired":
            break
        await asyncio.sleep(0.01)
    assert silence["status"]["state"] == "expired"


async def test_send_resolved_false_hears_nothing_of_a_resolution(harness: Harness) -> None:
    down = alert("ClusterDown", cluster="us", severity="critical")
    await harness.at(0, down)
    await harness.at(30, down)
    assert len(harness.capture.to("/pager-firing-only")) == 1
    resolved = {**down, "endsAt": rfc3339(T0 + 100)}
    await harness.at(100, resolved)
    await harness.at(330, resolved)
    assert [b["status"] for b in harness.capture.to("/pager")] == ["firing", "resolved"]
    assert len(harness.capture.to("/pager-firing-only")) == 1  # not even an empty message
    # It comes back: news again for both.
    again = alert("ClusterDown", cluster="us", severity="critical")
    await harness.at(400, again)
    await harness.at(630, again)
    assert [b["status"] for b in harness.capture.to("/pager-firing-only")] == ["firing"] * 2
