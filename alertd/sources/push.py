"""The sample schema shared by the webhook and MQTT sources.

    {"metric": "name", "labels": {...}, "value": 1.5, "timestamp": 1700000000.5}
    {"metric": "name", "labels": {...}, "values": [0.1, 0.7, ...]}   # a batch of observations

A request or message holds one such object or a JSON array of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from alertd.model import Labels


@dataclass(frozen=True, slots=True)
class PushedSample:
    labels: Labels  # including __name__ (the metric)
    values: tuple[float, ...]  # one value, or a batch of observations at one time
    timestamp: float | None  # seconds since the epoch; None: when it arrives


@dataclass(frozen=True, slots=True)
class SampleError:
    index: int | None  # position in the array (None for a single object or the whole body)
    field: str | None  # e.g. "labels.model", "timestamp"
    message: str

    def __str__(self) -> str:
        where = ""
        if self.index is not None:
            where = f"[{self.index}]"
        if self.field:
            where = f"{where}.{self.field}" if where else self.field
        return f"{where}: {self.message}" if where else self.message
