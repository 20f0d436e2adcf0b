"""Silences, persisted (schema version 3): one row per silence, matchers as JSON.

Times are seconds since the epoch (float), as everywhere in alertd. Matchers are stored in
the shape of Alertmanager's API (name, value, isRegex, isEqual), in their order: the order
is part of a silence (an update in place needs the same matchers in the same order).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    Index,
    String,
    Table,
    Text,
    delete,
    select,
)
from sqlalchemy.engine import Row

from alertd.model import Labels
from alertd.silence.model import InvalidSilence, Silence, is_equal, is_regex, make_matcher
from alertd.store.db import Database, StoreError, metadata, upsert

log = logging.getLogger("alertd.store")

# Ids per DELETE ... IN (...): well under SQLite's limit on bound parameters.
_CHUNK = 500

# The schema the code reads and writes today, beside db.py's tables in the same MetaData
# (so it is part of "the schema the code uses"); migrations/v3.py keeps its own frozen copy.
silence = Table(
    "silence", metadata,
    Column("id", String, primary_key=True),
    Column("matchers", Text, nullable=False),
    Column("starts_at", Double, nullable=False),
    Column("ends_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("comment", Text, nullable=False),
    Column("annotations", Text, nullable=False),
    Column("expire_on_resolve", Boolean, nullable=False),
    Index("silence_ends_at", "ends_at"),
)


class SilenceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, *silences: Silence) -> None:
        """Insert or replace these silences (by id), atomically; others are left alone."""
        if not silences:
            return
        try:
            rows = [_row(s) for s in sorted(silences, key=lambda s: s.id)]
        except ValueError as exc:
            raise StoreError(f'database "{self._db.url}": cannot save silences: {exc}') from exc
        stmt = upsert(self._db.dialect, silence, ("id",))
        async with self._db.transaction("save silences", write=True) as conn:
            await conn.execute(stmt, rows)

    async def load_all(self) -> list[Silence]:
        """Every silence saved, in id order."""
        async with self._db.transaction("load silences", write=False) as conn:
            rows = (await conn.execute(select(silence).order_by(silence.c.id))).all()
        out: list[Silence] = []
        for row in rows:
            try:
                out.append(_silence(row))
            except (ValueError, KeyError, TypeError, InvalidSilence) as exc:
                # One silence this alertd cannot read (a regex saved before matchers were
                # RE2's, say) must not keep the daemon, and every other silence, from
                # starting: it is left out, loudly, and stays in the table.
                log.error('database "%s": silence "%s" cannot be loaded and does not apply: '
                          "%s", self._db.url, row.id, exc)
        return out

    async def delete(self, ids: Iterable[str]) -> None:
        """Forget these silences; unknown ids are ignored."""
        wanted = sorted(set(ids))
        if not wanted:
            return
        async with self._db.transaction("delete silences", write=True) as conn:
            for chunk in _chunks(wanted):
                await conn.execute(delete(silence).where(silence.c.id.in_(chunk)))


def _row(s: Silence) -> dict[str, Any]:
    if not s.id:
        raise ValueError("a silence without an id")
    for name in ("starts_at", "ends_at", "updated_at"):
        if not math.isfinite(getattr(s, name)):
            raise ValueError(f'silence "{s.id}": {name} is not a finite time')
    matchers = [{"name": m.name, "value": m.value, "isRegex": is_regex(m), "isEqual": is_equal(m)}
                for m in s.matchers]
    return {
        "id": s.id,
        "matchers": json.dumps(matchers, ensure_ascii=False, separators=(",", ":")),
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "updated_at": s.updated_at,
        "created_by": s.created_by,
        "comment": s.comment,
        "annotations": json.dumps(dict(s.annotations), ensure_ascii=False,
                                  separators=(",", ":")),
        "expire_on_resolve": s.expire_on_resolve,
    }


def _silence(row: Row[Any]) -> Silence:
    data = json.loads(row.matchers)
    if not isinstance(data, list):
        raise ValueError(f"matchers are not a list: {row.matchers!r}")
    matchers = tuple(make_matcher(str(m["name"]), str(m["value"]), is_regex=bool(m["isRegex"]),
                                  is_equal=bool(m["isEqual"]), index=i)
                     for i, m in enumerate(data))
    annotations = json.loads(row.annotations)
    if not isinstance(annotations, dict):
        raise ValueError(f"annotations are not an object: {row.annotations!r}")
    return Silence(
        id=row.id,
        matchers=matchers,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        comment=row.comment,
        annotations=Labels({str(k): str(v) for k, v in annotations.items()}),
        expire_on_resolve=bool(row.expire_on_resolve),
    )


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]
