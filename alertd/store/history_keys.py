"""What makes a history event the event it is, so that importing history twice adds
nothing (schema versions 9 and 11).

An event is its time, kind, fingerprint and details: two events equal in those are one
fact. Migration 9 stored a digest of them (`event_key`) under a unique index, and every
append computed it; migration 11 dropped the index, because it made every live write
slower to serve a rare import. Live events are stored without a key, and an import
compares instead (`identity`): the stored events at the imported times, found through the
index on the time, against the imported ones. The keys migration 9 wrote stay in their
rows, unread (dropping the column would rewrite the table, and SQLite before 3.35 cannot).

`event_key` is part of migration 9 (migrations/v9.py), frozen with it.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import orjson
from sqlalchemy import Table, select

from alertd.store.connection import StoreConnection

_TIMES_PER_QUERY = 500  # times an import looks up at once (SQLite: at most 999 parameters)


# An event's identity: its time, kind, fingerprint, and details as canonical JSON.
Identity = tuple[float, str, str, bytes]


def identity(at: float, kind: str, fingerprint: str, details: str) -> Identity:
    """The identity of an event; `details` as the details column holds them.

    Details are compared as JSON values (the order of their keys aside): 1, 1.0 and true
    differ, as they do when read back."""
    try:
        value = orjson.loads(details)
    except orjson.JSONDecodeError:
        value = json.loads(details)  # an integer beyond 64 bits, which only json writes
    return (at, kind, fingerprint, _canonical(value))


async def stored_identities(conn: StoreConnection, history: Table,
                            wanted: Collection[Identity]) -> set[Identity]:
    """Those of the identities that events stored in `history` have.

    The candidates are the events at the same times, through the index on the time: a few
    rows a time, where the (fingerprint, at) index would be probed for every pair of a
    fingerprint and a time."""
    h = history.c
    near = {key[:3] for key in wanted}
    times = sorted({key[0] for key in wanted})
    found: set[Identity] = set()
    for start in range(0, len(times), _TIMES_PER_QUERY):
        query = select(h.at, h.kind, h.fingerprint, h.details).where(
            h.at.in_(times[start:start + _TIMES_PER_QUERY]))
        for row in await conn.execute(query):
            if (row.at, row.kind, row.fingerprint) in near:  # decode only the likely ones
                found.add(identity(row.at, row.kind, row.fingerprint, row.details))
    return found


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, which orjson refuses
        return json.dumps(value, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode()
