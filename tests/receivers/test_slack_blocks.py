"""The Slack page: what an on-call person sees, within every Block Kit limit."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.alerts.model import Alert
from alertd.model import Labels
from alertd.receivers import Notification
from alertd.receivers.page import ActionNote, PageView, page_view
from alertd.receivers.slack_blocks import render, thread_reply

NOW = datetime(2026, 1, 2, 10, 16, tzinfo=UTC).timestamp()
MINUTE = 60.0
NAME = "ChurnModelDrift"


def alert(*, name: str = NAME, severity: str = "critical", owner: str = "ml-platform",
          started: float = NOW - 12 * MINUTE, ended: float | None = None, summary: str = "",
          value: float | None = None, runbook: str = "", graph: str = "",
          flapping: str = "", dashboard: str = "", because: str = "",
          **labels: str) -> Alert:
    base = {"alertname": name, "severity": severity, "owner": owner, **labels}
    annotations = {k: v for k, v in (("summary", summary), ("runbook_url", runbook),
                                     ("flapping", flapping), ("dashboard", dashboard),
                                     ("because", because)) if v}
    return Alert(Labels({k: v for k, v in base.items() if v}), annotations, started, ended,
                 started, generator_url=graph, value=value)


def view(*alerts: Alert, handle: str | None = None, actions: Sequence[ActionNote] = (),
         value: str = "page-1", reason: str = "first notification",
         external_url: str = "", acknowledged_by: str = "") -> PageView:
    n = Notification("team-ml/slack", '{}:{alertname="ChurnModelDrift"}',
                     Labels({"alertname": NAME}), alerts, NOW)
    return page_view(n, reason=reason, owner_handle=lambda owner: handle,
                     actions=actions, action_value=value, external_url=external_url,
                     acknowledged_by=acknowledged_by)


# An independent reading of Block Kit's limits (reference/integrations.md §1.7).

# What may follow "<" in mrkdwn: mentions and links; anything else is unescaped user data.
_MARKUP = re.compile(r"<(?:@[UW][A-Z0-9]+|![a-z]+(?:\^[A-Z0-9]+)?|https?://[^\s<>|]+\|[^<>]*)>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def escaping_problems(text: str) -> list[str]:
    bare = _MARKUP.sub("", text)
    problems = [f"unescaped {c!r} in {text[:80]!r}" for c in "<>" if c in bare]
    if bare.count("&") != len(_ENTITY.findall(bare)):
        problems.append(f"unescaped '&' in {text[:80]!r}")
    return problems


def limit_problems(text: str, blocks: Sequence[Mapping[str, Any]], *,
                   escaped: bool = True) -> list[str]:
    problems: list[str] = []
    mrkdwn: list[str] = []
    total = 0

    def check(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    def text_object(obj: Mapping[str, Any], limit: int, where: str, *,
                    plain: bool = False) -> None:
        nonlocal total
        body = obj["text"]
        check(obj["type"] == "plain_text" if plain else obj["type"] in ("mrkdwn", "plain_text"),
              f"{where}: text type {obj['type']}")
        check(0 < len(body) <= limit, f"{where}: {len(body)} chars, limit {limit}")
        total += len(body)
        if obj["type"] == "mrkdwn":
            mrkdwn.append(body)

    check(0 < len(text) <= 4000, f"fallback text of {len(text)} chars")
    check(len(blocks) <= 50, f"{len(blocks)} blocks")
    for i, block in enumerate(blocks):
        where = f"block {i} ({block['type']})"
        check(len(block.get("block_id", "")) <= 255, f"{where}: block_id")
        if block["type"] == "header":
            text_object(block["text"], 150, where, plain=True)
        elif block["type"] == "section":
            check("text" in block or bool(block.get("fields")), f"{where}: empty")
            if "text" in block:
                text_object(block["text"], 3000, where)
            check(len(block.get("fields", [])) <= 10, f"{where}: too many fields")
            for field in block.get("fields", []):
                text_object(field, 2000, f"{where} field")
        elif block["type"] == "context":
            check(0 < len(block["elements"]) <= 10, f"{where}: {len(block['elements'])} elements")
            for element in block["elements"]:
                text_object(element, 3000, f"{where} element")
        elif block["type"] == "actions":
            elements = block["elements"]
            check(0 < len(elements) <= 25, f"{where}: {len(elements)} elements")
            ids = [e["action_id"] for e in elements]
            check(len(set(ids)) == len(ids), f"{where}: duplicate action_id")
            for button in elements:
                check(button["type"] == "button", f"{where}: {button['type']}")
                text_object(button["text"], 75, f"{where} button", plain=True)
                check(len(button["action_id"]) <= 255, f"{where}: action_id")
                check(0 < len(button.get("value", "x")) <= 2000, f"{where}: value")
                url = button.get("url", "https://x")
                check(len(url) <= 3000 and url.startswith(("https://", "http://")),
                      f"{where}: url")
                check(button.get("style", "primary") in ("primary", "danger"), f"{where}: style")
        else:
            problems.append(f"{where}: unexpected block type")
    check(total <= 12_000, f"{total} chars of block text")
    if escaped:
        for body in [*mrkdwn, text]:
            problems += escaping_problems(body)
    return problems


def texts(blocks: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def header(blocks: Sequence[Mapping[str, Any]]) -> str:
    (head,) = [b for b in blocks if b["type"] == "header"]
    return str(head["text"]["text"])


def buttons(blocks: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    actions = [b for b in blocks if b["type"] == "actions"]
    return {e["action_id"]: e for block in actions for e in block["elements"]}


def listing(blocks: Sequence[Mapping[str, Any]]) -> str:
    (found,) = [b["text"]["text"] for b in blocks
                if b["type"] == "section" and b.get("text", {}).get("text", "").startswith("• ")]
    return str(found)


def fields(blocks: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    section = next(b for b in blocks if b["type"] == "section")
    pairs = (f["text"].split("\n", 1) for f in section["fields"])
    return {name.strip("*"): value for name, value in pairs}


# The header: what broke and how badly.

@pytest.mark.parametrize(("severity", "badge"), [
    ("critical", ":red_circle: CRITICAL"),
    ("page", ":red_circle: PAGE"),
    ("warning", ":large_orange_circle: WARNING"),
    ("info", ":large_blue_circle: INFO"),
    ("ticket", ":large_blue_circle: TICKET"),
    ("", ":large_blue_circle: FIRING"),
])
def test_the_header_says_severity_and_name(severity: str, badge: str) -> None:
    _, blocks = render(view(alert(severity=severity, summary="churn drifted")))
    assert header(blocks) == f"{badge} · {NAME}"


def test_a_resolved_page_turns_green_and_keeps_only_the_verdicts() -> None:
    resolved = alert(started=NOW - 64 * MINUTE, ended=NOW - MINUTE, runbook="https://rb/x")
    text, blocks = render(view(resolved))
    assert header(blocks) == f":large_green_circle: RESOLVED · {NAME}"
    assert fields(blocks)["Since"] == "resolved after 1h 3m"
    assert set(buttons(blocks)) == {"alertd_runbook", "alertd_useful", "alertd_noise"}
    assert text.startswith(f"[RESOLVED] {NAME}")


def test_a_long_name_is_clipped_in_the_header() -> None:
    _, blocks = render(view(alert(name="X" * 400)))
    assert len(header(blocks)) == 150 and header(blocks).endswith("…")


# The summary and its fields: value, since when, who owns it.

@pytest.mark.parametrize(("value", "shown"), [
    (42.0, "42"), (0.934567, "0.9346"), (1234.5678, "1235"), (-3.0, "-3"),
    (float("nan"), "NaN"), (float("inf"), "+Inf"), (float("-inf"), "-Inf"),
])
def test_the_value_is_compact(value: float, shown: str) -> None:
    _, blocks = render(view(alert(value=value)))
    assert fields(blocks)["Value"] == shown


def test_no_value_no_value_field() -> None:
    _, blocks = render(view(alert()))
    assert "Value" not in fields(blocks)


def test_since_is_relative_with_the_clock_time() -> None:
    _, blocks = render(view(alert(summary="p99 latency 180ms on v3")))
    section = blocks[1]
    assert section["text"]["text"] == "p99 latency 180ms on v3"
    assert fields(blocks)["Since"] == "firing for 12m (since 10:04 UTC)"


def test_since_an_earlier_day_shows_the_date() -> None:
    _, blocks = render(view(alert(started=NOW - 26 * 60 * MINUTE)))
    assert fields(blocks)["Since"] == "firing for 1d 2h (since Jan 1 08:16 UTC)"


def test_the_owner_is_mentioned() -> None:
    _, blocks = render(view(alert(), handle="U0ABCDEF12"))
    assert fields(blocks)["Owner"] == "ml-platform <@U0ABCDEF12>"
    _, blocks = render(view(alert(), handle="S0ABCDEF12"))
    assert fields(blocks)["Owner"] == "ml-platform <!subteam^S0ABCDEF12>"


def test_an_owner_without_handle_is_named() -> None:
    _, blocks = render(view(alert()))
    assert fields(blocks)["Owner"] == "ml-platform"


def test_the_labels_that_matter_are_shown() -> None:
    _, blocks = render(view(alert(model_version="v3", service="churn")))
    contexts = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert "model_version=v3 · service=churn" in contexts


def contexts(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


def test_a_flapping_alert_says_so() -> None:
    text, blocks = render(view(alert(flapping="6 state changes in the last hour")))
    assert "flapping: 6 state changes in the last hour" in contexts(blocks)
    assert not limit_problems(text, blocks)


def test_no_flapping_line_for_a_steady_alert() -> None:
    _, blocks = render(view(alert(), alert(version="v2")))
    assert "flapping" not in texts(blocks)


def test_in_a_group_the_flapping_alerts_are_named() -> None:
    _, blocks = render(view(alert(version="v1"),
                            alert(version="v2", flapping="7 state changes in the last hour"),
                            alert(version="v3", ended=NOW - MINUTE, flapping="9 state changes")))
    # Resolved alerts are not the news while others fire.
    assert "flapping: version=v2: 7 state changes in the last hour" in contexts(blocks)
    assert "v3: 9" not in texts(blocks)


def test_many_flapping_alerts_are_counted_past_a_few() -> None:
    alerts = [alert(version=f"v{n}", flapping="8 state changes in the last hour")
              for n in range(5)]
    _, blocks = render(view(*alerts))
    (line,) = [c for c in contexts(blocks) if c.startswith("flapping")]
    assert line.count("flapping: version=") == 3 and line.endswith("+2 more flapping")


# Buttons: act from the page.

def test_buttons_carry_the_action_value() -> None:
    _, blocks = render(view(alert(runbook="https://runbooks.example.com/churn",
                                  graph="https://prom.example.com/graph?g0.expr=up&x=1")))
    found = buttons(blocks)
    assert list(found) == ["alertd_ack", "alertd_silence_1h", "alertd_runbook", "alertd_graph",
                           "alertd_useful", "alertd_noise"]
    for action_id in ("alertd_ack", "alertd_silence_1h", "alertd_useful", "alertd_noise"):
        assert found[action_id]["value"] == "page-1"
    assert found["alertd_ack"]["style"] == "primary"
    assert found["alertd_runbook"]["url"] == "https://runbooks.example.com/churn"
    assert found["alertd_graph"]["url"] == "https://prom.example.com/graph?g0.expr=up&x=1"


def test_link_buttons_only_when_there_is_somewhere_to_go() -> None:
    _, blocks = render(view(alert()))
    assert "alertd_runbook" not in buttons(blocks) and "alertd_graph" not in buttons(blocks)


def test_a_url_too_long_for_a_button_drops_the_button_not_the_page() -> None:
    long = "https://runbooks.example.com/" + "x" * 3000
    text, blocks = render(view(alert(runbook=long, graph="/relative/graph")))
    assert "alertd_runbook" not in buttons(blocks) and "alertd_graph" not in buttons(blocks)
    assert limit_problems(text, blocks) == []


def test_an_action_value_too_long_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="action value"):
        render(view(alert(), value="v" * 2001))


def test_without_buttons_the_links_move_to_the_context() -> None:
    text, blocks = render(view(alert(runbook="https://rb.example.com/a?b=1&c=2")),
                          buttons=False)
    assert buttons(blocks) == {}
    assert "<https://rb.example.com/a?b=1&amp;c=2|Runbook>" in texts(blocks)
    assert limit_problems(text, blocks) == []


# The context: why now, where, and what responders did.

def test_the_context_says_why_and_where_and_keeps_the_group_key_behind_alertd() -> None:
    a = alert()
    _, blocks = render(view(a, reason="repeat interval elapsed",
                            external_url="https://alertd.example.com/"))
    history = f"https://alertd.example.com/api/alertd/v1/alerts/{a.fingerprint}/history"
    assert (f"repeat interval elapsed · receiver team-ml/slack · <{history}?format=text|alertd>"
            in texts(blocks))
    # The group key means nothing to a responder: the link's decision chain names it.
    assert "group {}" not in texts(blocks) and "alertname=" not in texts(blocks)


def test_the_actions_log_mentions_users_and_names_others() -> None:
    notes = [ActionNote("U0123ABCD", "acknowledged", NOW - 11 * MINUTE),
             ActionNote("alice <admin>", "silenced for 1h", NOW - 5 * MINUTE)]
    text, blocks = render(view(alert(), actions=notes))
    log = next(b for b in blocks if b["type"] == "context" and "acknowledged"
               in b["elements"][0]["text"])
    assert log["elements"][0]["text"] == ("<@U0123ABCD> acknowledged · 10:05 UTC\n"
                                          "alice &lt;admin&gt; silenced for 1h · 10:11 UTC")
    assert limit_problems(text, blocks) == []


def test_a_long_actions_log_shows_the_latest() -> None:
    notes = [ActionNote("U0123ABCD", f"note {i}", NOW) for i in range(12)]
    _, blocks = render(view(alert(), actions=notes))
    assert "+7 earlier" in texts(blocks) and "note 11" in texts(blocks)
    assert "note 6 " not in texts(blocks)


# Escaping and the fallback text.

def test_user_data_is_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script> & <!channel>"
    a = alert(summary=evil, owner="ml <&>", job="<b>&", runbook="https://rb/x")
    notes = [ActionNote("<@U0123ABCD>", "<!here> & acked", NOW)]
    text, blocks = render(view(a, actions=notes), buttons=False)
    dumped = texts(blocks) + text
    assert "<script>" not in dumped and "<!channel>" not in dumped and "<!here>" not in dumped
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;" in dumped
    assert limit_problems(text, blocks) == []


def test_the_fallback_is_a_short_plain_summary() -> None:
    group = [alert(summary="churn drifted", instance=f"i{i}") for i in range(3)]
    text, _ = render(view(*group))
    assert text == f"[FIRING:3] {NAME} (owner ml-platform) — churn drifted"


def test_the_fallback_of_a_huge_summary_stays_short() -> None:
    text, _ = render(view(alert(summary="& " * 5000)))
    assert len(text) <= 4000 and text.endswith("…")
    assert escaping_problems(text) == []


# Templates.

def test_templates_override_title_and_text() -> None:
    text, blocks = render(view(alert(summary="raw")), title="Churn model drift",
                          text="*Drift* on <https://grafana.example.com/d/1|v3>")
    assert header(blocks) == ":red_circle: CRITICAL · Churn model drift"
    assert blocks[1]["text"]["text"] == "*Drift* on <https://grafana.example.com/d/1|v3>"
    assert text.startswith("[FIRING:1] Churn model drift")


def test_huge_template_output_is_clipped() -> None:
    text, blocks = render(view(alert()), title="T" * 500, text="x" * 50_000)
    assert limit_problems(text, blocks) == []


# Groups: listed, summarised, never rejected.

def test_a_group_lists_its_alerts_by_what_tells_them_apart() -> None:
    group = [alert(summary="drift", instance="db1", value=0.5),
             alert(summary="drift", instance="db2", value=0.7),
             alert(summary="drift", instance="db3", ended=NOW - MINUTE)]
    text, blocks = render(view(*group))
    assert fields(blocks)["Alerts"] == "2 firing · 1 resolved"
    assert listing(blocks) == ("• instance=db2 — *0.7*\n• instance=db1 — *0.5*\n"
                       "• instance=db3 _(resolved)_")
    assert limit_problems(text, blocks) == []


def test_a_single_alert_has_no_list_and_no_counts() -> None:
    _, blocks = render(view(alert(instance="db1")))
    assert "Alerts" not in fields(blocks)
    assert "•" not in texts(blocks)


def test_a_huge_group_renders_within_every_limit() -> None:
    group = [alert(summary=f"{i} " + "drift & <skew> " * 150, instance=f"host-{i}",
                   value=i / 7, runbook="https://rb/x") for i in range(500)]
    notes = [ActionNote("U0123ABCD", "x" * 3000, NOW) for _ in range(20)]
    text, blocks = render(view(*group, actions=notes))
    assert limit_problems(text, blocks) == []
    listed = listing(blocks)
    shown = listed.count("• ")
    assert 1 <= shown <= 10 and listed.endswith(f"\n+{500 - shown} more")
    assert fields(blocks)["Alerts"] == "500 firing"


def test_a_huge_group_with_one_huge_summary_still_lists_some() -> None:
    group = [alert(summary="s" * 2048, instance=f"host-{i}") for i in range(500)]
    text, blocks = render(view(*group))
    assert limit_problems(text, blocks) == []
    assert "• instance=host-0" in texts(blocks) and "more" in texts(blocks)


def test_everything_at_its_longest_still_fits_and_lists_some() -> None:
    big = "&" * 5000
    group = [alert(summary=big + str(i), owner=big, instance=f"host-{i}", value=-i / 7,
                   runbook="https://rb/" + "r" * 990, graph="https://g/" + "g" * 990,
                   dashboard="https://d/" + "d" * 990, because=big,
                   team=big, env=big) for i in range(500)]
    n = Notification("r" * 5000, "g" * 5000, Labels({"alertname": NAME}), group, NOW)
    page = page_view(n, reason=big, owner_handle=lambda owner: "@" + big,
                     actions=[ActionNote("U0123ABCD", big, NOW)] * 20, action_value="v" * 2000,
                     external_url="https://alertd.example.com/" + "a" * 900)
    for with_buttons in (True, False):
        text, blocks = render(page, buttons=with_buttons, title=big, text="x" * 10_000)
        assert limit_problems(text, blocks, escaped=False) == []
        assert "• instance=host-0" in listing(blocks) and "more" in listing(blocks)


# Thread replies.

def test_the_resolved_reply_says_after_how_long_and_which() -> None:
    group = [alert(instance=f"db{i}", started=NOW - 64 * MINUTE, ended=NOW - MINUTE)
             for i in range(2)]
    text, blocks = thread_reply(view(*group), "resolved")
    assert text == f"Resolved after 1h 3m: {NAME}"
    assert blocks[0]["text"]["text"] == ":large_green_circle: *Resolved* after 1h 3m"
    assert blocks[1]["text"]["text"] == "• instance=db0\n• instance=db1"
    assert limit_problems(text, blocks) == []


def test_the_repeat_reply_says_how_many_and_how_long() -> None:
    group = [alert(instance=f"db{i}", started=NOW - 120 * MINUTE) for i in range(3)]
    text, blocks = thread_reply(view(*group), "repeat")
    assert blocks == [{"type": "section", "text": {
        "type": "mrkdwn", "text": ":repeat: Still firing: 3 alerts, for 2h"}}]
    assert text == f"Still firing: 3 alerts, for 2h: {NAME}"


def test_the_update_reply_lists_the_changes() -> None:
    old, new = alert(instance="db1"), alert(instance="db2")
    gone = alert(instance="db3", ended=NOW - MINUTE)
    text, blocks = thread_reply(view(old, new, gone), "update", notified={old.fingerprint})
    assert text == f"1 new, 1 resolved: {NAME}. Now 2 firing."
    assert blocks[0]["text"]["text"] == (":heavy_plus_sign: *1 new*\n• instance=db2\n"
                                         ":white_check_mark: *1 resolved*\n• instance=db3\n"
                                         "Now 2 firing.")


def test_a_thread_reply_for_a_huge_group_is_short() -> None:
    group = [alert(instance=f"db{i}", summary="s" * 2048 + str(i), ended=NOW - MINUTE)
             for i in range(500)]
    for kind in ("resolved", "repeat", "update"):
        text, blocks = thread_reply(view(*group), kind, notified=set())
        assert limit_problems(text, blocks) == []
        assert len(texts(blocks)) < 2000


def test_an_unknown_reply_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        thread_reply(view(alert()), "reminder")


# Properties.

# Not alert()'s own keywords (name, owner, summary...): those are drawn separately.
_label_names = st.one_of(st.from_regex(r"l[a-zA-Z0-9_]{0,30}", fullmatch=True),
                         st.sampled_from(["instance", "job", "team", "service"]))
_any_text = st.one_of(st.text(max_size=40), st.text(max_size=4000),
                      st.text(alphabet="<>&|@!*_~`\n ", max_size=200))
_values = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def _alerts(draw: Callable[..., Any]) -> list[Alert]:
    shared = draw(st.dictionaries(_label_names, _any_text, max_size=6))
    count = draw(st.integers(1, 40))
    alerts = []
    for i in range(count):
        own = draw(st.dictionaries(_label_names, _any_text, max_size=3))
        ended = draw(st.sampled_from([None, NOW - MINUTE, NOW + MINUTE]))
        alerts.append(alert(name=draw(st.sampled_from([NAME, "X" * 300, "ünïcödé ✨"])),
                            severity=draw(st.sampled_from(["critical", "warning", "", "P1"])),
                            owner=draw(_any_text), summary=draw(_any_text),
                            value=draw(_values), started=NOW - draw(st.integers(0, 10**7)),
                            ended=ended, runbook=draw(st.sampled_from(
                                ["", "https://rb/x", "https://rb/" + "y" * 3000])),
                            graph=draw(_any_text), **{**shared, **own, "n": str(i)}))
    return alerts


_notes = st.lists(st.builds(ActionNote, st.one_of(_any_text, st.just("U0123ABCD")),
                            _any_text, st.just(NOW)), max_size=12)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(alerts=_alerts(), notes=_notes, handle=st.one_of(st.none(), _any_text),
       buttons_on=st.booleans())
def test_any_page_satisfies_every_limit(alerts: list[Alert], notes: list[ActionNote],
                                        handle: str | None, buttons_on: bool) -> None:
    page = view(*alerts, handle=handle, actions=notes)
    text, blocks = render(page, buttons=buttons_on)
    assert limit_problems(text, blocks) == []
    for kind in ("resolved", "repeat", "update"):
        reply, reply_blocks = thread_reply(page, kind, notified=set())
        assert limit_problems(reply, reply_blocks) == []


def test_slack_sdk_accepts_the_blocks() -> None:
    """slack-sdk's own models check the limits it knows of (a second, independent reading)."""
    blocks_module = pytest.importorskip("slack_sdk.models.blocks")
    group = [alert(summary=f"{i} " + "x" * 2048, instance=f"h{i}", runbook="https://rb/x")
             for i in range(500)]
    _, blocks = render(view(*group, actions=[ActionNote("U0123ABCD", "acknowledged", NOW)]))
    for block in blocks:
        parsed = blocks_module.Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # raises SlackObjectFormationError beyond a limit
