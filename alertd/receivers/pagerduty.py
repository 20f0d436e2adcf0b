"""The PagerDuty receiver: Events API v2.

A group is one PagerDuty alert: every event carries the same dedup_key (a digest of the
group key, as Alertmanager's), so a resend after a crash or a retry is deduplicated by
PagerDuty instead of paging twice, and the acknowledgement and resolution find it.

An acknowledgement PagerDuty accepted is reported (`acknowledged`) with the alerts of the
incident, remembered from its last trigger, for the alert history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from alertd.errors import NotifyError
from alertd.model import Labels
from alertd.notify.http import classify
from alertd.receivers import Notification
from alertd.receivers import pagerduty_event as events
from alertd.receivers.page import PageView, page_view
from alertd.receivers.state import PAGERDUTY_INCIDENT, ReceiverStates
from alertd.store.notifications import entry_key

Overrides = Callable[[PageView], Mapping[str, Any]]
"""Rendered template fields (summary, source, severity...) for a page; empty: defaults."""
Acknowledged = Callable[[str, Sequence[tuple[Labels, str]], str], None]
"""(group key, the incident's alerts as (labels, source), who) once PagerDuty accepted an
acknowledgement."""


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
        self._session: aiohttp.ClientSession | None = None

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
        body = json.dumps(event).encode()
        try:
            async with self._http().post(self.url, data=body, headers={
                    "Content-Type": "application/json"}) as resp:
                text = await resp.text()
                error = classify(resp.status, resp.headers, text, what="pagerduty")
        except TimeoutError as exc:
            # The dedup_key makes a resend harmless, so an unanswered request is retried.
            raise NotifyError("pagerduty: no answer in time", retryable=True) from exc
        except aiohttp.ClientError as exc:
            raise NotifyError(f"pagerduty unreachable: {type(exc).__name__}: {exc}",
                              retryable=True) from exc
        if error is not None:
            raise error
        return str(resp.status)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session
