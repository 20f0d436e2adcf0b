"""PagerDuty Events API v2 bodies for a page: trigger, acknowledge and resolve.

Only the bodies: sending them (retries, rate limits) is the notifier's job. PagerDuty
refuses an event over one of its limits as a whole (400), and a page refused is a page
lost, so every limit is enforced here (reference/integrations.md §2.2-2.5).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from alertd.model import json_float
from alertd.receivers.page import AlertLine, PageView, distinct_keys

# "512 KB" read as the smaller of its two meanings, so that either reading holds.
MAX_EVENT_BYTES = 512_000
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255
# Strings of the last-resort event, when even an event without details is too large.
BARE_STRING_MAX = 1024

_LEVELS = {
    "critical": ("critical", "page", "p1", "fatal", "emergency"),
    "error": ("error", "high", "major", "p2"),
    "warning": ("warning", "warn", "medium", "minor", "p3"),
    "info": ("info", "low", "ticket", "none", "p4", "p5"),
}
_SEVERITIES = {alias: level for level, aliases in _LEVELS.items() for alias in aliases}


def severity(value: str, default: str = "error") -> str:
    """PagerDuty's severity (critical, error, warning, info) for a `severity` label."""
    return _SEVERITIES.get(value.strip().lower(), default)


def dedup_key(group_key: str) -> str:
    """The group key hashed as Alertmanager hashes it, so that incidents opened by
    Alertmanager continue when a team switches to alertd."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def trigger(view: PageView, *, routing_key: str, dedup_key: str, client: str = "alertd",
            client_url: str = "", source: str | None = None, component: str | None = None,
            group: str | None = None, class_: str | None = None, severity: str | None = None,
            summary: str | None = None, details: Mapping[str, Any] | None = None,
            links: Sequence[Mapping[str, str]] = (),
            images: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    """A trigger event for the page; the keyword arguments override what the view gives.

    Never over MAX_EVENT_BYTES: the alerts listed in custom_details go first (the count
    left out is "truncated_alerts"), then long strings are cut. Raises ValueError for a
    dedup key over 255 characters.
    """
    _check_dedup_key(dedup_key, required=False)
    payload = {
        "summary": _clip(" ".join((summary or _summary(view)).split()), SUMMARY_MAX),
        "source": source or _common(view, "instance", "job") or "alertd",
        "severity": _level(view, severity),
        "timestamp": timestamp(view.since),
        "component": component or _common(view, "component", "service"),
        "group": group or _common(view, "group", "team") or view.owner,
        "class": class_ or view.alertname,
        "custom_details": {**_details(view), **(details or {})},
    }
    event: dict[str, Any] = {
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {k: v for k, v in payload.items() if v != ""},
        "client": client, "client_url": client_url,
        "links": _links(view, links),
        "images": [dict(i) for i in images if i.get("src", "").startswith("https://")],
    }
    return _fit({k: v for k, v in event.items() if v not in ("", [])})


def acknowledge(routing_key: str, dedup_key: str) -> dict[str, Any]:
    return _follow_up("acknowledge", routing_key, dedup_key)


def resolve(routing_key: str, dedup_key: str) -> dict[str, Any]:
    return _follow_up("resolve", routing_key, dedup_key)


def timestamp(t: float) -> str:
    """ISO 8601 as PagerDuty writes it: 2015-07-17T08:42:58.315+0000."""
    at = datetime.fromtimestamp(t, UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}+0000"


def encoded_size(event: Mapping[str, Any]) -> int:
    """Bytes of the event as JSON with ASCII escapes: the largest of the usual encodings.
    NaN and infinities are refused, as PagerDuty refuses them (they are not JSON)."""
    return len(json.dumps(event, allow_nan=False))


def _follow_up(action: str, routing_key: str, key: str) -> dict[str, Any]:
    _check_dedup_key(key, required=True)
    return {"routing_key": routing_key, "event_action": action, "dedup_key": key}


def _check_dedup_key(key: str, *, required: bool) -> None:
    if required and not key:
        raise ValueError("a dedup key is required to acknowledge or resolve")
    if len(key) > DEDUP_KEY_MAX:
        raise ValueError(f"dedup key is {len(key)} characters long, over PagerDuty's "
                         f"{DEDUP_KEY_MAX}")


# The payload.

def _summary(view: PageView) -> str:
    status = f"FIRING:{len(view.firing)}" if view.status == "firing" else "RESOLVED"
    text = f"[{status}] {view.alertname or view.title}"
    return f"{text} — {view.summary}" if view.summary else text


def _level(view: PageView, override: str | None) -> str:
    # An override is mapped too: PagerDuty refuses any severity but its four.
    return severity(override if override is not None else view.severity)


def _common(view: PageView, *names: str) -> str:
    return next((view.labels[n] for n in names if view.labels.get(n)), "")


def _details(view: PageView) -> dict[str, Any]:
    lines = [*view.firing, *view.resolved]
    keys = distinct_keys(lines)
    details: dict[str, Any] = {"firing": len(view.firing), "resolved": len(view.resolved),
                               "labels": dict(view.labels)}
    if view.value is not None:
        details["value"] = json_float(view.value)
    if view.owner:
        details["owner"] = view.owner
    details["alerts"] = [_entry(line, keys, view.summary) for line in lines]
    return details


def _entry(line: AlertLine, keys: Sequence[str], shared_summary: str) -> dict[str, Any]:
    """One alert, compactly: the labels that tell it apart from the others of its group,
    and its summary unless it is the page's."""
    entry: dict[str, Any] = {
        "status": "resolved" if line.resolved else "firing",
        "labels": {k: line.labels[k] for k in keys if k in line.labels},
        "summary": line.summary if line.summary != shared_summary else "",
        "starts_at": timestamp(line.starts_at),
    }
    if line.value is not None:
        entry["value"] = json_float(line.value)
    if line.ends_at is not None:
        entry["ends_at"] = timestamp(line.ends_at)
    return {k: v for k, v in entry.items() if v not in ("", {})}



