"""The terminal report: aligned tables, the noisiest rules first, changes as +N/-N."""

from __future__ import annotations

from alertd.report import render
from alertd.report.text import render_text, table
from alertd.report.units import MINUS
from tests.report.fixtures import empty_report, rule, sample_report, with_recommendation


def section(text: str, heading: str) -> list[str]:
    """The lines of one section (from its heading to the next blank line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_heading_names_the_period_the_previous_one_and_the_scope() -> None:
    text = render_text(sample_report())
    first, second = text.splitlines()[:2]
    assert first == ("Alert noise report, all owners: 2026-11-23 00:00 UTC to "
                     "2026-11-30 00:00 UTC")
    assert second.startswith("compared with 2026-11-16 00:00 UTC to 2026-11-23 00:00 UTC")
    report = sample_report()
    report["owner"] = "risk"
    assert render_text(report).startswith("Alert noise report, owner risk:")


def test_totals_show_this_period_the_previous_and_the_change_with_units() -> None:
    lines = section(render_text(sample_report()), "TOTALS")
    by_name = {line[:24].strip(): line[24:].split() for line in lines[2:] if line[:24].strip()}
    assert by_name["Pages"] == ["19", "12", "+7"]
    assert by_name["Time firing"] == ["12h34m", "12h12m", "+22m56s"]
    assert by_name["Acknowledged"] == ["75%", "75%", "±0"]
    assert by_name["Time to ack (median)"] == ["5m", "5m", "±0"]
    assert "acknowledged by: alice 2, bob 1" in lines
    empty = section(render_text(empty_report()), "TOTALS")
    assert any(line.startswith("Median firing") and line.split()[2:] == ["—", "—"]
               for line in empty)


def test_rules_are_listed_noisiest_first_with_the_change_in_pages() -> None:
    lines = section(render_text(sample_report()), "TOP RULES BY PAGES")
    assert lines[0] == "TOP RULES BY PAGES (4 of 4)"
    assert lines[1].split()[:5] == ["RULE", "OWNER", "PAGES", "CHANGE", "SLEEP"]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["ChurnLatencyP99High", "FraudScoreDrift", "ApiDown",
                                    "DiskFull<prod>"]
    assert rows[0][1:4] == ["ml-platform", "12", "+7"]
    assert rows[1][2:4] == ["5", MINUS + "1"]
    assert rows[2][1] == "(none)"


def test_columns_line_up_names_left_figures_right() -> None:
    lines = section(render_text(sample_report()), "TOP RULES BY PAGES")[1:]
    header = lines[0]
    pages_end = header.index("PAGES") + len("PAGES")
    owner_at = header.index("OWNER")
    for line in lines[1:]:
        assert line[pages_end - 1] != " "  # the pages' last digit under the header's end
        assert line[owner_at - 1] == " " and line[owner_at] != " "


def test_long_reports_keep_the_top_rules_and_say_how_many_more() -> None:
    report = sample_report()
    report["rules"] = [rule(f"Rule{i:02d}", "o", 50 - i, 0) for i in range(30)]
    text = render_text(report)
    lines = section(text, "TOP RULES BY PAGES")
    assert lines[0] == "TOP RULES BY PAGES (20 of 30)"
    assert lines[-1].startswith("... 10 more rules")
    assert "Rule19" in text and "Rule20" not in text


def test_owners_health_silences_and_recommendations() -> None:
    text = render_text(with_recommendation())
    owners = section(text, "OWNERS")
    assert [line.split()[0] for line in owners[2:]] == ["ml-platform", "risk", "(none)"]
    health = section(text, "RULE HEALTH")
    assert health[1:] == ["  without an owner (1): ApiDown",
                          "  without a runbook (2): ApiDown, FraudScoreDrift",
                          "  never fired in 90 days (1): OldRule"]
    silences = "\n".join(section(text, "SILENCES"))
    assert '5d1c0e2a  {alertname="DiskFull"}  carol  2026-10-01 08:00 UTC' in silences
    assert 'env=~"stag.*"' in silences
    recs = section(text, "RECOMMENDATIONS")
    assert recs[1] == ("  ChurnLatencyP99High: for: 5m -> 15m: saves 8 pages (2 in sleep "
                       "hours), loses 0 actionable [safe]")
    assert recs[2].strip() == "-    for = 5m"
    assert "RECOMMENDATIONS" not in render_text(sample_report())


def test_an_empty_period_renders() -> None:
    text = render_text(empty_report())
    assert "no rule paged or fired in this period" in text
    assert "without an owner (0): —" in text


def test_missing_sections_do_not_fail_the_report() -> None:
    text = render({"period": {"from": "2026-11-23T00:00:00Z", "to": "2026-11-30T00:00:00Z"}},
                  "text")
    assert "Pages" in text and "—" in text


def test_table_pads_every_column() -> None:
    assert table(["A", "B"], [["xx", "1"], ["y", "22"]]).splitlines() == [
        "A    B", "xx   1", "y   22"]


def test_control_characters_cannot_break_lines_or_drive_the_terminal() -> None:
    report = sample_report()
    report["rules"][0]["rule"] = "Evil\x1b[2J\nRule"
    report["rule_health"]["without_owner"] = ["Bell\x07"]
    text = render_text(report)
    assert "\x1b" not in text and "\x07" not in text
    row = next(line for line in text.splitlines() if line.startswith("Evil"))
    assert row.split()[:4] == ["Evil", "[2J", "Rule", "ml-platform"]
    assert "without an owner (1): Bell " in text
