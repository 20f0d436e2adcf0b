"""The notification log: per group and receiver, what was last sent and whether to send again."""

from __future__ import annotations

from alertd.nflog.log import RETENTION, Entry, EntryRepository, NotificationLog, needs_update

__all__ = ["RETENTION", "Entry", "EntryRepository", "NotificationLog", "needs_update"]
