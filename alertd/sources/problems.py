"""Every problem of a pushed sample, not only the first.

`alertd.sources.push` parses on a fast path that stops at the first wrong field. Once a
sample is known to be invalid, this checks each of its fields on its own, so that the
sender learns in one answer everything to fix, as `alertd check` does for rule files.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from alertd.sources.push import (
    FIELDS,
    MAX_VALUES,
    MISSING_VALUE,
    FieldProblem,
    check_extra_label,
    check_label,
    check_metric,
    check_number,
    check_timestamp,
    check_values,
    json_kind,
)
from alertd.suggest import did_you_mean
from alertd.validation import INVALID_UNICODE, valid_text


def every_problem(obj: object, extra: tuple[tuple[str, str], ...],
                  extra_from: str) -> list[FieldProblem]:
    """The problems of one sample, in the order of its fields; none if it is valid."""
    if type(obj) is not dict:
        return [FieldProblem(None, f"a sample must be a JSON object, got {json_kind(obj)}")]
    found: list[FieldProblem] = []
    meant = _unknown_fields(obj, found)
    if "metric" in obj or "metric" not in meant:
        _collect(found, check_metric, obj, obj.get("metric"))
    _labels(obj.get("labels"), extra, extra_from, found)
    _value(obj, meant, found)
    if obj.get("timestamp") is not None:
        _collect(found, check_timestamp, obj["timestamp"])
    return found


def _collect(found: list[FieldProblem], check: Callable[..., object], *args: object) -> None:
    try:
        check(*args)
    except FieldProblem as problem:
        found.append(problem)


def _unknown_fields(obj: dict[str, object], found: list[FieldProblem]) -> set[str]:
    """Reports each unknown field; returns the known ones they are probably misspellings of
    (whose absence is then the same mistake, not another)."""
    meant: set[str] = set()
    for key in obj:
        if not valid_text(key):
            found.append(FieldProblem(None, f"{INVALID_UNICODE} in a field name"))
        elif key not in FIELDS:
            found.append(FieldProblem(key, f'unknown field "{key}"{did_you_mean(key, FIELDS)}'))
            meant.update(difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.6))
    return meant


def _labels(labels: object, extra: tuple[tuple[str, str], ...], extra_from: str,
            found: list[FieldProblem]) -> None:
    if labels is None:
        return
    if type(labels) is not dict:
        found.append(FieldProblem("labels", "must be an object of label names to string "
                                            f"values, got {json_kind(labels)}"))
        return
    for name, value in labels.items():
        _collect(found, check_label, name, value)
    for name, theirs in extra:
        mine = labels.get(name)
        if type(mine) is str:
            _collect(found, check_extra_label, name, mine, theirs, extra_from)


def _value(obj: dict[str, object], meant: set[str], found: list[FieldProblem]) -> None:
    if "value" in obj and "values" in obj:
        found.append(FieldProblem("values", 'give either "value" or "values", not both'))
    elif "values" in obj:
        values = obj["values"]
        if type(values) is not list or not values or len(values) > MAX_VALUES:
            _collect(found, check_values, values)
            return
        for i, v in enumerate(values):
            _collect(found, check_number, f"values[{i}]", v)
    elif "value" in obj:
        _collect(found, check_number, "value", obj["value"])
    elif not meant & {"value", "values"}:
        found.append(FieldProblem("value", MISSING_VALUE))
