"""The edits behind the noise review's recommendations: exact diffs, everything else left as
it was, and results that alertd's own loaders read as intended."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from alertd.alerts.model import Alert
from alertd.clock import FakeClock
from alertd.config.load import parse_config
from alertd.config.model import Config
from alertd.dispatch.dispatcher import Dispatcher
from alertd.dispatch.flush import Flusher
from alertd.dispatch.route import Route
from alertd.dispatch.timeintervals import TimeIntervals
from alertd.lang.check import check_files
from alertd.lang.format import format_source
from alertd.lang.parse import parse_file
from alertd.lang.spec import AlertSpec
from alertd.model import Labels
from alertd.whatif.edits import (
    Edit,
    EditError,
    delete_rule,
    override_route,
    set_rule_timing,
    sleep_route,
)

REPO = Path(__file__).resolve().parents[2]


def text(block: str) -> str:
    """A file written as an indented triple-quoted string."""
    return textwrap.dedent(block).lstrip("\n")


def diff(block: str) -> str:
    """A diff written as an indented triple-quoted string, where a line of one `.` stands
    for the context line of an empty line (a lone space, which dedent would drop)."""
    return re.sub(r"(?m)^\.$", " ", text(block))


RULES = text("""
    # Fraud scoring: latency and errors, pushed by the scoring service.

    group fraud {
      interval = 30s
      owner    = "risk"

      # Checkout waits for the score: page when it is slow.
      alert FraudScoreSlow {
        when     = max by (model_version) (max_over_time(score_latency_seconds[5m])) > 250ms
        for      = 5m
        severity = "page"
        runbook  = "https://runbooks.example.com/fraud/slow"
      }

      alert FraudScoreErrors {
        when     = rate(score_errors_total[5m]) > 0.1  # errors per second
        severity = "page"
      }

      # Slow and failing at once.
      # Tickets only: the two alerts above already page.
      alert FraudDegraded {
        when     = alert("FraudScoreSlow") and alert("FraudScoreErrors")
        severity = "ticket"
      }
    }
