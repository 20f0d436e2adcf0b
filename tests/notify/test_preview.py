"""`alertd template preview`: what a receiver would send, rendered, nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from alertd.cli import cli

CONFIG = """\
route: {receiver: oncall}
receivers:
  - name: oncall
    slack_configs:
      - app_token: xoxb-never-shown
        channel: '#ml-alerts'
        title: '{{ alertname }} for {{ labels.team }}'
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        severity: '{{ labels.severity }}'
    webhook_configs:
      - url: http://127.0.0.1:9/hook
owners:
  - name: ml
    matchers: ['team="ml"']
    slack_handle: '@ml-oncall'
    runbook_base_url: https://runbooks.example.com/ml
"""


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    (tmp_path / "alertd.yml").write_text(CONFIG)
    result = CliRunner().invoke(cli, ["template", "preview", "--config",
                                      str(tmp_path / "alertd.yml"), *args])
    # An AlertdError reaches main(), which prints it as one line.
    error = f"alertd: {result.exception}" if result.exception else ""
    return result.exit_code, result.output + error


def sections(output: str) -> dict[str, str]:
    parts = output.split("--- ")[1:]
    return {p.split("\n", 1)[0]: p.split("\n", 1)[1] for p in parts}


def test_each_integration_shows_what_it_would_send(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--receiver", "oncall", "--value", "0.93",
                       "--annotation", "summary=p99 latency 930ms", "alertname=ModelLatencyHigh",
                       "team=ml", "severity=warning")
    assert code == 0, output
    found = sections(output)
    assert list(found) == ["oncall/webhook/0", "oncall/slack/1", "oncall/pagerduty/2"]
    slack = json.loads(found["oncall/slack/1"])
    assert slack["channel"] == "#ml-alerts"
    header = slack["blocks"][0]["text"]["text"]
    assert "ModelLatencyHigh for ml" in header  # the receiver's title template
    assert "p99 latency 930ms" in json.dumps(slack["blocks"])
    pd = json.loads(found["oncall/pagerduty/2"])
    assert pd["event_action"] == "trigger" and pd["payload"]["severity"] == "warning"
    assert pd["routing_key"] == "<secret>"
    hook = json.loads(found["oncall/webhook/0"])
    assert hook["alerts"][0]["runbook_url"] == "https://runbooks.example.com/ml/ModelLatencyHigh"
    assert hook["alerts"][0]["owner"] == "ml"
    assert "xoxb-never-shown" not in output


def test_the_resolved_notification_and_an_unknown_receiver(tmp_path: Path) -> None:
    code, output = run(tmp_path, "--receiver", "oncall", "--resolved", "alertname=X")
    assert code == 0, output
    assert json.loads(sections(output)["oncall/pagerduty/2"])["event_action"] == "resolve"
    code, output = run(tmp_path, "--receiver", "oncal", "alertname=X")
    assert code != 0
    assert 'no receiver "oncal" (did you mean "oncall"?)' in output
