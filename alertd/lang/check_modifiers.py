"""Checks of the `offset` and `@` modifiers, for the expression checker.

What they may follow is PromQL's rule: a selector, a range selector or a subquery. What
they read is alertd's concern: a rule reads pushed samples at its evaluation time, so a
selector pinned to a fixed time, or pushed ahead of it by a negative offset, reads
nothing in the daemon; those are warnings, since both are valid PromQL.
"""

from __future__ import annotations

import math
from dataclasses import replace

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check_report import Report
from alertd.lang.format import format_expr
from alertd.lang.types import ValueType

__all__ = ["check_future_reads", "check_modified", "range_after_modifier"]


def check_modified(report: Report, path: str, node: ast.Modified,
                   inner: ValueType | None) -> ValueType | None:
    """The type of `node` (that of what it modifies), reporting every problem."""
    target = node.expr
    if not isinstance(target, ast.Selector | ast.Subscript):
        report.error(path, _modifier_span(node),
                     f"{_words(node)} must follow a selector, a range selector or a "
                     f"subquery{_move_hint(node)}")
        return inner
    if node.offset is not None and node.offset.seconds is None:
        report.silent_error()  # the parser reported the duration
    at = node.at
    if at is not None and at.time is not None:
        if not math.isfinite(at.time):
            report.error(path, at.span,
                         f'"@" needs a finite time in seconds since the epoch, got {at.text}')
        else:
            report.warning(path, at.span,
                           f'"@ {at.text}" pins this selector to a fixed time; pushed samples '
                           "are kept only as long as the rules' ranges and offsets need, so "
                           "it reads nothing once that time is older")
    return inner


def range_after_modifier(node: ast.Subscript) -> str:
    """The message for `x offset 1h [5m]`, which PromQL does not accept either."""
    modified = node.expr
    assert isinstance(modified, ast.Modified)
    fixed = replace(modified, expr=replace(node, expr=modified.expr))
    return f"the range goes before {_words(modified)}: write {format_expr(fixed)}"


def check_future_reads(report: Report, path: str, root: ast.Expr) -> None:
    """Warn about negative offsets that read after the evaluation time.

    Inside a subquery they may read what is before the rule's evaluation time, and with
    a fixed `@` time they read around that time: those are left alone.
    """
    stack: list[tuple[ast.Expr, bool]] = [(root, False)]
    while stack:
        node, in_subquery = stack.pop()
        if isinstance(node, ast.Modified) and node.offset is not None \
                and node.offset.negative and not in_subquery \
                and (node.at is None or node.at.time is None):
            report.warning(path, node.offset.span,
                           f"offset -{node.offset.duration.text} reads after the evaluation "
                           "time, where no samples are yet: this selector reads nothing "
                           "unless it is inside a subquery or pinned with @ to a fixed time")
        inside = in_subquery or (isinstance(node, ast.Subscript) and node.subquery)
        stack.extend((child, inside) for child in ast.children(node))


def _words(node: ast.Modified) -> str:
    if node.offset is not None and node.at is not None:
        return 'offset and "@"'
    return "offset" if node.offset is not None else '"@"'


def _modifier_span(node: ast.Modified) -> Span:
    parts = [p.span for p in (node.offset, node.at) if p is not None]
    first = min(parts, key=lambda s: s.start)
    last = max(parts, key=lambda s: s.end)
    return first.to(last)


def _move_hint(node: ast.Modified) -> str:
    """Where the modifier belongs, when that is plain: inside a call, or unparenthesised."""
    target = node.expr
    if isinstance(target, ast.Paren) and isinstance(target.expr, ast.Selector | ast.Subscript):
        return f"; write {format_expr(replace(node, expr=target.expr))}"
    if isinstance(target, ast.Call):
        args = [i for i, a in enumerate(target.args)
                if isinstance(a, ast.Selector | ast.Subscript)]
        if len(args) == 1:
            moved = list(target.args)
            moved[args[0]] = replace(node, expr=moved[args[0]])
            return f"; move it inside the call: {format_expr(replace(target, args=tuple(moved)))}"
    return ""
