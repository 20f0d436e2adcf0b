"""Evaluate 10,000 alert rules over 100,000 local series at one timestamp.

Prints one JSON line: series-evaluations per second (each series a rule reads counts once
per rule), for the whole rule path (expression, labels, state machine, annotations) and for
the expressions alone.

    python bench/bench_eval.py [--rules 10000] [--series-per-rule 10]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time

from alertd.lang.check import check_files
from alertd.lang.context import EvalContext
from alertd.lang.parse import parse_file
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.sources.samples import SeriesStore

KINDS = [
    # (template, share of series it reads per rule)
    'rate(http_requests_total{{service="{svc}"}}[5m]) > 0.5',
    'avg_over_time(queue_depth{{service="{svc}"}}[5m]) > 90',
    'sum by (service) (rate(http_errors_total{{service="{svc}"}}[5m])) > 0.1',
    'latency_seconds{{service="{svc}"}} > 250ms',
]
METRICS = ["http_requests_total", "queue_depth", "http_errors_total", "latency_seconds"]


def build_store(services: int, per_service: int, at: float, step: float = 30.0,
                points: int = 21) -> SeriesStore:
    store = SeriesStore()
    for svc in range(services):
        metric = METRICS[svc % len(METRICS)]
        for inst in range(per_service):
            series = store.series_for({"__name__": metric, "service": f"s{svc}",
                                       "instance": f"i{inst}", "job": "api"})
            base = (svc * 7 + inst) % 100
            for p in range(points):
                t = at - (points - 1 - p) * step
                # Counters grow; gauges wander. About one rule in ten fires.
                value = p * (base / 40.0) if metric.endswith("_total") else float(base)
                series.append(t, value)
    return store


def build_rules(count: int) -> str:
    lines = []
    for i in range(count):
        expr = KINDS[i % len(KINDS)].format(svc=f"s{i}")
        lines.append(f'alert Rule{i} {{\n  when = {expr}\n  for = 5m\n  severity = "page"\n'
                     f'  summary = "{{{{ labels.service }}}} at {{{{ value }}}}"\n}}\n')
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--series-per-rule", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    at = 1_700_000_000.0

    store = build_store(args.rules, args.series_per_rule, at)
    parsed = parse_file(build_rules(args.rules), "bench.rules")
    result = check_files([parsed.file])
    assert result.ok, result.diagnostics[:3]
    ruleset = RuleSet.from_groups(result.groups)

    gc.collect()
    best_first = best_rules = best_exprs = float("inf")
    fired = 0
    for _ in range(args.repeat):
        # The first round creates every instance; later rounds (what a running daemon
        # does at every interval) update them.
        evaluator = Evaluator(ruleset)
        start = time.perf_counter()
        for rule in ruleset.rules:
            fired += len(evaluator.evaluate(rule, at, store))
        best_first = min(best_first, time.perf_counter() - start)

        start = time.perf_counter()
        for rule in ruleset.rules:
            evaluator.evaluate(rule, at + 30, store)
        best_rules = min(best_rules, time.perf_counter() - start)

        start = time.perf_counter()
        for rule in ruleset.rules:
            rule.when.eval(EvalContext(at, store))
        best_exprs = min(best_exprs, time.perf_counter() - start)

    series_evals = args.rules * args.series_per_rule
    print(json.dumps({
        "benchmark": "evaluate",
        "rules": args.rules,
        "series": len(store),
        "series_evaluations": series_evals,
        "instances_per_round": fired // args.repeat,
        "first_round_seconds": round(best_first, 4),
        "rule_round_seconds": round(best_rules, 4),
        "first_round_series_evals_per_second": round(series_evals / best_first),
        "series_evals_per_second": round(series_evals / best_rules),
        "expr_only_series_evals_per_second": round(series_evals / best_exprs),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
