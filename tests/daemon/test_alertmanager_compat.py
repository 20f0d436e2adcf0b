"""alertd in Alertmanager's place, run as a process and driven by the real binaries.

A real Prometheus (Debian's 2.42) evaluates an always-firing rule and sends the alert to
alertd through its Alertmanager client; the real `amtool` (Alertmanager 0.25) queries and
adds alerts, adds, queries and expires silences, tests routes and checks the config that
alertd serves as `config.original`. Notifications go to webhook receivers pointing at a
local aiohttp server that records what it receives. Responses are checked against the
fields that Alertmanager's OpenAPI spec marks required.

Real time is used (the binaries read the wall clock), with one-second timers; every wait
polls for a condition with a bound.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from tests.daemon.helpers import AlertdProcess, free_port, wait_for
from tests.fixtures.prometheus import PROMETHEUS_BINARY

AMTOOL = os.environ.get("ALERTD_TEST_AMTOOL", "/usr/bin/amtool")
# Alertmanager's OpenAPI spec, kept beside the repository (../shared/reference).
# Alertmanager's API v2 spec (Apache 2.0, from prometheus/alertmanager), kept with the tests.
SPEC = Path(os.environ.get("ALERTD_TEST_AM_SPEC", Path(__file__).resolve().parents[1]
                           / "data" / "alertmanager-openapi-v2.yaml"))
BOOTSTRAP = "run scripts/bootstrap.sh to install the Debian packages the tests need"
TOKEN = "w-7d1f0c2a9e"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"

# The routing part is an Alertmanager config: a nested tree with `continue`, per-route
# group_by and timers, four webhook receivers and an inhibit rule.
CONFIG = """\
listen: 127.0.0.1:@PORT@
storage: sqlite:///data/alertd.db
rule_files: []
evaluation_interval: 1s
console: false
@API@
sources:
  prometheus: {enabled: false}

global:
  resolve_timeout: 5m
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: [severity="page"]
      receiver: pager
      continue: true
      routes:
        - matchers: ['team=~"ml|data"']
          receiver: ml-pager
          group_by: [alertname, team]
          repeat_interval: 6s
    - matchers: [team="ml"]
      receiver: ml-tickets
receivers:
  - name: default
    webhook_configs: [{url: "@HOOK@/default"}]
  - name: pager
    webhook_configs: [{url: "@HOOK@/pager"}]
  - name: ml-pager
    webhook_configs: [{url: "@HOOK@/ml-pager"}]
  - name: ml-tickets
    webhook_configs: [{url: "@HOOK@/ml-tickets"}]
inhibit_rules:
  - source_matchers: [severity="page"]
    target_matchers: [severity="ticket"]
    equal: [team]
"""

ML_PAGER_REPEAT = 6.0
GROUP_WAIT = 1.0

PROMETHEUS_RULES = """\
groups:
  - name: always
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page, team: ml}
        annotations:
          summary: always firing
          runbook_url: https://runbooks.example.com/always
