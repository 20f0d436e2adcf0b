"""A compiled alert rule: its expressions, the labels and annotations of its instances."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from alertd.errors import AlertdError
from alertd.lang import ast
from alertd.lang.compile import CompiledExpr, compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.types import ValueType
from alertd.model import ALERTNAME, Labels
from alertd.rules.spec import AlertSpec, GroupSpec
from alertd.rules.state import Active, Instance, Observation, Timing
from alertd.templates import Template, compile_template

DEFAULT_INTERVAL = 60.0
_LABEL_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class AlertRule:
    spec: AlertSpec
    when: CompiledExpr
    clear: CompiledExpr | None
    clear_basis: CompiledExpr | None  # the side of the clear comparison that holds the data
    static_labels: Labels  # group and alert labels, severity, owner and alertname
    runbook: Template | None
    annotations: Mapping[str, Template]
    interval: float
    timing: Timing
    # Series labels -> (expression labels, alert labels). A rule sees the same series at
    # every evaluation, so each label set is composed once rather than every time.
    _label_cache: dict[Labels, tuple[Labels, Labels]] = field(
        default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def group(self) -> str:
        return self.spec.group

    @property
    def alert_refs(self) -> tuple[str, ...]:
        refs = self.when.alert_refs + (self.clear.alert_refs if self.clear else ())
        return tuple(dict.fromkeys(refs))

    def observe(self, ctx: EvalContext) -> Observation:
        """Evaluate the rule at `ctx.at`; errors become an Observation with `error` set."""
        try:
            vector = self.when.eval_vector(ctx)
            # "No data" means the rule's inputs returned nothing at all, as opposed to
            # data that does not meet the condition. A rule without inputs always has data.
            nodata = not ctx.saw_data and bool(self.when.selectors or self.when.prom_queries)
            clear = self.clear.eval_vector(ctx) if self.clear else None
            basis = self.clear_basis.eval_vector(ctx) if self.clear_basis else None
        except AlertdError as exc:
            return Observation(ctx.at, error=str(exc))
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            return Observation(ctx.at, error=f"evaluation failed: {exc}")

        active: dict[Labels, Active] = {}
        for sample in vector:
            expr_labels, labels = self._compose(sample.labels)
            if labels in active:
                return Observation(ctx.at, error=(
                    f"the result holds {labels} more than once after adding the alert's "
                    "labels; aggregate or use distinct labels"))
            active[labels] = Active(expr_labels, sample.value)
        if nodata and self.timing.nodata == "alert":
            labels = self.static_labels.merged({"nodata": "true"})
            active[labels] = Active(Labels(), math.nan, nodata=True)
        return Observation(ctx.at, MappingProxyType(active), clear, basis, nodata)

    def _compose(self, series_labels: Labels) -> tuple[Labels, Labels]:
        cache = self._label_cache
        found = cache.get(series_labels)
        if found is None:
            if len(cache) >= _LABEL_CACHE_SIZE:
                cache.clear()  # series churn: start over rather than grow without bound
            expr_labels = series_labels.without_name()
            found = cache[series_labels] = (expr_labels, expr_labels.merged(self.static_labels))
        return found

    def annotations_for(self, instance: Instance) -> Mapping[str, str]:
        """The annotations of an instance, rendered from its latest value and labels.

        Rendering happens when someone reads them (a notification, the API, a test), not
        at every evaluation of every instance.
        """
        return self._annotations(instance.value, instance.labels)

    def _annotations(self, value: float, labels: Labels) -> Mapping[str, str]:
        owner = labels.get("owner")
        runbook = self.runbook.render(value, labels, owner, "") if self.runbook else ""
        out = {name: t.render(value, labels, owner, runbook)
               for name, t in self.annotations.items()}
        if runbook:
            out["runbook_url"] = runbook
        return MappingProxyType(out)


def compile_rule(spec: AlertSpec, group: GroupSpec,
                 default_interval: float = DEFAULT_INTERVAL) -> AlertRule:
    static = dict(spec.labels)
    if spec.severity:
        static["severity"] = spec.severity
    if spec.owner:
        static["owner"] = spec.owner
    static[ALERTNAME] = spec.name
    interval = spec.interval or group.interval or default_interval
    return AlertRule(
        spec=spec,
        when=compile_expr(spec.when),
        clear=compile_expr(spec.clear) if spec.clear is not None else None,
        clear_basis=_clear_basis(spec.clear),
        static_labels=Labels(static),
        runbook=compile_template(spec.runbook) if spec.runbook else None,
        annotations=MappingProxyType({k: compile_template(v)
                                      for k, v in spec.annotations.items()}),
        interval=interval,
        timing=Timing(spec.for_, spec.keep_firing_for, spec.clear is not None, spec.nodata),
    )


def _clear_basis(clear: ast.Expr | None) -> CompiledExpr | None:
    """For `clear = X < 0.02`, the vector X: the data the condition compares."""
    while isinstance(clear, ast.Paren):
        clear = clear.expr
    if not isinstance(clear, ast.Binary) or clear.op not in ast.COMPARISON_OPS:
        return None
    if clear.return_bool:
        return None
    for side in (clear.left, clear.right):
        compiled = compile_expr(side)
        if compiled.type is ValueType.VECTOR:
            return compiled
    return None
