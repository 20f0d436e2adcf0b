"""Pages: notifications that reached a person, and what people did about them.

A page is a successful delivery to Slack or PagerDuty, through a receiver not marked
`paging: false`, of a notification carrying at least one firing alert. The outbox records
one `delivery` event per alert of the notification, all with the same delivery id, so a
page is one delivery id (or, for a delivery recorded without one, one (receiver,
integration, group key, time)); a notification sent to Slack and to PagerDuty is two
pages, one per integration.

A page is followed while any of the alerts it carried still fires: an acknowledgement,
a verdict or a silence counts for the page when it is about one of those alerts, comes
after the page was sent and before that alert resolved.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from alertd.noise.event import Event

PAGING_INTEGRATIONS = frozenset({"slack", "pagerduty"})


def reaches_person(e: Event, paging: Mapping[str, bool]) -> bool:
    """Whether a delivery event is of a notification a person received."""
    d = e.details
    return (d.get("outcome") == "ok" and d.get("integration") in PAGING_INTEGRATIONS
            and paging.get(str(d.get("receiver", "")), True))


def page_key(e: Event) -> Hashable:
    d = e.details
    delivery = d.get("delivery")
    if delivery:
        return str(delivery)
    return (str(d.get("receiver", "")), str(d.get("integration", "")),
            str(d.get("group_key", "")), e.at)


@dataclass(slots=True)
class Page:
    key: Hashable
    at: float
    period: int
    rules: set[str] = field(default_factory=set)
    owners: set[str | None] = field(default_factory=set)
    alerts: set[str] = field(default_factory=set)  # the firing alerts it carried
    firing: set[str] = field(default_factory=set)  # of those, the ones not resolved yet
    acked_at: float | None = None
    acker: str | None = None
    verdicts: dict[str, str] = field(default_factory=dict)  # person -> latest verdict
    silenced_with_comment: bool = False

    @property
    def actioned(self) -> bool:
        return (self.acked_at is not None or "useful" in self.verdicts.values()
                or self.silenced_with_comment)

    def acknowledge(self, at: float, by: str) -> None:
        # The first acknowledgement is the one that counts, whoever else acks later.
        if self.acked_at is None:
            self.acked_at, self.acker = at, by


class PageBook:
    """The pages whose alerts still fire, found by alert."""

    def __init__(self) -> None:
        self._pages: dict[Hashable, Page] = {}
        self._by_alert: dict[str, set[Hashable]] = {}

    def delivered(self, e: Event, period: int, rule: str, owner: str | None) -> None:
        """A delivery event of a page, for one firing alert of it."""
        key = page_key(e)
        page = self._pages.get(key)
        if page is None:
            page = self._pages[key] = Page(key, e.at, period)
        page.rules.add(rule)
        page.owners.add(owner)
        page.alerts.add(e.fingerprint)
        page.firing.add(e.fingerprint)
        keys = self._by_alert.get(e.fingerprint)
        if keys is None:
            keys = self._by_alert[e.fingerprint] = set()
        keys.add(key)

    def about(self, fingerprint: str, at: float) -> list[Page]:
        """The pages sent by `at` that carried this alert, which still fires."""
        keys = self._by_alert.get(fingerprint, ())
        return [p for k in keys if (p := self._pages[k]).at <= at]

    def resolved(self, fingerprint: str) -> list[Page]:
        """The alert resolved: the pages none of whose alerts fire any more, now done."""
        done = []
        for key in self._by_alert.pop(fingerprint, ()):
            page = self._pages[key]
            page.firing.discard(fingerprint)
            if not page.firing:
                done.append(self._pages.pop(key))
        if len(done) > 1:
            done.sort(key=lambda p: p.at)
        return done

    def close_all(self) -> list[Page]:
        """The end of the report: every page still followed, done."""
        done = sorted(self._pages.values(), key=lambda p: p.at)
        self._pages.clear()
        self._by_alert.clear()
        return done