""")


def alert_spec(source: str, name: str, path: str = "rules/fraud.rules") -> AlertSpec:
    result = check_files([parse_file(source, path, with_comments=False).file])
    assert result.ok, result.diagnostics
    return next(a for g in result.groups for a in g.alerts if a.name == name)


def outside(source: str, first: int, last: int) -> tuple[list[str], list[str]]:
    lines = source.splitlines(keepends=True)
    return lines[: first - 1], lines[last:]


# --- Edit --------------------------------------------------------------------------------------


def test_diff_headers_context_and_a_missing_final_newline() -> None:
    edit = Edit("x.rules", "a\nb\nc\nd\ne\nf\ng", "a\nb\nc\nd\ne\nf\nG")
    assert edit.diff == ("--- a/x.rules\n+++ b/x.rules\n@@ -4,4 +4,4 @@\n d\n e\n f\n-g\n"
                         "\\ No newline at end of file\n+G\n\\ No newline at end of file\n")
    assert Edit("x.rules", "same\n", "same\n").diff == ""


# --- set_rule_timing ---------------------------------------------------------------------------


def test_replacing_for_changes_one_line() -> None:
    edit = set_rule_timing("rules/fraud.rules", RULES, "FraudScoreSlow", for_=600)
    assert edit.path == "rules/fraud.rules" and edit.before == RULES
    assert edit.diff == diff("""
        --- a/rules/fraud.rules
        +++ b/rules/fraud.rules
        @@ -7,7 +7,7 @@
           # Checkout waits for the score: page when it is slow.
           alert FraudScoreSlow {
             when     = max by (model_version) (max_over_time(score_latency_seconds[5m])) > 250ms
        -    for      = 5m
        +    for      = 10m
             severity = "page"
             runbook  = "https://runbooks.example.com/fraud/slow"
           }
    """)
    assert alert_spec(edit.after, "FraudScoreSlow").for_ == 600


def test_adding_for_puts_it_after_when_aligned_with_its_neighbours() -> None:
    edit = set_rule_timing("rules/fraud.rules", RULES, "FraudScoreErrors", for_=600)
    assert edit.diff == diff("""
        --- a/rules/fraud.rules
        +++ b/rules/fraud.rules
        @@ -14,6 +14,7 @@
        .
           alert FraudScoreErrors {
             when     = rate(score_errors_total[5m]) > 0.1  # errors per second
        +    for      = 10m
             severity = "page"
           }
        .
    """)
    spec = alert_spec(edit.after, "FraudScoreErrors")
    assert (spec.for_, spec.keep_firing_for) == (600, 0)


def test_a_longer_key_realigns_the_block_as_fmt_does() -> None:
    edit = set_rule_timing("rules/fraud.rules", RULES, "FraudScoreErrors",
                           keep_firing_for=900)
    assert edit.diff == diff("""
        --- a/rules/fraud.rules
        +++ b/rules/fraud.rules
        @@ -13,8 +13,9 @@
           }
        .
           alert FraudScoreErrors {
        -    when     = rate(score_errors_total[5m]) > 0.1  # errors per second
        -    severity = "page"
        +    when            = rate(score_errors_total[5m]) > 0.1  # errors per second
        +    keep_firing_for = 15m
        +    severity        = "page"
           }
        .
           # Slow and failing at once.
    """)
    assert format_source(edit.after, "x.rules") == edit.after


def test_both_values_at_once_in_the_usual_order() -> None:
    edit = set_rule_timing("rules/fraud.rules", RULES, "FraudScoreErrors", for_=300,
                           keep_firing_for=5400)
    assert edit.diff == diff("""
        --- a/rules/fraud.rules
        +++ b/rules/fraud.rules
        @@ -13,8 +13,10 @@
           }
        .
           alert FraudScoreErrors {
        -    when     = rate(score_errors_total[5m]) > 0.1  # errors per second
        -    severity = "page"
        +    when            = rate(score_errors_total[5m]) > 0.1  # errors per second
        +    for             = 5m
        +    keep_firing_for = 1h30m
        +    severity        = "page"
           }
        .
           # Slow and failing at once.
    """)
    spec = alert_spec(edit.after, "FraudScoreErrors")
    assert (spec.for_, spec.keep_firing_for) == (300, 5400)


def test_every_other_block_stays_byte_identical_even_when_not_formatted() -> None:
    source = text("""
        # standalone alerts, written by hand
        alert   Messy {
              when=rate(x_total[5m])>1
           severity="page"   # sev
        }  # end of Messy
        alert Other {
            when = rate(y_total[5m]) > 1
           for=1m
        }
    """)
    edit = set_rule_timing("hand.rules", source, "Messy", for_=120)
    assert edit.after == text("""
        # standalone alerts, written by hand
        alert Messy {
          when     = rate(x_total[5m]) > 1
          for      = 2m
          severity = "page"  # sev
        }  # end of Messy
        alert Other {
            when = rate(y_total[5m]) > 1
           for=1m
        }
    """)


def test_a_one_line_block_and_a_quoted_name() -> None:
    source = 'alert "Disk Full" { when = max by (instance) (disk_used_ratio) > 95% }\n'
    edit = set_rule_timing("disk.rules", source, "Disk Full", for_=600)
    assert edit.after == text("""
        alert "Disk Full" {
          when = max by (instance) (disk_used_ratio) > 95%
          for  = 10m
        }
    """)


@pytest.mark.parametrize("path", sorted((REPO / "rules").glob("*.rules")))
def test_every_alert_of_the_example_rule_files(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    result = check_files([parse_file(source, str(path), with_comments=False).file])
    # The alerts an `slo` block expands into have no block of their own to edit.
    written = (a for g in result.groups for a in g.alerts if f"alert {a.name} " in source)
    for spec in written:
        edit = set_rule_timing(str(path), source, spec.name, for_=spec.for_ + 900,
                               keep_firing_for=600)
        assert format_source(edit.after, str(path)) == edit.after
        before, after = outside(source, spec.span.line, spec.span.end_line)
        new = alert_spec(edit.after, spec.name, str(path))
        assert edit.after.splitlines(keepends=True)[: len(before)] == before
        assert edit.after.splitlines(keepends=True)[new.span.end_line :] == after
        assert (new.for_, new.keep_firing_for) == (spec.for_ + 900, 600)
        assert new.labels == spec.labels and new.annotations == spec.annotations


def test_an_alert_that_refers_to_another_files_alert() -> None:
    # Checked alone, the file has an error it had before: the value is read from the text.
    source = 'alert Composite {\n  when = alert("InAnotherFile")\n}\n'
    edit = set_rule_timing("composite.rules", source, "Composite", for_=60)
    assert edit.after == 'alert Composite {\n  when = alert("InAnotherFile")\n  for  = 1m\n}\n'


def test_timing_errors() -> None:
    with pytest.raises(EditError, match=r'^rules/fraud.rules: cannot set for of alert '
                       r'"FraudScoreSlo": the file has no alert "FraudScoreSlo" \(did you '
                       r'mean "FraudScoreSlow"\?\)$'):
        set_rule_timing("rules/fraud.rules", RULES, "FraudScoreSlo", for_=600)
    with pytest.raises(EditError, match="neither for nor keep_firing_for"):
        set_rule_timing("rules/fraud.rules", RULES, "FraudScoreSlow")
    for bad in (-60.0, 0.0001):
        with pytest.raises(EditError, match="not a duration a rule file can hold"):
            set_rule_timing("rules/fraud.rules", RULES, "FraudScoreSlow", for_=bad)
    twice = RULES + 'alert FraudScoreSlow {\n  when = up == 0\n}\n'
    with pytest.raises(EditError, match=r"defines it 2 times \(lines 8, 27\)"):
        set_rule_timing("rules/fraud.rules", twice, "FraudScoreSlow", for_=600)


def test_an_edit_that_would_not_check_is_refused() -> None:
    # A block the parser recovers from (an invalid duration) cannot be written back.
    broken = "alert Broken {\n  when     = up == 0\n  interval = 1.5m\n}\n"
    with pytest.raises(EditError, match=r'(?s)the changed alert block does not parse: '
                       r'.*fractions are not allowed'):
        set_rule_timing("broken.rules", broken, "Broken", for_=60)
    unparsed = "alert Broken {\n  when = rate(x[5m]) >\n}\n"
    with pytest.raises(EditError, match=r'no alert "Broken"; or it is where the file does not '
                       r'parse \(broken.rules:3:1: unexpected "}"'):
        set_rule_timing("broken.rules", unparsed, "Broken", for_=60)
    shared = "group g {\n  alert A { when = up == 0 } alert B { when = up == 1 }\n}\n"
    with pytest.raises(EditError, match="holds more than the alert block; run alertd fmt"):
        set_rule_timing("shared.rules", shared, "A", for_=60)


# --- delete_rule -------------------------------------------------------------------------------


def test_delete_takes_the_comments_above_and_one_blank_line() -> None:
    edit = delete_rule("rules/fraud.rules", RULES, "FraudDegraded")
    assert edit.diff == diff("""
        --- a/rules/fraud.rules
        +++ b/rules/fraud.rules
        @@ -16,11 +16,4 @@
             when     = rate(score_errors_total[5m]) > 0.1  # errors per second
             severity = "page"
           }
        -
        -  # Slow and failing at once.
        -  # Tickets only: the two alerts above already page.
        -  alert FraudDegraded {
        -    when     = alert("FraudScoreSlow") and alert("FraudScoreErrors")
        -    severity = "ticket"
        -  }
         }
    """)
    names = [a.name for g in check_files([parse_file(edit.after, "x").file]).groups
             for a in g.alerts]
    assert names == ["FraudScoreSlow", "FraudScoreErrors"]


def test_delete_in_the_middle_and_at_the_start() -> None:
    no_degraded = delete_rule("r", RULES, "FraudDegraded").after
    assert delete_rule("r", no_degraded, "FraudScoreSlow").after == no_degraded.replace(
        no_degraded[no_degraded.index("  # Checkout"):no_degraded.index("  alert FraudScoreE")], "")
    middle = delete_rule("r", no_degraded, "FraudScoreErrors").after
    assert middle == text("""
        # Fraud scoring: latency and errors, pushed by the scoring service.

        group fraud {
          interval = 30s
          owner    = "risk"

          # Checkout waits for the score: page when it is slow.
          alert FraudScoreSlow {
            when     = max by (model_version) (max_over_time(score_latency_seconds[5m])) > 250ms
            for      = 5m
            severity = "page"
            runbook  = "https://runbooks.example.com/fraud/slow"
          }
        }
    """)
    assert format_source(middle, "r") == middle
    source = text("""
        group g {
          alert A {
            when = up == 0
          }

          alert B {
            when = up == 1
          }
        }
    """)
    assert delete_rule("r", source, "A").after == text("""
        group g {
          alert B {
            when = up == 1
          }
        }
    """)
    top = "# A: first\nalert A {\n  when = up == 0\n}\n\nalert B {\n  when = up == 1\n}\n"
    assert delete_rule("r", top, "A").after == "alert B {\n  when = up == 1\n}\n"
    assert delete_rule("r", top, "B").after == "# A: first\nalert A {\n  when = up == 0\n}\n"


def test_delete_errors() -> None:
    with pytest.raises(EditError, match=r'cannot delete alert "Nope": the file has no alert'):
        delete_rule("rules/fraud.rules", RULES, "Nope")
    with pytest.raises(EditError, match=r'(?s)cannot delete alert "FraudScoreSlow": the '
                       r'changed file has new errors:\nrules/fraud.rules:\d+:\d+: '
                       r'alert\("FraudScoreSlow"\) names no rule'):
        delete_rule("rules/fraud.rules", RULES, "FraudScoreSlow")


# --- the routing part --------------------------------------------------------------------------

CONFIG = text("""
    # Routing for the ML platform.
    route:
      receiver: slack   # the default
      group_by: [alertname, team]
      routes:
        # Pages go to the on-call rotation.
        - matchers: [severity="page"]
          receiver: pager
          group_wait: 10s

    receivers:
      - name: slack
      - name: pager
      - name: tickets
