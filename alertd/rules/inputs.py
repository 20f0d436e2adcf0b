"""Why a composite rule's instance fired: the values of the inputs that made it.

An instance of `p99 > 100ms and on(model_version) alert("FraudLatencyBurn")` has value
1 or the p99, neither of which says much. Its inputs do: the FraudLatencyBurn instance
it was joined with (its labels and value) and, for each comparison, the compared value
and the threshold. They are worked out only when an instance becomes pending or firing,
by evaluating the comparisons and alert() references of the rule again at that time,
once for all the instances that changed: the evaluation of every instance at every
interval does not pay for it.

An input as recorded in the history (`inputs` of a transition's details):

    {"expr": "alert(\"FraudLatencyBurn\")", "value": 45, "alert": "FraudLatencyBurn",
     "labels": {...}}
    {"expr": "histogram_quantile(...)", "value": 0.25, "op": ">", "threshold": 0.1,
     "unit": "duration"}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from alertd.errors import AlertdError, RuleError
from alertd.lang import ast
from alertd.lang.compile import CompiledExpr, compile_expr
from alertd.lang.context import EvalContext
from alertd.lang.format import format_expr
from alertd.lang.parse import parse_expr
from alertd.lang.references import RULE_LABELS, Tie, inputs_of
from alertd.lang.types import ValueType
from alertd.model import Labels, Sample, Vector
from alertd.templates.filters import duration, go_g4, percent

ANNOTATION = "because"
TEXT_LIMIT = 60  # longer expressions are shown with their arguments elided
MAX_ALERT_INPUTS = 3  # instances of one alert() reference named per instance
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}

ValueOf = Callable[[str, Labels], "float | None"]
"""(rule, labels of one of its instances) -> that instance's value."""


