"""`alertd check --config`: alerts that would end up without an owner or a runbook.

An alert's owner and runbook come from its rule (or group), else from the first `owners`
entry whose matchers match it. At check time only an alert's static labels are known
(group and alert labels, severity, alertname), and an owner is counted only if it matches
those: ownership that depends on a label the series may or may not carry is exactly what
this check is there to catch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from alertd.config.owners import Owner
from alertd.lang.diagnostics import Diagnostic
from alertd.lang.spec import GroupSpec


def _static_labels(alert: object) -> dict[str, str]:
    spec = alert
    labels = dict(getattr(spec, "labels", {}))
    if getattr(spec, "severity", None):
        labels["severity"] = spec.severity  # type: ignore[attr-defined]
    labels["alertname"] = spec.name  # type: ignore[attr-defined]
    return labels


def _may_match(owner: Owner, labels: Mapping[str, str]) -> bool:
    return owner.matches(labels)


def coverage_problems(groups: Iterable[GroupSpec], owners: Sequence[Owner],
                      require: Iterable[str]) -> list[Diagnostic]:
    wanted = set(require)
    problems: list[Diagnostic] = []
    for group in groups:
        for alert in group.alerts:
            labels = _static_labels(alert)
            owner = next((o for o in owners if _may_match(o, labels)), None)
            if "owner" in wanted and not alert.owner and owner is None:
                problems.append(Diagnostic(alert.path, alert.name_span, (
                    f'alert "{alert.name}" has no owner: set owner in the alert or its group, '
                    "or add an owners entry that matches it")))
            if "runbook" in wanted and not alert.runbook:
                named = next((o for o in owners if o.name == alert.owner), None) \
                    if alert.owner else owner
                if named is None or not named.runbook_base_url:
                    where = (f'its owner "{named.name}" has no runbook_base_url' if named
                             else "no owners entry gives it one")
                    problems.append(Diagnostic(alert.path, alert.name_span, (
                        f'alert "{alert.name}" has no runbook: set runbook in the alert, '
                        f"or {where}")))
    return problems
