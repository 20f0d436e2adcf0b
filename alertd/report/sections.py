"""The parts of a report every renderer shows, read out of its JSON form leniently.

A report built by another version may lack a section; each reader here gives an empty
value for what is missing, so a renderer never fails on the shape of its input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alertd.report import units

RULES_SHOWN = 20  # the terminal's and the review doc's top rules; the page shows every rule

HEALTH = (
    ("without_owner", "Without an owner"),
    ("without_runbook", "Without a runbook"),
    ("never_fired_90d", "Never fired in 90 days"),
)


def period(report: Mapping[str, Any]) -> str:
    p = mapping(report.get("period"))
    return f"{units.timestamp(p.get('from'))} to {units.timestamp(p.get('to'))}"


def previous_period(report: Mapping[str, Any]) -> str:
    p = mapping(report.get("period"))
    return (f"{units.timestamp(p.get('previous_from'))} to "
            f"{units.timestamp(p.get('previous_to'))}")


def scope(report: Mapping[str, Any]) -> str:
    owner = report.get("owner")
    return f"owner {owner}" if owner else "all owners"


def title(report: Mapping[str, Any]) -> str:
    return f"Alert noise report, {scope(report)}: {period(report)}"


def health(report: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(key, label, rule names) for each rule-health list, in a fixed order."""
    given = mapping(report.get("rule_health"))
    return [(key, label, sorted(str(n) for n in _list(given.get(key))))
            for key, label in HEALTH]


def silences(report: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """`long_running` or `matched_nothing`: silences as mappings."""
    return [s for s in _list(mapping(report.get("silences")).get(key))
            if isinstance(s, Mapping)]


def recommendations(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in _list(report.get("recommendations")) if isinstance(r, Mapping)]


def recommendation_effect(rec: Mapping[str, Any]) -> str:
    """`saves 12 pages (4 in sleep hours), loses 0 actionable`, and `, delays 1 by up to
    4m 30s` when the change would have paged people later."""
    saved = units.count(units.number(rec.get("pages_saved")))
    sleep = units.count(units.number(rec.get("sleep_pages_saved")))
    lost = units.count(units.number(rec.get("actionable_lost")))
    text = f"saves {saved} pages ({sleep} in sleep hours), loses {lost} actionable"
    delayed = units.number(rec.get("actionable_delayed"))
    if delayed:
        text += (f", delays {units.count(delayed)} by up to "
                 f"{units.duration(units.number(rec.get('max_delay_s')))}")
    return text


def matchers(value: Any) -> str:
    """A silence's matchers as `{alertname="A", env=~"prod.*"}`, whatever form they come in:
    a string as it is, a list of strings, or the API's matcher objects."""
    if isinstance(value, str):
        return value
    parts = []
    for m in _list(value):
        if isinstance(m, Mapping):
            regex, equal = bool(m.get("isRegex")), m.get("isEqual", True) is not False
            op = ("=~" if equal else "!~") if regex else ("=" if equal else "!=")
            parts.append(f'{m.get("name", "")}{op}"{m.get("value", "")}"')
        else:
            parts.append(str(m))
    return "{" + ", ".join(parts) + "}"


def rule_names(report: Mapping[str, Any]) -> int:
    return len(_list(report.get("rules")))


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []

