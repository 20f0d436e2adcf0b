"""The loaded rules and their states, replaced by diff on reload.

A reload builds a new rule set from the files; rules that keep their name keep their
state (instances with their active-since and firing-since times), like Prometheus does,
so a reload never restarts `for` or re-pages. Loading fails as a whole: on any error the
caller keeps the old rules running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from alertd.errors import AlertdError
from alertd.lang.check import CheckResult
from alertd.lang.diagnostics import Diagnostic, render
from alertd.lang.drift_eval import Baseline
from alertd.lang.slo import SloSpec
from alertd.lang.spec import GroupSpec
from alertd.rules.evaluator import Evaluator, RuleSet
from alertd.rules.files import check_paths
from alertd.rules.rule import AlertRule
from alertd.rules.slo import SloSet
from alertd.rules.state import RuleState


class RuleLoadError(AlertdError):
    """The rule files have errors; `diagnostics` holds them rendered."""

    def __init__(self, diagnostics: list[str]) -> None:
        count = len(diagnostics)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in rule files:\n"
                         + "\n".join(diagnostics))
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    interval: float
    rules: tuple[AlertRule, ...]  # in evaluation order (referenced rules first)

    @property
    def streamable(self) -> tuple[AlertRule, ...]:
        """Rules that read only pushed series: evaluated again when a sample arrives.
        Not drift rules: a new sample hardly moves a window's distribution, and each
        evaluation sorts the whole window, so they keep to their interval."""
        return tuple(r for r in self.rules if r.when.selectors and not r.when.prom_queries
                     and not (r.clear and r.clear.prom_queries) and not r.drift)


@dataclass(frozen=True, slots=True)
class ReloadSummary:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]

    def __str__(self) -> str:
        return (f"{len(self.kept) + len(self.added)} rules ({len(self.added)} added, "
                f"{len(self.removed)} removed)")


def load_groups(patterns: Sequence[str], base: Path | None = None) -> tuple[GroupSpec, ...]:
    """Check the rule files matched by `patterns`; raises RuleLoadError on any error."""
    return load_checked(patterns, base).groups


def load_checked(patterns: Sequence[str], base: Path | None = None) -> CheckResult:
    """The groups and baselines of the rule files matched by `patterns`; raises
    RuleLoadError on any error."""
    paths = [str(base / p) if base and not Path(p).is_absolute() else p for p in patterns]
    result = check_paths(paths)
    # Globs that match nothing are fine for a daemon (rules may come later); other
    # problems are not.
    errors = [d for d in result.diagnostics if d.severity == "error"
              and "no files match" not in d.message and "no .rules files" not in d.message]
    if errors:
        raise load_error(errors)
    return result


def load_error(errors: Sequence[Diagnostic]) -> RuleLoadError:
    """The errors rendered with their source lines, as one RuleLoadError."""
    sources: dict[str, str | None] = {}
    for d in errors:
        if d.path not in sources:
            try:
                sources[d.path] = Path(d.path).read_text("utf-8", errors="replace")
            except OSError:
                sources[d.path] = None
    return RuleLoadError([render(d, sources[d.path]) for d in errors])


class RuleManager:
    def __init__(self, default_interval: float) -> None:
        self.default_interval = default_interval
        self.ruleset = RuleSet([])
        self.evaluator = Evaluator(self.ruleset)
        self.groups: tuple[Group, ...] = ()

    def replace(self, specs: Sequence[GroupSpec], default_interval: float,
                prometheus_url: str | None = None,
                baselines: Mapping[str, Baseline] | None = None,
                slos: Sequence[SloSpec] = ()) -> ReloadSummary:
        """Swap in new rules, carrying over the state of every rule that keeps its name.
        `prometheus_url` is where people open Prometheus (the graph links of prom() rules);
        `baselines` are the versions the drift functions use until the next reload; the
        `slos` keep the counters of the SLOs that keep their name and events."""
        slo_set = SloSet(slos, specs, self.evaluator.slos)
        ruleset = RuleSet.from_groups(specs, default_interval, prometheus_url, slo_set)
        old_states = self.evaluator.states
        evaluator = Evaluator(ruleset, baselines, slo_set)
        kept = [name for name in evaluator.states if name in old_states]
        for name in kept:
            evaluator.states[name] = old_states[name]
        evaluator.unexplained = {n for n in self.evaluator.unexplained if n in evaluator.states}
        self.default_interval = default_interval
        self.ruleset, self.evaluator = ruleset, evaluator
        self.groups = self._groups(specs, ruleset)
        return ReloadSummary(
            added=tuple(n for n in evaluator.states if n not in old_states),
            removed=tuple(n for n in old_states if n not in evaluator.states),
            kept=tuple(kept),
        )

    def restore(self, states: dict[str, RuleState]) -> list[str]:
        """Restore saved states for the rules that exist; returns the names restored."""
        restored = [name for name in states if name in self.evaluator.states]
        for name in restored:
            self.evaluator.states[name] = states[name]
        self.evaluator.unexplained.update(restored)
        return restored

    def _groups(self, specs: Sequence[GroupSpec], ruleset: RuleSet) -> tuple[Group, ...]:
        order = {rule.name: i for i, rule in enumerate(ruleset.rules)}
        groups = []
        for spec in specs:
            rules = sorted((ruleset.by_name[a.name] for a in spec.alerts),
                           key=lambda r: order[r.name])
            # An alert with its own interval (say an hourly drift check in a 30s group)
            # runs on its own schedule: one runtime group per interval.
            intervals = sorted({r.interval for r in rules})
            for interval in intervals:
                members = tuple(r for r in rules if r.interval == interval)
                groups.append(Group(spec.name, interval, members))
        return tuple(groups)