"""

# Requests to 127.0.0.1 never go through a proxy.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- helpers ----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: Any


def request(url: str, *, method: str = "GET", body: Any = None,
            token: str | None = None) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _HTTP.open(req, timeout=10) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    return Answer(status, json.loads(text) if text.strip() else None)


def get(alertd: AlertdProcess, path: str) -> Any:
    answer = request(alertd.url + path)
    assert answer.status == 200, (path, answer)
    return answer.body


def alerts_named(alertd: AlertdProcess, name: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"filter": f'alertname="{name}"'})
    found: list[dict[str, Any]] = get(alertd, f"/api/v2/alerts?{query}")
    return found


def timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def amtool(url: str, home: Path, *args: str, http_config: Path | None = None) -> Run:
    if not os.access(AMTOOL, os.X_OK):
        pytest.fail(f"amtool not found at {AMTOOL}: {BOOTSTRAP} (prometheus-alertmanager)",
                    pytrace=False)
    flags = [f"--alertmanager.url={url}"]
    if http_config is not None:
        flags.append(f"--http.config.file={http_config}")
    proc = subprocess.run(
        [AMTOOL, *flags, *args], capture_output=True, text=True, timeout=60,
        # amtool reads defaults from $HOME/.config/amtool: keep the user's out of the tests.
        env={"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(home), "USER": "tester",
             "TZ": "UTC", "NO_PROXY": "*"})
    return Run(proc.returncode, proc.stdout, proc.stderr)


def amtool_ok(url: str, home: Path, *args: str, http_config: Path | None = None) -> str:
    run = amtool(url, home, *args, http_config=http_config)
    assert run.code == 0, f"amtool {' '.join(args)} failed ({run.code}): {run.stderr}"
    return run.stdout


def table(text: str) -> list[dict[str, str]]:
    """amtool's simple table as rows keyed by column. Go's tabwriter aligns the columns,
    so each cell is cut where its header starts (a cell may be empty)."""
    lines = [line for line in text.splitlines() if line.strip()]
    columns = [(m.group(), m.start()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    ends = [start for _, start in columns[1:]] + [None]
    return [{name: line[start:end].strip() for (name, start), end in zip(columns, ends,
                                                                          strict=True)}
            for line in lines[1:]]


def alertd_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alertd", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "NO_PROXY": "*"})


# --- the webhook receiver ---------------------------------------------------------------------


@dataclass
class Received:
    receiver: str  # the path the webhook config points at
    payload: dict[str, Any]
    at: float


class CaptureServer:
    """An aiohttp server, in a thread of its own, recording every webhook POST."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def start(self) -> CaptureServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{receiver}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def _handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        with self._lock:
            self._received.append(Received(request.match_info["receiver"], payload,
                                           time.time()))
        return web.Response(text="ok")

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def notifications(self, receiver: str, alertname: str) -> list[Received]:
        """What `receiver` got about alerts named `alertname`, in order of arrival."""
        with self._lock:
            return [r for r in self._received if r.receiver == receiver
                    and any(a["labels"].get("alertname") == alertname
                            for a in r.payload["alerts"])]

    def receivers_of(self, alertname: str) -> set[str]:
        with self._lock:
            return {r.receiver for r in self._received
                    if any(a["labels"].get("alertname") == alertname
                           for a in r.payload["alerts"])}


# --- a Prometheus that sends alerts -----------------------------------------------------------


class AlertingPrometheus:
    """`prometheus` with one always-firing rule, sending alerts to an Alertmanager.

    `--rules.alert.resend-delay=1s` makes it send the firing alert at every evaluation (its
    default is once a minute); the first sends after start can be dropped, since the
    notifier learns its Alertmanagers from service discovery, which updates every 5 s.
    """

    def __init__(self, workdir: Path, alertmanager: str) -> None:
        self.workdir = workdir
        self.alertmanager = alertmanager
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AlertingPrometheus:
        if shutil.which(PROMETHEUS_BINARY) is None:
            pytest.fail(f"{PROMETHEUS_BINARY} not found: {BOOTSTRAP} (prometheus)",
                        pytrace=False)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "rules.yml").write_text(PROMETHEUS_RULES)
        (self.workdir / "prometheus.yml").write_text(
            "global:\n"
            "  evaluation_interval: 1s\n"
            "rule_files: [rules.yml]\n"
            "alerting:\n"
            "  alertmanagers:\n"
            f"    - static_configs: [{{targets: ['{self.alertmanager}']}}]\n"
            "      api_version: v2\n")
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(
                [PROMETHEUS_BINARY, f"--config.file={self.workdir / 'prometheus.yml'}",
                 f"--storage.tsdb.path={self.workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--rules.alert.resend-delay=1s"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._ready, timeout=30, what="prometheus to be ready")
        return self

    def _ready(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.log.read_text()[-3000:]}")
        try:
            with _HTTP.open(self.url + "/-/ready", timeout=1) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer().start()
    yield server
    server.stop()


def start_alertd(workdir: Path, hook: str, api: str = "") -> AlertdProcess:
    port = free_port()
    text = CONFIG.replace("@PORT@", str(port)).replace("@HOOK@", hook).replace("@API@", api)
    (workdir / "alertd.yml").write_text(text)
    proc = AlertdProcess(workdir, port)
    try:
        proc.start()
    except BaseException:
        proc.stop()
        raise
    return proc


@pytest.fixture(scope="module")
def alertd(tmp_path_factory: pytest.TempPathFactory,
           capture: CaptureServer) -> Iterator[AlertdProcess]:
    """alertd with an open API, shared by the module's tests (each uses its own alerts)."""
    proc = start_alertd(tmp_path_factory.mktemp("alertd"), capture.url)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory,
               alertd: AlertdProcess) -> Iterator[AlertingPrometheus]:
    server = AlertingPrometheus(tmp_path_factory.mktemp("prometheus"),
                                f"127.0.0.1:{alertd.port}")
    try:
        yield server.start()
    finally:
        server.stop()


