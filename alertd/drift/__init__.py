"""Drift statistics: how far a window of current values has moved from a reference.

Definitions
===========

**Reference.** What a baseline keeps of each feature (`Reference`):

- *numeric*, from n finite reference values: B bins (`bins`, 10 by default, so deciles).
  The B - 1 cut points c_1 < … < c_(B-1) are the reference's quantiles at 1/B, …, (B-1)/B,
  interpolated linearly between order statistics (NumPy's default, Hyndman and Fan's
  type 7). The outer edges are c_0 = -∞ and c_B = +∞. Bin k holds the values x with
  c_k < x ≤ c_(k+1): a value equal to a cut point falls in the bin below it, as an
  observation equal to a bucket's `le` does in Prometheus. The reference share r_k of a
  bin is the fraction of the reference values in it. Cut points that coincide (too few
  distinct values for the bins asked) are an error, not empty bins.
  KS and Wasserstein use the sorted reference values themselves when n ≤ 100,000
  (`SAMPLE_CAP`); above that, a sketch of K = 10,000 values (`SKETCH_SIZE`), the
  reference quantiles at (j + ½)/K for j = 0 … K - 1, interpolated as above (see *Sketch
  error* below). Cut points, shares and the standard deviation always come from all the
  values.
- *categorical*: the categories seen and the share of each.
- *histogram*, from a Prometheus classic histogram (cumulative counts by `le`, the last
  `le` +Inf): the finite `le` bounds are the cut points, with the same bins as above, and
  r_k is bucket k's count (the difference of consecutive cumulative counts) over the
  +Inf count.

**Current shares.** The m current values are binned with the reference's cut points:
o_k current values fall in bin k, and p_k = o_k / m. For a histogram reference the current
side is either a histogram with the same `le` bounds (o_k its bucket counts, m its +Inf
count; counts from `increase()` need not be whole numbers) or raw values. For a
categorical reference, both sides are taken over the union of their categories; a
category missing on one side has share 0 there.

**Empty shares.** In psi (both sides) and in chi2 (the reference side), a share of 0 is
replaced by ε = 10⁻⁴ and the other shares are left as they are: no renormalising, so the
shares may then sum to slightly more than 1. r'_k and p'_k are the shares after that
replacement.

**psi** = Σ_k (p'_k - r'_k) · ln(p'_k / r'_k).

**jsd** = √( ½ Σ_k p_k log₂(p_k / a_k) + ½ Σ_k r_k log₂(r_k / a_k) ), a_k = (p_k + r_k) / 2,
over the shares before replacement (a term with a zero share is 0). This is the
Jensen-Shannon *distance* in base 2, between 0 and 1: the square root of the
Jensen-Shannon divergence, and what SciPy's `jensenshannon(p, r, base=2)` returns.

**ks** = sup_x |F_ref(x) - F_cur(x)|, the two-sample Kolmogorov-Smirnov statistic D,
where F_ref and F_cur are the empirical distribution functions of the reference values
(or of the sketch) and of the current values. For a histogram reference, the largest
|R_k - P_k| over the finite `le` bounds, R and P the cumulative shares: D of the two
binned distributions, never above the D of the raw values.

**ks_pvalue**: the two-sided p-value of D. With the reference values kept, SciPy's
`ks_2samp(reference, current)` (method `auto`: exact when neither side holds more than
10,000 values and the exact computation succeeds, asymptotic otherwise); with a sketch,
the asymptotic distribution that `ks_2samp` uses, P(D ≥ d) of the Kolmogorov
distribution `kstwo` with round(n·m / (n + m)) for its size, n the number of reference
values. Raw values only.

**wasserstein** = ∫ |F_ref(x) - F_cur(x)| dx, the earth mover's distance in one dimension,
in the unit of the values (SciPy's `wasserstein_distance` with unit weights). Raw values
only: a histogram's outer buckets have no position.

**wasserstein_normed** = wasserstein / std_ref, std_ref the standard deviation of all the
reference values (population form, ddof 0, computed before any sketching). When std_ref is
0: +∞ if wasserstein > 0, else 0.

**chi2** = P(χ²_(B-1) ≥ X²), X² = Σ_k (o_k - e_k)² / e_k, where o_k are the current counts
and e_k = r'_k · m the counts the reference shares predict: the p-value of a chi-square
goodness-of-fit test of the current counts to the reference shares, over B bins (for
categories, those of the union). A small p-value means drift. With B = 1 it is 1.

**Sketch error.** Against a sketched reference, ks and wasserstein are computed with the
sketch in place of the reference values. By the triangle inequality each differs from the
exact figure by at most the sketch's own distance to the full reference, which is measured
when the reference is built and kept in it: `ks_error` ≤ 1/(2K) + 1/n (below 0.00006
with K = 10,000 and n > 100,000) and `wasserstein_error` ≤ (max - min) / K of the
reference values, usually far less. (Both bounds hold because every sketch point stands
for at least 4 reference values: `sample_cap` must be at least 4 K.)
"""

from __future__ import annotations

from alertd.drift.functions import (
    METHODS,
    Current,
    aligned,
    chi2,
    chi2_from_counts,
    compare_buckets,
    jsd,
    jsd_from_shares,
    ks,
    ks_pvalue,
    psi,
    psi_from_counts,
    psi_from_shares,
    score_many,
    wasserstein,
    wasserstein_normed,
)
from alertd.drift.measures import EMPTY_SHARE
from alertd.drift.reference import DEFAULT_BINS, SAMPLE_CAP, SKETCH_SIZE, Reference
from alertd.drift.values import Buckets, DriftError, Sample, Window

__all__ = [
    "DEFAULT_BINS", "EMPTY_SHARE", "METHODS", "SAMPLE_CAP", "SKETCH_SIZE", "Buckets",
    "Current", "DriftError", "Reference", "Sample", "Window", "aligned", "chi2",
    "chi2_from_counts", "compare_buckets", "jsd", "jsd_from_shares", "ks", "ks_pvalue", "psi",
    "psi_from_counts", "psi_from_shares", "score_many", "wasserstein", "wasserstein_normed",
]
