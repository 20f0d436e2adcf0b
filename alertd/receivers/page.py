"""What a page says, independent of where it goes: the view Slack, PagerDuty and the
console render from.

`page_view` reads a notification once (annotations are rendered lazily, so reading them
here is what renders them) and picks what an on-call person needs first: what broke, how
badly, since when, who owns it and what to do.

Alerts are listed worst first: by value, highest first, those without a value last. A
rule cannot say here whether a low value is the bad one (a threshold "below"), so the
highest is taken as the worst; the page's links (graph, dashboard) are the worst alert's.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    dashboard_url: str = ""  # the `dashboard` annotation
    # The `because` annotation of a composite rule: which inputs made it fire, and their
    # values (its own value, 1, says nothing).
    because: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)  # all of them


@dataclass(frozen=True, slots=True)
class ActionNote:
    """Something a responder did from the page ("acknowledged", "silenced for 1h")."""

    who: str  # a Slack user id (rendered as a mention) or a name
    what: str
    at: float
    # For a silence made from the page: when it ended (expired, or its end passed).
    silence_ended: float | None = None


@dataclass(frozen=True, slots=True)
class ValueRange:
    """The values of a page's alerts, when they differ: how bad, across the group."""

    low: float
    high: float
    count: int  # alerts with a value


@dataclass(frozen=True, slots=True)
class Link:
    kind: str  # "runbook", "dashboard" or "graph"
    name: str  # as shown: "Runbook", "Dashboard", "Graph" or "Source"
    url: str


@dataclass(frozen=True, slots=True)
class PageView:
    status: str  # "firing" or "resolved"
    alertname: str
    severity: str  # "" when the alerts have none in common
    title: str
    summary: str
    value: float | None  # the worst firing alert's (else the worst alert's)
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
    value_range: ValueRange | None = None  # None for a single value, or all the same
    because: str = ""  # the worst alert's `because` annotation
    dashboard_url: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)  # those all alerts share
    acknowledged_by: str = ""  # who acknowledged, once every firing alert is

    @property
    def links(self) -> list[Link]:
        """Where to look, in the order shown: those set to a web URL."""
        found = [Link("runbook", "Runbook", self.runbook_url),
                 Link("dashboard", "Dashboard", self.dashboard_url),
                 Link("graph", _graph_name(self.graph_url), self.graph_url)]
        return [link for link in found if web_url(link.url)]

    @property
    def history_url(self) -> str:
        """alertd's decision chain for the page's first alert: its route, its group's key
        and each delivery (what a responder does not need to see, and a debugger does)."""
        lines = self.firing or self.resolved
        if not self.external_url or not lines:
            return ""
        fingerprint = urllib.parse.quote(lines[0].fingerprint, safe="")
        return (f"{self.external_url.rstrip('/')}/api/alertd/v1/alerts/{fingerprint}"
                "/history?format=text")


def web_url(url: str) -> bool:
    """An absolute http(s) URL without spaces: what a link button may carry."""
    return url.startswith(("https://", "http://")) and not any(c.isspace() for c in url)


def _graph_name(url: str) -> str:
    """Prometheus's generatorURL is a graph of the rule's expression; other tools' point
    at wherever the alert came from."""
    path = urllib.parse.urlsplit(url).path if web_url(url) else ""
    return "Graph" if path.rstrip("/").endswith("/graph") else "Source"


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
    annotations = dict(alert.annotations)
    return AlertLine(
        fingerprint=alert.fingerprint, labels=dict(alert.labels),
        summary=annotations.get("summary") or annotations.get("description", ""),
        value=alert.value, starts_at=alert.starts_at,
        ends_at=alert.ends_at if alert.resolved(now) else None, resolved=alert.resolved(now),
        runbook_url=annotations.get("runbook_url", ""), generator_url=alert.generator_url,
        flapping=annotations.get("flapping", ""),
        dashboard_url=annotations.get("dashboard", ""),
        because=" ".join(annotations.get("because", "").split()), annotations=annotations)


def worst_first(lines: Iterable[AlertLine]) -> list[AlertLine]:
    """Highest value first, alerts without one (or NaN) after, in their order otherwise."""
    return sorted(lines, key=_badness)


def _badness(line: AlertLine) -> tuple[bool, float]:
    value = line.value
    if value is None or math.isnan(value):
        return (True, 0.0)
    return (False, -value)


def value_range(lines: Sequence[AlertLine]) -> ValueRange | None:
    values = [line.value for line in lines
              if line.value is not None and not math.isnan(line.value)]
    if len(values) < 2 or min(values) == max(values):
        return None
    return ValueRange(min(values), max(values), len(values))


def page_view(notification: Notification, *, reason: str = "", external_url: str = "",
              owner_handle: Callable[[str], str | None] = lambda owner: None,
              actions: Sequence[ActionNote] = (), action_value: str = "",
              acknowledged_by: str = "") -> PageView:
    now = notification.now
    lines = worst_first(_line(a, now) for a in notification.alerts)
    firing = [line for line in lines if not line.resolved]
    resolved = [line for line in lines if line.resolved]
    shown = firing or resolved
    lead = shown[0] if lines else None
    shared = common([line.labels for line in lines]) or dict(notification.group_labels)
    alertname = shared.get(ALERTNAME) or (lead.labels.get(ALERTNAME, "") if lead else "")
    owner = shared.get("owner", "")
    summaries = {line.summary for line in shown if line.summary}
    summary = lead.summary if lead and len(summaries) == 1 else (
        f"{len(shown)} alerts" if len(summaries) > 1 else "")
    runbooks = {line.runbook_url for line in lines if line.runbook_url}
    starts = [line.starts_at for line in shown]
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
        graph_url=next((line.generator_url for line in shown if line.generator_url), ""),
        firing=firing, resolved=resolved, reason=reason, receiver=notification.receiver,
        group_key=notification.group_key, external_url=external_url, now=now,
        actions=tuple(actions), action_value=action_value,
        flapping=_flapping(shown), value_range=value_range(shown),
        because=lead.because if lead else "",
        dashboard_url=next((line.dashboard_url for line in shown if line.dashboard_url), ""),
        annotations=common([line.annotations for line in lines]),
        acknowledged_by=acknowledged_by if firing else "")


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