# --- Prometheus's Alertmanager client ---------------------------------------------------------


def test_prometheus_sends_alerts_and_alertd_notifies_once_per_repeat_interval(
        alertd: AlertdProcess, capture: CaptureServer,
        prometheus: AlertingPrometheus) -> None:
    found = wait_for(lambda: alerts_named(alertd, "AlwaysFiring"), timeout=30,
                     what="Prometheus's alert in GET /api/v2/alerts")
    assert len(found) == 1
    alert = found[0]
    assert alert["labels"] == {"alertname": "AlwaysFiring", "severity": "page", "team": "ml"}
    assert alert["annotations"] == {"summary": "always firing",
                                    "runbook_url": "https://runbooks.example.com/always"}
    assert alert["generatorURL"].startswith("http://")
    assert "/graph?g0.expr=vector%281%29" in alert["generatorURL"]
    status = alert["status"]
    assert (status["state"], status["silencedBy"], status["inhibitedBy"]) == ("active", [], [])
    # severity=page goes to "pager" (continue: true), whose child takes team=ml; the next
    # sibling, team="ml", takes it too.
    assert [r["name"] for r in alert["receivers"]] == ["ml-pager", "ml-tickets"]

    first = wait_for(lambda: capture.notifications("ml-pager", "AlwaysFiring"),
                     what="the webhook notification")[0]
    payload = first.payload
    assert payload["version"] == "4"
    assert payload["status"] == "firing"
    assert payload["receiver"] == "ml-pager"
    assert payload["groupLabels"] == {"alertname": "AlwaysFiring", "team": "ml"}
    assert payload["commonLabels"] == alert["labels"]
    assert payload["commonAnnotations"] == alert["annotations"]
    assert payload["truncatedAlerts"] == 0
    assert isinstance(payload["groupKey"], str) and "AlwaysFiring" in payload["groupKey"]
    assert isinstance(payload["externalURL"], str)
    [sent] = payload["alerts"]
    assert sent == {"status": "firing", "labels": alert["labels"],
                    "annotations": alert["annotations"], "startsAt": alert["startsAt"],
                    "endsAt": GO_ZERO_TIME, "generatorURL": alert["generatorURL"],
                    "fingerprint": alert["fingerprint"],
                    # alertd's additions: who owns it and what to do
                    "owner": "", "runbook_url": "https://runbooks.example.com/always"}
    # Grouping waits group_wait from the alert's start (an alert older than that, as this one
    # is by the time Prometheus has found its Alertmanager, goes out at once).
    assert first.at >= timestamp(alert["startsAt"]) + GROUP_WAIT

    # Prometheus sends the alert again every second; alertd merges it and notifies again
    # only when ml-pager's repeat_interval (6s) has passed.
    updates: set[str] = set()

    def second() -> list[Received]:
        updates.update(a["updatedAt"] for a in alerts_named(alertd, "AlwaysFiring"))
        sent = capture.notifications("ml-pager", "AlwaysFiring")
        return sent if len(sent) >= 2 else []

    repeated = wait_for(second, timeout=ML_PAGER_REPEAT + 15, what="the repeat notification")
    assert len(repeated) == 2, [r.payload["notification_reason"] for r in repeated]
    assert repeated[1].at - first.at >= ML_PAGER_REPEAT - 0.5
    assert repeated[1].payload["notification_reason"] == "repeat interval elapsed"
    assert len(updates) >= 3, f"Prometheus re-sent the alert only {len(updates)} times"
    # ml-tickets repeats every hour: one notification, however often Prometheus sent it.
    assert len(capture.notifications("ml-tickets", "AlwaysFiring")) == 1
    assert capture.receivers_of("AlwaysFiring") == {"ml-pager", "ml-tickets"}

    history = get(alertd, f"/api/alertd/v1/alerts/{alert['fingerprint']}/history")
    kinds = [e["kind"] for e in history]
    assert kinds.count("route") == 2
    reasons = [e["details"].get("reason") for e in history if e["kind"] == "dedup"]
    assert reasons[:2] == ["first notification", "first notification"]
    assert any(r and r.startswith("nothing new") for r in reasons)

    # Once Prometheus stops renewing it, the alert ends at the endsAt it was last sent
    # with, and both receivers (send_resolved defaults to true) are told.
    prometheus.stop()

    def resolved_to(receiver: str) -> list[Received]:
        return [n for n in capture.notifications(receiver, "AlwaysFiring")
                if n.payload["status"] == "resolved"]

    for receiver in ("ml-pager", "ml-tickets"):
        resolved = wait_for(functools.partial(resolved_to, receiver), timeout=20,
                            what=f"the resolved notification to {receiver}")
        [gone] = resolved[0].payload["alerts"]
        assert gone["status"] == "resolved" and gone["endsAt"] != GO_ZERO_TIME
    assert alerts_named(alertd, "AlwaysFiring") == []


