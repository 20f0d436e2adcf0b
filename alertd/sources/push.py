"""The sample schema shared by the webhook and MQTT sources.

    {"metric": "name", "labels": {...}, "value": 1.5, "timestamp": 1700000000.5}
    {"metric": "name", "labels": {...}, "values": [0.1, 0.7, ...]}   # a batch of observations

A request or message holds one such object or a JSON array of them. `labels` is optional
(string values only); `value` is a number or "NaN", "+Inf", "-Inf" as Prometheus writes
them; `values` holds at most 10,000; `timestamp` is optional, unix seconds or an RFC 3339
time with a timezone. `parse_samples` checks all of it, down to text that could not be
stored (a lone surrogate, which JSON's `"\ud800"` can carry).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from alertd.model import Labels
from alertd.validation import INVALID_UNICODE, TIME_OUT_OF_RANGE, representable, valid_text


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


# --- parsing -----------------------------------------------------------------------------
#
# Batched pushes carry hundreds of thousands of samples a second, so the happy path below is
# plain type checks on the decoded JSON: no per-sample models, regexes only for names not
# seen before, and errors as exceptions (free in CPython when nothing is raised).

MAX_VALUES = 10_000  # observations in one sample's "values"
MISSING_VALUE = 'missing; give "value" (a number) or "values" (an array of numbers)'
FIELDS = ("metric", "labels", "value", "values", "timestamp")
_ALLOWED = frozenset(FIELDS)
_METRIC_PATTERN = "[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL_PATTERN = "[a-zA-Z_][a-zA-Z0-9_]*"
_metric_match = re.compile(_METRIC_PATTERN).fullmatch
_label_match = re.compile(_LABEL_PATTERN).fullmatch
# Names seen valid before. Bounded: the names come from the network.
_NAME_CACHE_MAX = 10_000
_good_metrics: set[str] = set()
_good_labels: set[str] = set()
# Prometheus writes non-finite values as these strings in its JSON.
_SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}
_NUMBER_TYPES = frozenset((int, float))
# Unix seconds beyond this (year 5138) are almost surely milliseconds.
_MAX_SECONDS = 1e11
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?(?:([Zz])|([+-])(\d\d):(\d\d))",
    re.ASCII,
).fullmatch


class FieldProblem(Exception):
    """What is wrong with one field of a sample (raised by the checks below)."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message


def decode_payload(body: bytes) -> tuple[object, SampleError | None]:
    """The decoded JSON of a request or message body, or the error that prevents it."""
    try:
        text = body.decode()  # JSON exchanged between systems is UTF-8 (RFC 8259)
    except UnicodeDecodeError as exc:
        return None, SampleError(None, None, f"the body is not UTF-8: {exc.reason} at byte "
                                             f"{exc.start}")
    if not text or text.isspace():
        return None, SampleError(None, None, "the body is empty; send a JSON object or array")
    if text[0] == "\ufeff":  # a byte order mark, which RFC 8259 lets a parser ignore
        text = text[1:]
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, SampleError(
            None, None, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        )
    except RecursionError:
        return None, SampleError(None, None, "invalid JSON: nested too deeply")
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        return None, SampleError(None, None, f"invalid JSON: {exc}")


def parse_samples_bytes(
    body: bytes, *, extra_labels: Mapping[str, str] | None = None, extra_from: str = "source"
) -> tuple[list[tuple[int, PushedSample]], list[SampleError]]:
    """`parse_samples` of a raw JSON body; a body that is not JSON is one error."""
    payload, error = decode_payload(body)
    if error is not None:
        return [], [error]
    return parse_samples(payload, extra_labels=extra_labels, extra_from=extra_from)


def parse_samples(
    payload: object, *, extra_labels: Mapping[str, str] | None = None, extra_from: str = "source"
) -> tuple[list[tuple[int, PushedSample]], list[SampleError]]:
    """The valid samples of a decoded body with their positions, and the errors of the
    invalid ones: every wrong field of each, in the order of the sample's fields.

    A sample with any error is rejected whole; the others are kept. `extra_labels` (e.g.
    taken from an MQTT topic) are added to every sample; a sample that sets one of them
    to a different value is invalid, and the message names `extra_from` as their origin.
    Errors of a body holding a single object have no index.
    """
    if type(payload) is list:
        items: list[object] = payload
        indexed = True
    elif type(payload) is dict:
        items = [payload]
        indexed = False
    else:
        return [], [SampleError(None, None, "the body must be a JSON object or an array of "
                                            f"objects, got {json_kind(payload)}")]
    extra = tuple(extra_labels.items()) if extra_labels else ()
    samples: list[tuple[int, PushedSample]] = []
    errors: list[SampleError] = []
    for i, obj in enumerate(items):
        try:
            samples.append((i, _parse_one(obj, extra, extra_from)))
        except FieldProblem as exc:
            # The fast path stops at the first problem; the sender should see them all.
            from alertd.sources.problems import every_problem

            found = every_problem(obj, extra, extra_from) or [exc]
            errors.extend(SampleError(i if indexed else None, p.field, p.message)
                          for p in found)
    return samples, errors