@dataclass(frozen=True, slots=True)
class Input:
    expr: str
    value: float
    op: str | None = None
    threshold: float | None = None
    alert: str | None = None
    labels: Labels | None = None
    state: str | None = None  # of an alert() input: "firing" or "pending"
    unit: str | None = None  # "duration" or "percent": how the threshold was written

    def details(self) -> dict[str, Any]:
        """As recorded in the history: keys without a value are left out."""
        out: dict[str, Any] = {"expr": self.expr, "value": self.value}
        for key in ("op", "threshold", "alert", "state", "unit"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.labels is not None:
            out["labels"] = dict(self.labels)
        return out


def because(inputs: Iterable[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """One line naming the inputs (as `details()` gives them), for an instance with
    `labels`: `FraudLatencyBurn firing (value 45); histogram_quantile(...) = 250ms > 100ms`.
    Always one line: a page shows it as one."""
    return " ".join("; ".join(input_text(i, labels) for i in inputs).splitlines())


def input_text(d: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """One input as a phrase; an alert's labels are named where they differ from `labels`."""
    value = d.get("value")
    unit = d.get("unit")
    if d.get("alert"):
        own = d.get("labels")
        extra = {k: v for k, v in (own.items() if isinstance(own, Mapping) else ())
                 if k not in RULE_LABELS and labels.get(k) != v}
        name = str(d["alert"]) + (str(Labels(extra)) if extra else "")
        text = f"{name} {d.get('state') or 'firing'}"
        return text + (f" (value {_number(value, None)})" if _finite(value) else "")
    text = f"{d.get('expr', '?')} = {_number(value, unit)}"
    if d.get("op") and d.get("threshold") is not None:
        text += f" {d['op']} {_number(d['threshold'], unit)}"
    return text


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


def _number(value: Any, unit: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    if unit == "duration":
        return duration(value)
    if unit == "percent":
        return percent(value)
    return go_g4(float(value))


# --- expression text -----------------------------------------------------------------------


def short_text(expr: ast.Expr) -> str:
    """The expression as written, or with the arguments of its calls elided when long:
    `histogram_quantile(...)`, `sum by (model_version) (...) / sum by (model_version) (...)`."""
    text = format_expr(expr)
    return text if len(text) <= TEXT_LIMIT else _elided(expr)


def _elided(expr: ast.Expr) -> str:
    if isinstance(expr, ast.Paren):
        return f"({_elided(expr.expr)})"
    if isinstance(expr, ast.Unary):
        return expr.op + _elided(expr.operand)
    if isinstance(expr, ast.Binary):
        return f"{_elided(expr.left)} {_operator(expr)} {_elided(expr.right)}"
    if isinstance(expr, ast.Call):
        if expr.name == "prom" and expr.args and isinstance(expr.args[0], ast.StringLit):
            return _query_text(expr.args[0].value)
        if expr.grouping is not None and expr.grouping.labels:
            kind = "without" if expr.grouping.without else "by"
            return f"{expr.name} {kind} ({', '.join(expr.grouping.labels)}) (...)"
        return f"{expr.name}(...)"
    return format_expr(expr)


def _operator(expr: ast.Binary) -> str:
    """The operator with its modifiers (`and on(model_version)`), as the formatter writes
    it between the two sides."""
    full, left, right = format_expr(expr), format_expr(expr.left), format_expr(expr.right)
    return full[len(left) + 1 : len(full) - len(right) - 1]


def _query_text(query: str) -> str:
    """A prom() query as alertd would write it, elided when long; as given if it is not
    in the subset of PromQL alertd parses."""
    try:
        return short_text(parse_expr(query))
    except (RuleError, RecursionError):
        flat = " ".join(query.split())
        return flat if len(flat) <= TEXT_LIMIT else flat[: TEXT_LIMIT - 3] + "..."


# --- working them out ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AlertProbe:
    name: str
    state: str
    tie: Tie
    text: str


@dataclass(frozen=True, slots=True)
class _ComparisonProbe:
    filtered: CompiledExpr  # the comparison: the elements of its vector side that pass
    threshold: CompiledExpr  # the other side, a scalar or a vector
    pairing: Tie  # for a vector threshold: which of its elements goes with which
    op: str  # as read with the vector side first
    tie: Tie
    text: str
    unit: str | None


_Probe = _AlertProbe | _ComparisonProbe


class Explainer:
    """The comparisons and alert() references of one rule's `when`, compiled apart."""

    def __init__(self, when: ast.Expr) -> None:
        probes: list[_Probe] = []
        for node, tie in inputs_of(when):
            probe = _probe(node, tie)
            if probe is not None:
                probes.append(probe)
        self.probes = tuple(probes)

    def explain(self, ctx: EvalContext, instances: Sequence[Labels],
                value_of: ValueOf) -> dict[Labels, tuple[Input, ...]]:
        """The inputs of each instance (by its expression labels), from one evaluation of
        each probe at `ctx.at`. A probe that fails to evaluate names nothing."""
        results = [_run(p, ctx) for p in self.probes]
        return {labels: tuple(i for probe, result in zip(self.probes, results, strict=True)
                              for i in _inputs(probe, result, labels, value_of))
                for labels in instances}


def _probe(node: ast.Call | ast.Binary, tie: Tie) -> _Probe | None:
    if isinstance(node, ast.Call):
        name = node.args[0] if node.args else None
        if not isinstance(name, ast.StringLit):
            return None
        state = next((k.value.value for k in node.kwargs
                      if k.name == "state" and isinstance(k.value, ast.StringLit)), "firing")
        return _AlertProbe(name.value, state, tie, format_expr(node))
    try:
        left, right = compile_expr(node.left), compile_expr(node.right)
        filtered = compile_expr(node)
    except RuleError:
        return None
    if left.type is ValueType.VECTOR:
        vector, threshold, op = node.left, node.right, node.op
    elif right.type is ValueType.VECTOR:
        vector, threshold, op = node.right, node.left, _FLIP[node.op]
    else:
        return None  # two scalars: nothing is filtered
    return _ComparisonProbe(filtered, right if vector is node.left else left,
                            _pairing(node.matching), op, tie, short_text(vector),
                            _unit(threshold))


def _pairing(matching: ast.VectorMatching | None) -> Tie:
    if matching is None:
        return Tie()
    return Tie(on=matching.labels) if matching.on else Tie(ignoring=frozenset(matching.labels))


def _unit(threshold: ast.Expr) -> str | None:
    while isinstance(threshold, ast.Paren | ast.Unary):
        threshold = threshold.expr if isinstance(threshold, ast.Paren) else threshold.operand
    if isinstance(threshold, ast.DurationLit):
        return "duration"
    if isinstance(threshold, ast.PercentLit):
        return "percent"
    return None


_Result = tuple[Vector, "float | Vector | None"] | None


def _run(probe: _Probe, ctx: EvalContext) -> _Result:
    try:
        if isinstance(probe, _AlertProbe):
            return ctx.alerts(probe.name, probe.state), None
        threshold = probe.threshold.eval(ctx)
        return probe.filtered.eval_vector(ctx), cast("float | Vector", threshold)
    except (AlertdError, ArithmeticError, ValueError, TypeError, RecursionError):
        return None


def _inputs(probe: _Probe, result: _Result, labels: Labels,
            value_of: ValueOf) -> list[Input]:
    if result is None:
        return []
    vector, threshold = result
    found = _matching(vector, probe.tie, labels)
    if isinstance(probe, _AlertProbe):
        values = [(s.labels, value_of(probe.name, s.labels)) for s in found]
        values.sort(key=lambda p: -p[1] if p[1] is not None and not math.isnan(p[1])
                    else math.inf)
        return [Input(probe.text, math.nan if v is None else v, alert=probe.name,
                      labels=lbl, state=None if probe.state == "firing" else probe.state)
                for lbl, v in values[:MAX_ALERT_INPUTS]]
    if not found:
        return []
    element = _worst(found, probe.op)
    limit = _threshold_for(element, threshold, probe.pairing)
    return [Input(probe.text, element.value, probe.op, limit, unit=probe.unit)]


def _matching(vector: Vector, tie: Tie, labels: Labels) -> list[Sample]:
    found = [s for s in vector if tie.agrees(s.labels, labels)]
    exact = [s for s in found if Tie().agrees(s.labels, labels)]
    return exact or found


def _worst(found: list[Sample], op: str) -> Sample:
    if op in (">", ">="):
        return max(found, key=lambda s: s.value)
    if op in ("<", "<="):
        return min(found, key=lambda s: s.value)
    return found[0]


def _threshold_for(element: Sample, threshold: float | Vector | None,
                   pairing: Tie) -> float | None:
    if isinstance(threshold, int | float):
        return float(threshold)
    if not threshold:
        return None
    for s in threshold:
        if pairing.agrees(s.labels, element.labels):
            return s.value
    return None
