"""The webhook receiver: Alertmanager's webhook payload (version 4), POSTed as JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from alertd import __version__
from alertd.alerts.model import Alert
from alertd.api.timefmt import rfc3339
from alertd.errors import NotifyError
from alertd.receivers import Notification

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for a firing alert


def payload(n: Notification, *, external_url: str, reason: str = "",
            max_alerts: int = 0) -> dict[str, Any]:
    alerts = list(n.alerts)
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    firing = any(not a.resolved(n.now) for a in n.alerts)
    return {
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": truncated,
        "status": "firing" if firing else "resolved",
        "receiver": n.receiver,
        "groupLabels": dict(n.group_labels),
        "commonLabels": _common([a.labels for a in n.alerts]),
        "commonAnnotations": _common([a.annotations for a in n.alerts]),
        "externalURL": external_url,
        "notification_reason": reason,
        "alerts": [_alert(a, n.now) for a in alerts],
    }


def _alert(alert: Alert, now: float) -> dict[str, Any]:
    resolved = alert.resolved(now)
    return {
        "status": "resolved" if resolved else "firing",
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at) if resolved else ZERO_TIME,
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


class WebhookNotifier:
    name = "webhook"

    def __init__(self, url: str, *, send_resolved: bool = True, max_alerts: int = 0,
                 external_url: str = "", timeout: float = 10.0,
                 headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.send_resolved = send_resolved
        self.max_alerts = max_alerts
        self.external_url = external_url
        self.timeout = timeout
        self.headers = dict(headers or {})

    async def notify(self, notification: Notification, reason: str = "") -> str:
        body = payload(notification, external_url=self.external_url, reason=reason,
                       max_alerts=self.max_alerts)
        headers = {"User-Agent": f"alertd/{__version__}", **self.headers}
        try:
            async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as session, \
                    session.post(self.url, json=body, headers=headers) as resp:
                text = (await resp.text())[:200]
                if 200 <= resp.status < 300:
                    return str(resp.status)
                # As Alertmanager: 5xx may succeed later; anything else will not.
                raise NotifyError(f"webhook answered {resp.status}: {text}",
                                  retryable=resp.status >= 500)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NotifyError(f"webhook unreachable: {type(exc).__name__}: {exc}",
                              retryable=True) from exc
