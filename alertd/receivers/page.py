"""What a page says, independent of where it goes: the view Slack, PagerDuty and the
console render from.

`page_view` reads a notification once (annotations are rendered lazily, so reading them
here is what renders them) and picks what an on-call person needs first: what broke, how
badly, since when, who owns it and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from alertd.alerts.model import Alert
from alertd.model import ALERTNAME
from alertd.receivers import Notification, common

# Labels every page shows in their own place, not among "the labels that matter".
SHOWN_ELSEWHERE = frozenset({ALERTNAME, "severity", "owner"})
FLAPPING_SHOWN = 3  # flapping alerts named on a page; the rest are counted


@dataclass(frozen=True, slots=True)
class AlertLine:
    fingerprint: str
    labels: Mapping[str, str]
    summary: str
    value: float | None
    starts_at: float
    ends_at: float | None  # set once resolved
    resolved: bool
    runbook_url: str
    generator_url: str
    flapping: str = ""  # the `flapping` annotation: "6 state changes in the last hour"


@dataclass(frozen=True, slots=True)
class ActionNote:
    """Something a responder did from the page ("acknowledged", "silenced for 1h")."""

    who: str  # a Slack user id (rendered as a mention) or a name
    what: str
    at: float


@dataclass(frozen=True, slots=True)
class PageView:
    status: str  # "firing" or "resolved"
    alertname: str
    severity: str  # "" when the alerts have none in common
    title: str
    summary: str
    value: float | None  # of the first firing alert (else the first alert)
    since: float  # earliest start among the firing alerts (else among all)
    labels: Mapping[str, str]  # common labels, minus those in SHOWN_ELSEWHERE
    owner: str
    owner_mention: str  # Slack mention markup for the owner's handle, "" if none
    runbook_url: str
    graph_url: str
    firing: Sequence[AlertLine]
    resolved: Sequence[AlertLine]
    reason: str
    receiver: str
    group_key: str
    external_url: str
    now: float
    actions: Sequence[ActionNote] = field(default_factory=tuple)
    action_value: str = ""  # each button's value: identifies the page to the action handler
    # "flapping: 6 state changes in the last hour", a line per flapping alert; "" if none.
    flapping: str = ""


_SLACK_ID = re.compile(r"[A-Z0-9]{8,}")


def slack_mention(handle: str | None) -> str:
    """The Slack markup that notifies `handle`: a user group id (S...) becomes
    <!subteam^S...>, a user id (U.../W...) <@U...>, @here/@channel their special
    mentions; any other handle is shown as written (Slack cannot notify a bare name)."""
    if not handle:
        return ""
    bare = handle.lstrip("@")
    if bare in ("here", "channel", "everyone"):
        return f"<!{bare}>"
    if _SLACK_ID.fullmatch(bare):
        if bare.startswith("S"):
            return f"<!subteam^{bare}>"
        if bare[0] in "UW":
            return f"<@{bare}>"
    return handle if handle.startswith("@") else f"@{handle}"


def _line(alert: Alert, now: float) -> AlertLine:
    annotations = alert.annotations
    return AlertLine(
        fingerprint=alert.fingerprint, labels=dict(alert.labels),
        summary=annotations.get("summary") or annotations.get("description", ""),
        value=alert.value, starts_at=alert.starts_at,
        ends_at=alert.ends_at if alert.resolved(now) else None, resolved=alert.resolved(now),
        runbook_url=annotations.get("runbook_url", ""), generator_url=alert.generator_url,
        flapping=annotations.get("flapping", ""))




def page_view(notification: Notification, *, reason: str = "", external_url: str = "",
              owner_handle: Callable[[str], str | None] = lambda owner: None,
              actions: Sequence[ActionNote] = (), action_value: str = "") -> PageView:
    now = notification.now
    lines = [_line(a, now) for a in notification.alerts]
    firing = [line for line in lines if not line.resolved]
    resolved = [line for line in lines if line.resolved]
    lead = (firing or resolved)[0] if lines else None
    shared = common([line.labels for line in lines]) or dict(notification.group_labels)
    alertname = shared.get(ALERTNAME) or (lead.labels.get(ALERTNAME, "") if lead else "")
    owner = shared.get("owner", "")
    summaries = {line.summary for line in (firing or resolved) if line.summary}
    summary = lead.summary if lead and len(summaries) == 1 else (
        f"{len(firing or resolved)} alerts" if len(summaries) > 1 else "")
    runbooks = {line.runbook_url for line in lines if line.runbook_url}
    graphs = [line.generator_url for line in (firing or resolved) if line.generator_url]
    starts = [line.starts_at for line in (firing or resolved)]
    return PageView(
        status="firing" if firing else "resolved",
        alertname=alertname,
        severity=shared.get("severity", ""),
        title=alertname or "alerts",
        summary=summary,
        value=lead.value if lead else None,
        since=min(starts) if starts else now,
        labels={k: v for k, v in sorted(shared.items()) if k not in SHOWN_ELSEWHERE},
        owner=owner,
        owner_mention=slack_mention(owner_handle(owner)) if owner else "",
        runbook_url=next(iter(runbooks)) if len(runbooks) == 1 else "",
        graph_url=graphs[0] if graphs else "",
        firing=firing, resolved=resolved, reason=reason, receiver=notification.receiver,
        group_key=notification.group_key, external_url=external_url, now=now,
        actions=tuple(actions), action_value=action_value,
        flapping=_flapping(firing or resolved))


def _flapping(lines: Sequence[AlertLine]) -> str:
    """A line per flapping alert, told apart by their labels when the page has several
    (a flapping alert pages again and again: the responder should know it is one)."""
    keys = distinct_keys(lines)
    shown = []
    for line in lines:
        if not line.flapping:
            continue
        which = ", ".join(f"{k}={line.labels[k]}" for k in keys if k in line.labels)
        shown.append(f"flapping: {which + ': ' if which else ''}{line.flapping}")
    if len(shown) > FLAPPING_SHOWN:
        shown[FLAPPING_SHOWN:] = [f"+{len(shown) - FLAPPING_SHOWN} more flapping"]
    return "\n".join(shown)


def distinct_keys(lines: Sequence[AlertLine]) -> list[str]:
    """The label names whose values differ among the alerts: what tells them apart."""
    if not lines:
        return []
    first = lines[0].labels
    keys = sorted({k for line in lines for k in line.labels})
    return [k for k in keys if any(line.labels.get(k) != first.get(k) for line in lines)]
