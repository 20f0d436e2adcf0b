"""The PagerDuty receiver: Events API v2.

A group is one PagerDuty alert: every event carries the same dedup_key (a digest of the
group key, as Alertmanager's), so a resend after a crash or a retry is deduplicated by
PagerDuty instead of paging twice, and the acknowledgement and resolution find it.

An acknowledgement PagerDuty accepted is reported (`acknowledged`) with the alerts of the
incident, remembered from its last trigger, for the alert history.

Events go out through the HTTP client of the webhooks (`alertd.receivers.transport`, kept-
alive connections), and an answer means for a retry what `alertd.receivers.http` says: 429
and 5xx are retried, another 4xx (an event PagerDuty finds invalid) is not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from alertd import __version__
from alertd.model import Labels
from alertd.receivers import Notification, http
from alertd.receivers import pagerduty_event as events
from alertd.receivers.page import PageView, page_view
from alertd.receivers.services import Acknowledged, Services, Where, maybe_secret, secret
from alertd.receivers.state import PAGERDUTY_INCIDENT, ReceiverStates
from alertd.receivers.templating import NotificationTemplate, compile_field
from alertd.receivers.transport import Pool
from alertd.store.nflog import entry_key

if TYPE_CHECKING:
    from alertd.config.receivers import PagerdutyConfig

__all__ = ["Acknowledged", "Overrides", "PagerDutyNotifier", "from_config"]

Overrides = Callable[[PageView], Mapping[str, Any]]
"""Rendered template fields (summary, source, severity...) for a page; empty: defaults."""


class PagerDutyNotifier:
    name = "pagerduty"

    def __init__(self, *, integration: str, routing_key: str, url: str, send_resolved: bool,
                 states: ReceiverStates, external_url: str = "", timeout: float = 10.0,
                 client: str = "alertd", client_url: str = "",
                 links: tuple[Mapping[str, str], ...] = (),
                 images: tuple[Mapping[str, str], ...] = (),
                 details: Mapping[str, str] | None = None,
                 overrides: Overrides | None = None,
                 acknowledged: Acknowledged | None = None) -> None:
        self.integration = integration
        self.routing_key = routing_key
        self.url = url
        self.send_resolved = send_resolved
        self.states = states
        self.external_url = external_url
        self.timeout = timeout
        self.client = client
        self.client_url = client_url
        self.links = links
        self.images = images
        self.details = dict(details or {})
        self.overrides = overrides
        self.acknowledged = acknowledged
        self._session: Pool | None = None

    def event(self, n: Notification, reason: str = "") -> dict[str, Any]:
        """The event a notification becomes (also what `alertd template preview` shows)."""
        key = events.dedup_key(n.group_key)
        if not n.firing():
            return events.resolve(self.routing_key, key)
        view = page_view(n, reason=reason, external_url=self.external_url)
        fields = dict(self.overrides(view)) if self.overrides is not None else {}
        return events.trigger(
            view, routing_key=self.routing_key, dedup_key=key,
            client=fields.pop("client", None) or self.client,
            client_url=fields.pop("client_url", None) or self.client_url or self.external_url,
            details={**self.details, **fields.pop("details", {})}, links=self.links,
            images=self.images, **fields)

    def preview(self, n: Notification, reason: str = "") -> dict[str, Any]:
        return {**self.event(n, reason), "routing_key": "<secret>"}

    async def notify(self, notification: Notification, reason: str = "") -> str:
        event = self.event(notification, reason)
        status = await self.send(event)
        # The incident's alerts, so that an acknowledgement is recorded for each of them.
        alerts = [{"labels": dict(a.labels), "source": a.source}
                  for a in notification.firing()]
        await self.states.put(
            entry_key(notification.group_key, self.integration), PAGERDUTY_INCIDENT,
            notification.group_key, self.integration,
            {"dedup_key": event["dedup_key"], "action": event["event_action"],
             "alerts": alerts}, notification.now)
        return status

    async def acknowledge(self, group_key: str, *, by: str = "") -> bool:
        """Acknowledge the group's incident (a click in Slack, `by` whom); False if it
        never paged."""
        row = await self.states.get(entry_key(group_key, self.integration))
        if row is None or row.value.get("action") != "trigger":
            return False
        await self.send(events.acknowledge(self.routing_key, str(row.value["dedup_key"])))
        if self.acknowledged is not None:
            alerts = [(Labels(a["labels"]), str(a.get("source", "api")))
                      for a in row.value.get("alerts", [])]
            self.acknowledged(group_key, alerts, by)
        return True

    async def send(self, event: Mapping[str, Any]) -> str:
        """POSTs an event; raises NotifyError as `alertd.receivers.http` classifies the answer
        (the dedup_key makes a resend harmless, so whatever may succeed later is retried)."""
        status = await http.post(self._client(), self.url, json.dumps(event).encode(),
                                 {"User-Agent": f"alertd/{__version__}",
                                  "Content-Type": "application/json"},
                                 timeout=self.timeout, what="pagerduty")
        return str(status)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> Pool:
        # Created on first use, then shared by every event, so that the connection to
        # PagerDuty is kept alive between them.
        if self._session is None:
            self._session = Pool()
        return self._session


# Config keys and the event fields they override.
_FIELDS = (("description", "summary"), ("source", "source"), ("severity", "severity"),
           ("class_", "class_"), ("component", "component"), ("group", "group"),
           ("client", "client"), ("client_url", "client_url"))


def from_config(c: PagerdutyConfig, services: Services, where: Where) -> PagerDutyNotifier:
    """The notifier of a `pagerduty_configs` item (Events API v2; a v1 service_key is used
    as the routing key)."""
    routing_key = maybe_secret(c.routing_key, c.routing_key_file) or secret(
        c.service_key, c.service_key_file)
    fields = {arg: t for name, arg in _FIELDS
              if (t := compile_field(f"{where.key}.{name.rstrip('_')}", getattr(c, name)))}
    details = {k: t for k, v in (c.details or {}).items()
               if (t := compile_field(f"{where.key}.details.{k}", v))}
    return PagerDutyNotifier(
        integration=where.integration, routing_key=routing_key,
        url=c.url or services.global_.pagerduty_url, send_resolved=c.send_resolved,
        states=services.states, external_url=services.external_url, timeout=c.timeout,
        links=tuple({"href": link.href, "text": link.text or ""} for link in c.links
                    if link.href),
        images=tuple({k: v for k, v in (("src", im.src), ("href", im.href), ("alt", im.alt))
                      if v} for im in c.images if im.src),
        overrides=_overrides(fields, details) if fields or details else None,
        acknowledged=services.acknowledged)


def _overrides(fields: Mapping[str, NotificationTemplate],
               details: Mapping[str, NotificationTemplate]) -> Overrides:
    def overrides(view: PageView) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, t in fields.items() if (v := t.render(view))}
        rendered = {k: v for k, t in details.items() if (v := t.render(view)) is not None}
        if rendered:
            out["details"] = rendered
        return out

    return overrides
