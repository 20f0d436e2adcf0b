"""A notification as the outbox stores it (JSON): what is needed to send it again after a
restart, its alerts' annotations rendered (a rule may be gone by then)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertd.alerts.model import Alert
from alertd.model import Labels
from alertd.receivers import Notification

__all__ = ["decode", "encode"]


def encode(n: Notification, reason: str) -> dict[str, Any]:
    """A notification as JSON: what is needed to send it again after a restart, the
    annotations rendered (a rule may be gone by then)."""
    return {
        "receiver": n.receiver, "group_key": n.group_key, "group_labels": dict(n.group_labels),
        "now": n.now, "reason": reason,
        "alerts": [{
            "labels": dict(a.labels), "annotations": dict(a.annotations),
            "starts_at": a.starts_at, "ends_at": a.ends_at, "updated_at": a.updated_at,
            "generator_url": a.generator_url, "source": a.source,
            # repr, so that NaN and infinities survive JSON
            "value": None if a.value is None else repr(a.value),
        } for a in n.alerts],
    }


def decode(data: Mapping[str, Any], *, delivery_id: str = "",
           attempt: int = 0) -> tuple[Notification, str]:
    alerts = [Alert(Labels(a["labels"]), dict(a["annotations"]), a["starts_at"], a["ends_at"],
                    a["updated_at"], a.get("generator_url", ""), source=a.get("source", "api"),
                    value=_value(a)) for a in data["alerts"]]
    n = Notification(data["receiver"], data["group_key"], Labels(data["group_labels"]),
                     alerts, data["now"], delivery_id=delivery_id, attempt=attempt)
    return n, str(data.get("reason", ""))


def _value(a: Mapping[str, Any]) -> float | None:
    text = a.get("value")
    return None if text is None else float(text)
