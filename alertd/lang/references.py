"""What a composite rule is built from: its alert() references and its comparisons, each
with the labels that tie one of its elements to an instance of the whole expression.

`X and on(model_version) alert("Drift")` keeps an element of X when some Drift instance
has the same `model_version`: that Drift instance is an input of the result, tied to it
by `model_version`. Without `on(...)`, PromQL joins on every label, so an input is tied
to an instance by every label they both carry. The tie of an input is that of the
nearest operator or aggregation above it that says which labels count.

What stands on the right of `unless` is not an input: an instance exists because it
found no match there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from alertd.lang import ast
from alertd.lang.types import AGGREGATIONS
from alertd.model import METRIC_NAME

# alert() elements carry these, and so do the composite's instances, with their own values.
RULE_LABELS = frozenset({"alertname", "severity", "owner"})
_KEEP_LABELS = frozenset({"topk", "bottomk"})  # aggregations that keep their elements' labels


@dataclass(frozen=True, slots=True)
class Tie:
    """The labels on which an element of a sub-expression and an instance must agree."""

    on: tuple[str, ...] | None = None  # only these; None: every label both carry
    ignoring: frozenset[str] = frozenset()

    def agrees(self, element: Mapping[str, str], instance: Mapping[str, str]) -> bool:
        if self.on is not None:
            return all(element.get(n, "") == instance.get(n, "") for n in self.on)
        for name, value in element.items():
            if name == METRIC_NAME or name in self.ignoring or name in RULE_LABELS:
                continue
            theirs = instance.get(name)
            if theirs is not None and theirs != value:
                return False
        return True


@dataclass(frozen=True, slots=True)
class InputRef:
    """An alert() call whose instances are inputs of the rule's instances."""

    name: str
    state: str  # "firing" or "pending"
    tie: Tie
    call: ast.Call


def inputs_of(expr: ast.Expr) -> Iterator[tuple[ast.Call | ast.Binary, Tie]]:
    """The alert() calls and filtering comparisons of `expr`, in source order, each with
    its tie; those on the right of `unless` are left out."""
    stack: list[tuple[ast.Expr, Tie]] = [(expr, Tie())]
    while stack:
        node, tie = stack.pop()
        if isinstance(node, ast.Call) and node.name == "alert":
            yield node, tie
            continue
        if isinstance(node, ast.Binary):
            if node.op in ast.COMPARISON_OPS and not node.return_bool:
                yield node, tie
            inner = _binary_tie(node, tie)
            sides = [node.left] if node.op == "unless" else [node.left, node.right]
            stack.extend((side, inner) for side in reversed(sides))
            continue
        if isinstance(node, ast.Call) and node.name in AGGREGATIONS:
            inner = _aggregation_tie(node, tie)
            stack.extend((child, inner) for child in reversed(ast.children(node)))
            continue
        stack.extend((child, tie) for child in reversed(ast.children(node)))


def input_refs(expr: ast.Expr) -> list[InputRef]:
    """The alert() references of `expr` that its instances are built from."""
    refs = []
    for node, tie in inputs_of(expr):
        if isinstance(node, ast.Call):
            name = node.args[0] if node.args else None
            if isinstance(name, ast.StringLit):
                refs.append(InputRef(name.value, _state(node), tie, node))
    return refs


def _state(call: ast.Call) -> str:
    for kw in call.kwargs:
        if kw.name == "state" and isinstance(kw.value, ast.StringLit):
            return kw.value.value
    return "firing"


def _binary_tie(node: ast.Binary, outer: Tie) -> Tie:
    matching = node.matching
    if matching is not None:
        if matching.on:
            return Tie(on=matching.labels)
        return Tie(ignoring=frozenset(matching.labels))
    # A set operation without modifiers joins on every label.
    return Tie() if node.op in ast.SET_OPS else outer


def _aggregation_tie(node: ast.Call, outer: Tie) -> Tie:
    if node.name in _KEEP_LABELS:
        return outer
    grouping = node.grouping
    if grouping is None:
        return Tie(on=())  # one element for all: every input feeds it
    if grouping.without:
        return Tie(ignoring=frozenset(grouping.labels))
    return Tie(on=grouping.labels)
