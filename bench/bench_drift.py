"""Drift statistics for 100 features: PSI, KS and Wasserstein of 10,000 current values per
feature against references of 10,000 values each, as one evaluation of a drift rule.

Prints one JSON line: the best and the median time of an evaluation over `--repeat`
rounds (checking and sorting the windows included, building the references not), the
best time of each part, and the largest differences from SciPy over the features (within
the sketch's error bound when the references hold more than 100,000 values).

    python bench/bench_drift.py [--features 100] [--values 10000] [--reference-values 10000]
                                [--unequal] [--repeat 30] [--through-rules [--pushes 10]]

`--unequal` gives feature f a window of `values - f` values: every window size differs
from the reference's and from the other features', the slow case for Wasserstein.

`--through-rules` measures the same work the way the daemon does it instead: the values
are pushed as webhook bodies (parsed by the webhook's parser) into the daemon's sample
windows, in `--pushes` batches per feature spread over the hour; three compiled rules,
`psi`, `ks` and `wasserstein` of `feature_value{model="churn"}[1h]` by (feature), are
evaluated as one round of the scheduler. Prints one JSON line (`"benchmark":
"drift_rules"`): best and median milliseconds of a round, the same with every window
sorted in the evaluating thread (`one_thread_*`), the rate of the pushes' parse and store,
and the largest difference of the rules' scores from the statistics computed directly on
the same windows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
from scipy import stats

from alertd.drift import Reference, Sample, Window, score_many, sorting
from alertd.drift.values import Floats
from alertd.lang.check import check_files
from alertd.lang.context import WindowKey
from alertd.lang.drift_eval import Baseline
from alertd.lang.parse import parse_file
from alertd.model import Vector
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.sources.push import parse_samples_bytes
from alertd.sources.windows import SampleWindows

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
    parser.add_argument("--through-rules", action="store_true")
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--reference-values", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--unequal", action="store_true")
    args = parser.parse_args()

    if args.through_rules:
        print(json.dumps(through_rules(args)))
        return
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


# --- through the rules ---------------------------------------------------------------------

T0 = 1_800_000_000.0
WINDOW = 3600.0
RULES = """
baseline "b" { captured = true }
group drift {
  interval = 1h
""" + "".join(f"""  alert Drift_{method} {{
    when = {method}(feature_value{{model="churn"}}[1h], baseline = "b") by (feature) > 0.25
    severity = "ticket"
  }}
""" for method in METHODS) + "}\n"


def push_windows(windows: SampleWindows, values: list[Floats], pushes: int) -> float:
    """Each feature's values as `pushes` webhook samples spread over the hour before T0,
    parsed by the webhook's parser and stored by the daemon's windows; returns seconds."""
    seconds = 0.0
    for k in range(pushes):
        t = T0 - WINDOW + (k + 1) * WINDOW / (pushes + 1)
        body = json.dumps([
            {"metric": "feature_value", "labels": {"model": "churn", "feature": f"f{f}"},
             "values": np.array_split(window, pushes)[k].tolist(), "timestamp": t}
            for f, window in enumerate(values)]).encode()
        start = time.perf_counter()
        parsed, errors = parse_samples_bytes(body)
        rejected = windows.ingest([sample for _, sample in parsed], t)
        seconds += time.perf_counter() - start
        if errors or rejected:
            raise RuntimeError(f"push refused: {errors[:1]} {rejected[:1]}")
    return seconds


def rule_round(evaluator: Evaluator, windows: SampleWindows) -> float:
    """One evaluation round of the three rules, as the scheduler runs it; returns seconds."""
    start = time.perf_counter()
    cache: dict[tuple[str, float], Vector] = {}
    drift_windows: dict[WindowKey, Window | None] = {}
    for rule in evaluator.ruleset.rules:
        evaluator.evaluate(rule, T0, windows.store, query_cache=cache,
                           drift_windows=drift_windows)
        if evaluator.states[rule.name].last_error:
            raise RuntimeError(evaluator.states[rule.name].last_error)
    return time.perf_counter() - start


def largest_gap(evaluator: Evaluator, references: list[Reference],
                values: list[Floats]) -> float:
    """The largest difference of the rules' last scores from `score_many` on the windows."""
    gap = 0.0
    for method in METHODS:
        direct = score_many(method, references, values)
        scores = {s.feature: s.value for s in evaluator.drift_scores[f"Drift_{method}"]}
        if len(scores) != len(references):
            raise RuntimeError(f"{method}: {len(scores)} scores for {len(references)} features")
        gap = max(gap, *(abs(scores[f"f{f}"] - float(direct[f])) for f in range(len(values))))
    return gap


def through_rules(args: argparse.Namespace) -> dict[str, object]:
    rng = np.random.default_rng(14)
    raw = [feature_values(rng, f, args.reference_values, 0.0) for f in range(args.features)]
    references = [Reference.numeric(values) for values in raw]
    shifts = (0.0, 0.0, 0.05, 0.5)
    values = [feature_values(rng, f, args.values - f * args.unequal, shifts[f % 4])
              for f in range(args.features)]
    windows = SampleWindows(retention=WINDOW + 300.0)
    ingest_s = push_windows(windows, values, args.pushes)

    result = check_files([parse_file(RULES, "bench.rules").file])
    assert result.ok, result.diagnostics[:3]
    baseline = Baseline("b", {f"f{f}": ref for f, ref in enumerate(references)}, 1)
    evaluator = Evaluator(RuleSet.from_groups(result.groups), {"b": baseline})
    first = rule_round(evaluator, windows)
    totals = [rule_round(evaluator, windows) * 1e3 for _ in range(args.repeat)]
    sorting.max_helpers = 0  # the same rounds with every window sorted in this thread
    one_thread = [rule_round(evaluator, windows) * 1e3 for _ in range(args.repeat)]
    sorting.max_helpers = None
    return {
        "benchmark": "drift_rules",
        "features": args.features,
        "current_values": args.values,
        "unequal_sizes": args.unequal,
        "reference_values": args.reference_values,
        "pushes_per_feature": args.pushes,
        "rules": [f"{method}(...) by (feature) > 0.25" for method in METHODS],
        "repeat": args.repeat,
        "best_ms": round(min(totals), 2),
        "median_ms": round(statistics.median(totals), 2),
        "first_ms": round(first * 1e3, 2),
        "sort_threads": sorting.sort_threads(),
        "one_thread_best_ms": round(min(one_thread), 2),
        "one_thread_median_ms": round(statistics.median(one_thread), 2),
        "target_ms": TARGET_MS,
        "best_under_target": min(totals) < TARGET_MS,
        "median_under_target": statistics.median(totals) < TARGET_MS,
        "ingest_values_per_s": round(sum(v.size for v in values) / ingest_s),
        "max_abs_diff_from_direct": largest_gap(evaluator, references, values),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()
