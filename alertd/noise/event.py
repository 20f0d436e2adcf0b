"""What the statistics read of a history event.

A HistoryEvent has all of it. The store's scan for the report gives lighter rows
(alertd.store.notifications.HistoryRow): no labels nor severity, which no figure uses, and
a named tuple rather than a frozen dataclass, which costs a fifth as much to make. A report
reads a million events, so both count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Event(Protocol):
    @property
    def at(self) -> float: ...

    @property
    def kind(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def alertname(self) -> str: ...

    @property
    def rule(self) -> str | None: ...

    @property
    def owner(self) -> str | None: ...

    @property
    def details(self) -> Mapping[str, Any]: ...
