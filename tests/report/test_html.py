"""The report page: one self-contained HTML document with summary cards, inline SVG
charts, every figure in tables, and the numbers of the JSON behind each."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from alertd.report import render
from alertd.report.figures import COLUMNS
from alertd.report.html import render_html
from tests.report.fixtures import empty_report, sample_report, with_recommendation
from tests.report.page import Element, parse


def page(report: dict[str, Any] | None = None, *, links: bool = False) -> Element:
    return parse(render_html(report or sample_report(), links=links))


def test_a_whole_page_that_loads_nothing_and_runs_nothing() -> None:
    text = render_html(sample_report())
    assert text.startswith("<!DOCTYPE html>")
    doc = parse(text)
    assert doc.find("html").attrs["lang"] == "en"
    assert doc.find("title").text == ("Alert noise report, all owners: 2026-11-23 00:00 UTC "
                                      "to 2026-11-30 00:00 UTC")
    assert doc.find("h1").text == doc.find("title").text
    assert not list(doc.iter("script")) and not list(doc.iter("link"))
    for element in doc.iter():
        for name in ("src", "href"):
            assert not element.attrs.get(name, "").startswith(("http:", "https:", "//"))
    assert "@media print" in doc.find("style").text


def test_summary_cards_compare_with_the_previous_period() -> None:
    cards = {c.attrs["data-figure"]: c for c in page().iter("li", class_="card")}
    assert list(cards)[:3] == ["pages", "sleep", "off"]
    pages = cards["pages"]
    assert pages.attrs["data-value"] == "19"
    assert pages.find("div", class_="value").text == "19"
    assert pages.find("div", class_="was").text == "previous 12 · +7"
    assert pages.find("span").attrs["class"] == "change worse"
    assert cards["time_firing_s"].find("div", class_="value").text == "12h34m"
    assert cards["ack_share"].find("div", class_="value").text == "75%"
    assert cards["ack_share"].find("div", class_="was").text == "previous 75% · ±0"


def test_pages_per_day_is_a_stacked_svg_chart_with_a_table_beside_it() -> None:
    doc = page()
    svg = doc.find("svg", id="pages-per-day")
    assert svg.attrs["role"] == "img"
    title_id, desc_id = svg.attrs["aria-labelledby"].split()
    assert svg.find("title", id=title_id).text == "Pages per day, by time of day"
    assert svg.find("desc", id=desc_id).text.startswith(
        "19 pages over 7 days: 12 in business hours, 4 in off hours, 3 in sleep hours. "
        "The busiest day was 2026-11-25 with 6 pages.")
    days = list(svg.iter("g", class_="day"))
    assert [d.attrs["data-date"] for d in days] == [d["date"] for d in
                                                   sample_report()["pages_per_day"]]
    for day, expected in zip(days, sample_report()["pages_per_day"], strict=True):
        bars = {b.attrs["data-band"]: int(b.attrs["data-value"]) for b in day.iter("rect")}
        assert bars == {k: v for k, v in expected.items() if k != "date" and v}
        assert day.find("title").text.startswith(expected["date"] + ": ")
    table = doc.find("table", id="days")
    rows = [[td.attrs["data-value"] for td in tr.iter("td")] for tr in table.iter("tr")][1:]
    assert rows[2] == ["4", "1", "1"]


def test_the_top_rules_chart_has_a_bar_per_paging_rule() -> None:
    svg = page().find("svg", id="top-rules")
    bars = [(b.attrs["data-rule"], b.attrs["data-value"]) for b in svg.iter("rect")]
    assert bars == [("ChurnLatencyP99High", "12"), ("FraudScoreDrift", "5"), ("ApiDown", "2")]
    widths = [float(b.attrs["width"]) for b in svg.iter("rect")]
    assert widths[0] > widths[1] > widths[2]
    assert svg.find("title").text == "Top 10 rules by pages"
    assert "ChurnLatencyP99High: 12 pages" in svg.find("desc").text


def test_the_rules_table_has_every_figure_of_every_rule() -> None:
    report = sample_report()
    table = page(report).find("table", id="rules")
    headers = [th.attrs["data-figure"] for th in table.find("thead").iter("th")
               if "data-figure" in th.attrs]
    assert headers == [c.key for c in COLUMNS]
    rows = list(table.find("tbody").iter("tr"))
    assert [r.attrs["data-name"] for r in rows] == [r["rule"] for r in report["rules"]]
    for row, rule in zip(rows, report["rules"], strict=True):
        cells = {td.attrs["data-figure"]: td for td in row.iter("td") if "data-figure" in td.attrs}
        for column in COLUMNS:
            value = column.value(rule)
            assert cells[column.key].attrs["data-value"] == ("" if value is None else str(value))
            assert cells[column.key].attrs["title"] == f"previous period: " \
                f"{column.text(rule['previous'])}"
    first = {td.attrs.get("data-figure"): td.text for td in rows[0].iter("td")}
    assert first["pages"] == "12+7"
    assert first["time_firing_s"] == "12h12m"
    assert first["median_firing_s"] == "4m"
    assert "alice 2, bob 1" in [td.text for td in rows[0].iter("td")]


def test_the_owners_table() -> None:
    table = page().find("table", id="owners")
    assert [r.attrs["data-name"] for r in table.find("tbody").iter("tr")] == [
        "ml-platform", "risk", "(none)"]


def test_health_silences_and_recommendations() -> None:
    doc = page(with_recommendation())
    health = {li.attrs["data-health"]: [c.text for c in li.iter("code")]
              for li in doc.find("ul", id="rule-health").iter("li")}
    assert health == {"without_owner": ["ApiDown"],
                      "without_runbook": ["ApiDown", "FraudScoreDrift"],
                      "never_fired_90d": ["OldRule"]}
    cells = [td.text for td in doc.find("table", id="silences-long").iter("td")]
    assert cells == ["5d1c0e2a", '{alertname="DiskFull"}', "carol", "2026-10-01 08:00 UTC",
                     "disk swap <planned>"]
    rec = doc.find("ol", id="recommendations").find("li")
    assert rec.find("code").text == "ChurnLatencyP99High"
    assert rec.find("pre").text == "-    for = 5m\n+    for = 15m"
    assert not list(page().iter("ol", id="recommendations"))


def test_what_a_report_holds_is_text_never_markup() -> None:
    report = sample_report()
    report["rules"][0]["rule"] = '<script>alert("x")</script>'
    report["silences"]["long_running"][0]["comment"] = "<img src=x onerror=alert(1)>"
    text = render_html(report)
    doc = parse(text)
    assert not list(doc.iter("script")) and not list(doc.iter("img"))
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert doc.find("table", id="rules").find("code").text == '<script>alert("x")</script>'


def test_served_pages_link_to_the_previous_and_next_periods() -> None:
    report = sample_report()
    report["generated_at"] = "2026-12-31T00:00:00Z"
    report["owner"] = "risk"
    nav = page(report, links=True).find("nav")
    previous = parse_qs(urlsplit(nav.find("a", id="previous-period").attrs["href"]).query)
    assert previous == {"from": ["2026-11-16T00:00:00Z"], "to": ["2026-11-23T00:00:00Z"],
                        "owner": ["risk"]}
    later = parse_qs(urlsplit(nav.find("a", id="next-period").attrs["href"]).query)
    assert later == {"from": ["2026-11-30T00:00:00Z"], "to": ["2026-12-07T00:00:00Z"],
                     "owner": ["risk"]}
    form = nav.find("form")
    assert form.attrs["method"] == "get"
    assert [i.attrs["name"] for i in form.iter("input")] == ["from", "to", "owner"]


def test_no_link_to_a_period_after_the_report_was_made() -> None:
    report = sample_report()
    report["generated_at"] = "2026-11-30T00:00:00Z"
    nav = page(report, links=True).find("nav")
    assert [a.attrs["id"] for a in nav.iter("a")] == ["previous-period"]
    assert not list(page(report).iter("nav"))  # a page written to a file has no navigation


def test_an_empty_period_still_renders_charts_that_say_so() -> None:
    doc = page(empty_report())
    for chart_id, message in (("pages-per-day", "No pages in this period."),
                              ("top-rules", "No rule paged in this period.")):
        svg = doc.find("svg", id=chart_id)
        assert svg.find("text").text == message
        assert svg.find("title").text and svg.find("desc").text == message
    assert "No rule paged or fired in this period." in [p.text for p in doc.iter("p")]


def test_html_is_a_format_of_render() -> None:
    assert render(sample_report(), "html") == render_html(sample_report())
