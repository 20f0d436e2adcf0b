"""What receivers remember about each group, written through to the store: the Slack
message of a group (so it is edited rather than posted again, even after a restart), the
PagerDuty dedup key of a group (so a click on Acknowledge in Slack reaches its incident).

Keys are the outbox slot of the group and integration (a digest), so the value of a Slack
button can name the page without carrying labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from alertd.store.outbox import StateRow

SLACK_PAGE = "slack_page"
# An unchanged value is written again after this long, so that the cleanup of quiet
# groups' state (by its update time) never takes that of a group still notifying.
REWRITE_AFTER = 3600.0
PAGERDUTY_INCIDENT = "pagerduty_incident"


class StateRepository(Protocol):
    async def get(self, key: str) -> StateRow | None: ...

    async def put(self, row: StateRow) -> None: ...

    async def delete_older(self, before: float) -> int: ...


class ReceiverStates:
    """A write-through cache over the store's receiver_state table (memory only without a
    store, as when alertd runs without persistence in tests)."""

    def __init__(self, repository: StateRepository | None = None) -> None:
        self.repository = repository
        self._rows: dict[str, StateRow] = {}

    async def get(self, key: str) -> StateRow | None:
        row = self._rows.get(key)
        if row is None and self.repository is not None:
            row = await self.repository.get(key)
            if row is not None:
                self._rows[key] = row
        return row

    async def put(self, key: str, kind: str, group_key: str, receiver: str,
                  value: Mapping[str, Any], at: float) -> StateRow:
        old = self._rows.get(key)
        if old is not None and (old.kind, old.group_key, old.receiver, old.value) == (
                kind, group_key, receiver, value) and at - old.updated_at < REWRITE_AFTER:
            return old  # a repeat to PagerDuty: nothing new to remember
        row = StateRow(key, kind, group_key, receiver, dict(value), at)
        if self.repository is not None:
            await self.repository.put(row)
        self._rows[key] = row
        return row

    async def delete_older(self, before: float) -> None:
        """Forget the state of groups quiet since `before`, in memory and in the store (the
        cache would otherwise keep every group ever paged)."""
        for key in [k for k, row in self._rows.items() if row.updated_at < before]:
            del self._rows[key]
        if self.repository is not None:
            await self.repository.delete_older(before)
