"""Reports in their JSON form, as the noise statistics give them, for the renderers' tests."""

from __future__ import annotations

import copy
from typing import Any

DAYS = [f"2026-11-{d:02d}" for d in range(23, 30)]


def figures(pages: int, *, business: int | None = None, off: int = 0, sleep: int = 0,
            **overrides: Any) -> dict[str, Any]:
    """FIGURES with every key, plausible values derived from `pages`."""
    body: dict[str, Any] = {
        "pages": pages,
        "firings": pages * 2,
        "interruptions": {"business": pages - off - sleep if business is None else business,
                          "off": off, "sleep": sleep},
        "time_firing_s": pages * 3600.0 + 720.0,
        "median_firing_s": 240.0 if pages else None,
        "firing_over_7d": 0,
        "self_resolved_share": 0.5 if pages else None,
        "flaps_per_day": 1.5,
        "flapping_instances": 1,
        "ack_share": 0.75 if pages else None,
        "ack_p50_s": 300.0 if pages else None,
        "ack_p95_s": 1800.0 if pages else None,
        "unacknowledged": pages // 4,
        "ackers": {"alice": 2, "bob": 1} if pages else {},
        "feedback": {"useful": 1, "noise": 2, "reasons": {"too_sensitive": 2}},
        "silenced_s": 0.0,
        "actionability": 0.25 if pages else None,
        "eval_errors": 0,
        "nodata_s": 0.0,
    }
    body.update(overrides)
    return body


def rule(name: str, owner: str | None, pages: int, previous: int, **kw: Any) -> dict[str, Any]:
    return {"rule": name, "owner": owner, **figures(pages, **kw), "previous": figures(previous)}


def sample_report() -> dict[str, Any]:
    """A week with three paging rules, one quiet one, silences, health lists, no
    recommendations yet."""
    return copy.deepcopy({
        "period": {"from": "2026-11-23T00:00:00Z", "to": "2026-11-30T00:00:00Z",
                   "previous_from": "2026-11-16T00:00:00Z",
                   "previous_to": "2026-11-23T00:00:00Z"},
        "owner": None,
        "generated_at": "2026-11-30T09:15:00Z",
        "self_resolve_minutes": 5,
        "totals": figures(19, off=4, sleep=3, time_firing_s=45296.0),
        "totals_previous": figures(12, off=2, sleep=1),
        "rules": [
            rule("ChurnLatencyP99High", "ml-platform", 12, 5, off=3, sleep=2),
            rule("FraudScoreDrift", "risk", 5, 6, off=1, sleep=1),
            rule("ApiDown", None, 2, 1),
            rule("DiskFull<prod>", "sre", 0, 0),
        ],
        "owners": [
            {"owner": "ml-platform", **figures(12, off=3, sleep=2), "previous": figures(5)},
            {"owner": "risk", **figures(5, off=1, sleep=1), "previous": figures(6)},
            {"owner": None, **figures(2), "previous": figures(1)},
        ],
        "pages_per_day": [
            {"date": d, "business": b, "off": o, "sleep": s}
            for d, (b, o, s) in zip(DAYS, [(3, 1, 0), (2, 0, 1), (4, 1, 1), (0, 0, 0),
                                           (2, 1, 1), (1, 1, 0), (0, 0, 0)], strict=True)
        ],
        "silences": {
            "long_running": [{"id": "5d1c0e2a", "matchers": [
                {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
                "by": "carol", "comment": "disk swap <planned>",
                "since": "2026-10-01T08:00:00Z"}],
            "matched_nothing": [{"id": "9f00aa11", "matchers": 'env=~"stag.*"', "by": "dave",
                                 "comment": "staging noise"}],
        },
        "rule_health": {"without_owner": ["ApiDown"], "without_runbook": ["ApiDown",
                                                                           "FraudScoreDrift"],
                        "never_fired_90d": ["OldRule"]},
        "recommendations": [],
    })


def with_recommendation() -> dict[str, Any]:
    report = sample_report()
    report["recommendations"] = [{
        "rule": "ChurnLatencyP99High", "change": "for: 5m -> 15m", "pages_saved": 8,
        "sleep_pages_saved": 2, "actionable_lost": 0, "safe": True,
        "diff": "-    for = 5m\n+    for = 15m\n"}]
    return report


def empty_report() -> dict[str, Any]:
    """A period where nothing happened: every list empty, shares and medians null."""
    report = sample_report()
    report.update(totals=figures(0), totals_previous=figures(0), rules=[], owners=[],
                  pages_per_day=[{"date": d, "business": 0, "off": 0, "sleep": 0}
                                 for d in DAYS],
                  silences={"long_running": [], "matched_nothing": []},
                  rule_health={"without_owner": [], "without_runbook": [],
                               "never_fired_90d": []})
    return report
