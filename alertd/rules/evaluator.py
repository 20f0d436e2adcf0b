"""Rules with their states: evaluates a rule and feeds other rules' states to `alert()`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from graphlib import CycleError, TopologicalSorter
from types import MappingProxyType

from alertd.drift import Window
from alertd.errors import RuleError
from alertd.lang.context import EvalContext, QueryFn, SampleSource, WindowKey, no_query
from alertd.lang.drift_eval import Baseline, DriftScore
from alertd.lang.spec import GroupSpec
from alertd.model import Labels, Sample, Vector
from alertd.rules.inputs import ANNOTATION as BECAUSE
from alertd.rules.rule import DEFAULT_INTERVAL, AlertRule, compile_rule
from alertd.rules.slo import SloSet
from alertd.rules.state import Instance, RuleState, Status, Transition, step

# Changes that say why an instance fires (the inputs of a composite rule).
_EXPLAINED = (Status.PENDING, Status.FIRING)


class RuleSet:
    """Compiled rules in an order where every rule comes after the rules it refers to."""

    def __init__(self, rules: Sequence[AlertRule]) -> None:
        self.by_name = {r.name: r for r in rules}
        graph = {r.name: [ref for ref in r.alert_refs if ref in self.by_name] for r in rules}
        try:
            order = list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            raise RuleError(f"alert reference cycle: {' -> '.join(exc.args[1])}") from exc
        self.rules = [self.by_name[name] for name in order]

    @classmethod
    def from_groups(cls, groups: Iterable[GroupSpec], default_interval: float = DEFAULT_INTERVAL,
                    prometheus_url: str | None = None, slos: SloSet | None = None) -> RuleSet:
        rules = [compile_rule(a, g, default_interval, prometheus_url)
                 for g in groups for a in g.alerts]
        if slos is not None:  # the alerts of SLOs annotate with the SLO's figures
            rules = [replace(r, extra_annotations=slos.annotator(r.name)) for r in rules]
        return cls(rules)

    def __iter__(self) -> Iterator[AlertRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


class Evaluator:
    def __init__(self, ruleset: RuleSet, baselines: Mapping[str, Baseline] | None = None,
                 slos: SloSet | None = None) -> None:
        self.ruleset = ruleset
        # The SLOs that burn_rate() reads; their counters carry over reloads.
        self.slos = slos if slos is not None else SloSet()
        self.states: dict[str, RuleState] = {r.name: RuleState() for r in ruleset.rules}
        # The baseline versions the drift functions use, fixed when the rules loaded.
        self.baselines: Mapping[str, Baseline] = MappingProxyType(dict(baselines or {}))
        # The drift scores of each drift rule's last evaluation (for /metrics).
        self.drift_scores: dict[str, tuple[DriftScore, ...]] = {}
        # Rules whose states were restored from a save, which does not keep inputs: their
        # active instances are explained at their next evaluation, once.
        self.unexplained: set[str] = set()

    def alerts(self, name: str, state: str) -> Vector:
        rule_state = self.states.get(name)
        if rule_state is None:
            return []
        status = Status(state)
        return [Sample(i.labels, 1.0) for i in rule_state.instances.values()
                if i.status is status]

    def baselines_of(self, rule: AlertRule) -> str | None:
        """The baseline versions a rule uses, as history names them: `churn-training@3`."""
        labels = [self.baselines[n].label for n in rule.baselines if n in self.baselines]
        return ", ".join(labels) or None

    def value_of(self, name: str, labels: Labels) -> float | None:
        """The value of one instance of a rule (what alert() hides behind its 1)."""
        state = self.states.get(name)
        instance = state.instances.get(labels) if state is not None else None
        return instance.value if instance is not None else None

    def evaluate(self, rule: AlertRule, at: float, samples: SampleSource,
                 query: QueryFn = no_query,
                 query_cache: dict[tuple[str, float], Vector] | None = None,
                 drift_windows: dict[WindowKey, Window | None] | None = None,
                 ) -> list[Transition]:
        """`query_cache` and `drift_windows` may be shared by the rules of one round (see
        EvalContext): prom() queries and drift windows are then computed once per round."""
        ctx = EvalContext(at, samples, query, self.alerts, baselines=self.baselines,
                          slos=self.slos.sources)
        if query_cache is not None:
            ctx.query_cache = query_cache
        if drift_windows is not None:
            ctx.drift_windows = drift_windows
        obs = rule.observe(ctx)
        if rule.drift:
            # Keyed, so that a score `clear` computes again replaces the one of `when`.
            latest = {(s.method, s.feature, s.labels): s for s in ctx.drift_scores}
            self.drift_scores[rule.name] = tuple(latest.values())
        new_state, transitions = step(rule.timing, self.states[rule.name], obs)
        if rule.explainer is not None and (transitions or rule.name in self.unexplained):
            new_state, transitions = self._explain(rule, ctx, new_state, transitions)
        self.states[rule.name] = new_state
        return transitions

    def _explain(self, rule: AlertRule, ctx: EvalContext, state: RuleState,
                 transitions: list[Transition]) -> tuple[RuleState, list[Transition]]:
        """Work out the inputs of the instances that became pending or firing (and of the
        active ones a restore left without), and keep them on the instances."""
        assert rule.explainer is not None
        restored = rule.name in self.unexplained
        self.unexplained.discard(rule.name)
        changed = {t.labels for t in transitions if t.new in _EXPLAINED}
        todo: list[Instance] = [i for labels, i in state.instances.items()
                                if labels in changed or (restored and i.inputs is None
                                                         and i.status in _EXPLAINED)]
        if not todo:
            return state, transitions
        # The evaluation's own context: the prom() results of this round are cached in it.
        found = rule.explainer.explain(ctx, [i.expr_labels for i in todo], self.value_of)
        instances = dict(state.instances)
        for inst in todo:
            instances[inst.labels] = replace(inst, inputs=found.get(inst.expr_labels, ()))
        explained = [replace(t, inputs=instances[t.labels].inputs)
                     if t.new in _EXPLAINED and t.labels in instances else t
                     for t in transitions]
        return replace(state, instances=MappingProxyType(instances)), explained

    def firing(self, name: str) -> list[tuple[Labels, dict[str, str]]]:
        """The firing instances of a rule with their annotations, as `alertd test` compares
        them: without `because`, which alertd words itself."""
        state = self.states.get(name)
        if state is None:
            return []
        rule = self.ruleset.by_name[name]
        return [(i.labels, {k: v for k, v in rule.annotations_for(i).items() if k != BECAUSE})
                for i in state.in_status(Status.FIRING)]
