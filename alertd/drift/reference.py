"""`Reference`: what a baseline keeps of one feature for the drift functions.

Built from reference values (`numeric`, `categorical`), from category counts, or from a
Prometheus classic histogram (`from_buckets`); `to_dict`/`from_dict` give a JSON-ready
form for storage, checked again on the way back in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeAlias, TypeVar, get_args

import numpy as np
import numpy.typing as npt

from alertd.drift import kstest, measures
from alertd.drift.values import (
    Buckets,
    DriftError,
    Floats,
    as_counts,
    as_floats,
    as_shares,
    bin_counts,
    frozen,
    require_finite,
)

Kind: TypeAlias = Literal["numeric", "categorical", "histogram"]
KINDS: tuple[str, ...] = get_args(Kind)
T = TypeVar("T")

DEFAULT_BINS = 10
# Up to this many reference values are kept as they are (KS and Wasserstein exact);
# 100,000 floats are 800 KB per feature.
SAMPLE_CAP = 100_000
# Above SAMPLE_CAP, this many quantiles stand for the reference (80 KB per feature).
SKETCH_SIZE = 10_000


def _empty() -> Floats:
    return np.empty(0, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Reference:
    """The reference distribution of one feature.

    numeric: `cuts` (the inner cut points, quantiles of the reference), `shares` per bin,
    `sample` (the sorted reference values, or a sketch of SKETCH_SIZE quantiles when
    `sketched`), `count` reference values, their population standard deviation `std`.
    `ks_error` and `wasserstein_error` bound how far KS and Wasserstein against the
    sketch can be from the exact figures (0 when the sample is exact).
    categorical: `categories` and their `shares`.
    histogram: `cuts` are the finite `le` bounds, `shares` the buckets' shares, `count`
    the observations (the +Inf count)."""

    kind: Kind
    shares: Floats
    cuts: Floats = field(default_factory=_empty)
    categories: tuple[str, ...] = ()
    sample: Floats = field(default_factory=_empty)
    count: float = 0.0
    std: float | None = None
    sketched: bool = False
    ks_error: float = 0.0
    wasserstein_error: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DriftError(f"unknown reference kind \"{self.kind}\" (one of {', '.join(KINDS)})")
        object.__setattr__(self, "shares", frozen(as_shares(self.shares, "reference shares")))
        object.__setattr__(self, "cuts", frozen(self.cuts))
        object.__setattr__(self, "sample", frozen(self.sample))
        object.__setattr__(self, "categories", tuple(self.categories))
        if self.kind == "categorical":
            self._check_categorical()
        else:
            self._check_binned()
        if self.kind == "numeric":
            self._check_sample()

    def _check_categorical(self) -> None:
        if len(self.categories) != self.shares.size:
            raise DriftError(f"{len(self.categories)} categories but {self.shares.size} shares")
        if len(set(self.categories)) != len(self.categories):
            raise DriftError("categories must be distinct")
        if not all(isinstance(c, str) for c in self.categories):
            raise DriftError("categories must be strings")

    def _check_binned(self) -> None:
        if self.cuts.ndim != 1 or self.cuts.size + 1 != self.shares.size:
            raise DriftError(f"{self.cuts.size} cut points need {self.cuts.size + 1} shares, "
                             f"got {self.shares.size}")
        require_finite(self.cuts, "cut points")
        if bool(np.any(self.cuts[1:] <= self.cuts[:-1])):
            raise DriftError("cut points must increase strictly")

    def _check_sample(self) -> None:
        if self.sample.ndim != 1 or self.sample.size == 0:
            raise DriftError("a numeric reference needs its sample")
        require_finite(self.sample, "reference sample")
        if bool(np.any(self.sample[1:] < self.sample[:-1])):
            raise DriftError("the reference sample must be sorted")
        if self.std is None or not np.isfinite(self.std) or self.std < 0:
            raise DriftError(f"a numeric reference needs a standard deviation, got {self.std}")

    @property
    def bins(self) -> int:
        """Bins (numeric, histogram) or categories."""
        return int(self.shares.size)

    @cached_property
    def ks_index(self) -> kstest.KsIndex:
        """What KS needs of the sample beyond the values, made on first use."""
        return kstest.index(self.sample)

    @classmethod
    def numeric(cls, values: npt.ArrayLike, *, bins: int = DEFAULT_BINS,
                sample_cap: int = SAMPLE_CAP, sketch_size: int = SKETCH_SIZE) -> Reference:
        """From reference values: `bins` bins cut at the reference's quantiles."""
        if bins < 2:
            raise DriftError(f"bins must be at least 2, got {bins}")
        if sketch_size < 1 or sample_cap < 4 * sketch_size:
            # The documented sketch error bounds need at least 4 values per sketch point.
            raise DriftError(f"sample_cap ({sample_cap}) must be at least 4 times sketch_size "
                             f"({sketch_size})")
        ordered = np.sort(as_floats(values, "reference values"))
        n = ordered.size
        if n < bins:
            raise DriftError(f"too few reference values for {bins} bins: {n}")
        cuts = np.quantile(ordered, np.arange(1, bins) / bins)
        _require_distinct_cuts(ordered, cuts, bins)
        shares = bin_counts(ordered, cuts) / n
        std = float(np.std(ordered))
        if n <= sample_cap:
            return cls("numeric", shares, cuts, sample=ordered, count=n, std=std)
        sketch, ks_error, w_error = _sketch(ordered, sketch_size)
        return cls("numeric", shares, cuts, sample=sketch, count=n, std=std, sketched=True,
                   ks_error=ks_error, wasserstein_error=w_error)

    @classmethod
    def categorical(cls, values: Iterable[str]) -> Reference:
        """From reference values that are category names."""
        if isinstance(values, str):
            raise DriftError("category values must be a list of names, not one string")
        counts = Counter(values)
        bad = next((v for v in counts if not isinstance(v, str)), None)
        if bad is not None:
            raise DriftError(f"category values must be strings, got {bad!r}")
        if not counts:
            raise DriftError("no reference values: the input is empty")
        return cls.from_category_counts(counts)

    @classmethod
    def from_category_counts(cls, counts: Mapping[str, float]) -> Reference:
        """From how often each category was seen."""
        if not counts:
            raise DriftError("no reference categories: the input is empty")
        names = tuple(sorted(counts))
        values = as_counts([counts[name] for name in names], "reference category counts")
        total = float(values.sum())
        return cls("categorical", values / total, categories=names, count=total)

    @classmethod
    def from_buckets(cls, les: npt.ArrayLike, cumulative_counts: npt.ArrayLike) -> Reference:
        """From a classic histogram: upper bounds `le` ending in +Inf, cumulative counts."""
        buckets = Buckets.of(les, cumulative_counts)
        counts = buckets.counts
        return cls("histogram", counts / counts.sum(), buckets.les[:-1], count=buckets.total)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (lists of floats; JSON keeps float64 values exactly)."""
        return {
            "kind": self.kind, "shares": self.shares.tolist(), "cuts": self.cuts.tolist(),
            "categories": list(self.categories), "sample": self.sample.tolist(),
            "count": self.count, "std": self.std, "sketched": self.sketched,
            "ks_error": self.ks_error, "wasserstein_error": self.wasserstein_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reference:
        """The inverse of `to_dict`, with every invariant checked again."""
        missing = [key for key in ("kind", "shares") if key not in data]
        if missing:
            raise DriftError(f"stored reference lacks {', '.join(missing)}")

        def floats(key: str) -> Floats:
            return _stored(key, lambda: np.asarray(data.get(key, []), dtype=np.float64))

        def number(key: str, default: float) -> float:
            return _stored(key, lambda: float(data.get(key, default)))

        std = data.get("std")
        return cls(
            kind=data["kind"], shares=floats("shares"), cuts=floats("cuts"),
            categories=_stored("categories", lambda: tuple(data.get("categories", ()))),
            sample=floats("sample"), count=number("count", 0.0),
            std=None if std is None else number("std", 0.0),
            sketched=bool(data.get("sketched", False)),
            ks_error=number("ks_error", 0.0),
            wasserstein_error=number("wasserstein_error", 0.0),
        )


def _stored(key: str, convert: Callable[[], T]) -> T:
    try:
        return convert()
    except (TypeError, ValueError) as exc:
        raise DriftError(f"stored reference: {key} is malformed: {exc}") from None


def _require_distinct_cuts(ordered: Floats, cuts: Floats, bins: int) -> None:
    """Equal cut points would make empty bins that no reference value can fill."""
    same = np.flatnonzero(cuts[1:] <= cuts[:-1])
    if same.size == 0:
        return
    k = int(same[0]) + 1
    distinct = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1
    raise DriftError(
        f"too few distinct reference values for {bins} bins: the cut points at quantiles "
        f"{k / bins:g} and {(k + 1) / bins:g} are both {cuts[k]:g} (the reference has "
        f"{distinct} distinct values among {ordered.size}); ask for fewer bins")


def _sketch(ordered: Floats, size: int) -> tuple[Floats, float, float]:
    """The quantiles at (j + 0.5)/size, and their measured KS and Wasserstein distance to
    the full reference (the bound on the error of KS and Wasserstein computed on them)."""
    sketch = _sorted_quantiles(ordered, (np.arange(size) + 0.5) / size)
    ks_error = kstest.statistic(kstest.index(ordered), sketch)
    w_error = measures.wasserstein(ordered, sketch)
    return sketch, ks_error, w_error


def _sorted_quantiles(ordered: Floats, probs: Floats) -> Floats:
    """np.quantile's linear interpolation, bit for bit, on values already sorted: for
    thousands of quantiles np.quantile's partitioning costs far more than the sort did."""
    position = probs * (ordered.size - 1)
    lo = np.floor(position).astype(np.intp)
    hi = np.minimum(lo + 1, ordered.size - 1)
    t = position - lo
    below, above = ordered[lo], ordered[hi]
    step = above - below
    out = below + step * t
    # NumPy interpolates from the nearer end, which keeps the result monotonic.
    np.subtract(above, step * (1 - t), out=out, where=t >= 0.5)
    return out
