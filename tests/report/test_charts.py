"""The SVG charts: axes on round numbers, bars to scale, labels that never overlap."""

from __future__ import annotations

import pytest

from alertd.report import charts
from tests.report.fixtures import rule
from tests.report.page import parse


@pytest.mark.parametrize(("peak", "top", "step"), [
    (0, 1, 1), (1, 1, 1), (3, 3, 1), (6, 6, 2), (7, 8, 2), (19, 20, 5), (101, 150, 50),
])
def test_axes_end_on_round_numbers(peak: int, top: int, step: int) -> None:
    assert charts.axis(peak) == (top, step)


def test_stacked_bars_are_to_scale() -> None:
    days = [{"date": "2026-11-23", "business": 2, "off": 2, "sleep": 2},
            {"date": "2026-11-24", "business": 3, "off": 0, "sleep": 0}]
    svg = parse(str(charts.pages_per_day(days))).find("svg")
    heights = {(r.attrs["data-date"], r.attrs["data-band"]): float(r.attrs["height"])
               for r in svg.iter("rect") if "data-band" in r.attrs}
    unit = heights[("2026-11-23", "business")] / 2
    assert heights[("2026-11-24", "business")] == pytest.approx(3 * unit, abs=0.2)
    assert heights[("2026-11-23", "sleep")] == pytest.approx(2 * unit, abs=0.2)
    ticks = [t.text for t in svg.iter("text", class_="tick")]
    assert ticks[:4] == ["0", "2", "4", "6"]
    legend = [t.text for t in svg.iter("text", class_="legend")]
    assert legend == ["Business hours", "Off hours", "Sleep hours"]


def test_a_quarter_gets_a_date_label_every_few_days() -> None:
    days = [{"date": f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}", "business": 1, "off": 0,
             "sleep": 0} for i in range(91)]
    svg = parse(str(charts.pages_per_day(days))).find("svg")
    labels = [t.text for g in svg.iter("g", class_="day") for t in g.iter("text")]
    assert 7 <= len(labels) <= 14
    assert len(list(svg.iter("g", class_="day"))) == 91


def test_long_rule_names_are_shortened_but_kept_whole_in_the_tooltip() -> None:
    name = "AVeryLongRuleNameThatGoesOnAndOnForeverAndEver"
    svg = parse(str(charts.top_rules([rule(name, "o", 3, 1)]))).find("svg")
    group = svg.find("g", class_="rule")
    assert group.find("title").text == f"{name} (o): 3 pages"
    label = group.find("text", class_="label").text
    assert label.endswith("…") and len(label) == charts.NAME_CHARS


def test_top_rules_takes_at_most_ten_and_leaves_out_the_quiet() -> None:
    rules = [rule(f"R{i}", None, i, 0) for i in range(15)]
    svg = parse(str(charts.top_rules(rules))).find("svg")
    values = [int(r.attrs["data-value"]) for r in svg.iter("rect")]
    assert values == list(range(14, 4, -1))
