"""`owners` (alertd's own): which team owns an alert, found by label matchers, where to
reach it, its runbooks and its time zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pydantic import PrivateAttr, model_validator

from alertd.config.amtypes import HttpURL
from alertd.config.matchers import MatcherText, compile_matchers
from alertd.config.types import (
    Model,
    NonEmptyStr,
    Secret,
    SecretFile,
    TimeZone,
    at_most_one,
    raise_problems,
)
from alertd.model import LabelMatcher

__all__ = ["Owner", "match_owner"]


class Owner(Model):
    """Who owns the alerts its matchers match: the team, where to reach it, its runbooks."""

    name: NonEmptyStr
    matchers: list[MatcherText] = []
    slack_channel: NonEmptyStr | None = None
    slack_handle: NonEmptyStr | None = None
    pagerduty_routing_key: Secret | None = None
    pagerduty_routing_key_file: SecretFile | None = None
    runbook_base_url: HttpURL | None = None
    # The team's own time zone: the noise report places each page in business, off or
    # sleep hours by the clock of the people it woke (UTC when left out).
    timezone: TimeZone | None = None

    _matchers: list[LabelMatcher] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:
        # Compiled once: every alert that arrives without an owner is matched against these.
        self._matchers = compile_matchers(self.matchers)

    @model_validator(mode="after")
    def _check(self) -> Owner:
        raise_problems(at_most_one(self, "pagerduty_routing_key"))
        return self

    def compiled_matchers(self) -> list[LabelMatcher]:
        return list(self._matchers)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher matches `labels` (an owner without matchers matches all)."""
        return all(m.matches(labels.get(m.name, "")) for m in self._matchers)

    def runbook_url(self, alertname: str) -> str | None:
        """`runbook_base_url/alertname`, or None without a base URL."""
        if self.runbook_base_url is None:
            return None
        return f"{self.runbook_base_url.rstrip('/')}/{quote(alertname, safe='')}"


def match_owner(owners: Sequence[Owner], labels: Mapping[str, str]) -> tuple[int, Owner] | None:
    """The first owner entry whose matchers match `labels`, with its index."""
    for i, owner in enumerate(owners):
        if owner.matches(labels):
            return i, owner
    return None
