"""The shared vocabulary: label sets, fingerprints, samples and vectors."""

from __future__ import annotations

import math
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import NamedTuple

from alertd.regex import Regex

METRIC_NAME = "__name__"
ALERTNAME = "alertname"

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = 0xFF


def _fnv1a(data: bytes, h: int) -> int:
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return h


class Labels(Mapping[str, str]):
    """An immutable, hashable set of labels, ordered by name.

    Label sets are map keys everywhere (series, alert instances, aggregation groups),
    so the hash is computed once.
    """

    __slots__ = ("_dict", "_fingerprint", "_hash", "_items")

    _items: tuple[tuple[str, str], ...]
    _dict: dict[str, str]
    _hash: int
    _fingerprint: str | None

    def __init__(self, labels: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        items = tuple(sorted(dict(labels).items()))
        self._init(items)

    def _init(self, items: tuple[tuple[str, str], ...]) -> None:
        self._items = items
        self._dict = dict(items)
        self._hash = hash(items)
        self._fingerprint = None

    @classmethod
    def from_sorted_items(cls, items: tuple[tuple[str, str], ...]) -> Labels:
        """Labels from pairs already sorted by name, without sorting them again."""
        return cls._from_sorted(items)

    @classmethod
    def _from_sorted(cls, items: tuple[tuple[str, str], ...]) -> Labels:
        obj = cls.__new__(cls)
        obj._init(items)
        return obj

    # Mapping protocol
    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    # The views of the dict behind: Mapping's own go through __getitem__ for every pair,
    # which showed in every JSON payload and row built from labels.
    def keys(self) -> KeysView[str]:
        return self._dict.keys()

    def items(self) -> ItemsView[str, str]:
        return self._dict.items()

    def values(self) -> ValuesView[str]:
        return self._dict.values()

    def to_dict(self) -> dict[str, str]:
        """A plain dict of the labels, ordered by name."""
        return dict(self._dict)

    def get(self, key: str, default: str = "") -> str:  # type: ignore[override]
        # Like PromQL, a missing label reads as the empty string.
        return self._dict.get(key, default)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._hash == other._hash and self._items == other._items
        if isinstance(other, Mapping):
            return self._dict == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in self._items)
        return "{" + inner + "}"

    __str__ = __repr__

    @property
    def items_tuple(self) -> tuple[tuple[str, str], ...]:
        return self._items

    def name(self) -> str:
        return self._dict.get(METRIC_NAME, "")

    def without(self, names: Iterable[str]) -> Labels:
        drop = set(names)
        if not any(k in drop for k, _ in self._items):
            return self
        return Labels._from_sorted(tuple((k, v) for k, v in self._items if k not in drop))

    def without_name(self) -> Labels:
        if METRIC_NAME not in self._dict:
            return self
        return Labels._from_sorted(tuple(kv for kv in self._items if kv[0] != METRIC_NAME))

    def keep(self, names: Iterable[str]) -> Labels:
        wanted = set(names)
        return Labels._from_sorted(tuple((k, v) for k, v in self._items if k in wanted))

    def merged(self, other: Mapping[str, str]) -> Labels:
        """These labels overridden by `other`; an empty value removes the label."""
        if not other:
            return self
        pairs = other._items if isinstance(other, Labels) else other.items()
        d = dict(self._items)
        for k, v in pairs:
            if v == "":
                d.pop(k, None)
            else:
                d[k] = v
        return Labels._from_sorted(tuple(sorted(d.items())))

    def fingerprint(self) -> str:
        """Alertmanager's fingerprint: FNV-1a 64 over sorted names and values, as hex."""
        if self._fingerprint is None:
            h = _FNV_OFFSET
            for k, v in self._items:
                h = _fnv1a(k.encode(), h)
                h = _fnv1a(bytes([_SEPARATOR]), h)
                h = _fnv1a(v.encode(), h)
                h = _fnv1a(bytes([_SEPARATOR]), h)
            self._fingerprint = f"{h:016x}"
        return self._fingerprint


EMPTY_LABELS = Labels()


def json_float(value: float) -> float | str:
    """A float for JSON, which has no NaN nor infinities: those as Prometheus writes them
    ("NaN", "+Inf", "-Inf")."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Sample(NamedTuple):
    """One element of an instant vector: a label set and its value."""

    labels: Labels
    value: float


Vector = list[Sample]


MatcherOp = str  # one of "=", "!=", "=~", "!~"


class LabelMatcher:
    """A label matcher as in PromQL and Alertmanager; a regex matches the whole value, with
    RE2 and Prometheus's semantics (see alertd.regex). A pattern RE2 does not accept raises
    alertd.regex.RegexError (a ValueError)."""

    __slots__ = ("_regex", "name", "op", "value")

    def __init__(self, name: str, op: MatcherOp, value: str) -> None:
        if op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f'unknown matcher operator "{op}"')
        self.name = name
        self.op = op
        self.value = value
        self._regex = Regex(value) if op in ("=~", "!~") else None

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self._regex is not None
        hit = self._regex.matches(value)
        return hit if self.op == "=~" else not hit

    def matches_labels(self, labels: Mapping[str, str]) -> bool:
        return self.matches(labels.get(self.name, ""))

    def __repr__(self) -> str:
        return f'{self.name}{self.op}"{_escape(self.value)}"'

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelMatcher):
            return NotImplemented
        return (self.name, self.op, self.value) == (other.name, other.op, other.value)

    def __hash__(self) -> int:
        return hash((self.name, self.op, self.value))