# --- amtool -----------------------------------------------------------------------------------


def test_amtool_alert_add_and_query(alertd: AlertdProcess, capture: CaptureServer,
                                    home: Path) -> None:
    before = time.time()
    amtool_ok(alertd.url, home, "alert", "add", "alertname=Foo", "severity=ticket",
              "--annotation=summary=x")
    [foo] = wait_for(lambda: alerts_named(alertd, "Foo"), what="Foo in GET /api/v2/alerts")
    assert foo["labels"] == {"alertname": "Foo", "severity": "ticket"}
    assert foo["annotations"] == {"summary": "x"}
    assert foo["status"]["state"] == "active"
    assert [r["name"] for r in foo["receivers"]] == ["default"]

    rows = table(amtool_ok(alertd.url, home, "alert", "query"))
    assert {"Alertname": "Foo", "Summary": "x", "State": "active"}.items() <= next(
        r for r in rows if r["Alertname"] == "Foo").items()
    rows = table(amtool_ok(alertd.url, home, "alert", "query", "alertname=Foo"))
    assert [r["Alertname"] for r in rows] == ["Foo"]
    assert table(amtool_ok(alertd.url, home, "alert", "query", "alertname=NoSuchAlert")) == []
    as_json = json.loads(amtool_ok(alertd.url, home, "-o", "json", "alert", "query",
                                   'severity=~"tick.*"', "alertname=Foo"))
    assert [a["fingerprint"] for a in as_json] == [foo["fingerprint"]]
    assert as_json[0]["labels"] == foo["labels"]

    # amtool sends no startsAt: the alert starts when alertd receives it, and its group
    # (receiver "default") is flushed group_wait later.
    [sent] = wait_for(lambda: capture.notifications("default", "Foo"), what="Foo's notification")
    assert sent.at >= before + GROUP_WAIT
    assert sent.payload["groupLabels"] == {"alertname": "Foo"}
    assert sent.payload["alerts"][0]["annotations"] == {"summary": "x"}


