"""Reference values read from a file (CSV or Parquet), or gathered elsewhere, as references.

A file is either *wide*, one column per feature, or *long*, two columns named exactly
`feature` and `value` (one row per value). A column (a feature, in the long form) whose
values are all numbers is numeric; one with any other text (or a Parquet string,
dictionary or boolean column) is categorical. Empty cells, `NaN`, `NA` and Parquet nulls
are missing values: a feature may have at most `max_missing` of them (a share), which are
then left out; more is an error that says how many.

Every problem is a `BaselineFileError` whose message names the file and the column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alertd.drift import DriftError, Reference
from alertd.errors import AlertdError

__all__ = ["BaselineFileError", "FileBaseline", "read_baseline_file", "references"]

PARQUET_SUFFIXES = (".parquet", ".pq")
LONG_FORM = ("feature", "value")
_MISSING = frozenset({"", "nan", "na", "n/a", "null", "none"})

Column = Sequence[float] | Sequence[str]


class BaselineFileError(AlertdError):
    """A file of reference values that cannot be used; the message says why."""


@dataclass(frozen=True, eq=False)
class FileBaseline:
    features: dict[str, Reference]
    sha256: str
    rows: int


def read_baseline_file(path: str, *, bins: int, max_missing: float,
                       columns: Sequence[str] | None = None) -> FileBaseline:
    """The references of a file's features (only `columns`, when given)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BaselineFileError(f"cannot read {path}: {(exc.strerror or str(exc)).lower()}"
                                ) from None
    if path.lower().endswith(PARQUET_SUFFIXES):
        table = _parquet_columns(data, path, columns)
    else:
        table = _csv_columns(data, path)
    rows = max((len(v) for v in table.values()), default=0)
    if LONG_FORM[0] in table and LONG_FORM[1] in table and len(table) == 2:
        table = _long_to_wide(table)
        what = "feature"
    else:
        what = "column"
    table = _chosen(table, columns, path, what)
    features = references(table, bins=bins, max_missing=max_missing, where=f"{path}: {what}")
    return FileBaseline(features, hashlib.sha256(data).hexdigest(), rows)


def references(values: Mapping[str, Column], *, bins: int, max_missing: float,
               where: str) -> dict[str, Reference]:
    """A reference per feature from its values (numbers, or category names; None, NaN
    and the missing words of a CSV are missing). `where` starts each message."""
    if not values:
        raise BaselineFileError(f"{where.rsplit(':', 1)[0]}: no reference values")
    out: dict[str, Reference] = {}
    for name, column in values.items():
        try:
            out[name] = _reference(list(column), bins, max_missing)
        except DriftError as exc:
            raise BaselineFileError(f'{where} "{name}": {exc}') from None
    return out


def _reference(column: list[Any], bins: int, max_missing: float) -> Reference:
    present = [v for v in column if not _is_missing(v)]
    missing = len(column) - len(present)
    if column and missing / len(column) > max_missing:
        raise DriftError(f"{missing} of {len(column)} values ({missing / len(column):.1%}) are "
                         f"missing or NaN, more than max_missing ({max_missing:.1%}): fill or "
                         "drop them, or raise max_missing")
    if not present:
        raise DriftError("no reference values")
    numbers = [_number(v) for v in present]
    if all(n is not None for n in numbers):
        return Reference.numeric(np.asarray(numbers, dtype=np.float64), bins=bins)
    return Reference.categorical([str(v) for v in present])


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in _MISSING


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _chosen(table: dict[str, list[Any]], columns: Sequence[str] | None, path: str,
            what: str) -> dict[str, list[Any]]:
    if columns is None:
        return table
    missing = [c for c in columns if c not in table]
    if missing:
        have = ", ".join(sorted(table)) or "none"
        raise BaselineFileError(f'{path}: no such {what} "{missing[0]}" (the file has: {have})')
    return {c: table[c] for c in columns}


def _long_to_wide(table: dict[str, list[Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for feature, value in zip(table[LONG_FORM[0]], table[LONG_FORM[1]], strict=True):
        if not _is_missing(feature):
            out.setdefault(str(feature), []).append(value)
    return out


def _csv_columns(data: bytes, path: str) -> dict[str, list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BaselineFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise BaselineFileError(f"{path}: the file is empty; expected a header line naming "
                                "the columns")
    header = [cell.strip() for cell in rows[0]]
    repeated = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if repeated is not None:
        raise BaselineFileError(f'{path}: column "{repeated}" appears twice in the header')
    table: dict[str, list[Any]] = {name: [] for name in header}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BaselineFileError(f"{path}:{number}: {len(row)} cells, but the header names "
                                    f"{len(header)} columns")
        for name, cell in zip(header, row, strict=True):
            table[name].append(cell)
    return table


def _parquet_columns(data: bytes, path: str,
                     columns: Sequence[str] | None) -> dict[str, list[Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise BaselineFileError(f"{path}: not a Parquet file that can be read: {exc}") from None
    out: dict[str, list[Any]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if columns is not None and name not in columns and name not in LONG_FORM:
            continue  # left out: whatever it holds (ids, times) does not matter
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            out[name] = [None if v is None else float(v) for v in column.to_pylist()]
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out[name] = column.to_pylist()
        elif pa.types.is_boolean(kind):
            out[name] = [None if v is None else str(v).lower() for v in column.to_pylist()]
        else:
            raise BaselineFileError(f'{path}: column "{name}" holds {kind}; reference values '
                                    "are numbers or categories (choose the columns with "
                                    "columns = \"a, b\")")
    return out
