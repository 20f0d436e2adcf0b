"""Drift statistics for 100 features: PSI, KS and Wasserstein of 10,000 current values per
feature against references of 10,000 values each, as one evaluation of a drift rule.

Prints one JSON line: the best and the median time of an evaluation over `--repeat`
rounds (checking and sorting the windows included, building the references not), the
best time of each part, and the largest differences from SciPy over the features (within
the sketch's error bound when the references hold more than 100,000 values).

    python bench/bench_drift.py [--features 100] [--values 10000] [--reference-values 10000]
                                [--unequal] [--repeat 30]

`--unequal` gives feature f a window of `values - f` values: every window size differs
from the reference's and from the other features', the slow case for Wasserstein.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
from scipy import stats

from alertd.drift import Reference, Sample, score_many
from alertd.drift.values import Floats

METHODS = ("psi", "ks", "wasserstein")
TARGET_MS = 50.0


def feature_values(rng: np.random.Generator, feature: int, size: int, shift: float) -> Floats:
    """A mix of shapes, so that ties and skew are in the run as well: normal, lognormal
    (skewed), and rounded values (many ties)."""
    kind = feature % 3
    if kind == 0:
        return rng.normal(shift, 1.0 + shift, size)
    if kind == 1:
        return rng.lognormal(shift, 1.0, size)
    return np.round(rng.normal(50.0 + 10 * shift, 10.0, size))


def evaluate(references: list[Reference], windows: list[Floats]) -> dict[str, float]:
    """One evaluation; returns the seconds each part took."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    samples = [Sample.of(window) for window in windows]
    times["prepare"] = time.perf_counter() - start
    for method in METHODS:
        begin = time.perf_counter()
        score_many(method, references, samples)
        times[method] = time.perf_counter() - begin
    times["total"] = time.perf_counter() - start
    return times


def against_scipy(references: list[Reference], raw: list[Floats],
                  windows: list[Floats]) -> dict[str, float | bool]:
    """The largest differences of KS and Wasserstein from SciPy's over the full reference
    values, and whether each is within the reference's sketch error (0 when exact, so
    then only float rounding is allowed)."""
    ks = score_many("ks", references, windows)
    emd = score_many("wasserstein", references, windows)
    ks_gap = emd_gap = 0.0
    within = True
    for i, (reference, window) in enumerate(zip(raw, windows, strict=True)):
        ks_diff = abs(float(ks[i]) - float(stats.ks_2samp(reference, window).statistic))
        emd_diff = abs(float(emd[i]) - float(stats.wasserstein_distance(reference, window)))
        ks_gap, emd_gap = max(ks_gap, ks_diff), max(emd_gap, emd_diff)
        slack = 1e-9 * (1.0 + emd[i])
        within = within and bool(ks_diff <= references[i].ks_error + 1e-12
                                 and emd_diff <= references[i].wasserstein_error + slack)
    return {"ks_max_abs_diff": ks_gap, "wasserstein_max_abs_diff": emd_gap,
            "within_sketch_bounds": within}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--reference-values", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--unequal", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(14)
    raw = [feature_values(rng, f, args.reference_values, 0.0) for f in range(args.features)]
    start = time.perf_counter()
    references = [Reference.numeric(values) for values in raw]
    build_s = time.perf_counter() - start
    # Half of the features do not drift, a quarter a little, a quarter a lot.
    shifts = (0.0, 0.0, 0.05, 0.5)
    windows = [feature_values(rng, f, args.values - f * args.unequal, shifts[f % 4])
               for f in range(args.features)]

    first = evaluate(references, windows)["total"]
    rounds = [evaluate(references, windows) for _ in range(args.repeat)]
    totals = [r["total"] * 1e3 for r in rounds]
    print(json.dumps({
        "benchmark": "drift",
        "features": args.features,
        "current_values": args.values,
        "unequal_sizes": args.unequal,
        "reference_values": args.reference_values,
        "methods": list(METHODS),
        "repeat": args.repeat,
        "best_ms": round(min(totals), 2),
        "median_ms": round(statistics.median(totals), 2),
        "first_ms": round(first * 1e3, 2),
        "part_best_ms": {part: round(min(r[part] for r in rounds) * 1e3, 2)
                         for part in ("prepare", *METHODS)},
        "target_ms": TARGET_MS,
        "best_under_target": min(totals) < TARGET_MS,
        "median_under_target": statistics.median(totals) < TARGET_MS,
        "build_references_ms": round(build_s * 1e3, 1),
        "sketched_references": sum(reference.sketched for reference in references),
        "vs_scipy": against_scipy(references, raw, windows),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
