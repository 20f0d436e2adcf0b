"""A stored baseline's versions, as values: what the store keeps of each (who made it,
when, from what, the features it holds) and a version with its references."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alertd.drift import Reference

__all__ = ["BaselineVersion", "FeatureSummary", "StoredBaseline"]


@dataclass(frozen=True, slots=True)
class FeatureSummary:
    name: str
    kind: str  # numeric, categorical or histogram
    count: float  # reference values (histogram: observations)
    bins: int  # bins (categorical: categories)

    @classmethod
    def of(cls, name: str, ref: Reference) -> FeatureSummary:
        return cls(name, ref.kind, float(ref.count), ref.bins)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "count": self.count, "bins": self.bins}


@dataclass(frozen=True, slots=True)
class BaselineVersion:
    name: str
    version: int
    created_at: float
    created_by: str
    kind: str
    origin: Mapping[str, Any]
    features: tuple[FeatureSummary, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def kinds(self) -> dict[str, str]:
        return {f.name: f.kind for f in self.features}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "created_at": self.created_at,
                "created_by": self.created_by, "kind": self.kind, "origin": dict(self.origin),
                "features": [f.to_json() for f in self.features]}


@dataclass(frozen=True, eq=False)
class StoredBaseline:
    meta: BaselineVersion
    references: dict[str, Reference] = field(default_factory=dict)
