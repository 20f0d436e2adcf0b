"""An SLO over pushed counters for a whole 30-day period: the memory it keeps, and the time
of one evaluation of its burn rates.

Feeds 30 days of two counters (good and total, one sample a minute each, as a service
pushing every minute) through the raw windows into the SLO's 5-minute buckets, trimming
the raw windows to an hour as the daemon does, then evaluates every window of the default
page and ticket tiers and the period's budget at the end. Prints one JSON line: the bytes
the buckets hold, the bytes tracemalloc saw the SLO keep (buckets, the per-series last
samples and the objects around them), what 30 days of the raw samples would have taken
in the series store instead, and the best time of one evaluation over `--repeat` rounds.

    python bench/bench_slo.py [--days 30] [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

from alertd.lang.check import check_files
from alertd.lang.context import EvalContext
from alertd.lang.parse import parse_file
from alertd.model import Labels
from alertd.rules.slo import Slo
from alertd.sources.samples import SeriesStore

RULES = '''slo checkout {
  objective = 99.9%
  good      = requests_total{code="200"}
  total     = requests_total
}
'''
GOOD = Labels({"__name__": "requests_total", "code": "200"})
BAD = Labels({"__name__": "requests_total", "code": "500"})
DAY = 86400.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    (spec,) = check_files([parse_file(RULES, "bench.rules").file]).slos
    minutes = int(args.days * DAY / 60)

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    slo = Slo(spec)
    raw = SeriesStore()
    for m in range(1, minutes + 1):
        t = m * 60.0
        raw.add(GOOD, t, m * 999.0)
        raw.add(BAD, t, m * 1.0)
        if m % 30 == 0:  # an evaluation every half hour folds the raw samples in
            slo.budget_remaining(EvalContext(t, raw))
            raw.drop_before(t - 3600.0)
    raw.drop_before(minutes * 60.0 + 1)  # the raw windows are not the SLO's
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()

    at = minutes * 60.0
    best = float("inf")
    for k in range(args.repeat):
        ctx = EvalContext(at + k * 1e-3, raw)  # a new time: the figures are computed again
        start = time.perf_counter()
        slo.burn_rate(ctx, 3600.0)
        best = min(best, time.perf_counter() - start)
    figures = slo.figures
    assert figures is not None and slo.counters is not None
    print(json.dumps({
        "benchmark": "slo",
        "days": args.days,
        "buckets": len(slo.counters.counts[0]),
        "bucket_bytes": slo.counters.nbytes,
        "kept_bytes_traced": kept,
        "raw_samples_instead": 2 * minutes,
        "raw_bytes_instead": 2 * minutes * 16,
        "evaluation_ms_best": round(best * 1000, 3),
        "burn_rate_1h": figures.burn_rates[3600.0],
        "budget_remaining": figures.remaining,
    }))


if __name__ == "__main__":
    main()
