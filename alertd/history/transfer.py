"""History as JSON lines, for `alertd history export` and `import`: one event a line,

    {"at": "2026-11-26T09:05:31.250Z", "kind": "delivery", "fingerprint": "3f2a9c0d1e2b4a5f",
     "labels": {"alertname": "X", ...}, "rule": "X", "details": {"receiver": "team-ml", ...}}

`at` is RFC 3339 in UTC with as many digits of fraction as the stored time needs (at least
three), so that an import stores exactly the time exported: an import finds the events
stored already by their time (and so is idempotent only if it is exact). Details are as
stored: NaN and infinities as "NaN", "+Inf", "-Inf".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import orjson

from alertd.history import KINDS, HistoryEvent, event
from alertd.history.details import decode_details, encode_details
from alertd.model import Labels
from alertd.validation import TIME_OUT_OF_RANGE, representable, valid_text

FIELDS = ("at", "kind", "fingerprint", "labels", "rule", "details")
_REQUIRED = frozenset(FIELDS) - {"rule"}
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,30}))?"
                      r"([Zz]|[+-]\d{2}:\d{2})")


class BadLine(ValueError):
    """A line that is not an event; `field` names the field at fault (None: the line)."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(f'"{field}": {problem}' if field else problem)
        self.field = field


def to_line(e: HistoryEvent) -> str:
    """The event as one line of JSON (without the newline)."""
    details = json.loads(encode_details(e.details))  # as stored: NaN as "NaN"
    return orjson.dumps({"at": format_at(e.at), "kind": e.kind, "fingerprint": e.fingerprint,
                         "labels": dict(e.labels), "rule": e.rule,
                         "details": details}).decode()


def from_line(text: str) -> HistoryEvent:
    """The event a line holds; BadLine naming the field otherwise."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadLine(None, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadLine(None, "not a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise BadLine(unknown[0], f"unknown field (the fields are {', '.join(FIELDS)})")
    missing = sorted(_REQUIRED - set(data))
    if missing:
        raise BadLine(missing[0], "missing")
    at = parse_at(data["at"])
    kind = data["kind"]
    if kind not in KINDS:
        raise BadLine("kind", f"unknown kind {json.dumps(kind)} (one of {', '.join(KINDS)})")
    labels = _labels(data["labels"])
    if data["fingerprint"] != labels.fingerprint():
        raise BadLine("fingerprint", f"{json.dumps(data['fingerprint'])} is not the "
                      f"fingerprint of the labels ({labels.fingerprint()})")
    rule = data.get("rule")
    if rule is not None and (not isinstance(rule, str) or not rule or not valid_text(rule)):
        raise BadLine("rule", "must be a rule's name or null")
    return event(at, kind, labels, _details(data["details"]), rule=rule)


def format_at(at: float) -> str:
    """RFC 3339 in UTC, with the digits of fraction that read back as exactly `at`."""
    exact = Decimal(repr(at))  # the shortest decimal that is this float
    seconds = int(exact.to_integral_value(rounding=ROUND_FLOOR))
    fraction = format(exact - seconds, "f").partition(".")[2].rstrip("0")
    whole = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return whole.strftime("%Y-%m-%dT%H:%M:%S") + "." + fraction.ljust(3, "0") + "Z"


def parse_at(value: Any) -> float:
    """The time `format_at` wrote (any RFC 3339 date-time, read to the last digit)."""
    m = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise BadLine("at", f"not an RFC 3339 date-time: {json.dumps(value)}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    zone = m.group(8)
    tz = UTC if zone in ("Z", "z") else timezone(
        (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        whole = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise BadLine("at", f"{json.dumps(value)}: {exc}") from None
    seconds = (whole - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
    at = float(Decimal(seconds) + Decimal("0." + (m.group(7) or "0")))
    if not representable(at):
        raise BadLine("at", f"{json.dumps(value)} {TIME_OUT_OF_RANGE}")
    return at


def _labels(value: Any) -> Labels:
    if not isinstance(value, dict) or not all(
            isinstance(v, str) and valid_text(k) and valid_text(v) for k, v in value.items()):
        raise BadLine("labels", "must be an object of strings")
    return Labels(value)


def _details(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadLine("details", "must be an object")
    if not _storable(value):
        raise BadLine("details", "holds text no store can keep (a lone surrogate or a NUL)")
    # Read back as the store reads details ("NaN" values as floats), so that the event is
    # the one exported.
    return decode_details(json.dumps(value, ensure_ascii=False))


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return all(valid_text(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True
