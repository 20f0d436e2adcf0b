"""Stored baselines (schema version 12): versions of each named baseline, and per version
the reference of each feature, as `Reference.to_dict()`.

`baseline_version` says who made a version, when, and from what (`origin`: a file's path
and SHA-256, a Prometheus query and range, or a selector and range of pushed samples),
with a summary of its features so that listing never reads the references. Versions of a
name count up from 1 and are never reused: a new one is the largest so far plus one, even
after deletions (`baseline_name` keeps the last number given).

`baseline_feature` holds one reference per row, zlib-compressed JSON: a numeric reference
keeps up to 100,000 sorted reference values (alertd.drift.SAMPLE_CAP), about 1.8 MB of JSON
text before compression.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Double,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from alertd.drift import DriftError, Reference
from alertd.drift.versions import BaselineVersion, FeatureSummary, StoredBaseline
from alertd.store.db import Database, StoreError, metadata

__all__ = ["BaselineRepository", "BaselineVersion", "FeatureSummary", "StoredBaseline",
           "baseline_repository"]


baseline_name = Table(
    "baseline_name", metadata,
    Column("name", String, primary_key=True),
    Column("last_version", Integer, nullable=False),
)

baseline_version = Table(
    "baseline_version", metadata,
    Column("name", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", String, nullable=False),
    Column("kind", String, nullable=False),  # file, prometheus or capture
    Column("origin", Text, nullable=False),  # JSON
    Column("features", Text, nullable=False),  # JSON: the FeatureSummary of each
    PrimaryKeyConstraint("name", "version"),
)

baseline_feature = Table(
    "baseline_feature", metadata,
    Column("name", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("feature", String, nullable=False),
    Column("reference", LargeBinary, nullable=False),  # zlib(JSON of to_dict())
    PrimaryKeyConstraint("name", "version", "feature"),
    ForeignKeyConstraint(["name", "version"],
                         ["baseline_version.name", "baseline_version.version"]),
)


class BaselineRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, name: str, *, created_at: float, created_by: str, kind: str,
                  origin: Mapping[str, Any], references: Mapping[str, Reference]
                  ) -> BaselineVersion:
        """Store a new version of `name`; its number is one more than the last given."""
        summaries = tuple(FeatureSummary.of(f, r) for f, r in sorted(references.items()))
        rows = [{"feature": f, "reference": _pack(r.to_dict())}
                for f, r in sorted(references.items())]
        async with self._db.transaction(f'store baseline "{name}"', write=True) as conn:
            last = (await conn.execute(select(baseline_name.c.last_version).where(
                baseline_name.c.name == name))).scalar()
            version = int(last or 0) + 1
            if last is None:
                await conn.execute(insert(baseline_name).values(name=name, last_version=1))
            else:
                await conn.execute(update(baseline_name).where(
                    baseline_name.c.name == name).values(last_version=version))
            meta = BaselineVersion(name, version, created_at, created_by, kind, dict(origin),
                                   summaries)
            await conn.execute(insert(baseline_version).values(
                name=name, version=version, created_at=created_at, created_by=created_by,
                kind=kind, origin=_text(dict(origin)),
                features=_text([s.to_json() for s in summaries])))
            if rows:
                await conn.execute(insert(baseline_feature),
                                   [{"name": name, "version": version, **r} for r in rows])
        return meta

    async def versions(self, name: str | None = None) -> list[BaselineVersion]:
        """Every version (of `name`), by name then version."""
        query = select(baseline_version).order_by(baseline_version.c.name,
                                                  baseline_version.c.version)
        if name is not None:
            query = query.where(baseline_version.c.name == name)
        async with self._db.transaction("list baselines", write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [self._meta(row) for row in rows]

    async def latest(self, name: str) -> BaselineVersion | None:
        found = await self.versions(name)
        return found[-1] if found else None

    async def load(self, name: str, version: int | None = None) -> StoredBaseline | None:
        """A version (the latest by default) with its references; None if there is none."""
        metas = await self.versions(name)
        meta = metas[-1] if version is None and metas else next(
            (m for m in metas if m.version == version), None)
        if meta is None:
            return None
        query = select(baseline_feature.c.feature, baseline_feature.c.reference).where(
            baseline_feature.c.name == name, baseline_feature.c.version == meta.version)
        async with self._db.transaction("load a baseline", write=False) as conn:
            rows = (await conn.execute(query)).all()
        references: dict[str, Reference] = {}
        for row in rows:
            try:
                references[row.feature] = Reference.from_dict(_unpack(row.reference))
            except (DriftError, ValueError, zlib.error) as exc:
                raise StoreError(f'database "{self._db.url}": baseline {meta.label}, feature '
                                 f'"{row.feature}" cannot be read: {exc}') from None
        return StoredBaseline(meta, references)

    async def delete(self, name: str, version: int | None = None) -> int:
        """Delete one version, or every version of `name`; how many were deleted."""
        def where(table: Table) -> Any:
            cond = table.c.name == name
            return cond if version is None else cond & (table.c.version == version)

        async with self._db.transaction(f'delete baseline "{name}"', write=True) as conn:
            await conn.execute(delete(baseline_feature).where(where(baseline_feature)))
            result = await conn.execute(delete(baseline_version).where(where(baseline_version)))
        return int(result.rowcount or 0)

    def _meta(self, row: Any) -> BaselineVersion:
        try:
            origin = orjson.loads(row.origin)
            features = tuple(FeatureSummary(f["name"], f["kind"], float(f["count"]),
                                            int(f["bins"])) for f in orjson.loads(row.features))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f'database "{self._db.url}": baseline {row.name}@{row.version} '
                             f"cannot be read: {exc}") from None
        return BaselineVersion(row.name, int(row.version), float(row.created_at),
                               row.created_by, row.kind, origin, features)


def _text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _pack(value: Mapping[str, Any]) -> bytes:
    return zlib.compress(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY), 6)


def _unpack(data: bytes) -> dict[str, Any]:
    value = orjson.loads(zlib.decompress(bytes(data)))
    if not isinstance(value, dict):
        raise ValueError("a stored reference must be a JSON object")
    return value


def baseline_repository(store: Any) -> BaselineRepository:
    """The baselines of an open `alertd.store.Store`."""
    found = getattr(store, "baselines", None)
    if isinstance(found, BaselineRepository):
        return found
    # The Store keeps one Database for all its repositories; this one shares it.
    return BaselineRepository(store._db)
