"""Stored SLO counters (schema version 13): the 5-minute buckets of each SLO over pushed
counters, saved with the snapshots of the sample windows so that a restart keeps the
period's history (alertd.sources.slo_windows).

One row per SLO: its definition (the events as written; buckets of another definition are
not used), the index of its first bucket, the good and total increases as packed doubles,
and per counter series the last sample folded in, as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Column, Integer, LargeBinary, String, Table, Text, delete, insert
from sqlalchemy import select as select_

from alertd.model import Labels
from alertd.sources.slo_windows import SloCountersSnapshot
from alertd.store.db import Database, StoreError, metadata
from alertd.store.windows import pack, unpack

__all__ = ["SloWindowRepository", "slo_window_repository"]


slo_window = Table(
    "slo_window", metadata,
    Column("slo", String, primary_key=True),
    Column("definition", Text, nullable=False),
    Column("first_bucket", Integer, nullable=False),
    Column("good", LargeBinary, nullable=False),
    Column("total", LargeBinary, nullable=False),
    Column("last_samples", Text, nullable=False),  # [[which, labels, time, value], ...]
)


class SloWindowRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, snapshots: Mapping[str, SloCountersSnapshot]) -> None:
        """Replace every stored SLO's counters with these, atomically."""
        rows = [{"slo": name, "definition": s.definition, "first_bucket": s.first,
                 "good": pack(s.good), "total": pack(s.total),
                 "last_samples": orjson.dumps([[w, dict(labels), t, v if v == v else None]
                                               for w, labels, t, v in s.last]).decode()}
                for name, s in snapshots.items()]
        async with self._db.transaction("save slo counters", write=True) as conn:
            await conn.execute(delete(slo_window))
            if rows:
                await conn.execute(insert(slo_window), rows)

    async def load(self) -> dict[str, SloCountersSnapshot]:
        async with self._db.transaction("load slo counters", write=False) as conn:
            rows = (await conn.execute(select_(slo_window))).all()
        out: dict[str, SloCountersSnapshot] = {}
        for row in rows:
            try:
                last = [(int(w), Labels(labels), float(t), float("nan") if v is None else v)
                        for w, labels, t, v in orjson.loads(row.last_samples)]
                good, total = unpack(row.good), unpack(row.total)
            except (ValueError, TypeError) as exc:
                raise StoreError(f'database "{self._db.url}": cannot load the counters of '
                                 f'slo "{row.slo}": {exc}') from exc
            out[row.slo] = SloCountersSnapshot(row.definition, int(row.first_bucket), good,
                                               total, last)
        return out


def slo_window_repository(store: Any) -> SloWindowRepository:
    """The SLO counters of an open `alertd.store.Store` (which keeps one Database)."""
    return SloWindowRepository(store._db)
