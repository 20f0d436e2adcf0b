"""The syntax tree of a rule file: frozen values with source spans, free of lark types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alertd.span import Span as Span  # every node of the tree has one

# --- expressions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NumberLit:
    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class DurationLit:
    """A duration such as `5m` or `1h30m`; `seconds` is None when the text is invalid."""

    seconds: float | None
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class PercentLit:
    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class StringLit:
    value: str
    raw: bool  # written with backticks: no escapes, may span lines
    span: Span


MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: MatchOp
    value: StringLit
    span: Span


@dataclass(frozen=True, slots=True)
class Selector:
    """`name{matchers}`; also the shape of a map literal such as `labels = { a = "b" }`."""

    name: str | None
    matchers: tuple[Matcher, ...]
    braces: bool  # written with `{...}` (even if empty)
    span: Span


@dataclass(frozen=True, slots=True)
class Subscript:
    """`expr[range]` (a range selector) or `expr[range:step]` (a subquery)."""

    expr: Expr
    range: DurationLit
    step: DurationLit | None
    subquery: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Offset:
    """`offset 1d` or `offset -5m`: how far before its evaluation time a selector reads."""

    duration: DurationLit
    negative: bool
    span: Span  # from the keyword to the end of the duration

    @property
    def seconds(self) -> float | None:
        d = self.duration.seconds
        return None if d is None else (-d if self.negative else d)


@dataclass(frozen=True, slots=True)
class At:
    """`@ 1700000000`, `@ start()` or `@ end()`: the time a selector reads at."""

    time: float | None  # seconds since the epoch; None for start() and end()
    text: str  # as written after the `@`: "1700000000", "-5", "start()", "end()"
    span: Span  # from the `@` to the end


@dataclass(frozen=True, slots=True)
class Modified:
    """A selector, range selector or subquery with `offset` and/or `@` modifiers."""

    expr: Expr
    offset: Offset | None
    at: At | None
    span: Span


@dataclass(frozen=True, slots=True)
class Grouping:
    without: bool
    labels: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class KwArg:
    name: str
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """A function call or an aggregation: `rate(x[5m])`, `sum by (a) (x)`, `sum(x) by (a)`."""

    name: str
    name_span: Span
    args: tuple[Expr, ...]
    kwargs: tuple[KwArg, ...]
    grouping: Grouping | None
    grouping_first: bool  # `sum by (a) (x)` rather than `sum(x) by (a)`
    span: Span


Cardinality = Literal["one-to-one", "many-to-one", "one-to-many"]


@dataclass(frozen=True, slots=True)
class VectorMatching:
    on: bool
    labels: tuple[str, ...]
    card: Cardinality
    include: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: Literal["+", "-"]
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    return_bool: bool
    matching: VectorMatching | None
    op_span: Span
    span: Span


@dataclass(frozen=True, slots=True)
class Paren:
    expr: Expr
    span: Span


Expr = (
    NumberLit
    | DurationLit
    | PercentLit
    | StringLit
    | Selector
    | Subscript
    | Modified
    | Call
    | Unary
    | Binary
    | Paren
)

COMPARISON_OPS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})
ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "%", "^", "atan2"})


# --- file structure ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    key_span: Span
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Block:
    kind: str
    kind_span: Span
    name: str | None
    name_span: Span | None
    items: tuple[Item, ...]
    span: Span

    def settings(self) -> tuple[Setting, ...]:
        return tuple(i for i in self.items if isinstance(i, Setting))

    def blocks(self) -> tuple[Block, ...]:
        return tuple(i for i in self.items if isinstance(i, Block))


Item = Setting | Block


@dataclass(frozen=True, slots=True)
class Comment:
    text: str  # including the leading '#'
    span: Span


@dataclass(frozen=True, slots=True)
class RuleFile:
    path: str
    source: str
    items: tuple[Item, ...]
    comments: tuple[Comment, ...]


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of `expr`, in source order."""
    if isinstance(expr, Subscript | Modified):
        return (expr.expr,)
    if isinstance(expr, Call):
        return expr.args + tuple(k.value for k in expr.kwargs)
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Paren):
        return (expr.expr,)
    return ()


def unparen(expr: Expr) -> Expr:
    """`expr` without the parentheses around it."""
    while isinstance(expr, Paren):
        expr = expr.expr
    return expr


def walk(expr: Expr) -> list[Expr]:
    """Every node of `expr`, parents before children."""
    out: list[Expr] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return out
