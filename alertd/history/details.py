"""An event's details as JSON text: how the store keeps them and an export writes them.

JSON has no NaN nor infinities: they are written as Prometheus writes them in its own
JSON ("NaN", "+Inf", "-Inf") and read back as floats where a value is one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

from alertd.model import json_float

__all__ = ["decode_details", "encode_details"]

# JSON has no NaN nor infinities; Prometheus spells them so in its own JSON.
_NONFINITE = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}
# Detail keys whose strings above are read back as floats.
_FLOAT_KEYS = frozenset({"value"})


def encode_details(details: Mapping[str, Any]) -> str:
    """Details as strict JSON: NaN and infinities as "NaN", "+Inf", "-Inf"; sets as sorted
    lists, other mappings as objects, anything else JSON lacks as its str()."""
    return _dumps(_plain(details))


def _dumps(plain: Any) -> str:
    try:
        return orjson.dumps(plain).decode()
    except TypeError:  # an integer beyond 64 bits, or a lone surrogate, which orjson refuses
        text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        text.encode()  # a lone surrogate: a ValueError here, not a driver's error later
        return text


def decode_details(text: str) -> Mapping[str, Any]:
    try:
        data = orjson.loads(text)  # a report reads a million of these: 3x json's speed
    except orjson.JSONDecodeError:
        data = json.loads(text)  # an integer beyond 64 bits, which only json writes
    if not isinstance(data, dict):
        raise ValueError(f"details are not an object: {text[:80]!r}")
    if '"NaN"' in text or 'Inf"' in text:  # only then is there a float to read back
        data = _floats(data)
    return MappingProxyType(data)


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return json_float(value)
    if value is None or isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _floats(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _floats(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v, key) for v in value]
    if key in _FLOAT_KEYS and isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    return value
