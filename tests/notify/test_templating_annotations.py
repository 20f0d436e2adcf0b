"""Receiver templates read each alert's annotations and generator URL, as Alertmanager's
template data has .Annotations and .GeneratorURL: rendered through a real receiver
configuration by `alertd template preview`."""

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
        channel: C0123ABCD
        text: |-
          <{{ firing[0].annotations.dashboard }}|dashboard>
          because {{ firing[0].annotations.because }}
          {% for a in firing %}{{ a.annotations.values }} {{ a.generator_url }}{% endfor %}
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        details:
          dashboard: '{{ firing[0].annotations.dashboard }}'
"""

# Alertmanager's CommonAnnotations: the annotations every alert of the notification has.
SHARED = """\
route: {receiver: oncall}
receivers:
  - name: oncall
    slack_configs:
      - app_token: xoxb-never-shown
        channel: C0123ABCD
        title: '{{ alertname }}: {{ annotations.summary }}'
"""

DASHBOARD = "https://grafana.example.com/d/churn?var-version=v2"


def preview(tmp_path: Path, *annotations: str,
            config: str = CONFIG) -> dict[str, dict[str, object]]:
    (tmp_path / "alertd.yml").write_text(config)
    args = [arg for a in annotations for arg in ("--annotation", a)]
    result = CliRunner().invoke(cli, ["template", "preview", "--config",
                                      str(tmp_path / "alertd.yml"), "--receiver", "oncall",
                                      *args, "alertname=ChurnErrorsAndDrift", "team=ml"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    parts = result.output.split("--- ")[1:]
    return {p.split("\n", 1)[0]: json.loads(p.split("\n", 1)[1]) for p in parts}


def test_templates_read_the_alerts_annotations(tmp_path: Path) -> None:
    found = preview(tmp_path, f"dashboard={DASHBOARD}", "summary=errors and drift",
                    "because=ChurnFeatureDrift was firing (psi 0.31)", "values=psi 0.31")
    slack = json.dumps(found["oncall/slack/0"]["blocks"])
    assert f"<{DASHBOARD}|dashboard>" in slack
    assert "because ChurnFeatureDrift was firing (psi 0.31)" in slack
    # An annotation named like a dict method is the annotation, not the method.
    assert "\\npsi 0.31" in slack and "built-in method" not in slack
    pd = found["oncall/pagerduty/1"]
    details = pd["payload"]["custom_details"]  # type: ignore[index]
    assert details["dashboard"] == DASHBOARD


def test_templates_read_the_annotations_the_alerts_share(tmp_path: Path) -> None:
    found = preview(tmp_path, "summary=errors and drift", config=SHARED)
    assert "ChurnErrorsAndDrift: errors and drift" in json.dumps(found["oncall/slack/0"])


def test_an_annotation_the_alert_lacks_renders_empty(tmp_path: Path) -> None:
    found = preview(tmp_path, "summary=errors and drift")
    slack = json.dumps(found["oncall/slack/0"]["blocks"])
    assert "<|dashboard>" in slack and "because \\n" in slack
