"""The arithmetic of each statistic over plain arrays (shares, counts, sorted samples).

No knowledge of references or rules here: `functions.py` turns a reference and a current
window into the aligned arrays these take. The KS statistic of raw values has a module of
its own, `kstest`. The definitions are stated in `alertd.drift`.

SciPy is imported inside the functions that use it, on first use: importing scipy.stats
took more than a second, which every start of the daemon and every `alertd check` paid,
drift rules or not.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from alertd.drift.values import Floats, Ints

# What an empty share becomes before logarithms and divisions (see the definitions).
EMPTY_SHARE = 1e-4
# Wasserstein keeps the index arrays of sizes n and m up to this n + m (2.6 MB at most
# for each of the few pairs it keeps).
CACHED_PIECES_MAX = 110_000


def floor_empty(shares: Floats) -> Floats:
    """Empty shares become EMPTY_SHARE; the others are left as they are (no renormalising)."""
    return np.where(shares == 0.0, EMPTY_SHARE, shares)


def psi(reference: Floats, current: Floats) -> float:
    """Σ (cur - ref) · ln(cur / ref) over aligned shares, empty shares floored."""
    ref, cur = floor_empty(reference), floor_empty(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jsd(reference: Floats, current: Floats) -> float:
    """Jensen-Shannon distance in base 2 (the square root of the divergence)."""
    from scipy import special  # imported on first use (see the module docstring)

    mid = (reference + current) / 2.0
    divergence = (special.rel_entr(reference, mid).sum()
                  + special.rel_entr(current, mid).sum()) / (2.0 * math.log(2.0))
    # Rounding can leave a divergence of -1e-17 for identical inputs.
    return math.sqrt(max(float(divergence), 0.0))


def chi2_pvalue(reference: Floats, counts: Floats) -> float:
    """Goodness of fit of `counts` to the reference shares (floored, not renormalised)."""
    if counts.size < 2:
        return 1.0  # One bin: every count fits.
    expected = floor_empty(reference) * counts.sum()
    statistic = float(np.sum((counts - expected) ** 2 / expected))
    from scipy import stats  # imported on first use (see the module docstring)

    return float(stats.chi2.sf(statistic, counts.size - 1))


def binned_ks(reference: Floats, current: Floats) -> float:
    """Largest gap between the cumulative shares at the bin bounds."""
    gaps = np.cumsum(reference)[:-1] - np.cumsum(current)[:-1]
    return float(np.max(np.abs(gaps), initial=0.0))


def ks_pvalue_asymptotic(statistic: float, n: int, m: int) -> float:
    """P(D >= statistic) under the null, as SciPy's ks_2samp computes it for large samples."""
    from scipy import stats  # imported on first use (see the module docstring)

    return float(stats.kstwo.sf(statistic, round(n * m / (n + m))))


def wasserstein(reference: Floats, current: Floats) -> float:
    """∫ |F_ref - F_cur| dx of two sorted samples, as ∫₀¹ |Q_ref(p) - Q_cur(p)| dp.

    On quantile functions no merge of the values is needed: the pieces where both are
    constant depend on the two sizes only."""
    n, m = reference.size, current.size
    if n == m:
        return float(np.mean(np.abs(reference - current)))
    # The pieces depend on the sizes only, and the features of one model usually share
    # their window size: keep a few, unless they are big.
    pieces = _cached_pieces if n + m <= CACHED_PIECES_MAX else quantile_pieces
    ref_index, cur_index, width = pieces(n, m)
    return float(np.sum(width * np.abs(reference[ref_index] - current[cur_index])))


def quantile_pieces(n: int, m: int) -> tuple[Ints, Ints, Floats]:
    """The pieces (b_k, b_k+1] of [0, 1] between the steps k/n of Q_ref and j/m of Q_cur,
    as the index of Q_ref and of Q_cur on each and its width.

    In units of 1/(n·m) the steps are i·m and j·n; each one's place in the merged order
    is known from the count of the other's steps before it, so no sort is needed."""
    i = np.arange(n + 1, dtype=np.int64)
    j = np.arange(m + 1, dtype=np.int64)
    bounds = np.empty(n + m + 2, dtype=np.int64)
    bounds[i + (i * m + n - 1) // n] = i * m  # ceil(i·m/n) steps j·n lie below i·m
    bounds[j + (j * n) // m + 1] = j * n  # floor(j·n/m) + 1 steps i·m lie at or below
    starts = bounds[:-1]
    ref_index = np.minimum(starts // m, n - 1).astype(np.intp)
    cur_index = np.minimum(starts // n, m - 1).astype(np.intp)
    width = np.diff(bounds) / (n * m)
    for array in (ref_index, cur_index, width):
        array.setflags(write=False)
    return ref_index, cur_index, width


_cached_pieces = lru_cache(maxsize=8)(quantile_pieces)
