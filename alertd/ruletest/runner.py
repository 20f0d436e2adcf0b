"""Running rule unit tests and reporting, as `promtool test rules` does for Prometheus.

For each test, every rule is evaluated at each multiple of its interval from 0 up to the
largest eval_time of the test, in time order (at equal times, rules that others refer to
with alert() first). Each expectation is checked against the state after the last
evaluation at or before its eval_time.

The rules see the test's input_series as local samples. A `prom("...")` query is answered
from the test's prom_results whose query is the same text (runs of whitespace count as one
space), as an instant query would: for each stubbed series, its latest sample at or before
the evaluation time, unless it is 5 minutes old or more or a stale marker. A query without
any prom_results is answered with an empty vector, as if Prometheus had no data for it;
failure reports list such queries, since a typo in a query is an easy mistake.

As with promtool, a rule that fails to evaluate fails the test at that time (later
expectations are not checked), and rule files with errors fail the whole test file.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO, cast

from alertd.durations import format_duration
from alertd.errors import AlertdError
from alertd.lang.context import DEFAULT_LOOKBACK, EvalContext
from alertd.lang.diagnostics import Diagnostic, render
from alertd.lang.drift_eval import Baseline
from alertd.model import Labels, Sample, Vector
from alertd.rules.baselines import baseline_problems, used_baselines
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.rules.files import check_paths
from alertd.rules.slo import SloSet
from alertd.rules.state import Health, Status
from alertd.ruletest.baselines import build_baselines
from alertd.ruletest.compare import alert_lines, diff_alerts, diff_samples, sample_lines
from alertd.ruletest.load import load_test_file
from alertd.ruletest.spec import (
    AlertTest,
    ExprTest,
    PromResult,
    RuleTestCase,
    RuleTestFile,
    TestFileError,
    normalize_query,
)
from alertd.series import Series, is_stale
from alertd.sources.samples import SeriesStore
from alertd.suggest import did_you_mean

__all__ = ["PromStub", "run_test_file", "run_test_files"]

def run_test_files(paths: Sequence[str], out: TextIO) -> bool:
    """Run every test file, writing a report to `out`; True when every test passed."""
    ok = True
    for path in paths:
        ok = run_test_file(path, out) and ok
    return ok


def run_test_file(path: str, out: TextIO) -> bool:
    try:
        spec = load_test_file(path)
    except TestFileError as exc:
        for line in exc.lines:
            print(line, file=out)
        print(f"{path}: invalid test file, no tests run", file=out)
        return False
    loaded = _load_rules(spec, out)
    if loaded is None:
        print(f"{path}: the rule files have errors, no tests run", file=out)
        return False
    ruleset, baselines, slos = loaded
    passed = 0
    for case in spec.tests:
        slos.reset()  # each test's counters start from nothing
        failures = _CaseRun(spec, case, ruleset, baselines, slos).run()
        for block in failures:
            print(block, file=out)
        passed += not failures
    total = len(spec.tests)
    summary = f"{path}: {total} test{'' if total == 1 else 's'}, {passed} passed"
    if passed < total:
        summary += f", {total - passed} failed"
    print(summary, file=out)
    return passed == total


def _load_rules(spec: RuleTestFile,
                out: TextIO) -> tuple[RuleSet, Mapping[str, Baseline], SloSet] | None:
    """The compiled rules, their baselines and SLOs, or None after printing why they
    cannot be used."""
    result = check_paths(spec.rule_files) if spec.rule_files else None
    if result is not None and not result.ok:
        _print_diagnostics(result.diagnostics, out)
        return None
    groups = result.groups if result else ()
    baselines, problems = build_baselines(spec.baselines, result.baselines if result else (),
                                          used_baselines(groups))
    for problem in problems:
        print(f"{spec.path}: {problem}", file=out)
    mismatched = baseline_problems(groups, baselines)
    _print_diagnostics(mismatched, out)
    if problems or mismatched:
        return None
    slos = SloSet(result.slos if result else (), groups)
    try:
        ruleset = RuleSet.from_groups(groups, default_interval=spec.evaluation_interval,
                                      slos=slos)
    except AlertdError as exc:
        print(f"{spec.path}: cannot compile the rules: {exc}", file=out)
        return None
    return ruleset, baselines, slos


def _print_diagnostics(diagnostics: Iterable[Diagnostic], out: TextIO) -> None:
    sources: dict[str, str | None] = {}
    for diag in diagnostics:
        if diag.path not in sources:
            sources[diag.path] = _read_source(diag.path)
        print(render(diag, sources[diag.path]), file=out)


def _read_source(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


# --- prom() stub ---------------------------------------------------------------------------


class PromStub:
    """A QueryFn answering prom() from a test's prom_results."""

    def __init__(self, results: Iterable[PromResult], interval: float,
                 lookback: float = DEFAULT_LOOKBACK) -> None:
        self.lookback = lookback
        self._series: dict[str, list[Series]] = {}
        for result in results:
            series = Series(result.labels)
            for i, value in enumerate(result.values):
                if value is not None:
                    series.append(i * interval, value)
            self._series.setdefault(result.query, []).append(series)
        # Queries asked for that no prom_results answer, in the order first asked.
        self.unknown: dict[str, None] = {}

    def __call__(self, query: str, at: float) -> Vector:
        key = normalize_query(query)
        stubbed = self._series.get(key)
        if stubbed is None:
            self.unknown.setdefault(key)
            return []
        out: Vector = []
        for series in stubbed:
            i = bisect.bisect_right(series.ts, at) - 1
            if i < 0 or series.ts[i] <= at - self.lookback:
                continue
            value = series.vs[i]
            if not is_stale(value):
                out.append(Sample(series.labels, value))
        return out