def invalid_samples(errors: Iterable[SampleError]) -> int:
    """How many samples `errors` reject (a sample can have several)."""
    return len({e.index for e in errors})


def _parse_one(obj: object, extra: tuple[tuple[str, str], ...], extra_from: str) -> PushedSample:
    if type(obj) is not dict:
        raise FieldProblem(None, f"a sample must be a JSON object, got {json_kind(obj)}")
    if not obj.keys() <= _ALLOWED:
        _unknown_field(obj)

    metric = obj.get("metric")
    if type(metric) is not str or metric not in _good_metrics:
        metric = check_metric(obj, metric)
    label_set = _labels_of(obj, metric, extra, extra_from)
    values = _values_of(obj)

    timestamp = obj.get("timestamp")
    if timestamp is not None and not (type(timestamp) is float and 0 <= timestamp < _MAX_SECONDS):
        timestamp = check_timestamp(timestamp)
    return PushedSample(label_set, values, timestamp)


def _labels_of(obj: dict[str, object], metric: str, extra: tuple[tuple[str, str], ...],
               extra_from: str) -> Labels:
    labels = obj.get("labels")
    if type(labels) is dict:
        key = (metric, tuple(labels.items()), extra)
    elif labels is None:
        key = (metric, (), extra)
    else:
        raise FieldProblem("labels", "must be an object of label names to string values, "
                                     f"got {json_kind(labels)}")
    # Pushers repeat the same label sets, so a set that was valid once is looked up: this
    # skips checking, sorting and hashing it again, and the store sees the same object.
    try:
        label_set = _label_sets.get(key)
    except TypeError:  # an unhashable label value: reported by the full check
        label_set = None
    if label_set is None:
        label_set = _label_set(key, extra_from)
    return label_set


def _values_of(obj: dict[str, object]) -> tuple[float, ...]:
    value = obj.get("value")
    if type(value) is float and "values" not in obj:
        return (value,)
    if "values" in obj:
        if "value" in obj:
            raise FieldProblem("values", 'give either "value" or "values", not both')
        return check_values(obj["values"])
    if "value" in obj:
        return (check_number("value", value),)
    raise FieldProblem("value", MISSING_VALUE)


_LabelKey = tuple[str, tuple[tuple[object, object], ...], tuple[tuple[str, str], ...]]
_LABEL_SETS_MAX = 100_000
_label_sets: dict[_LabelKey, Labels] = {}


def _label_set(key: _LabelKey, extra_from: str) -> Labels:
    """The Labels of a (metric, labels, extra labels) key never seen before, checked."""
    metric, items, extra = key
    pairs = [("__name__", metric)]
    given: dict[str, str] = {}
    for item in items:
        name, value = check_label(*item)
        given[name] = value
        if value:  # as in Prometheus, an empty value is the same as no label
            pairs.append((name, value))
    for name, value in extra:
        if name in given:
            check_extra_label(name, given[name], value, extra_from)
            continue
        if value:
            pairs.append((name, value))
    pairs.sort()
    label_set = Labels.from_sorted_items(tuple(pairs))
    if len(_label_sets) >= _LABEL_SETS_MAX:
        _label_sets.clear()
    _label_sets[key] = label_set
    return label_set


def check_label(name: object, value: object) -> tuple[str, str]:
    """One label of a sample's `labels`: a valid name and a string value."""
    if type(name) is str and not valid_text(name):
        raise FieldProblem("labels", f"{INVALID_UNICODE} in a label name")
    if type(value) is not str:
        raise FieldProblem(f"labels.{name}", f"must be a string, got {json_kind(value)}")
    if type(name) is not str:  # only when called with a dict that is not from JSON
        raise FieldProblem("labels", f"label names must be strings, got {name!r}")
    if name not in _good_labels:
        _check_label_name(name)
    if not valid_text(value):
        raise FieldProblem(f"labels.{name}", INVALID_UNICODE)
    return name, value


def check_extra_label(name: str, mine: str, theirs: str, extra_from: str) -> None:
    """A label the sample sets that the source (an MQTT topic) sets too: they must agree."""
    if mine != theirs:
        raise FieldProblem(f"labels.{name}", f'is "{mine}" but the {extra_from} sets it to '
                                             f'"{theirs}"')


