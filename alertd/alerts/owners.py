"""Ownership attached at ingest: every alert gets an owner and a runbook.

An alert keeps the owner its rule (or its sender) gave it. One without an `owner` label
gets the first owner entry of the config whose matchers match; with a `runbook_base_url`
it also gets `runbook_url` = base URL + "/" + alertname, unless it has one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alertd.alerts.model import LazyAnnotations
from alertd.config.owners import Owner
from alertd.model import ALERTNAME, Labels


class Ownership:
    def __init__(self, owners: Sequence[Owner]) -> None:
        self.owners = list(owners)

    def owner_for(self, labels: Mapping[str, str]) -> Owner | None:
        return next((o for o in self.owners if o.matches(labels)), None)

    def attach(self, labels: Labels,
               annotations: Mapping[str, str]) -> tuple[Labels, Mapping[str, str]]:
        if not self.owners:
            return labels, annotations
        named = labels.get("owner")
        owner = (next((o for o in self.owners if o.name == named), None) if named
                 else self.owner_for(labels))
        if owner is None:
            return labels, annotations
        if not named:
            labels = labels.merged({"owner": owner.name})
        base = owner.runbook_base_url
        if base:
            url = f"{str(base).rstrip('/')}/{labels.get(ALERTNAME)}"
            previous = annotations
            # Lazy, so that a rule's annotations are still rendered only when read.
            annotations = LazyAnnotations(
                lambda: previous if "runbook_url" in previous
                else {**previous, "runbook_url": url})
        return labels, annotations
