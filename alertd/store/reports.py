"""The scheduled reports sent (schema version 10): one row per message, so that a restart
never sends a period's report twice.

The key is `report:<receiver>:<owner or all>:<period end RFC 3339>`; `target` is the part
before the period, whose latest `period_end` is what the due check compares with. Rows are
a few a week and kept: the receiver state table's weekly cleanup would forget them.
"""

from __future__ import annotations

from sqlalchemy import Column, Double, String, Table, func, select

from alertd.store.db import Database, metadata, upsert

report_sent = Table(
    "report_sent", metadata,
    Column("key", String, primary_key=True),
    Column("target", String, nullable=False),
    Column("period_end", Double, nullable=False),
    Column("sent_at", Double, nullable=False),
)


class ReportSentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def last_sent(self, target: str) -> float | None:
        """The end of the latest period sent to `target`, None if none was."""
        stmt = select(func.max(report_sent.c.period_end)).where(
            report_sent.c.target == target)
        async with self._db.transaction("read sent reports", write=False, quick=True) as conn:
            value = (await conn.execute(stmt)).scalar()
        return None if value is None else float(value)

    async def record(self, key: str, target: str, period_end: float, sent_at: float) -> None:
        values = {"key": key, "target": target, "period_end": period_end, "sent_at": sent_at}
        async with self._db.transaction("record a sent report", write=True) as conn:
            await conn.execute(upsert(self._db.dialect, report_sent, ("key",)), [values])