# --- one test ------------------------------------------------------------------------------


def _round_time(t: float) -> float:
    # Multiples of 100ms intervals are not exact in binary; keep times comparable.
    return round(t, 6)


@dataclass
class _Events:
    rules: list[int] = field(default_factory=list)  # indexes into RuleSet.rules
    alert_checks: list[int] = field(default_factory=list)  # indexes into alert_rule_tests
    expr_checks: list[int] = field(default_factory=list)


class _CaseRun:
    def __init__(self, spec: RuleTestFile, case: RuleTestCase, ruleset: RuleSet,
                 baselines: Mapping[str, Baseline], slos: SloSet) -> None:
        self.spec = spec
        self.case = case
        self.ruleset = ruleset
        self.evaluator = Evaluator(ruleset, baselines, slos)
        self.store = SeriesStore()
        for series in case.input_series:
            for i, value in enumerate(series.values):
                if value is not None:
                    self.store.add(series.labels, i * case.interval, value)
        self.stub = PromStub(case.prom_results, case.interval)
        # Failure blocks by (kind, index), so they print in file order.
        self.failures: dict[tuple[int, int], str] = {}

    @property
    def title(self) -> str:
        name = f' "{self.case.name}"' if self.case.name else ""
        return f"FAILED {self.spec.path}, test #{self.case.index + 1}{name}"

    def run(self) -> list[str]:
        events = self._schedule()
        for at in sorted(events):
            due = events[at]
            errors = self._evaluate(at, due.rules)
            if errors:
                self._stop(at, errors, events)
                break
            for i in due.alert_checks:
                self._check_alerts(i, self.case.alert_rule_tests[i])
            for i in due.expr_checks:
                self._check_expr(i, self.case.promql_expr_tests[i])
        return [self.failures[k] for k in sorted(self.failures)]

    def _schedule(self) -> dict[float, _Events]:
        events: dict[float, _Events] = {}
        for i, test in enumerate(self.case.alert_rule_tests):
            if test.alertname not in self.ruleset.by_name:
                known = self.ruleset.by_name.keys()
                self.failures[(0, i)] = (
                    f"{self.title}: {test.where}.alertname: there is no alert rule named "
                    f'"{test.alertname}" in the rule files{did_you_mean(test.alertname, known)}')
                continue
            events.setdefault(_round_time(test.eval_time), _Events()).alert_checks.append(i)
        for i, expr_test in enumerate(self.case.promql_expr_tests):
            events.setdefault(_round_time(expr_test.eval_time), _Events()).expr_checks.append(i)
        if not events:
            return events
        horizon = max(events)
        for r, rule in enumerate(self.ruleset.rules):
            k = 0
            while (at := _round_time(k * rule.interval)) <= horizon:
                events.setdefault(at, _Events()).rules.append(r)
                k += 1
        return events

    def _evaluate(self, at: float, rules: list[int]) -> list[str]:
        errors: list[str] = []
        for r in sorted(rules):  # RuleSet order: dependencies first
            rule = self.ruleset.rules[r]
            self.evaluator.evaluate(rule, at, self.store, self.stub)
            state = self.evaluator.states[rule.name]
            if state.health is Health.ERROR:
                errors.append(f"{rule.name}: {state.last_error}")
        return errors

    def _stop(self, at: float, errors: list[str], events: Mapping[float, _Events]) -> None:
        lines = [f"{self.title}: rule evaluation failed at {format_duration(at)}:"]
        lines.extend(f"  {e}" for e in errors)
        skipped = sum(len(e.alert_checks) + len(e.expr_checks)
                      for t, e in events.items() if t >= at)
        if skipped:
            lines.append(f"  ({skipped} expectation{'' if skipped == 1 else 's'} at or after "
                         f"{format_duration(at)} not checked)")
        self.failures[(-1, 0)] = "\n".join(lines)

    # alert_rule_test ----------------------------------------------------------------------

    def _check_alerts(self, index: int, test: AlertTest) -> None:
        got = dict(self.evaluator.firing(test.alertname))
        diff = diff_alerts(test, got)
        if diff.same(got):
            return
        lines = [f"{self.title}, alertname {test.alertname} at eval_time "
                 f"{format_duration(test.eval_time)}:", *alert_lines(test, got, diff)]
        pending = self.evaluator.states[test.alertname].in_status(Status.PENDING)
        if pending and diff.missing:
            lines.append("  pending (not compared, as their `for` has not passed):")
            for inst in sorted(pending, key=lambda p: p.labels.items_tuple):
                lines.append(f"    - labels: {inst.labels}    # since "
                             f"{format_duration(inst.active_at)}")
        lines.extend(self._unknown_queries(self._queries_of_rule(test.alertname)))
        self.failures[(0, index)] = "\n".join(lines)

    def _queries_of_rule(self, name: str) -> set[str]:
        """The prom() queries of a rule and of the rules it refers to, transitively."""
        queries: set[str] = set()
        todo, seen = [name], set()
        while todo:
            rule = self.ruleset.by_name.get(todo.pop())
            if rule is None or rule.name in seen:
                continue
            seen.add(rule.name)
            for expr in (rule.when, rule.clear):
                if expr is not None:
                    queries.update(normalize_query(q) for q in expr.prom_queries)
            todo.extend(rule.alert_refs)
        return queries

    def _unknown_queries(self, queries: set[str]) -> list[str]:
        unknown = [q for q in self.stub.unknown if q in queries]
        if not unknown:
            return []
        lines = ["  note: prom() queries without prom_results (answered with no data):"]
        lines.extend(f"    - {q}" for q in unknown)
        return lines

    # promql_expr_test ---------------------------------------------------------------------

    def _check_expr(self, index: int, test: ExprTest) -> None:
        title = (f"{self.title}, expr `{' '.join(test.expr.split())}` at eval_time "
                 f"{format_duration(test.eval_time)}:")
        ctx = EvalContext(test.eval_time, self.store, self.stub, self.evaluator.alerts,
                          baselines=self.evaluator.baselines, slos=self.evaluator.slos.sources)
        try:
            value = test.compiled.eval(ctx)
        except (AlertdError, ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            self.failures[(1, index)] = f"{title}\n  evaluation failed: {exc}"
            return
        # The spec admits only instant vectors and scalars.
        if isinstance(value, list):
            got = list(cast(Vector, value))
        else:
            got = [Sample(Labels(), float(cast(float, value)))]
        diff = diff_samples(test, got)
        if diff.same:
            return
        queries = {normalize_query(q) for q in test.compiled.prom_queries}
        for name in test.compiled.alert_refs:
            queries |= self._queries_of_rule(name)
        lines = [title, *sample_lines(test, got, diff), *self._unknown_queries(queries)]
        self.failures[(1, index)] = "\n".join(lines)