def _links(view: PageView, configured: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    own = [{"href": link.url, "text": link.name} for link in view.links]
    return [*own, *(dict(link) for link in configured if link.get("href"))]


# The size limit.

def _fit(event: dict[str, Any]) -> dict[str, Any]:
    if encoded_size(event) <= MAX_EVENT_BYTES:
        return event
    event = _drop_alerts(event)
    cap = 4096
    while encoded_size(event) > MAX_EVENT_BYTES and cap >= 16:
        # Only the details: the other fields have formats (timestamp, severity) to keep.
        payload = event["payload"]
        details = _clip_strings(payload.get("custom_details", {}), cap)
        event = {**event, "payload": {**payload, "custom_details": details}}
        cap //= 4
    if encoded_size(event) > MAX_EVENT_BYTES:
        event = _bare(event)
    if encoded_size(event) > MAX_EVENT_BYTES:
        raise ValueError("event over PagerDuty's size limit even without its details")
    return event


def _drop_alerts(event: dict[str, Any]) -> dict[str, Any]:
    """The event with as many of its listed alerts as fit, the first ones first."""
    details = event["payload"].get("custom_details", {})
    alerts = details.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        return event

    def keeping(n: int) -> dict[str, Any]:
        kept = {**details, "alerts": alerts[:n], "truncated_alerts": len(alerts) - n}
        return {**event, "payload": {**event["payload"], "custom_details": kept}}

    low, high = 0, len(alerts) - 1  # the largest n that fits is in [low, high]
    while low < high:
        mid = (low + high + 1) // 2
        if encoded_size(keeping(mid)) <= MAX_EVENT_BYTES:
            low = mid
        else:
            high = mid - 1
    return keeping(low)


def _clip_strings(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return _clip(value, cap)
    if isinstance(value, Mapping):
        return {k: _clip_strings(v, cap) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clip_strings(v, cap) for v in value]
    return value


def _bare(event: dict[str, Any]) -> dict[str, Any]:
    """The last resort: what PagerDuty needs to page, and the counts."""
    payload = event["payload"]
    details = payload.get("custom_details", {})
    bare: dict[str, Any] = {k: _clip(str(v), BARE_STRING_MAX) for k, v in payload.items()
                            if k != "custom_details"}
    bare["custom_details"] = {k: details[k] for k in ("firing", "resolved")
                              if isinstance(details.get(k), int)}
    bare["custom_details"]["truncated"] = True
    kept = {k: _clip(v, BARE_STRING_MAX) for k, v in event.items()
            if k in ("client", "client_url")}
    return {**{k: event[k] for k in ("routing_key", "event_action", "dedup_key")
               if k in event}, **kept, "payload": bare}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
