"""The checker on the keys that link a page and quiet a composite's inputs: dashboard,
generator_url and suppresses_inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alertd.lang.check import check_files
from alertd.lang.parse import parse_file


def diags(source: str) -> list[str]:
    parsed = parse_file(source, "f.rules")
    assert parsed.ok, [d.headline() for d in parsed.diagnostics]
    result = check_files([parsed.file])
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in result.diagnostics]


def test_the_new_keys_build_the_spec() -> None:
    source = (
        "alert Drift {\n  when = psi > 0.25\n}\n"
        "alert Composite {\n"
        '  when              = errors > 5 and on(model_version) alert("Drift")\n'
        '  dashboard         = "https://grafana.example.com/d/x?v={{ labels.model_version }}"\n'
        '  generator_url     = "https://grafana.example.com/explore"\n'
        "  suppresses_inputs = true\n"
        "}\n"
    )
    parsed = parse_file(source, "f.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics
    spec = {a.name: a for g in result.groups for a in g.alerts}["Composite"]
    assert spec.dashboard == "https://grafana.example.com/d/x?v={{ labels.model_version }}"
    assert spec.generator_url == "https://grafana.example.com/explore"
    assert spec.suppresses_inputs is True


def test_unknown_keys_still_get_a_suggestion() -> None:
    source = ('alert A {\n  when = up == 0\n  dashbaord = "https://x"\n'
              "  suppress_inputs = true\n}\n")
    assert diags(source) == [
        '3:3: unknown key "dashbaord" in alert (did you mean "dashboard"?)',
        '4:3: unknown key "suppress_inputs" in alert (did you mean "suppresses_inputs"?)',
    ]


def test_a_bad_template_is_reported_where_it_is() -> None:
    source = ("alert A {\n  when = up == 0\n"
              '  dashboard = "https://grafana.example.com/d/x?v={{ labels.version | urlencod }}"\n'
              '  generator_url = "https://g/{{ lables.x }}"\n}\n')
    assert diags(source) == [
        '3:70: unknown template filter "urlencod" (did you mean "urlencode"?)',
        '4:33: unknown template variable "lables" (did you mean "labels"?)',
    ]


def test_links_must_be_http_urls() -> None:
    source = ('alert A {\n  when = up == 0\n  dashboard = "grafana.example.com/d/x"\n'
              '  generator_url = ""\n}\n'
              'alert B {\n  when = up == 0\n  dashboard = "{{ labels.dashboard }}"\n}\n')
    assert diags(source) == [
        '3:15: dashboard must be an http:// or https:// URL, got "grafana.example.com/d/x"',
        "4:19: generator_url must not be empty",
    ]


def test_dashboard_and_an_annotation_of_that_name_conflict() -> None:
    source = ('alert A {\n  when = up == 0\n  dashboard = "https://a"\n'
              '  annotations = { dashboard = "https://b" }\n}\n')
    assert diags(source) == [
        '4:19: annotation "dashboard" conflicts with the dashboard key; set only one']


def test_suppresses_inputs_is_a_flag_for_alerts_built_from_alerts() -> None:
    source = (
        'alert A {\n  when = up == 0\n  suppresses_inputs = "yes"\n}\n'
        "alert B {\n  when = up == 0\n  suppresses_inputs = true\n}\n"
        'alert C {\n  when = up == 0 unless alert("A")\n  suppresses_inputs = true\n}\n'
        "alert D {\n  when = up == 0\n  suppresses_inputs = false\n}\n"
    )
    needs = ("suppresses_inputs needs an alert() reference in when: it holds back the pages "
             "of the alerts that when refers to")
    assert diags(source) == [
        '3:23: suppresses_inputs must be true or false, got "yes"',
        f"7:23: {needs}",
        f"11:23: {needs}",
    ]


def test_alertd_check_reports_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "links.rules").write_text(
        'alert A {\n  when = up == 0\n  dashboard = "https://g/{{ vaule }}"\n}\n')
    result = subprocess.run([sys.executable, "-m", "alertd", "check", "links.rules"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:3] == [
        'links.rules:3:29: unknown template variable "vaule" (did you mean "value"?)',
        '    dashboard = "https://g/{{ vaule }}"',
        "                              ^~~~~",
    ]
