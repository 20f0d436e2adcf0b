"""Implementations of the functions over ranges and instant vectors, PromQL semantics.

Range functions get one series' samples as parallel sequences (a list of timestamps, an
array of values) with the window's index bounds `[lo, hi)`, so evaluating never copies a
window.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from alertd.errors import EvalError
from alertd.model import METRIC_NAME, Labels, Sample, Vector
from alertd.regex import Regex, RegexError, RegexMatch

RangeFn = Callable[[list[float], Sequence[float], int, int, float, float], float | None]
"""(timestamps, values, lo, hi, eval time, range seconds) -> value, or None for no output."""


def _extrapolated(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float, rng: float,
                  is_counter: bool, is_rate: bool) -> float | None:
    """Prometheus's extrapolatedRate: the change over the window, extrapolated to its edges."""
    n = hi - lo
    if n < 2:
        return None
    first_t, first_v, last_t = ts[lo], vs[lo], ts[hi - 1]
    result = vs[hi - 1] - first_v
    if is_counter:
        prev = first_v
        # Over a slice rather than by index: reading an array by index makes a float
        # object per read, iterating a slice of it is as cheap as indexing a list.
        for v in vs[lo + 1:hi]:
            if v < prev:  # a counter reset: the counter restarted from zero
                result += prev
            prev = v
    sampled = last_t - first_t
    if sampled <= 0:
        return None
    avg_step = sampled / (n - 1)
    threshold = avg_step * 1.1
    to_start = first_t - (at - rng)
    to_end = at - last_t
    # Extrapolate to an edge only if the series likely goes on past it; otherwise assume
    # it starts or ends half a step beyond the first or last sample.
    if to_start >= threshold:
        to_start = avg_step / 2
    if is_counter and result > 0 and first_v >= 0:
        # A counter cannot have been below zero: do not extrapolate past where it was zero.
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    if to_end >= threshold:
        to_end = avg_step / 2
    factor = (sampled + to_start + to_end) / sampled
    if is_rate:
        factor /= rng
    return result * factor


def rate(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
         rng: float) -> float | None:
    return _extrapolated(ts, vs, lo, hi, at, rng, True, True)


def increase(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
             rng: float) -> float | None:
    return _extrapolated(ts, vs, lo, hi, at, rng, True, False)


def delta(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
          rng: float) -> float | None:
    return _extrapolated(ts, vs, lo, hi, at, rng, False, False)


def irate(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
          rng: float) -> float | None:
    if hi - lo < 2:
        return None
    last, prev = vs[hi - 1], vs[hi - 2]
    dt = ts[hi - 1] - ts[hi - 2]
    if dt <= 0:
        return None
    return (last if last < prev else last - prev) / dt


def idelta(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
           rng: float) -> float | None:
    if hi - lo < 2:
        return None
    return vs[hi - 1] - vs[hi - 2]


def deriv(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
          rng: float) -> float | None:
    n = hi - lo
    if n < 2:
        return None
    # Least squares slope, with times relative to the first sample for precision.
    t0 = ts[lo]
    xs = [ts[i] - t0 for i in range(lo, hi)]
    ys = vs[lo:hi]
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var = sum((x - mean_x) ** 2 for x in xs)
    return cov / var if var else None


def _pairs(vs: Sequence[float], lo: int, hi: int) -> zip[tuple[float, float]]:
    """Each sample of the window after the first, with the one before it (over slices:
    see _extrapolated)."""
    return zip(vs[lo:hi - 1], vs[lo + 1:hi], strict=True)


def changes(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
            rng: float) -> float | None:
    if hi <= lo:
        return None
    # NaN differs from itself, but a NaN after a NaN is no change.
    return float(sum(1 for prev, v in _pairs(vs, lo, hi)
                     if v != prev and not (v != v and prev != prev)))


def resets(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
           rng: float) -> float | None:
    if hi <= lo:
        return None
    return float(sum(1 for prev, v in _pairs(vs, lo, hi) if v < prev))


def _over_time(agg: Callable[[Sequence[float]], float]) -> RangeFn:
    def fn(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
           rng: float) -> float | None:
        if hi <= lo:
            return None
        return agg(vs[lo:hi])

    return fn


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _variance(values: Sequence[float]) -> float:
    mean = _mean(values)
    return math.fsum((v - mean) ** 2 for v in values) / len(values)


def _outside(q: float) -> float | None:
    """What a quantile is for a φ outside [0, 1] (NaN for NaN), as PromQL has it; None
    for a φ inside."""
    if q != q:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    return None


def quantile(q: float, values: Sequence[float]) -> float:
    """PromQL's quantile: linear interpolation between the closest ranks."""
    if not values:
        return math.nan
    bound = _outside(q)
    if bound is not None:
        return bound
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - lower
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def quantile_over_time(q: float) -> RangeFn:
    def fn(ts: list[float], vs: Sequence[float], lo: int, hi: int, at: float,
           rng: float) -> float | None:
        if hi <= lo:
            return None
        return quantile(q, vs[lo:hi])

    return fn


