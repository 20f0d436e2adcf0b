"""Token rotation on the daemon run as a process: the config file is rewritten with new
tokens and the process is sent SIGHUP; from then on every endpoint takes the new tokens
and refuses the old ones (silences and the /api/v2 reads kept the tokens of start-up)."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.helpers import PROCESS_HEAD, AlertdProcess, free_port, wait_for

CONFIG = PROCESS_HEAD + """\
api:
  write_tokens: [{write}]
  read_tokens: [{read}]
route:
  receiver: team
receivers:
  - name: team
"""

READS = ["/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/silences", "/api/v2/receivers",
         "/api/v2/status", "/api/alertd/v1/history?alertname=X", "/api/alertd/v1/rules",
         "/api/alertd/v1/status"]
SILENCE = {"matchers": [{"name": "alertname", "value": "A", "isRegex": False}],
           "startsAt": "2027-01-15T08:00:00Z", "endsAt": "2099-01-15T09:00:00Z",
           "createdBy": "ana", "comment": "rotation"}
ALERT = [{"labels": {"alertname": "A"}}]


def call(alertd: AlertdProcess, method: str, path: str, token: str,
         body: object | None = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(alertd.url + path, data=data, method=method, headers={
        "Authorization": f"bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.fixture
def alertd(tmp_path: Path) -> Iterator[AlertdProcess]:
    port = free_port()
    (tmp_path / "alertd.yml").write_text(CONFIG.format(port=port, write="token-A",
                                                       read="token-R"))
    process = AlertdProcess(tmp_path, port)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_sighup_rotates_the_tokens_of_every_endpoint(alertd: AlertdProcess,
                                                     tmp_path: Path) -> None:
    assert call(alertd, "POST", "/api/v2/silences", "token-A", SILENCE) == 200
    (tmp_path / "alertd.yml").write_text(CONFIG.format(port=alertd.port, write="token-B",
                                                       read="token-S"))
    alertd.signal(signal.SIGHUP)
    wait_for(lambda: call(alertd, "GET", "/api/v2/status", "token-S") == 200,
             what="the reload to apply the new read token")
    for path in READS:
        assert (path, call(alertd, "GET", path, "token-R")) == (path, 401)
        assert (path, call(alertd, "GET", path, "token-S")) == (path, 200)
    for method, path, body in [("POST", "/api/v2/alerts", ALERT),
                               ("POST", "/api/v2/silences", SILENCE)]:
        assert (path, call(alertd, method, path, "token-A", body)) == (path, 401)
        assert (path, call(alertd, method, path, "token-B", body)) == (path, 200)
    with urllib.request.urlopen(urllib.request.Request(
            alertd.url + "/api/v2/silences",
            headers={"Authorization": "Bearer token-S"}), timeout=5) as resp:
        silence_id = json.loads(resp.read())[0]["id"]
    assert call(alertd, "DELETE", f"/api/v2/silence/{silence_id}", "token-A") == 401
    assert call(alertd, "DELETE", f"/api/v2/silence/{silence_id}", "token-B") == 200
    assert call(alertd, "POST", "/-/reload", "token-A") == 401
    assert call(alertd, "POST", "/-/reload", "token-B") == 200