""")

# docs/alertmanager.md's example: 2-space indentation, flow lists, nested routes, a secret.
AM_EXAMPLE = text("""
    # alertd.yml
    listen: 127.0.0.1:9095
    storage: sqlite:///data/alertd.db

    api:
      write_tokens: ["${ALERTD_WRITE_TOKEN}"]

    global:
      resolve_timeout: 5m
    route:
      receiver: default
      group_by: [alertname, team]
      group_wait: 10s
      group_interval: 1m
      repeat_interval: 4h
      routes:
        - matchers: [severity="page"]
          receiver: oncall
          continue: true
          routes:
            - matchers: ['team=~"ml|data"']
              receiver: ml-oncall
        - matchers: [owner="ml-platform"]
          receiver: ml-tickets
          mute_time_intervals: [nights]
    receivers:
      - name: default
        webhook_configs: [{url: "http://127.0.0.1:5001/default"}]
      - name: oncall
        webhook_configs: [{url: "http://127.0.0.1:5001/oncall"}]
      - name: ml-oncall
        webhook_configs: [{url: "http://127.0.0.1:5001/ml-oncall"}]
      - name: ml-tickets
        webhook_configs: [{url: "http://127.0.0.1:5001/ml-tickets"}]
    time_intervals:
      - name: nights
        time_intervals:
          - times: [{start_time: "22:00", end_time: "24:00"}, {start_time: "00:00", end_time: "07:00"}]
            location: Europe/Berlin
