"""A compiled alert rule: its expressions, the labels and annotations of its instances."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from alertd.errors import AlertdError
from alertd.lang import ast
from alertd.lang.compile import CompiledExpr, compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.drift_check import drift_calls
from alertd.lang.slo_check import slo_calls
from alertd.lang.spec import AlertSpec, GroupSpec
from alertd.lang.types import ValueType
from alertd.model import ALERTNAME, Labels
from alertd.rules.inputs import ANNOTATION as BECAUSE
from alertd.rules.inputs import Explainer, because
from alertd.rules.links import is_http_url, prometheus_graph_url
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
    dashboard: Template | None = None
    generator_url: Template | None = None
    # Without a generator_url template: the Prometheus graph of the prom() queries.
    default_generator_url: str = ""
    explainer: Explainer | None = None  # for composite rules: what made an instance fire
    drift: bool = False  # it calls drift functions
    baselines: tuple[str, ...] = ()  # the names of the baselines its drift functions use
    slos: tuple[str, ...] = ()  # the SLOs its burn_rate() and error_budget_remaining() read
    # An SLO's alert: its burn rates and budget at the last evaluation, as annotations.
    extra_annotations: Callable[[], Mapping[str, str]] | None = None
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
        at every evaluation of every instance. A composite's instance also says what made
        it fire (`because`).
        """
        annotations = self._annotations(instance.value, instance.labels)
        if not instance.inputs:
            return annotations
        line = because((i.details() for i in instance.inputs), instance.labels)
        return MappingProxyType({**annotations, BECAUSE: line})

    def _annotations(self, value: float, labels: Labels) -> Mapping[str, str]:
        owner = labels.get("owner")
        runbook = self.runbook.render(value, labels, owner, "") if self.runbook else ""
        out = {name: t.render(value, labels, owner, runbook)
               for name, t in self.annotations.items()}
        if runbook:
            out["runbook_url"] = runbook
        if self.dashboard is not None:
            link = self.dashboard.render(value, labels, owner, runbook).strip()
            if is_http_url(link):
                out["dashboard"] = link
        if self.extra_annotations is not None:
            out.update(self.extra_annotations())
        return MappingProxyType(out)

    def generator_url_for(self, instance: Instance) -> str:
        """The alert's generatorURL: the rule's generator_url rendered for the instance,
        else the Prometheus graph of its queries, else empty."""
        if self.generator_url is None:
            return self.default_generator_url
        labels = instance.labels
        owner = labels.get("owner")
        runbook = self.runbook.render(instance.value, labels, owner, "") if self.runbook else ""
        link = self.generator_url.render(instance.value, labels, owner, runbook).strip()
        return link if is_http_url(link) else ""


def compile_rule(spec: AlertSpec, group: GroupSpec, default_interval: float = DEFAULT_INTERVAL,
                 prometheus_url: str | None = None) -> AlertRule:
    """`prometheus_url`: where people open Prometheus, for the graph links of prom() rules."""
    static = dict(spec.labels)
    if spec.severity:
        static["severity"] = spec.severity
    if spec.owner:
        static["owner"] = spec.owner
    static[ALERTNAME] = spec.name
    interval = spec.interval or group.interval or default_interval
    when = compile_expr(spec.when)
    calls = [c for e in (spec.when, spec.clear) if e is not None for c in drift_calls(e)]
    return AlertRule(
        spec=spec,
        when=when,
        clear=compile_expr(spec.clear) if spec.clear is not None else None,
        clear_basis=_clear_basis(spec.clear),
        static_labels=Labels(static),
        runbook=compile_template(spec.runbook) if spec.runbook else None,
        annotations=MappingProxyType({k: compile_template(v)
                                      for k, v in spec.annotations.items()}),
        interval=interval,
        timing=Timing(spec.for_, spec.keep_firing_for, spec.clear is not None, spec.nodata),
        dashboard=compile_template(spec.dashboard) if spec.dashboard else None,
        generator_url=compile_template(spec.generator_url) if spec.generator_url else None,
        default_generator_url=prometheus_graph_url(prometheus_url, when.prom_queries)
        if prometheus_url else "",
        explainer=Explainer(spec.when) if _composite(spec.when) else None,
        drift=bool(calls),
        baselines=tuple(dict.fromkeys(c.baseline for c in calls if c.baseline is not None)),
        slos=tuple(dict.fromkeys(c.slo for e in (spec.when, spec.clear) if e is not None
                                 for c in slo_calls(e) if c.slo is not None)),
    )


def _composite(when: ast.Expr) -> bool:
    """Whether an instance's value alone does not say why it fires: the rule joins other
    rules' alerts or several conditions."""
    return any((isinstance(n, ast.Call) and n.name == "alert")
               or (isinstance(n, ast.Binary) and n.op in ast.SET_OPS) for n in ast.walk(when))


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
