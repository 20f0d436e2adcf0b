"""Binary operators: arithmetic, comparisons and set operations, with PromQL's vector matching."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from alertd.errors import EvalError
from alertd.lang.ast import ARITHMETIC_OPS, VectorMatching
from alertd.model import METRIC_NAME, Labels, Sample, Vector


def _div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _mod(a: float, b: float) -> float:
    try:
        return math.fmod(a, b)  # Go's math.Mod: the sign follows the dividend
    except ValueError:
        return math.nan


def _pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except ValueError:
        return math.nan
    except OverflowError:
        return math.inf


ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _div,
    "%": _mod,
    "^": _pow,
    "atan2": math.atan2,
}

COMPARISON: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


def scalar_op(op: str, a: float, b: float) -> float:
    """Two scalars: arithmetic, or a comparison with `bool` (0 or 1)."""
    if op in COMPARISON:
        return 1.0 if COMPARISON[op](a, b) else 0.0
    try:
        return ARITHMETIC[op](a, b)
    except OverflowError:
        return math.inf


def vector_scalar(op: str, vector: Vector, scalar: float, scalar_left: bool,
                  return_bool: bool) -> Vector:
    out: Vector = []
    if op in COMPARISON:
        cmp = COMPARISON[op]
        if not return_bool:
            # A filter keeps the vector's own elements, whichever side the scalar is on.
            if scalar_left:
                return [s for s in vector if cmp(scalar, s.value)]
            return [s for s in vector if cmp(s.value, scalar)]
        for labels, value in vector:
            hit = cmp(scalar, value) if scalar_left else cmp(value, scalar)
            out.append(Sample(labels.without_name(), 1.0 if hit else 0.0))
        return out
    fn = ARITHMETIC[op]
    for labels, value in vector:
        result = fn(scalar, value) if scalar_left else fn(value, scalar)
        out.append(Sample(labels.without_name(), result))
    return out


def _signature(labels: Labels, matching: VectorMatching | None) -> Labels:
    if matching is None:
        return labels.without_name()
    if matching.on:
        return labels.keep(matching.labels)
    return labels.without((*matching.labels, METRIC_NAME))


def set_op(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching | None) -> Vector:
    if op == "and":
        right = {_signature(s.labels, matching) for s in rhs}
        return [s for s in lhs if _signature(s.labels, matching) in right]
    if op == "unless":
        right = {_signature(s.labels, matching) for s in rhs}
        return [s for s in lhs if _signature(s.labels, matching) not in right]
    left = {_signature(s.labels, matching) for s in lhs}
    return lhs + [s for s in rhs if _signature(s.labels, matching) not in left]


def vector_vector(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching | None,
                  return_bool: bool) -> Vector:
    """Arithmetic or comparison between two vectors, matched on their labels."""
    card = matching.card if matching else "one-to-one"
    swapped = card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    by_sig: dict[Labels, Sample] = {}
    for sample in one:
        sig = _signature(sample.labels, matching)
        if sig in by_sig:
            side = "left" if swapped else "right"
            raise EvalError(
                f"found duplicate series for the match group {sig} on the {side} hand side "
                "of the operation; many-to-many matching is not allowed: matching labels "
                "must be unique on one side"
            )
        by_sig[sig] = sample
    is_comparison = op in COMPARISON
    drop_name = op in ARITHMETIC_OPS or return_bool
    seen: set[Labels] = set()
    out: Vector = []
    for sample in many:
        sig = _signature(sample.labels, matching)
        other = by_sig.get(sig)
        if other is None:
            continue
        if card == "one-to-one":
            if sig in seen:
                raise EvalError(
                    f"multiple matches for labels {sig}: many-to-one matching must be "
                    "explicit (group_left or group_right)"
                )
            seen.add(sig)
        left, right = (other.value, sample.value) if swapped else (sample.value, other.value)
        if is_comparison:
            hit = COMPARISON[op](left, right)
            if not return_bool and not hit:
                continue
            value = (1.0 if hit else 0.0) if return_bool else left
        else:
            value = ARITHMETIC[op](left, right)
        out.append(Sample(_result_labels(sample.labels, other.labels, matching, drop_name),
                          value))
    return out


def _result_labels(labels: Labels, other: Labels, matching: VectorMatching | None,
                   drop_name: bool) -> Labels:
    if drop_name:
        labels = labels.without_name()
    if matching is None:
        return labels
    if matching.card == "one-to-one":
        return labels.keep(matching.labels) if matching.on else labels.without(matching.labels)
    if matching.include:
        labels = labels.merged({name: other.get(name) for name in matching.include})
    return labels


