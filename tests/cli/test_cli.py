"""The command line as users run it: a real `alertd` process, exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import alertd

GOOD = '''\
group api {
  owner = "platform"

  alert ApiDown {
    when     = up{job="api"} == 0
    for      = 5m
    severity = "page"
    runbook  = "https://runbooks.example.com/api/down"
    summary  = "{{ labels.instance }} is down"
  }
}
'''


def test_check_clean_file_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "api.rules").write_text(GOOD)
    result = alertd("check", "api.rules", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 alert in 1 group" in result.stderr


def test_check_reports_compiler_style_with_caret(tmp_path: Path) -> None:
    (tmp_path / "bad.rules").write_text("alert A {\n  when = x > > 1\n}\n")
    result = alertd("check", "bad.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:3] == [
        'bad.rules:2:14: unexpected ">", expected an expression',
        "    when = x > > 1",
        "               ^",
    ]


def test_check_json_prints_one_object_per_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "bad.rules").write_text("alert A {\n  when = x > > 1\n}\nalert B { for = 1.5h }\n")
    result = alertd("check", "--format", "json", "bad.rules", cwd=tmp_path)
    assert result.returncode == 1
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) >= 2
    first = objects[0]
    assert set(first) == {"file", "line", "column", "end", "severity", "message"}
    assert (first["file"], first["line"], first["column"], first["severity"]) == (
        "bad.rules", 2, 14, "error")
    assert first["end"] == {"line": 2, "column": 15}


def test_check_rejects_unknown_require_value(tmp_path: Path) -> None:
    (tmp_path / "api.rules").write_text(GOOD)
    result = alertd("check", "--require", "owner,colour", "api.rules", cwd=tmp_path)
    assert result.returncode == 2
    assert 'unknown value "colour"' in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("seed", range(5))
def test_no_traceback_on_random_bytes(tmp_path: Path, seed: int) -> None:
    import random

    rng = random.Random(seed)
    (tmp_path / "junk.rules").write_bytes(bytes(rng.randrange(256) for _ in range(400)))
    (tmp_path / "text.rules").write_text(
        "".join(rng.choice("group alert{}=()[]\"`#\n x5m,.:~!<>") for _ in range(400)))
    result = alertd("check", "junk.rules", "text.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "junk.rules:" in result.stdout and "text.rules:" in result.stdout


def test_fmt_check_lists_files_and_fmt_rewrites(tmp_path: Path) -> None:
    messy = GOOD.replace("when     =", "when=").replace("  owner", "      owner")
    (tmp_path / "api.rules").write_text(messy)
    result = alertd("fmt", "--check", "api.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert "would reformat api.rules" in result.stdout
    assert (tmp_path / "api.rules").read_text() == messy
    assert alertd("fmt", "api.rules", cwd=tmp_path).returncode == 0
    assert alertd("fmt", "--check", "api.rules", cwd=tmp_path).returncode == 0


def test_fmt_reads_standard_input(tmp_path: Path) -> None:
    result = alertd("fmt", "-", cwd=tmp_path, stdin="alert A{when=up==0}")
    assert result.returncode == 0
    assert result.stdout == "alert A {\n  when = up == 0\n}\n"


def test_fmt_refuses_a_file_with_syntax_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.rules").write_text("alert A {\n  when = (\n}\n")
    result = alertd("fmt", "bad.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.rules:3:1:" in result.stderr
    assert (tmp_path / "bad.rules").read_text() == "alert A {\n  when = (\n}\n"


def test_deep_expressions_are_handled_or_refused_cleanly(tmp_path: Path) -> None:
    long_sum = " + ".join(["x"] * 1500)
    (tmp_path / "long.rules").write_text(f"alert Long {{\n  when = {long_sum} > 1\n}}\n")
    (tmp_path / "deep.rules").write_text(
        "alert Deep {\n  when = " + "(" * 2500 + "x" + ")" * 2500 + " > 1\n}\n")
    result = alertd("check", "long.rules", "deep.rules", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "deep.rules:2:10: expression is nested 2502 levels deep; at most 2000 are allowed")
    assert "long.rules" not in result.stdout
    assert alertd("fmt", "long.rules", cwd=tmp_path).returncode == 0
    assert "Traceback" not in result.stderr


ROUTING = """\
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['severity="page"']
      receiver: oncall
      continue: true
    - matchers: ['team=~"ml|data"']
      receiver: ml
receivers:
  - name: default
  - name: oncall
  - name: ml
owners:
  - name: ml-platform
    matchers: ['team="ml"']
    runbook_base_url: https://runbooks.example.com/ml
"""


def test_routes_test_prints_receivers_and_why(tmp_path: Path) -> None:
    (tmp_path / "alertd.yml").write_text(ROUTING)
    result = alertd("routes", "test", "--config", "alertd.yml", "alertname=X", "severity=page",
                    "team=ml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert 'owner "ml-platform" added from owners[0] (matchers: team="ml")' in lines
    assert "receivers: oncall, ml" in lines


def test_check_with_config_counts_owners_for_owner_and_runbook(tmp_path: Path) -> None:
    (tmp_path / "alertd.yml").write_text(ROUTING)
    (tmp_path / "ml.rules").write_text(
        'alert Drift {\n  when = psi_value > 0.2\n  labels = { team = "ml" }\n}\n'
        'alert Orphan {\n  when = up == 0\n}\n')
    result = alertd("check", "--config", "alertd.yml", "ml.rules", cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert "Drift" not in out  # owned and given a runbook by the owners entry
    assert 'ml.rules:5:7: alert "Orphan" has no owner' in out
    assert 'ml.rules:5:7: alert "Orphan" has no runbook' in out
