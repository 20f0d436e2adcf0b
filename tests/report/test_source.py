"""Where a report's rules come from: the config's rule files and owners, as at ingest."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.config import load_config
from alertd.noise import RuleInfo
from alertd.report.source import (
    ReportQuery,
    ReportUnavailable,
    config_rules,
    daemon_source,
    open_store,
    rule_infos,
)
from tests.api.conftest import start_daemon
from tests.api.conftest import write_config as write_daemon_config
from tests.report.history import OWNERS, RULES


def test_rules_get_owner_runbook_and_interval_as_alerts_do_at_ingest(tmp_path: Path) -> None:
    (tmp_path / "team.rules").write_text(RULES + "\nalert Broken { when = rat(x[5m]) > 1 }\n")
    (tmp_path / "alertd.yml").write_text(
        f"rule_files: [team.rules]\nevaluation_interval: 30s\n{OWNERS}")
    config = load_config(str(tmp_path / "alertd.yml"))
    rules, errors = config_rules(config)
    assert errors == 1  # the broken alert is left out, the others are kept
    assert rule_infos(rules, config.owners) == [
        # its group's owner, its own runbook
        RuleInfo("ChurnLatencyP99High", "ml-platform", "https://runbooks.example.com/churn",
                 30.0),
        # no owner in the rule: the owners entry matching it, and its runbook_base_url
        RuleInfo("FraudScoreDrift", "risk", "https://runbooks.example.com/risk/FraudScoreDrift",
                 30.0),
        # its own owner, who has no runbook_base_url
        RuleInfo("QuietRule", "ml-platform", None, 30.0),
    ]


async def test_a_missing_sqlite_store_is_not_created(tmp_path: Path) -> None:
    (tmp_path / "alertd.yml").write_text("storage: sqlite:///nowhere/alertd.db\n")
    with pytest.raises(ReportUnavailable, match="storage: no database at"):
        await open_store(load_config(str(tmp_path / "alertd.yml")))
    assert not (tmp_path / "nowhere").exists()


async def test_the_daemon_source_needs_a_started_daemon(tmp_path: Path) -> None:
    daemon = await start_daemon(write_daemon_config(tmp_path))
    source = daemon_source(daemon)
    query = ReportQuery(daemon.clock.now() - 86400, daemon.clock.now(), None,
                        daemon.clock.now())
    assert (await source(query))["totals"]["pages"] == 0
    await daemon.stop()
    with pytest.raises(ReportUnavailable, match="alertd has not started"):
        await source(query)
