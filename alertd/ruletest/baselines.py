"""Baselines in a test file of `alertd test`: inline, or from a file next to the test.

    baselines:
      churn-training:                      # a baseline block's name
        file: baselines/churn-small.csv    # CSV or Parquet, relative to the test file
        bins: 4                            # default: the block's bins
      scores:
        features:
          tenure_days: {values: '0+10x99'}                 # numbers (promtool notation)
          contract: {categories: {month: 50, year: 30}}     # counts per category
          score: {buckets: {'0.5': 40, '1': 90, '+Inf': 100}}  # cumulative, by le

A test baseline stands for the rule files' block of the same name, whatever its source,
so a rule whose baseline comes from Prometheus or from captures can be tested; a file
block needs none (its file is read as `alertd check` reads it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from alertd.drift import DEFAULT_BINS, DriftError, Reference
from alertd.drift.baseline_files import BaselineFileError, read_baseline_file
from alertd.lang.baselines import BaselineSpec
from alertd.lang.drift_eval import Baseline
from alertd.ruletest.notation import NotationError, expand, parse_number
from alertd.suggest import did_you_mean

__all__ = ["TestBaseline", "build_baselines", "parse_baselines"]

_ENTRY_KEYS = ("file", "bins", "features")
_FEATURE_KEYS = ("values", "categories", "buckets")


class Checks(Protocol):
    """What this module uses of the test file's validator (spec._Validator)."""

    base_dir: str

    def fail(self, where: str, message: str) -> None: ...

    def mapping(self, value: object, where: str, keys: Sequence[str],
                required: Sequence[str] = ()) -> dict[str, Any] | None: ...

    def text(self, value: object, where: str, *, empty: bool = True) -> str | None: ...


@dataclass(frozen=True, eq=False)
class TestBaseline:
    __test__ = False  # not a pytest test class, whatever its name

    name: str
    where: str  # key path, for messages
    file: str | None  # resolved against the test file's directory
    bins: int | None
    features: Mapping[str, Reference]  # inline ones, built already


def parse_baselines(v: Checks, value: object) -> tuple[TestBaseline, ...]:
    """The `baselines` of a test file; problems go to the validator."""
    entries = _named(v, value, "baselines")
    out: list[TestBaseline] = []
    for name, raw in entries.items():
        where = f"baselines.{name}"
        entry = v.mapping(raw, where, _ENTRY_KEYS)
        if entry is None:
            continue
        if ("file" in entry) == ("features" in entry):
            v.fail(where, "give either file (a CSV or Parquet file) or features (inline)")
            continue
        bins = _bins(v, entry.get("bins"), f"{where}.bins")
        file = None
        if "file" in entry:
            text = v.text(entry["file"], f"{where}.file", empty=False)
            if text is None:
                continue
            file = os.path.normpath(os.path.join(v.base_dir, text))
        features = _features(v, entry.get("features"), f"{where}.features",
                             bins or DEFAULT_BINS)
        out.append(TestBaseline(str(name), where, file, bins, features))
    return tuple(out)


def _named(v: Checks, value: object, where: str) -> dict[str, Any]:
    """A mapping whose keys are names the user chose."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        v.fail(where, "expected a mapping of names")
        return {}
    return value


def _bins(v: Checks, value: object, where: str) -> int | None:
    if value is None:
        return None
    number = parse_number(str(value).strip())
    if number is None or number < 2 or number != int(number):
        v.fail(where, f"bins must be a whole number of at least 2, got {value!r}")
        return None
    return int(number)


def _features(v: Checks, value: object, where: str, bins: int) -> dict[str, Reference]:
    if value is None:
        return {}
    out: dict[str, Reference] = {}
    for name, spec in _named(v, value, where).items():
        at = f"{where}.{name}"
        entry = v.mapping(spec, at, _FEATURE_KEYS)
        if entry is None:
            continue
        given = [k for k in _FEATURE_KEYS if k in entry]
        if len(given) != 1:
            v.fail(at, "give one of values, categories or buckets")
            continue
        try:
            out[str(name)] = _BUILDERS[given[0]](entry[given[0]], bins)
        except (DriftError, NotationError, ValueError) as exc:
            v.fail(f"{at}.{given[0]}", str(exc))
    return out


def _values(value: object, bins: int) -> Reference:
    if isinstance(value, list):
        numbers = [_number(item) for item in value]
    else:
        numbers = [float(x) for x in expand(str(value)) if x is not None]
    return Reference.numeric(numbers, bins=bins)


def _categories(value: object, bins: int) -> Reference:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of category names to counts")
    return Reference.from_category_counts({str(k): _number(c) for k, c in value.items()})


def _buckets(value: object, bins: int) -> Reference:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of le bounds to cumulative counts")
    pairs = sorted((_number(le), _number(count)) for le, count in value.items())
    return Reference.from_buckets([le for le, _ in pairs], [c for _, c in pairs])


def _number(value: object) -> float:
    number = parse_number(str(value).strip())
    if number is None:
        raise ValueError(f"invalid number {value!r}")
    return number


_BUILDERS: dict[str, Callable[[object, int], Reference]] = {
    "values": _values, "categories": _categories, "buckets": _buckets,
}


def build_baselines(given: Sequence[TestBaseline], blocks: Sequence[BaselineSpec],
                    used: set[str]) -> tuple[dict[str, Baseline], list[str]]:
    """The baselines the tests run with, and the problems (one line each)."""
    by_name = {b.name: b for b in blocks}
    out: dict[str, Baseline] = {}
    problems: list[str] = []
    for test in given:
        block = by_name.get(test.name)
        if block is None:
            problems.append(f'{test.where}: no baseline block named "{test.name}" in the rule '
                            f"files{did_you_mean(test.name, by_name)}")
            continue
        try:
            features = dict(test.features) or read_baseline_file(
                test.file or "", bins=test.bins or block.bins,
                max_missing=block.max_missing).features
        except BaselineFileError as exc:
            problems.append(f"{test.where}.file: {exc}")
            continue
        out[test.name] = Baseline(test.name, features, None, block.feature_label)
    for name in sorted(used - set(out)):
        block = by_name.get(name)
        if block is not None and block.loaded is not None:
            out[name] = Baseline(name, block.loaded.features, None, block.feature_label)
        elif block is not None:
            problems.append(f'baseline "{name}" comes from {block.source} ({block.where}): '
                            "give it under baselines: in the test file")
    return out, problems