RANGE_FUNCTIONS: dict[str, RangeFn] = {
    "rate": rate,
    "irate": irate,
    "increase": increase,
    "delta": delta,
    "idelta": idelta,
    "deriv": deriv,
    "changes": changes,
    "resets": resets,
    "avg_over_time": _over_time(_mean),
    "min_over_time": _over_time(min),
    "max_over_time": _over_time(max),
    "sum_over_time": _over_time(math.fsum),
    "count_over_time": _over_time(lambda vs: float(len(vs))),
    "last_over_time": _over_time(lambda vs: vs[-1]),
    "stddev_over_time": _over_time(lambda vs: math.sqrt(_variance(vs))),
    "stdvar_over_time": _over_time(_variance),
    "present_over_time": _over_time(lambda vs: 1.0),
}

# Functions whose result is still "the same metric" keep __name__, as in PromQL.
KEEPS_NAME = frozenset({"last_over_time", "label_replace", "label_join"})


def _safe(fn: Callable[[float], float]) -> Callable[[float], float]:
    def wrapped(x: float) -> float:
        try:
            return fn(x)
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf

    return wrapped


def _ln(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log(x) if x > 0 else math.nan


def _sgn(x: float) -> float:
    if x != x:
        return x
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _ceil(x: float) -> float:
    return float(math.ceil(x)) if math.isfinite(x) else x


def _floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


MATH_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "ceil": _ceil,
    "floor": _floor,
    "sqrt": _safe(math.sqrt),
    "exp": _safe(math.exp),
    "ln": _ln,
    "log2": lambda x: _ln(x) / math.log(2) if x > 0 else _ln(x),
    "log10": lambda x: _ln(x) / math.log(10) if x > 0 else _ln(x),
    "sgn": _sgn,
}


def round_to(x: float, to_nearest: float) -> float:
    if not math.isfinite(x) or to_nearest == 0:
        return x
    # PromQL rounds half up: floor(x / n + 0.5) * n.
    return math.floor(x / to_nearest + 0.5) * to_nearest


def histogram_quantile(q: float, vector: Vector) -> Vector:
    """The φ-quantile from classic histogram buckets (`le` label), per series group."""
    groups: dict[Labels, list[tuple[float, float]]] = {}
    for labels, value in vector:
        le = labels.get("le")
        try:
            upper = float(le)
        except ValueError:
            continue  # not a bucket
        key = labels.without(("le", METRIC_NAME))
        groups.setdefault(key, []).append((upper, value))
    return [Sample(key, _bucket_quantile(q, buckets)) for key, buckets in groups.items()]


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    bound = _outside(q)
    if bound is not None:
        return bound
    buckets.sort()
    if not buckets or buckets[-1][0] != math.inf:
        return math.nan
    merged = _monotonic(buckets)
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0 or observations != observations:
        return math.nan
    rank = q * observations
    b = next(i for i, (_, count) in enumerate(merged) if count >= rank)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)


def _monotonic(buckets: list[tuple[float, float]]) -> list[list[float]]:
    """Sorted buckets with the same bound merged and counts forced to be monotonic (scrapes
    of buckets are not atomic, so a later bucket can briefly read lower)."""
    merged: list[list[float]] = []
    for upper, count in buckets:
        if merged and merged[-1][0] == upper:
            merged[-1][1] += count
        else:
            merged.append([upper, count])
    running = -math.inf
    for bucket in merged:
        running = max(running, bucket[1])
        bucket[1] = running
    return merged


_GO_GROUP = re.compile(r"\$(\{(\w+)\}|(\w+))|\$\$")


def expand_replacement(template: str, match: RegexMatch) -> str:
    """Expand a Go-style replacement (`$1`, `${name}`, `$$`) as label_replace does."""

    def group(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        ref = m.group(2) or m.group(3)
        try:
            value = match.group(int(ref)) if ref.isdigit() else match.group(ref)
        except IndexError:  # no such group: Go expands it to the empty string
            return ""
        return value or ""

    return _GO_GROUP.sub(group, template)


def label_replace(vector: Vector, dst: str, replacement: str, src: str, regex: str) -> Vector:
    try:
        pattern = Regex(regex)
    except RegexError as exc:  # the checker reports a literal one before it can run
        raise EvalError(f'label_replace(): invalid regular expression "{regex}": {exc}') from None
    out: Vector = []
    for labels, value in vector:
        m = pattern.match(labels.get(src))
        if m is None:
            out.append(Sample(labels, value))
            continue
        new = expand_replacement(replacement, m)
        out.append(Sample(labels.merged({dst: new}) if new else labels.without((dst,)), value))
    return out


def label_join(vector: Vector, dst: str, sep: str, srcs: Sequence[str]) -> Vector:
    out: Vector = []
    for labels, value in vector:
        joined = sep.join(labels.get(s) for s in srcs)
        out.append(Sample(labels.merged({dst: joined}) if joined else labels.without((dst,)),
                          value))
    return out


def sort_by_value(vector: Vector, descending: bool) -> Vector:
    """PromQL's sort() and sort_desc(): by value, NaN last either way, labels kept."""
    numbers = sorted((s for s in vector if s.value == s.value), key=lambda s: s.value,
                     reverse=descending)
    return numbers + [s for s in vector if s.value != s.value]
