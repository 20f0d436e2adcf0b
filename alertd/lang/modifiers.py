"""Compiling the `offset` and `@` modifiers: reading a selector at another time.

As in PromQL, a modifier moves the time a selector, range selector or subquery is read
at: `x offset 1d` reads at t - 1d, `x @ 1700000000` at that time, `x @ end() offset 1h`
at the rule's evaluation time less an hour. A rule is evaluated at one instant, the way
Prometheus evaluates a rule as an instant query, so `start()` and `end()` both stand for
the rule's evaluation time, also inside a subquery (where `t` moves and they do not).

The compiler wraps the modified node so that it sees the moved time; range functions
also take the window's end from here, since rate() and friends extrapolate to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.context import EvalContext, Node

TimeFn = Callable[[EvalContext], float]


@dataclass(frozen=True, slots=True)
class Shift:
    """The time a modified selector reads at, relative to its context's time."""

    offset: float  # seconds back; negative reads ahead
    at: float | None  # a fixed time (`@ 1700000000`)
    at_eval: bool  # `@ start()` or `@ end()`: the rule's evaluation time

    @property
    def history(self) -> float:
        """Seconds of history needed beyond the selector's own range.

        A fixed `@` time cannot be provided for (its distance grows as time passes); the
        checker warns about it instead.
        """
        return max(self.offset, 0.0)

    def end(self) -> TimeFn:
        """The function from a context to the time read at."""
        offset, fixed = self.offset, self.at
        if fixed is not None:
            pinned = fixed - offset
            return lambda ctx: pinned
        if self.at_eval:
            return lambda ctx: (ctx.at if ctx.eval_time is None else ctx.eval_time) - offset
        return lambda ctx: ctx.at - offset


def shift_of(node: ast.Modified) -> Shift:
    offset = 0.0
    if node.offset is not None:
        seconds = node.offset.seconds
        if seconds is None:
            raise RuleError(f'invalid duration "{node.offset.duration.text}"',
                            node.offset.duration.span)
        offset = seconds
    at = node.at
    return Shift(offset, at.time if at else None, at is not None and at.time is None)


def unshift(expr: ast.Expr) -> tuple[ast.Expr, Shift | None]:
    """The expression under a modifier, with its shift; `expr` itself when it has none."""
    if isinstance(expr, ast.Modified):
        return expr.expr, shift_of(expr)
    return expr, None


def shifted(node: Node, shift: Shift) -> Node:
    """`node` evaluated at the shifted time."""
    end = shift.end()

    def run(ctx: EvalContext) -> Any:
        moved = ctx.at_time(end(ctx))
        value = node(moved)
        if moved.saw_data:
            ctx.saw_data = True
        return value

    return run