""")  # noqa: E501

# The same tree written with 4-space indentation, block lists, a `routes` key to add.
FOUR_SPACES = text("""
    route:
        receiver: slack
        group_by:
            - alertname
        group_wait: 1m
        # no child routes yet

    receivers:
        -   name: slack
        -   name: tickets
""")


def load(source: str, path: str = "alertd.yml",
         env: Mapping[str, str] | None = None) -> Config:
    return parse_config(source, path, env=env or {"ALERTD_WRITE_TOKEN": "t"})


def taken(source: str, labels: Mapping[str, str], path: str = "alertd.yml") -> list[Route]:
    return Route.from_config(load(source, path).route).match(labels)


def options(route: Route) -> tuple[object, ...]:
    return (route.receiver, route.group_by, route.group_wait, route.group_interval,
            route.repeat_interval, route.mute_time_intervals, route.active_time_intervals,
            route.notify_resolved_after_mute, route.continue_)


def only_added(edit: Edit) -> list[str]:
    """The lines the diff adds, after checking that it removes none."""
    body = edit.diff.splitlines()[2:]
    assert not [line for line in body if line.startswith("-")], edit.diff
    return [line[1:] for line in body if line.startswith("+")]


def test_override_route_exact_diff() -> None:
    base = taken(CONFIG, {"alertname": "FraudScoreSlow", "severity": "page"})[0]
    edit = override_route("alertd.yml", CONFIG, "FraudScoreSlow", base, group_wait=120)
    assert edit.diff == diff("""
        --- a/alertd.yml
        +++ b/alertd.yml
        @@ -3,6 +3,12 @@
           receiver: slack   # the default
           group_by: [alertname, team]
           routes:
        +    - matchers: ['alertname="FraudScoreSlow"']
        +      receiver: pager
        +      group_by: [alertname, team]
        +      group_wait: 2m
        +      group_interval: 5m
        +      repeat_interval: 4h
             # Pages go to the on-call rotation.
             - matchers: [severity="page"]
               receiver: pager
    """)
    [route] = taken(edit.after, {"alertname": "FraudScoreSlow"})
    assert route.path == "route.routes[0]"
    assert options(route) == ("pager", ("alertname", "team"), 120, 300, 14400, (), (), False,
                              False)
    # Every other alert routes as before.
    assert [r.path for r in taken(edit.after, {"alertname": "X", "severity": "page"})] == \
        ["route.routes[1]"]


def test_override_route_on_the_documented_example() -> None:
    labels = {"alertname": "ChurnDrift", "owner": "ml-platform"}
    [base] = taken(AM_EXAMPLE, labels)
    edit = override_route("alertd.yml", AM_EXAMPLE, "ChurnDrift", base, group_by="all",
                          group_interval=3600)
    assert only_added(edit) == [
        "    - matchers: ['alertname=\"ChurnDrift\"']",
        "      receiver: ml-tickets",
        '      group_by: ["..."]',
        "      group_wait: 10s",
        "      group_interval: 1h",
        "      repeat_interval: 4h",
        "      mute_time_intervals: [nights]",
    ]
    assert edit.after.index('      group_by: ["..."]') < edit.after.index(
        '    - matchers: [severity="page"]')
    [route] = taken(edit.after, labels)
    assert options(route) == ("ml-tickets", "all", 10, 3600, 14400, ("nights",), (), False,
                              False)


def test_override_route_of_a_rule_whose_alerts_took_two_routes() -> None:
    # A page of ml-platform took `oncall` (continue: true) and `ml-tickets`: now one route.
    labels = {"alertname": "ChurnDown", "severity": "page", "owner": "ml-platform"}
    first, _ = taken(AM_EXAMPLE, labels)
    edit = override_route("alertd.yml", AM_EXAMPLE, "ChurnDown", first, group_by=["alertname"])
    [route] = taken(edit.after, labels)
    assert options(route) == ("oncall", ("alertname",), 10, 60, 14400, (), (), False, False)


def test_override_route_adds_routes_with_the_files_indentation_and_list_style() -> None:
    [base] = taken(FOUR_SPACES, {"alertname": "A"})
    edit = override_route("alertd.yml", FOUR_SPACES, "A", base, group_wait=300)
    assert edit.after == text("""
        route:
            receiver: slack
            group_by:
                - alertname
            group_wait: 1m
            routes:
                -   matchers:
                        - 'alertname="A"'
                    receiver: slack
                    group_by:
                        - alertname
                    group_wait: 5m
                    group_interval: 5m
                    repeat_interval: 4h
            # no child routes yet

        receivers:
            -   name: slack
            -   name: tickets
    """)
    assert options(taken(edit.after, {"alertname": "A"})[0])[:3] == ("slack", ("alertname",),
                                                                      300)


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param(
        "route:\n  receiver: slack\n  routes: []   # none yet\nreceivers: [{name: slack}]\n",
        "route:\n  receiver: slack\n  routes:   # none yet\n"
        "    - matchers: ['alertname=\"A\"']\n      receiver: slack\n      group_wait: 30s\n"
        "      group_interval: 5m\n      repeat_interval: 4h\nreceivers: [{name: slack}]\n",
        id="empty-flow-routes"),
    pytest.param(
        "route: {receiver: slack, routes: [{matchers: [team=ml], receiver: slack}]}\n"
        "receivers: [{name: slack}]\n",
        "route: {receiver: slack, routes: [{matchers: ['alertname=\"A\"'], receiver: slack, "
        "group_wait: 30s, group_interval: 5m, repeat_interval: 4h}, "
        "{matchers: [team=ml], receiver: slack}]}\nreceivers: [{name: slack}]\n",
        id="flow-route"),
    pytest.param(
        "route:\n  receiver: slack\n  routes:\n  - receiver: slack\n    matchers: [team=ml]\n"
        "receivers:\n- name: slack\n",
        "route:\n  receiver: slack\n  routes:\n  - matchers: ['alertname=\"A\"']\n"
        "    receiver: slack\n    group_wait: 30s\n    group_interval: 5m\n"
        "    repeat_interval: 4h\n  - receiver: slack\n    matchers: [team=ml]\n"
        "receivers:\n- name: slack\n",
        id="indentless-lists"),
    pytest.param(
        "route:\r\n  receiver: slack\r\nreceivers:\r\n  - name: slack",
        "route:\r\n  receiver: slack\r\n  routes:\r\n    - matchers: ['alertname=\"A\"']\r\n"
        "      receiver: slack\r\n      group_wait: 30s\r\n      group_interval: 5m\r\n"
        "      repeat_interval: 4h\r\nreceivers:\r\n  - name: slack",
        id="crlf-no-final-newline"),
])
def test_override_route_layouts(source: str, expected: str) -> None:
    [base] = taken(source, {"alertname": "A"})
    assert override_route("alertd.yml", source, "A", base).after == expected


def test_secrets_are_not_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = text("""
        global:
          slack_api_url: ${SLACK_URL}
        route:
          receiver: hooks
        receivers:
          - name: hooks
            webhook_configs:
              - url: ${HOOK_URL}
                signing_secrets: ["${HOOK_SIGNING}"]
              - url_file: secrets/hook-url
    """)
    for name in ("SLACK_URL", "HOOK_URL", "HOOK_SIGNING"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hook-url").write_text("https://example.com/h\n")
    path = str(tmp_path / "alertd.yml")
    env = {"SLACK_URL": "https://hooks.slack.com/x", "HOOK_URL": "https://example.com/h",
           "HOOK_SIGNING": "whsec_c2VjcmV0"}
    [base] = Route.from_config(load(source, path, env).route).match({"alertname": "A"})
    edit = override_route(path, source, "A", base, group_wait=60)
    assert "${HOOK_SIGNING}" in edit.after
    [route] = Route.from_config(load(edit.after, path, env).route).match({"alertname": "A"})
    assert route.group_wait == 60
    # Files are read as when alertd loads the configuration: relative to its path.
    with pytest.raises(EditError, match=r'(?s)the file does not load:.*cannot read '
                       r'"/nonexistent/secrets/hook-url"'):
        override_route("/nonexistent/alertd.yml", source, "A", base)


def test_notify_resolved_after_mute_only_when_it_differs() -> None:
    source = "route:\n  receiver: a\n  notify_resolved_after_mute: true\nreceivers:\n- name: a\n"
    [base] = taken(source, {"alertname": "A"})
    assert "notify_resolved_after_mute" not in "".join(only_added(
        override_route("alertd.yml", source, "A", base)))
    plain = source.replace("  notify_resolved_after_mute: true\n", "")
    edit = override_route("alertd.yml", plain, "A", base)
    assert "  notify_resolved_after_mute: true" in edit.after
    assert taken(edit.after, {"alertname": "A"})[0].notify_resolved_after_mute


def test_override_route_errors() -> None:
    [base] = taken(CONFIG, {"alertname": "A"})
    no_route = "receivers:\n  - name: slack\n"
    with pytest.raises(EditError, match=r'^alertd.yml: cannot give alert "A" a route of its '
                       r'own: the file has no top-level "route:"'):
        override_route("alertd.yml", no_route, "A", base)
    with pytest.raises(EditError, match="invalid YAML"):
        override_route("alertd.yml", "route: [", "A", base)
    gone = Route.from_config(load(CONFIG.replace("slack", "slak")).route)
    with pytest.raises(EditError, match=r'(?s)the changed file does not load:\n'
                       r'alertd.yml: route.routes\[0\].receiver: undefined receiver "slak"'):
        override_route("alertd.yml", CONFIG, "A", gone)
    # An empty group_by inherits the parent's, as in Alertmanager: it cannot be written.
    with pytest.raises(EditError, match=r"route.routes\[0\] has group_by \[alertname, team\] "
                       r"instead of \[\]"):
        override_route("alertd.yml", CONFIG, "A", base, group_by=[])
    with pytest.raises(EditError, match='group_by must be "all" or a list'):
        override_route("alertd.yml", CONFIG, "A", base, group_by="alertname")
    with pytest.raises(EditError, match=r"(?s)the file does not load:.*route.routes: expected "
                       "a list"):
        override_route("alertd.yml", "route:\n  receiver: a\n  routes: 3\n", "A", base)


# --- sleep_route -------------------------------------------------------------------------------


def at(zone: str | None, hour: int, minute: int = 0) -> float:
    return datetime(2025, 3, 12, hour, minute,
                    tzinfo=ZoneInfo(zone) if zone else UTC).timestamp()


def delivered(config: Config, routes: list[Route], t: float) -> list[str]:
    intervals = TimeIntervals.from_config(config.time_intervals, config.mute_time_intervals)
    return [r.receiver for r in routes
            if intervals.mute_reason(r.mute_time_intervals, r.active_time_intervals, t) is None]


def test_sleep_route_exact_diff() -> None:
    base = taken(CONFIG, {"alertname": "FraudScoreSlow", "severity": "page"})[0]
    edit = sleep_route("alertd.yml", CONFIG, "FraudScoreSlow", base, ticket_receiver="tickets",
                       zone=None)
    assert edit.diff == diff("""
        --- a/alertd.yml
        +++ b/alertd.yml
        @@ -3,6 +3,21 @@
           receiver: slack   # the default
           group_by: [alertname, team]
           routes:
        +    - matchers: ['alertname="FraudScoreSlow"']
        +      receiver: tickets
        +      continue: true
        +      group_by: [alertname, team]
        +      group_wait: 10s
        +      group_interval: 5m
        +      repeat_interval: 4h
        +      active_time_intervals: [sleep-hours]
        +    - matchers: ['alertname="FraudScoreSlow"']
        +      receiver: pager
        +      group_by: [alertname, team]
        +      group_wait: 10s
        +      group_interval: 5m
        +      repeat_interval: 4h
        +      mute_time_intervals: [sleep-hours]
             # Pages go to the on-call rotation.
             - matchers: [severity="page"]
               receiver: pager
        @@ -12,3 +27,9 @@
           - name: slack
           - name: pager
           - name: tickets
        +
        +time_intervals:
        +  - name: sleep-hours
        +    time_intervals:
        +      - times: [{start_time: "22:00", end_time: "24:00"}, {start_time: "00:00", end_time: "08:00"}]
        +        location: UTC
    """)  # noqa: E501
    config = load(edit.after)
    routes = taken(edit.after, {"alertname": "FraudScoreSlow", "severity": "page"})
    assert [r.path for r in routes] == ["route.routes[0]", "route.routes[1]"]
    assert delivered(config, routes, at(None, 3)) == ["tickets"]
    assert delivered(config, routes, at(None, 12)) == ["pager"]
    assert delivered(config, routes, at(None, 7, 59)) == ["tickets"]
    assert delivered(config, routes, at(None, 8)) == ["pager"]


def test_the_dispatcher_gives_each_sleep_route_its_own_groups() -> None:
    # The two routes have the same matchers, so the same route key (Alertmanager's group
    # key): were groups keyed by it, the paging route would share the ticket route's groups
    # and pages would never go out. The dispatcher keeps groups per route instead.
    labels = {"alertname": "FraudScoreSlow", "severity": "page"}
    base = taken(CONFIG, labels)[0]
    edit = sleep_route("alertd.yml", CONFIG, "FraudScoreSlow", base, ticket_receiver="tickets",
                       zone=None)
    tickets, paging = taken(edit.after, labels)
    assert tickets.matchers == paging.matchers and tickets.key == paging.key
    dispatcher = Dispatcher(Route.from_config(load(edit.after).route), cast(Flusher, None),
                            FakeClock(at(None, 3)), time_mute=lambda route, t: None,
                            record=lambda *args: None)
    dispatcher.on_alerts([Alert(Labels(labels), {}, at(None, 3), None, at(None, 3))])
    assert sorted(g.receiver for g in dispatcher.groups.values()) == ["pager", "tickets"]


def test_sleep_route_in_a_zone_with_the_routes_own_intervals() -> None:
    labels = {"alertname": "ChurnDrift", "owner": "ml-platform"}
    [base] = taken(AM_EXAMPLE, labels)
    edit = sleep_route("alertd.yml", AM_EXAMPLE, "ChurnDrift", base, ticket_receiver="default",
                       zone="Europe/Berlin")
    added = only_added(edit)
    assert added[-4:] == [
        "  - name: sleep-hours-europe-berlin",
        "    time_intervals:",
        '      - times: [{start_time: "22:00", end_time: "24:00"}, '
        '{start_time: "00:00", end_time: "08:00"}]',
        "        location: Europe/Berlin",
    ]
    assert "      mute_time_intervals: [sleep-hours-europe-berlin, nights]" in added
    config = load(edit.after)
    routes = taken(edit.after, labels)
    assert delivered(config, routes, at("Europe/Berlin", 3)) == ["default"]
    assert delivered(config, routes, at("Europe/Berlin", 12)) == ["ml-tickets"]
    # 07:30 is in `nights` too: muted before, muted now, but ticketed.
    assert delivered(config, routes, at("Europe/Berlin", 7, 30)) == ["default"]
    # 03:00 in UTC is 04:00 in Berlin: in the sleep hours of Berlin, not of UTC.
    assert delivered(config, routes, at(None, 3)) == ["default"]


def test_sleep_route_reuses_an_identical_interval_and_other_hours_are_named() -> None:
    source = CONFIG + text("""
        time_intervals:
          - name: sleep-hours-europe-berlin
            time_intervals:
              - times:
                  - {start_time: '00:00', end_time: '08:00'}
                  - {start_time: '22:00', end_time: '24:00'}
                location: Europe/Berlin
    """)
    [base] = taken(source, {"alertname": "A"})
    edit = sleep_route("alertd.yml", source, "A", base, ticket_receiver="tickets",
                       zone="Europe/Berlin")
    assert edit.after.count("- name: sleep-hours-europe-berlin") == 1
    assert edit.after.endswith(source[source.index("time_intervals:"):])
    later = sleep_route("alertd.yml", source, "A", base, ticket_receiver="tickets",
                        zone="Europe/Berlin", start="23:00", end="06:00")
    assert only_added(later)[-4:] == [
        "  - name: sleep-hours-europe-berlin-2300-0600",
        "    time_intervals:",
        '      - times: [{start_time: "23:00", end_time: "24:00"}, '
        '{start_time: "00:00", end_time: "06:00"}]',
        "        location: Europe/Berlin",
    ]


def test_sleep_route_layouts() -> None:
    source = text("""
        route:
          receiver: pager
        receivers: [{name: pager}, {name: tickets}]
        time_intervals: []  # none yet
    """)
    [base] = taken(source, {"alertname": "A"})
    edit = sleep_route("alertd.yml", source, "A", base, ticket_receiver="tickets",
                       zone="America/Argentina/Buenos_Aires", start="23:30", end="24:00")
    assert edit.after == text("""
        route:
          receiver: pager
          routes:
            - matchers: ['alertname="A"']
              receiver: tickets
              continue: true
              group_wait: 30s
              group_interval: 5m
              repeat_interval: 4h
              active_time_intervals: [sleep-hours-america-argentina-buenos-aires-2330-2400]
            - matchers: ['alertname="A"']
              receiver: pager
              group_wait: 30s
              group_interval: 5m
              repeat_interval: 4h
              mute_time_intervals: [sleep-hours-america-argentina-buenos-aires-2330-2400]
        receivers: [{name: pager}, {name: tickets}]
        time_intervals:  # none yet
          - name: sleep-hours-america-argentina-buenos-aires-2330-2400
            time_intervals:
              - times: [{start_time: "23:30", end_time: "24:00"}]
                location: America/Argentina/Buenos_Aires
    """)
    [base] = taken(FOUR_SPACES, {"alertname": "A"})
    edit = sleep_route("alertd.yml", FOUR_SPACES, "A", base, ticket_receiver="tickets",
                       zone=None)
    assert edit.after.endswith(text("""
        receivers:
            -   name: slack
            -   name: tickets

        time_intervals:
            -   name: sleep-hours
                time_intervals:
                    -   times:
                            -   start_time: "22:00"
                                end_time: "24:00"
                            -   start_time: "00:00"
                                end_time: "08:00"
                        location: UTC
    """))
    assert "            active_time_intervals:\n                - sleep-hours\n" in edit.after


def test_sleep_route_errors() -> None:
    [base] = taken(CONFIG, {"alertname": "A"})
    taken_name = CONFIG + text("""
        time_intervals:
          - name: sleep-hours
            time_intervals: [{times: [{start_time: "23:00", end_time: "24:00"}]}]
    """)
    with pytest.raises(EditError, match=r'^alertd.yml: cannot send alert "A" to "tickets" in '
                       r'sleep hours: the file has another time interval "sleep-hours"$'):
        sleep_route("alertd.yml", taken_name, "A", base, ticket_receiver="tickets", zone=None)
    with pytest.raises(EditError, match=r'(?s)the changed file does not load:.*'
                       r'route.routes\[0\].receiver: undefined receiver "ticket"'):
        sleep_route("alertd.yml", CONFIG, "A", base, ticket_receiver="ticket", zone=None)
    with pytest.raises(EditError, match='unknown time zone "Europe/Berln"'):
        sleep_route("alertd.yml", CONFIG, "A", base, ticket_receiver="tickets",
                    zone="Europe/Berln")
    with pytest.raises(EditError, match="write the hours as HH:MM"):
        sleep_route("alertd.yml", CONFIG, "A", base, ticket_receiver="tickets", zone=None,
                    start="10pm")
    with pytest.raises(EditError, match="holds no time"):
        sleep_route("alertd.yml", CONFIG, "A", base, ticket_receiver="tickets", zone=None,
                    start="08:00")
    with pytest.raises(EditError, match='no top-level "route:"'):
        sleep_route("alertd.yml", "receivers: [{name: a}]\n", "A", base,
                    ticket_receiver="tickets", zone=None)


# --- the configurations of the documentation ----------------------------------------------------


def documented_configs() -> list[tuple[str, str]]:
    found = []
    for doc in sorted((REPO / "docs").glob("*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            if re.search(r"^route:", block, re.M):
                found.append((doc.name, block))
    return found


@pytest.mark.parametrize(("doc", "source"), documented_configs())
def test_the_documented_configurations(doc: str, source: str, tmp_path: Path) -> None:
    for name in re.findall(r"_files?: \[?([\w./-]+)", source):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("secret\n")
    path = str(tmp_path / "alertd.yml")
    env = dict.fromkeys(re.findall(r"\$\{(\w+)\}", source), "https://placeholder.example/")
    config = load(source, path, env)
    tree = Route.from_config(config.route)
    labels = {"alertname": "Documented", "severity": "page"}
    base = tree.match(labels)[-1]
    edit = override_route(path, source, "Documented", base, group_wait=600)
    only_added(edit)
    other = {"alertname": "Other", "severity": "page"}
    assert [options(r) for r in Route.from_config(load(edit.after, path, env).route)
            .match(other)] == [options(r) for r in tree.match(other)]
    tickets = config.receivers[-1].name
    edit = sleep_route(path, source, "Documented", base, ticket_receiver=tickets,
                       zone="America/New_York")
    only_added(edit)
    changed = load(edit.after, path, env)
    routes = Route.from_config(changed.route).match(labels)
    assert delivered(changed, routes, at("America/New_York", 2)) == [tickets]
