"""The report page in a real browser: Debian's headless Chromium, driven by Selenium through
the system chromedriver, against a daemon in this process whose store holds a constructed
week of history.

Chromium missing is a failure, not a skip: the page is what people review in the meeting.
Selenium Manager is kept offline and never asked for a driver (the path is given).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from alertd.report.figures import COLUMNS
from tests.api.conftest import ThreadedDaemon, write_config
from tests.report.history import write_history

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PERIOD = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-30T00:00:00Z"}

# Reads a figure back from the page: what the browser shows, not what the HTML says.
TEXT = "return arguments[0].textContent.trim();"


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install Debian's chromium and "
                    "chromium-driver (scripts/bootstrap.sh does)", pytrace=False)
    monkeypatch.setenv("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,2000",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ThreadedDaemon]:
    daemon = ThreadedDaemon(write_config(tmp_path))
    daemon.start()
    try:
        assert daemon.daemon is not None and daemon.daemon.store is not None
        daemon._run(write_history(daemon.daemon.store))
        yield daemon
    finally:
        daemon.stop()


def report_json(served: ThreadedDaemon) -> dict[str, Any]:
    url = f"{served.url}/api/alertd/v1/report?{urlencode(PERIOD)}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        body: dict[str, Any] = json.load(resp)
    return body


def test_the_report_page_in_chromium(browser: Any, served: ThreadedDaemon,
                                     tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    report = report_json(served)
    assert report["totals"]["pages"] == 6
    browser.get(f"{served.url}/report?{urlencode(PERIOD)}")
    assert browser.title == ("Alert noise report, all owners: 2026-11-23 00:00 UTC to "
                             "2026-11-30 00:00 UTC")

    # The summary cards show the totals of the JSON.
    for card in browser.find_elements(By.CSS_SELECTOR, "li.card"):
        key = card.get_attribute("data-figure")
        value = report["totals"][key] if key in report["totals"] else \
            report["totals"]["interruptions"][key]
        assert card.get_attribute("data-value") == ("" if value is None else str(value)), key
    pages = browser.find_element(By.CSS_SELECTOR, 'li.card[data-figure="pages"] .value')
    assert pages.text == "6"

    # The stacked chart: drawn, with a bar per band and day that paged, as in the JSON.
    chart = browser.find_element(By.CSS_SELECTOR, "svg#pages-per-day")
    assert chart.size["width"] > 300 and chart.size["height"] > 100
    assert browser.execute_script(TEXT, chart.find_element(By.TAG_NAME, "title")) == \
        "Pages per day, by time of day"
    drawn = {(r.get_attribute("data-date"), r.get_attribute("data-band")):
             int(r.get_attribute("data-value"))
             for r in chart.find_elements(By.CSS_SELECTOR, "rect.bar")}
    expected = {(d["date"], band): d[band] for d in report["pages_per_day"]
                for band in ("business", "off", "sleep") if d[band]}
    assert drawn == expected and sum(drawn.values()) == 6
    for bar in chart.find_elements(By.CSS_SELECTOR, "rect.bar"):
        assert bar.size["height"] > 0

    # The top rules: one bar per rule that paged, longest first.
    bars = browser.find_elements(By.CSS_SELECTOR, "svg#top-rules rect.bar")
    assert [(b.get_attribute("data-rule"), int(b.get_attribute("data-value"))) for b in bars] \
        == [(r["rule"], r["pages"]) for r in report["rules"] if r["pages"]]
    assert bars[0].size["width"] > bars[1].size["width"]

    # Every figure of every rule in the table is the JSON's.
    for rule in report["rules"]:
        row = browser.find_element(By.CSS_SELECTOR, f'#rules tr[data-name="{rule["rule"]}"]')
        for column in COLUMNS:
            cell = row.find_element(By.CSS_SELECTOR, f'td[data-figure="{column.key}"]')
            value = column.value(rule)
            assert cell.get_attribute("data-value") == ("" if value is None else str(value))
            assert browser.execute_script(TEXT, cell).startswith(column.text(rule))

    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000

    # The link to the previous period leads to the week before, still readable.
    browser.find_element(By.ID, "previous-period").click()
    assert browser.title.endswith("2026-11-16 00:00 UTC to 2026-11-23 00:00 UTC")
    cards = browser.find_element(By.CSS_SELECTOR, 'li.card[data-figure="pages"]')
    assert cards.get_attribute("data-value") == "2"