def test_amtool_shows_inhibited_alerts(alertd: AlertdProcess, home: Path) -> None:
    amtool_ok(alertd.url, home, "alert", "add", "alertname=DataDown", "severity=page",
              "team=data")
    amtool_ok(alertd.url, home, "alert", "add", "alertname=DataSlow", "severity=ticket",
              "team=data")
    amtool_ok(alertd.url, home, "alert", "add", "alertname=WebSlow", "severity=ticket",
              "team=web")
    [source] = wait_for(lambda: alerts_named(alertd, "DataDown"), what="DataDown")
    [target] = wait_for(lambda: alerts_named(alertd, "DataSlow"), what="DataSlow")
    assert target["status"]["state"] == "suppressed"
    assert target["status"]["inhibitedBy"] == [source["fingerprint"]]
    # Another team's ticket is not inhibited (the rule's `equal: [team]`).
    [web_slow] = wait_for(lambda: alerts_named(alertd, "WebSlow"), what="WebSlow")
    assert web_slow["status"]["state"] == "active"

    # amtool hides inhibited alerts unless asked (-i).
    assert table(amtool_ok(alertd.url, home, "alert", "query", "alertname=DataSlow")) == []
    rows = table(amtool_ok(alertd.url, home, "alert", "query", "-i", "alertname=DataSlow"))
    assert [(r["Alertname"], r["State"]) for r in rows] == [("DataSlow", "suppressed")]
    [shown] = json.loads(amtool_ok(alertd.url, home, "-o", "json", "alert", "query", "-i",
                                   "alertname=DataSlow"))
    assert shown["status"]["inhibitedBy"] == [source["fingerprint"]]


def test_amtool_silences_and_alertd_explain(alertd: AlertdProcess, home: Path) -> None:
    amtool_ok(alertd.url, home, "alert", "add", "alertname=Silenced", "severity=ticket",
              "--annotation=summary=quiet please")
    [alert] = wait_for(lambda: alerts_named(alertd, "Silenced"), what="the alert to silence")
    fingerprint = alert["fingerprint"]

    sid = amtool_ok(alertd.url, home, "silence", "add", "alertname=Silenced", "--comment=c",
                    "--author=a", "--duration=1h").strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", sid), sid
    rows = table(amtool_ok(alertd.url, home, "silence", "query"))
    mine = [r for r in rows if r["ID"] == sid]
    assert mine and mine[0]["Matchers"] == 'alertname="Silenced"'
    assert (mine[0]["Created By"], mine[0]["Comment"]) == ("a", "c")
    assert amtool_ok(alertd.url, home, "silence", "query", "-q", "alertname=Silenced"
                     ).split() == [sid]
    [as_json] = json.loads(amtool_ok(alertd.url, home, "-o", "json", "silence", "query",
                                     "alertname=Silenced"))
    assert as_json["id"] == sid and as_json["status"]["state"] == "active"
    assert as_json["matchers"] == [{"name": "alertname", "value": "Silenced",
                                    "isRegex": False, "isEqual": True}]

    # Silenced: hidden from a plain query, shown with -s, suppressed in GET and in amtool.
    assert table(amtool_ok(alertd.url, home, "alert", "query", "alertname=Silenced")) == []
    [shown] = json.loads(amtool_ok(alertd.url, home, "-o", "json", "alert", "query", "-s",
                                   "alertname=Silenced"))
    assert shown["status"]["state"] == "suppressed"
    assert shown["status"]["silencedBy"] == [sid]
    [got] = alerts_named(alertd, "Silenced")
    assert got["status"]["state"] == "suppressed" and got["status"]["silencedBy"] == [sid]

    # The silence applies at flush time, which the alert's history records with the route.
    def explained() -> str:
        run = alertd_cli("explain", f"--alertd.url={alertd.url}", fingerprint)
        assert run.returncode == 0, run.stderr
        return run.stdout if f"silenced by {sid}" in run.stdout else ""

    text = wait_for(explained, what="the silence in the alert's history")
    assert text.splitlines()[0] == (
        f'alert {fingerprint} {{alertname="Silenced", severity="ticket"}}')
    assert "routed to default via {} in group {}:{alertname=\"Silenced\"}" in text
    by_name = alertd_cli("explain", f"--alertd.url={alertd.url}", "Silenced")
    assert by_name.returncode == 0 and f"silenced by {sid}" in by_name.stdout

    amtool_ok(alertd.url, home, "silence", "expire", sid)
    assert sid not in amtool_ok(alertd.url, home, "silence", "query")
    assert sid in amtool_ok(alertd.url, home, "silence", "query", "--expired")
    assert get(alertd, f"/api/v2/silence/{sid}")["status"]["state"] == "expired"
    [active] = alerts_named(alertd, "Silenced")
    assert active["status"]["state"] == "active" and active["status"]["silencedBy"] == []
    # Expiring it again is an error, as in Alertmanager.
    assert amtool(alertd.url, home, "silence", "expire", sid).code != 0


