"""Parse and check a generated rule file of 5,000 alerts.

Prints one JSON line with rules per second for parsing alone and for parsing plus
checking (what `alertd check` does), and the file's size.

    python bench/bench_parse.py [--alerts 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time

from alertd.lang.check import check_files
from alertd.lang.parse import parse_file

GROUP_SIZE = 50


def generate(alerts: int) -> str:
    """Alerts as people write them: a rate or ratio, for, severity, runbook, summary."""
    out: list[str] = []
    for g in range(alerts // GROUP_SIZE):
        out.append(f'group service_{g} {{\n  interval = 30s\n  owner    = "team-{g % 12}"\n'
                   f'  labels   = {{ service = "svc{g}" }}\n')
        for a in range(GROUP_SIZE):
            i = g * GROUP_SIZE + a
            if i % 3 == 0:
                when = (f'sum by (model_version) (rate(errors_total{{service="svc{g}", '
                        f'code=~"5.."}}[5m])) / sum by (model_version) '
                        f'(rate(requests_total{{service="svc{g}"}}[5m])) > 2%')
            elif i % 3 == 1:
                when = f'rate(http_errors_total{{service="svc{g}", route="/r{a}"}}[5m]) > 0.5'
            else:
                when = (f'prom(`histogram_quantile(0.99, sum by (le) (rate('
                        f'latency_seconds_bucket{{service="svc{g}"}}[5m])))`) > 250ms')
            out.append(
                f"\n  alert Rule{i} {{\n"
                f"    when     = {when}\n"
                f"    for      = 5m\n"
                f'    severity = "page"\n'
                f'    runbook  = "https://runbooks.example.com/svc{g}/rule{i}"\n'
                f'    summary  = "{{{{ labels.model_version }}}} at {{{{ value | humanize }}}}"\n'
                f"  }}\n")
        out.append("}\n\n")
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = generate(args.alerts)

    best_parse = best_total = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        parsed = parse_file(source, "bench.rules", with_comments=False)
        parsed_at = time.perf_counter()
        result = check_files([parsed.file])
        done = time.perf_counter()
        assert parsed.ok and result.ok, (parsed.diagnostics[:3], result.diagnostics[:3])
        assert sum(len(g.alerts) for g in result.groups) == args.alerts
        best_parse = min(best_parse, parsed_at - start)
        best_total = min(best_total, done - start)

    print(json.dumps({
        "benchmark": "parse_and_check",
        "alerts": args.alerts,
        "bytes": len(source),
        "lines": source.count("\n"),
        "parse_seconds": round(best_parse, 3),
        "parse_and_check_seconds": round(best_total, 3),
        "parse_rules_per_second": round(args.alerts / best_parse),
        "rules_per_second": round(args.alerts / best_total),
    }))


if __name__ == "__main__":
    main()
