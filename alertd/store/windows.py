"""Snapshots of the in-memory windows of pushed samples, so a restart keeps recent data."""

from __future__ import annotations

import logging
import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select

from alertd.model import Labels
from alertd.store.db import Database, StoreError, decode_labels, encode_labels, window_series

log = logging.getLogger("alertd.store")

Window = tuple[Labels, Sequence[float], Sequence[float]]

# Serialises the savers of a PostgreSQL snapshot: the DELETE of a second saver does not see
# the rows the first inserted, so its INSERT would collide with them. "alertd", then 2.
# (SQLite writers are serialised by BEGIN IMMEDIATE.)
_PG_LOCK = 0x616C6572746400_02


class WindowRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, series: Iterable[Window]) -> None:
        """Replace the whole snapshot with these series (labels with __name__, times, values).

        Atomic: readers, and a restart after a crash mid-save, see the old snapshot or the
        new one, never a mix.
        """
        rows: list[dict[str, Any]] = []
        for labels, timestamps, values in series:
            if len(timestamps) != len(values):
                raise StoreError(f'database "{self._db.url}": cannot save windows: series '
                                 f"{labels} has {len(timestamps)} timestamps and "
                                 f"{len(values)} values")
            try:
                text = encode_labels(labels)
            except TypeError as exc:  # orjson: a label that is not valid UTF-8
                # One series that cannot be stored must not cost the snapshot of the others.
                log.warning("sample windows: series %r left out of the snapshot: %s",
                            labels, exc)
                continue
            rows.append({"position": len(rows), "labels": text,
                         "timestamps": pack(timestamps), "sample_values": pack(values)})
        async with self._db.transaction("save windows", write=True) as conn:
            if self._db.dialect == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK)))
            await conn.execute(delete(window_series))
            if rows:
                await conn.execute(insert(window_series), rows)

    async def load(self) -> list[tuple[Labels, list[float], list[float]]]:
        """The series of the last snapshot, in the order they were saved."""
        query = select(window_series).order_by(window_series.c.position)
        async with self._db.transaction("load windows", write=False) as conn:
            rows = (await conn.execute(query)).all()
        out: list[tuple[Labels, list[float], list[float]]] = []
        for row in rows:
            try:
                labels = decode_labels(row.labels)
                timestamps, values = unpack(row.timestamps), unpack(row.sample_values)
                if len(timestamps) != len(values):
                    raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                raise StoreError(f'database "{self._db.url}": cannot load windows: series '
                                 f"{row.position}: {exc}") from exc
            out.append((labels, timestamps, values))
        return out


def pack(values: Sequence[float]) -> bytes:
    """Little-endian IEEE 754 doubles, every bit kept (NaN payloads such as stale markers)."""
    arr = values if isinstance(values, array) and values.typecode == "d" else array("d", values)
    if sys.byteorder == "big":
        arr = array("d", arr)
        arr.byteswap()
    return arr.tobytes()


def unpack(data: bytes) -> list[float]:
    if len(data) % 8:
        raise ValueError(f"a packed array of doubles has {len(data)} bytes")
    arr = array("d")
    arr.frombytes(bytes(data))
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tolist()