# --- routing and configuration ----------------------------------------------------------------


@pytest.mark.parametrize("labels", [
    ["severity=page", "team=ml"],
    ["severity=page", "team=data"],
    ["severity=page", "team=web"],
    ["team=ml"],
    ["severity=ticket"],
    ["alertname=Anything"],
])
def test_amtool_routes_test_agrees_with_alertd_routes_test(
        alertd: AlertdProcess, home: Path, labels: list[str]) -> None:
    # amtool without --config.file reads config.original from GET /api/v2/status.
    by_amtool = amtool_ok(alertd.url, home, "config", "routes", "test", *labels)
    run = alertd_cli("routes", "test", "--config", str(alertd.workdir / "alertd.yml"), *labels)
    assert run.returncode == 0, run.stderr
    line = next(x for x in run.stdout.splitlines() if x.startswith("receivers: "))
    assert by_amtool.strip().split(",") == line.removeprefix("receivers: ").split(", ")


def test_amtool_config_show_routes_and_check_config(alertd: AlertdProcess, home: Path,
                                                    tmp_path: Path) -> None:
    original = get(alertd, "/api/v2/status")["config"]["original"]
    assert amtool_ok(alertd.url, home, "config", "show").strip() == original.strip()
    tree = amtool_ok(alertd.url, home, "config", "routes")
    assert re.search(r'\{severity="page"\}\s+continue: true\s+receiver: pager', tree), tree
    assert re.search(r'\{team=~"ml\|data"\}\s+receiver: ml-pager', tree), tree
    assert "receiver: ml-pager,ml-tickets" not in tree
    assert amtool_ok(alertd.url, home, "config", "routes", "test", "--verify.receivers="
                     "ml-pager,ml-tickets", "severity=page", "team=ml").strip() == \
        "ml-pager,ml-tickets"

    path = tmp_path / "alertmanager.yml"
    path.write_text(original)
    out = amtool_ok(alertd.url, home, "check-config", str(path))
    assert "SUCCESS" in out and " - 4 receivers" in out and " - 1 inhibit rules" in out
    # No secret of alertd.yml leaves it: the webhook URLs are written as <secret>.
    assert "127.0.0.1" not in original and "<secret>" in original


# --- authentication ---------------------------------------------------------------------------


def test_write_tokens_guard_posts_and_amtool_sends_one_from_its_http_config(
        tmp_path: Path, capture: CaptureServer, home: Path) -> None:
    proc = start_alertd(tmp_path, capture.url, api=f"api:\n  write_tokens: [{TOKEN}]")
    try:
        alert = [{"labels": {"alertname": "Guarded"}}]
        assert request(proc.url + "/api/v2/alerts", method="POST", body=alert).status == 401
        assert request(proc.url + "/api/v2/alerts", method="POST", body=alert,
                       token="wrong").status == 401
        assert request(proc.url + "/api/v2/alerts").status == 200  # reads stay open

        refused = amtool(proc.url, home, "alert", "add", "alertname=ByAmtool")
        assert refused.code != 0 and "401" in refused.stderr
        refused = amtool(proc.url, home, "silence", "add", "alertname=ByAmtool", "-c", "c")
        assert refused.code != 0 and "401" in refused.stderr

        # amtool 0.25 takes a bearer token from an http_config file (Prometheus's format).
        http_config = tmp_path / "amtool-http.yml"
        http_config.write_text(f"authorization:\n  credentials: {TOKEN}\n")
        amtool_ok(proc.url, home, "alert", "add", "alertname=ByAmtool", "severity=ticket",
                  http_config=http_config)
        wait_for(lambda: alerts_named(proc, "ByAmtool"), what="the alert amtool added")
        sid = amtool_ok(proc.url, home, "silence", "add", "alertname=ByAmtool", "-c", "c",
                        http_config=http_config).strip()
        assert get(proc, f"/api/v2/silence/{sid}")["status"]["state"] == "active"
        assert amtool(proc.url, home, "silence", "expire", sid).code != 0
        amtool_ok(proc.url, home, "silence", "expire", sid, http_config=http_config)
        assert get(proc, f"/api/v2/silence/{sid}")["status"]["state"] == "expired"
    finally:
        proc.stop()


