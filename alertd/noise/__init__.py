"""The weekly noise review's statistics, computed from the alert history.

For a period and the period of the same length before it, per rule, per owner and in
total: pages (notifications that reached a person), firings, interruptions by time of
day in the owner's time zone, time firing, self-resolved firings, flapping,
acknowledgement, responder feedback, silenced time, actionability and rule health; the
definitions are in docs/noise-report.md.

    build_report(repository, ...)   streams the history from the store (CLI, API)
    summarize(events, settings)     the same over events in hand (tests, replays)
    flap_score, FlapDetector        flap detection, for the report and for live use

Modules, in the order data flows: `event` (what is read of a history event), `inputs`
(period, rules, settings), `timeline` (open alerts, intervals, flap observations), `flap`,
`bands`, `pages`, `verdicts`, `silences`, `stats` (the single pass), `figures` (running
totals), `report` (the values and their JSON form), `build` (the entry points).
"""

from __future__ import annotations

from alertd.noise.bands import BANDS, band
from alertd.noise.build import HistorySource, build_report, settings_for, summarize
from alertd.noise.flap import FlapDetector, FlapState, flap_score
from alertd.noise.inputs import RuleInfo, Settings
from alertd.noise.quantiles import nearest_rank
from alertd.noise.report import Figures, Report

__all__ = [
    "BANDS",
    "Figures",
    "FlapDetector",
    "FlapState",
    "HistorySource",
    "Report",
    "RuleInfo",
    "Settings",
    "band",
    "build_report",
    "flap_score",
    "nearest_rank",
    "settings_for",
    "summarize",
]
