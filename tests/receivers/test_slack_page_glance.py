"""What a Slack page answers at a glance: where to look, how bad it is, why it fired,
who is on it, and whether the silence made from it still holds."""

from __future__ import annotations

from alertd.receivers.page import ActionNote
from alertd.receivers.slack_blocks import render
from tests.receivers.test_slack_blocks import (
    MINUTE,
    NOW,
    alert,
    buttons,
    fields,
    limit_problems,
    listing,
    texts,
    view,
)

GRAFANA = "https://grafana.example.com/d/churn?var-version=v2&from=now-1h"
PROM = "http://prometheus:9090/graph?g0.expr=up%3D%3D0&g0.tab=1"


# Where to look.

def test_the_dashboard_and_the_graph_are_link_buttons() -> None:
    text, blocks = render(view(alert(dashboard=GRAFANA, graph=PROM)))
    found = buttons(blocks)
    assert found["alertd_dashboard"]["text"]["text"] == "Dashboard"
    assert found["alertd_dashboard"]["url"] == GRAFANA
    assert found["alertd_graph"]["text"]["text"] == "Graph"
    assert found["alertd_graph"]["url"] == PROM
    assert "value" not in found["alertd_dashboard"]  # a link, not an action
    assert limit_problems(text, blocks) == []


def test_a_generator_url_that_is_no_prometheus_graph_is_the_source() -> None:
    _, blocks = render(view(alert(graph="https://ci.example.com/jobs/42")))
    assert buttons(blocks)["alertd_graph"]["text"]["text"] == "Source"


def test_links_slack_would_refuse_are_left_out_not_the_page() -> None:
    for bad in ("javascript:alert(1)", "grafana.example.com/d/x", "ftp://files/x",
                "https://grafana.example.com/d/" + "x" * 3000, "https://a b"):
        text, blocks = render(view(alert(dashboard=bad, graph=bad)))
        assert "alertd_dashboard" not in buttons(blocks), bad
        assert "alertd_graph" not in buttons(blocks), bad
        assert limit_problems(text, blocks) == []


def test_without_buttons_the_dashboard_is_a_link_in_the_context() -> None:
    _, blocks = render(view(alert(dashboard=GRAFANA)), buttons=False)
    assert "<https://grafana.example.com/d/churn?var-version=v2&amp;from=now-1h|Dashboard>" \
        in texts(blocks)


def test_several_alerts_link_to_the_worst() -> None:
    group = [alert(instance="a", value=120.0, dashboard="https://grafana/d/a", graph=PROM + "a"),
             alert(instance="b", value=250.0, dashboard="https://grafana/d/b", graph=PROM + "b")]
    found = buttons(render(view(*group))[1])
    assert found["alertd_dashboard"]["url"] == "https://grafana/d/b"
    assert found["alertd_graph"]["url"] == PROM + "b"


# How bad.

def test_the_value_is_the_worst_with_the_range_of_the_group() -> None:
    group = [alert(instance=f"v{i}", value=v) for i, v in enumerate((120.0, 250.0, 180.0, 130.0))]
    text, blocks = render(view(*group))
    assert fields(blocks)["Value"] == "250 (120\N{EN DASH}250 over 4 alerts)"
    assert listing(blocks).splitlines() == [
        "• instance=v1 — *250*", "• instance=v2 — *180*", "• instance=v3 — *130*",
        "• instance=v0 — *120*"]
    assert limit_problems(text, blocks) == []


def test_alerts_without_a_value_come_after_those_with_one() -> None:
    group = [alert(instance="none"), alert(instance="nan", value=float("nan")),
             alert(instance="low", value=-3.0), alert(instance="high", value=0.5)]
    _, blocks = render(view(*group))
    assert [line.split(" — ")[0] for line in listing(blocks).splitlines()] == [
        "• instance=high", "• instance=low", "• instance=none", "• instance=nan"]
    assert fields(blocks)["Value"] == "0.5 (-3\N{EN DASH}0.5 over 2 alerts)"


def test_the_same_value_everywhere_needs_no_range() -> None:
    group = [alert(instance=f"v{i}", value=7.0) for i in range(3)]
    assert fields(render(view(*group))[1])["Value"] == "7"


def test_a_composite_says_why_it_fired_instead_of_value_1() -> None:
    because = ("ChurnFeatureDrift was firing (psi 0.31) and error rate of v2 was "
               "0.07 > 0.05")
    group = [alert(instance="v2", value=1.0, because=because),
             alert(instance="v3", value=1.0, because="ChurnFeatureDrift was firing (psi 0.27)")]
    text, blocks = render(view(*group))
    shown = fields(blocks)
    assert "Value" not in shown
    assert shown["Fired because"] == because.replace(">", "&gt;")
    assert listing(blocks).splitlines()[1] == (
        "• instance=v3 — fired because ChurnFeatureDrift was firing (psi 0.27)")
    assert "*1*" not in listing(blocks)
    assert limit_problems(text, blocks) == []


# Who is on it, and what holds.

def test_once_acknowledged_the_button_says_by_whom() -> None:
    _, blocks = render(view(alert(), acknowledged_by="alice"))
    ack = buttons(blocks)["alertd_ack"]
    assert ack["text"]["text"] == "Acknowledged by alice"
    assert ack["value"] == "page-1" and "style" not in ack
    _, blocks = render(view(alert()))
    assert buttons(blocks)["alertd_ack"]["text"]["text"] == "Acknowledge"


def test_a_silence_that_ended_no_longer_says_it_holds() -> None:
    notes = [ActionNote("U0CAROL01", "silenced it for 1h (silence 3f2a9c1e)", NOW - 50 * MINUTE,
                        silence_ended=NOW - 10 * MINUTE)]
    _, blocks = render(view(alert(), actions=notes))
    assert "silence by <@U0CAROL01> ended · 10:06 UTC" in texts(blocks)
    assert "silenced it for 1h" not in texts(blocks)