def _unknown_field(obj: dict[str, object]) -> None:
    from alertd.suggest import did_you_mean

    for key in obj:
        if not valid_text(key):
            raise FieldProblem(None, f"{INVALID_UNICODE} in a field name")
        if key not in _ALLOWED:
            raise FieldProblem(key, f'unknown field "{key}"{did_you_mean(key, FIELDS)}')


def check_metric(obj: dict[str, object], metric: object) -> str:
    if metric is None and "metric" not in obj:
        raise FieldProblem("metric", "missing; every sample needs a metric name")
    if type(metric) is not str:
        raise FieldProblem("metric", f"must be a string, got {json_kind(metric)}")
    if not valid_text(metric):
        raise FieldProblem("metric", INVALID_UNICODE)
    if not _metric_match(metric):
        raise FieldProblem("metric",
                           f'invalid metric name "{metric}": must match {_METRIC_PATTERN}')
    if len(_good_metrics) >= _NAME_CACHE_MAX:
        _good_metrics.clear()
    _good_metrics.add(metric)
    return metric


def _check_label_name(name: str) -> None:
    if not _label_match(name):
        raise FieldProblem(f"labels.{name}",
                           f'invalid label name "{name}": must match {_LABEL_PATTERN}')
    if name.startswith("__"):
        hint = '; the metric name goes in "metric"' if name == "__name__" else ""
        raise FieldProblem(f"labels.{name}",
                           f'label names starting with "__" are reserved{hint}')
    if len(_good_labels) >= _NAME_CACHE_MAX:
        _good_labels.clear()
    _good_labels.add(name)


def check_number(field: str, value: object) -> float:
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise FieldProblem(field, "is out of range for a 64-bit float") from None
    if type(value) is float:
        return value
    if type(value) is str:
        special = _SPECIAL.get(value)
        if special is not None:
            return special
        raise FieldProblem(field, f'must be a number (or "NaN", "+Inf", "-Inf"), got string '
                                  f'"{_clip(value)}"')
    raise FieldProblem(field, f"must be a number, got {json_kind(value)}")


def check_values(values: object) -> tuple[float, ...]:
    if type(values) is not list or not values:
        raise FieldProblem("values",
                           f"must be a non-empty array of numbers, got {_describe(values)}")
    if len(values) > MAX_VALUES:
        raise FieldProblem("values", f"at most {MAX_VALUES} values per sample, got {len(values)}")
    if set(map(type, values)) <= _NUMBER_TYPES:
        try:
            return tuple(map(float, values))
        except OverflowError:
            pass  # reported with its position below
    return tuple([check_number(f"values[{i}]", v) for i, v in enumerate(values)])


def check_timestamp(value: object) -> float:
    kind = type(value)
    if kind is int or kind is float:
        try:
            ts = float(value)  # type: ignore[arg-type]
        except OverflowError:  # an integer beyond any float
            ts = math.inf if value > 0 else -math.inf  # type: ignore[operator]
        if not math.isfinite(ts) or ts < 0:
            raise FieldProblem("timestamp", f"must be unix seconds, got {_clip(str(value))}")
        if ts >= _MAX_SECONDS:
            raise FieldProblem("timestamp", f"{_clip(str(value))} is too large for unix seconds "
                                            "(milliseconds? send seconds, fractions allowed)")
        return ts
    if kind is str:
        return _rfc3339(value)  # type: ignore[arg-type]
    raise FieldProblem("timestamp", "must be unix seconds or an RFC 3339 time, got "
                                    f"{json_kind(value)}")


def _rfc3339(text: str) -> float:
    m = _RFC3339(text)
    if m is None:
        raise FieldProblem("timestamp", f'"{_clip(text)}" is not an RFC 3339 time with a timezone '
                                        '(e.g. "2026-11-26T08:00:00Z" or "...+01:00")')
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = m.groups()
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if sign == "-":
            offset = -offset
    try:
        at = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                      tzinfo=timezone(offset))
    except ValueError as exc:
        raise FieldProblem("timestamp", f'"{text}" is not a valid time: {exc}') from None
    # The fraction is added as a float so nanoseconds (as Go writes them) are not cut.
    ts = at.timestamp() + (float(fraction) if fraction else 0.0)
    if not representable(ts):  # e.g. 9999-12-31T23:59:59-14:00: year 10000 in UTC
        raise FieldProblem("timestamp", f'"{text}" {TIME_OUT_OF_RANGE}')
    return ts


def json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _describe(value: object) -> str:
    if isinstance(value, list):
        return "an empty array"
    return json_kind(value)


def _clip(text: str, limit: int = 64) -> str:
    if not valid_text(text):  # quoted in an error: its escape, not the raw surrogate
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "..."
