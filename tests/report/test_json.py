"""The report as JSON: the dict as it is, its keys in a stable order."""

from __future__ import annotations

import json

import pytest

from alertd.report import FORMATS, render, render_json
from tests.report.fixtures import sample_report


def test_json_is_the_report_unchanged() -> None:
    report = sample_report()
    assert json.loads(render(report, "json")) == report


def test_key_order_does_not_depend_on_how_the_dict_was_built() -> None:
    report = sample_report()
    shuffled = dict(reversed(list(report.items())))
    shuffled["totals"] = dict(reversed(list(report["totals"].items())))
    assert render_json(shuffled) == render_json(report)
    text = render_json(report)
    assert text.index('"generated_at"') < text.index('"owner"') < text.index('"period"')
    assert text.endswith("}\n")


def test_non_ascii_names_stay_readable() -> None:
    report = sample_report()
    report["owner"] = "équipe-données"
    assert '"owner": "équipe-données"' in render_json(report)


def test_unknown_format() -> None:
    assert FORMATS == ("text", "markdown", "json", "html")
    with pytest.raises(ValueError, match='unknown report format "pdf"'):
        render(sample_report(), "pdf")
