"""The report as Markdown for a review doc or a pull request."""

from __future__ import annotations

import re

from alertd.report import render
from alertd.report.markdown import cell, code, render_markdown
from tests.report.fixtures import empty_report, rule, sample_report, with_recommendation


def table_after(text: str, heading: str) -> list[list[str]]:
    """The cells of the first table after `heading`, header row first."""
    lines = text.splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif rows:
            break
    return rows


def test_headings_in_order() -> None:
    text = render_markdown(with_recommendation())
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "## Alert noise report, all owners: 2026-11-23 00:00 UTC to 2026-11-30 00:00 UTC",
        "### Summary", "### Top rules by pages (4 of 4)", "### Owners",
        "### Recommendations", "### Rule health", "### Silences"]


def test_summary_compares_with_the_previous_period() -> None:
    rows = table_after(render_markdown(sample_report()), "### Summary")
    assert rows[0] == ["", "This period", "Previous", "Change"]
    assert rows[1] == ["---", "---:", "---:", "---:"]
    assert rows[2] == ["Pages", "19", "12", "+7"]
    assert ["Pages in sleep hours", "3", "1", "+2"] in rows


def test_top_rules_table_names_rules_as_code_noisiest_first() -> None:
    rows = table_after(render_markdown(sample_report()), "### Top rules by pages (4 of 4)")
    assert rows[0][:4] == ["Rule", "Owner", "Pages", "Change"]
    assert [r[0] for r in rows[2:]] == ["`ChurnLatencyP99High`", "`FraudScoreDrift`",
                                        "`ApiDown`", "`DiskFull<prod>`"]
    assert rows[2][1:4] == ["ml-platform", "12", "+7"]
    assert rows[5][8] == "—"  # the quiet rule's self-resolved share


def test_only_the_top_rules_are_listed() -> None:
    report = sample_report()
    report["rules"] = [rule(f"R{i}", "o", 40 - i, 0) for i in range(25)]
    text = render_markdown(report)
    assert "### Top rules by pages (20 of 25)" in text
    assert "5 more rules are in the full report." in text


def test_health_lists_and_recommendations() -> None:
    text = render_markdown(with_recommendation())
    assert "- Without an owner (1): `ApiDown`" in text
    assert "- Without a runbook (2): `ApiDown`, `FraudScoreDrift`" in text
    assert "- Never fired in 90 days (1): `OldRule`" in text
    assert ("- `ChurnLatencyP99High`: for: 5m -&gt; 15m; saves 8 pages (2 in sleep hours), "
            "loses 0 actionable (safe)") in text
    assert "  ```diff\n  -    for = 5m\n  +    for = 15m\n  ```" in text
    assert "### Recommendations" not in render_markdown(sample_report())
    assert "- Without an owner (0): none" in render_markdown(empty_report())


def test_text_cannot_break_the_tables() -> None:
    report = sample_report()
    report["rules"][0]["owner"] = "a|b <b>x</b>"
    report["rules"][0]["rule"] = "Pipe|Rule"
    report["silences"]["matched_nothing"][0]["comment"] = "line one\nline | two"
    text = render_markdown(report)
    rows = table_after(text, "### Top rules by pages (4 of 4)")
    assert all(len(r) == len(rows[0]) for r in rows)
    assert rows[2][:2] == ["`Pipe\\|Rule`", "a\\|b &lt;b&gt;x&lt;/b&gt;"]
    assert "line one line \\| two" in text
    assert cell("*bold* _x_ [l](u)") == "\\*bold\\* \\_x\\_ \\[l\\](u)"
    assert code("a`b") == "``a`b``"


def test_markdown_is_a_format_of_render() -> None:
    assert render(sample_report(), "markdown") == render_markdown(sample_report())
