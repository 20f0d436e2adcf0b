"""Evaluation of `burn_rate()` and `error_budget_remaining()`: read from the SLO's source.

The SLOs are not known when an expression compiles: the context carries them by name
(alertd.rules.slo builds them when the rules load), as it carries the baselines. Each
call yields one element, `{slo="name"}`, or none while the SLO has seen no events in
the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from alertd.errors import EvalError, RuleError
from alertd.lang import ast
from alertd.model import Labels, Sample, Vector

if TYPE_CHECKING:
    from alertd.lang.context import EvalContext, Node

__all__ = ["SLO_LABEL", "SloSource", "compile_slo"]

SLO_LABEL = "slo"


class SloSource(Protocol):
    def burn_rate(self, ctx: EvalContext, window: float) -> float | None:
        """The burn rate over `(ctx.at - window, ctx.at]`; None without events."""

    def budget_remaining(self, ctx: EvalContext) -> float | None:
        """The share of the error budget left over the period; None without events."""


def compile_slo(e: ast.Call) -> Node:
    """The evaluable node of an SLO call the checker accepted."""
    kwargs = {kw.name: kw.value for kw in e.kwargs}
    slo = kwargs.get("slo")
    if not isinstance(slo, ast.StringLit):
        raise RuleError(f"{e.name}() needs slo = \"name\"", e.span)
    name = slo.value
    window = kwargs.get("window")
    seconds: float | None = None
    if e.name == "burn_rate":
        if not isinstance(window, ast.DurationLit) or window.seconds is None:
            raise RuleError("burn_rate() needs window = a duration", e.span)
        seconds = window.seconds
    labels = Labels({SLO_LABEL: name})

    def run(ctx: EvalContext) -> Vector:
        source = ctx.slos.get(name)
        if source is None:
            raise EvalError(f'slo "{name}" is not loaded')
        value = (source.burn_rate(ctx, seconds) if seconds is not None
                 else source.budget_remaining(ctx))
        if value is None:
            return []
        ctx.saw_data = True
        return [Sample(labels, value)]

    return run
