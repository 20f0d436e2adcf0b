"""Version 11: history without the unique event key and the owner index, which every
write paid for."""

from __future__ import annotations

from sqlalchemy.engine import Connection


def apply(conn: Connection) -> None:
    """Drop the unique index on event_key, which every live append paid for (imports
    compare events instead, store/history_keys.py), and the index on (owner, at), which no
    query uses."""
    for name in ("ux_alert_history_event_key", "ix_alert_history_owner_at"):
        conn.exec_driver_sql(f"DROP INDEX {name}")
