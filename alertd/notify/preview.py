"""`alertd template preview`: what each integration of a receiver would send for an alert
with the given labels, rendered with the receiver's templates, without sending anything."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from alertd.alerts.model import Alert
from alertd.alerts.owners import Ownership
from alertd.config import Config
from alertd.dispatch.group import group_key
from alertd.errors import ConfigError
from alertd.model import Labels
from alertd.notify.service import build_integrations
from alertd.receivers import Notification
from alertd.receivers.console import ConsoleNotifier
from alertd.suggest import did_you_mean


def preview_alert(config: Config, labels: Mapping[str, str], annotations: Mapping[str, str],
                  *, value: float | None, resolved: bool, now: float) -> Alert:
    """The alert as it would reach the receivers: with its owner and runbook attached."""
    attached_labels, attached = Ownership(config.owners).attach(Labels(labels), annotations)
    starts = now - 600.0
    return Alert(attached_labels, dict(attached), starts, now if resolved else None, now,
                 source="rule", value=value)


async def preview(config: Config, receiver: str, alert: Alert, *, now: float,
                  reason: str = "first notification") -> str:
    names = [r.name for r in config.receivers]
    if receiver not in names:
        raise ConfigError(f'no receiver "{receiver}"{did_you_mean(receiver, names)} '
                          f"(receivers: {', '.join(names)})")
    chosen = [r for r in config.receivers if r.name == receiver]
    out = io.StringIO()
    integrations = build_integrations(chosen, console=out, external_url="http://127.0.0.1:9095",
                                      global_=config.global_, owners=config.owners)[receiver]
    group_labels = Labels({"alertname": alert.labels.get("alertname", "")})
    n = Notification(receiver, group_key("{}", group_labels), group_labels, [alert], now,
                     delivery_id="preview")
    parts: list[str] = []
    if not integrations:
        return f'receiver "{receiver}" has no integrations: it sends nothing'
    for index, notifier in enumerate(integrations):
        head = f"--- {receiver}/{notifier.name}/{index}"
        if isinstance(notifier, ConsoleNotifier):
            await notifier.notify(n, reason)
            parts.append(f"{head}\n{out.getvalue().rstrip()}")
            continue
        show = getattr(notifier, "preview", None)
        body: Any = show(n, reason) if show is not None else {"note": "no preview"}
        parts.append(f"{head}\n{json.dumps(body, indent=2, ensure_ascii=False)}")
    for notifier in integrations:
        close = getattr(notifier, "close", None)
        if close is not None:
            await close()
    return "\n".join(parts)
