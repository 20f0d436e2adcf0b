"""The console receiver: notifications printed, for `alertd run` on its defaults."""

from __future__ import annotations

import sys
from typing import TextIO

from alertd.receivers import Notification
from alertd.receivers.services import Services
from alertd.timefmt import rfc3339


class ConsoleNotifier:
    name = "console"
    send_resolved = True

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    async def notify(self, notification: Notification, reason: str = "") -> str:
        firing, resolved = notification.firing(), notification.resolved()
        why = f" ({reason})" if reason else ""
        print(f"{rfc3339(notification.now)} NOTIFY   {notification.receiver} "
              f"{notification.group_labels} firing={len(firing)} resolved={len(resolved)}{why}",
              file=self.out, flush=True)
        for alert in firing:
            summary = alert.annotations.get("summary", "")
            print(f"    firing   {alert.labels} {summary}".rstrip(), file=self.out, flush=True)
        for alert in resolved:
            print(f"    resolved {alert.labels}", file=self.out, flush=True)
        return "printed"


def from_config(services: Services) -> ConsoleNotifier:
    """The console receiver of the defaults: it has no config section of its own."""
    return ConsoleNotifier(services.console)