# --- the OpenAPI spec's required fields -------------------------------------------------------


def spec_problems(value: Any, schema: Mapping[str, Any], spec: Mapping[str, Any],
                  where: str) -> list[str]:
    """Where `value` lacks a field `schema` requires (following $ref and allOf), or holds
    a value of another type or outside an enum."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return spec_problems(value, spec["definitions"][name], spec, where)
    problems: list[str] = []
    for part in schema.get("allOf", []):
        problems += spec_problems(value, part, spec, where)
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if kind == "string" and not isinstance(value, str):
        problems.append(f"{where}: expected a string, got {value!r}")
    if kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: expected a boolean, got {value!r}")
    if kind == "array" or "items" in schema:
        if not isinstance(value, list):
            return [*problems, f"{where}: expected an array, got {value!r}"]
        for i, item in enumerate(value):
            problems += spec_problems(item, schema["items"], spec, f"{where}[{i}]")
    if kind == "object" or "properties" in schema or "required" in schema:
        if not isinstance(value, dict):
            return [*problems, f"{where}: expected an object, got {value!r}"]
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: required field {key!r} is missing")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems += spec_problems(value[key], sub, spec, f"{where}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                problems += spec_problems(item, extra, spec, f"{where}.{key}")
    return problems


def test_get_endpoints_have_every_field_the_spec_requires(alertd: AlertdProcess) -> None:
    if not SPEC.is_file():
        pytest.fail(f"Alertmanager's OpenAPI spec is not at {SPEC}: set ALERTD_TEST_AM_SPEC",
                    pytrace=False)
    spec = yaml.safe_load(SPEC.read_text())
    base = alertd.url + spec["basePath"].rstrip("/")
    # Something in every list: an active alert, a silenced one, and a silence.
    body = [{"labels": {"alertname": "SpecActive", "team": "ml"},
             "annotations": {"summary": "s"}, "generatorURL": "http://example.com/g"},
            {"labels": {"alertname": "SpecSilenced"}}]
    assert request(base + "/alerts", method="POST", body=body).status == 200
    now = time.time()
    silence = {"matchers": [{"name": "alertname", "value": "SpecSilenced", "isRegex": False}],
               "startsAt": datetime.fromtimestamp(now).astimezone().isoformat(),
               "endsAt": datetime.fromtimestamp(now + 3600).astimezone().isoformat(),
               "createdBy": "spec", "comment": "spec check"}
    created = request(base + "/silences", method="POST", body=silence)
    assert created.status == 200, created
    problems = spec_problems(created.body, spec["paths"]["/silences"]["post"]["responses"]
                             ["200"]["schema"], spec, "POST /silences")
    sid = created.body["silenceID"]
    wait_for(lambda: len(alerts_named(alertd, "SpecSilenced")) == 1, what="the posted alerts")
    wait_for(lambda: any(g["alerts"] and g["alerts"][0]["labels"]["alertname"] == "SpecActive"
                         for g in get(alertd, "/api/v2/alerts/groups")), what="the groups")

    checked = {"/status": "/status", "/receivers": "/receivers", "/alerts": "/alerts",
               "/alerts/groups": "/alerts/groups", "/silences": "/silences",
               "/silence/{silenceID}": f"/silence/{sid}"}
    for template, path in checked.items():
        answer = request(base + path)
        assert answer.status == 200, (path, answer)
        if isinstance(answer.body, list):
            assert answer.body, f"GET {path} is empty: nothing would be checked"
        schema = spec["paths"][template]["get"]["responses"]["200"]["schema"]
        problems += spec_problems(answer.body, schema, spec, f"GET {path}")
    # Each missing field once, with the first place it is missing from.
    unique: dict[str, str] = {}
    for p in problems:
        unique.setdefault(re.sub(r"\[\d+\]", "[]", p), p)
    assert not unique, "fields the spec requires are missing:\n" + "\n".join(unique.values())
