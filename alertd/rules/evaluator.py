"""Rules with their states: evaluates a rule and feeds other rules' states to `alert()`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from graphlib import CycleError, TopologicalSorter

from alertd.errors import RuleError
from alertd.lang.context import EvalContext, QueryFn, SampleSource, no_query
from alertd.model import Labels, Sample, Vector
from alertd.rules.rule import DEFAULT_INTERVAL, AlertRule, compile_rule
from alertd.rules.spec import GroupSpec
from alertd.rules.state import RuleState, Status, Transition, step


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
    def from_groups(cls, groups: Iterable[GroupSpec],
                    default_interval: float = DEFAULT_INTERVAL) -> RuleSet:
        return cls([compile_rule(a, g, default_interval) for g in groups for a in g.alerts])

    def __iter__(self) -> Iterator[AlertRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


class Evaluator:
    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.states: dict[str, RuleState] = {r.name: RuleState() for r in ruleset.rules}

    def alerts(self, name: str, state: str) -> Vector:
        rule_state = self.states.get(name)
        if rule_state is None:
            return []
        status = Status(state)
        return [Sample(i.labels, 1.0) for i in rule_state.instances.values()
                if i.status is status]

    def evaluate(self, rule: AlertRule, at: float, samples: SampleSource,
                 query: QueryFn = no_query,
                 query_cache: dict[tuple[str, float], Vector] | None = None) -> list[Transition]:
        ctx = EvalContext(at, samples, query, self.alerts)
        if query_cache is not None:
            ctx.query_cache = query_cache
        obs = rule.observe(ctx)
        new_state, transitions = step(rule.timing, self.states[rule.name], obs)
        self.states[rule.name] = new_state
        return transitions

    def firing(self, name: str) -> list[tuple[Labels, dict[str, str]]]:
        state = self.states.get(name)
        if state is None:
            return []
        rule = self.ruleset.by_name[name]
        return [(i.labels, dict(rule.annotations_for(i))) for i in state.in_status(Status.FIRING)]
