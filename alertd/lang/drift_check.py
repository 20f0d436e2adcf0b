"""Type checking of the drift functions, and what the cross-file pass needs of their calls.

A drift function has three forms, told apart by its arguments:

    psi(x[1h], baseline = "b") by (feature)          raw values: a window per group
    psi(buckets, baseline = "b") by (...)             `le` buckets against captured buckets
    psi(current_buckets, reference_buckets) by (...)  two `le` bucket vectors

The signature table (types.DRIFT) names them; this module checks what it cannot say:
which form the arguments make, that a baseline is named by a literal (it is resolved when
the rules load, not at each evaluation), and which methods need raw values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check_report import ErrorFn, article, prefix_span
from alertd.lang.types import DRIFT, ValueType
from alertd.suggest import did_you_mean

__all__ = ["RAW_ONLY", "DriftCall", "check_drift_call", "drift_calls", "feature_problems"]

V, M, STR = ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING

# Methods that need the positions of the values: buckets and categories have none.
RAW_ONLY = frozenset({"wasserstein", "wasserstein_normed", "ks_pvalue"})
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_ALTERNATIVES = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")



def check_drift_call(error: ErrorFn, node: ast.Call, args: Sequence[ValueType | None],
                     kwargs: Sequence[ValueType | None]) -> ValueType | None:
    """Check one call of a drift function; its type, an instant vector."""
    fn = f"{node.name}()"
    given = {kw.name: kw for kw in node.kwargs}
    _check_kwargs(error, node)
    if not 1 <= len(node.args) <= 2:
        error(node.name_span, f"{fn} takes 1 or 2 arguments, got {len(node.args)}")
        return V
    first = args[0]
    if first is M:
        _raw_form(error, node, given)
    elif first is V:
        _bucket_form(error, node, args, given)
    elif first is not None:
        error(node.args[0].span, f"{fn} expects a range vector of values (such as x[1h]) or "
                                 f"an instant vector of le buckets as argument 1, got "
                                 f"{article(first)}")
    if node.grouping is not None:
        if node.grouping.without:
            error(node.grouping.span, f"{fn} groups with by (...), not without (...)")
        for name in node.grouping.labels:
            if not _LABEL_NAME.fullmatch(name):
                error(node.grouping.span, f'invalid label name "{name}"')
    return V


def _check_kwargs(error: ErrorFn, node: ast.Call) -> None:
    seen: set[str] = set()
    for kw in node.kwargs:
        name_span = prefix_span(kw.span, len(kw.name))
        value = ast.unparen(kw.value)
        if kw.name in seen:
            error(name_span, f'keyword argument "{kw.name}" is given twice')
        elif kw.name == "baseline":
            if not isinstance(value, ast.StringLit):
                error(kw.value.span, 'baseline must be a string such as "churn-training": '
                                     "baselines are resolved when the rules load")
            elif not value.value.strip():
                error(value.span, "baseline needs a name, got an empty string")
        elif kw.name == "min_samples":
            count = value.value if isinstance(value, ast.NumberLit) else None
            if count is None or count < 1 or count != int(count):
                error(kw.value.span, "min_samples must be a whole number of at least 1, "
                                     "such as 100")
        else:
            hint = did_you_mean(kw.name, DRIFT[node.name].kwargs)
            error(name_span, f'unknown keyword argument "{kw.name}" for {node.name}(){hint}')
        seen.add(kw.name)


def _raw_form(error: ErrorFn, node: ast.Call, given: Mapping[str, ast.KwArg]) -> None:
    fn = f"{node.name}()"
    if len(node.args) == 2:
        error(node.args[1].span, f"{fn} compares a range vector of values with a baseline: "
                                 'give baseline = "name", not a second argument')
    elif "baseline" not in given:
        error(node.name_span, f'{fn} of a range vector needs baseline = "name", the '
                              "reference it compares the values with")


def _bucket_form(error: ErrorFn, node: ast.Call, args: Sequence[ValueType | None],
                 given: Mapping[str, ast.KwArg]) -> None:
    fn = f"{node.name}()"
    if node.name in RAW_ONLY:
        error(node.name_span, f"{fn} needs raw values (a range vector such as x[1h]): "
                              "histogram buckets have no position to measure; use psi, ks, "
                              "jsd or chi2 on buckets")
    if len(node.args) == 2:
        second = args[1]
        if second is not None and second is not V:
            error(node.args[1].span, f"{fn} expects an instant vector of le buckets as "
                                     f"argument 2, got {article(second)}")
        if "baseline" in given:
            error(given["baseline"].span, f"{fn} compares the two bucket vectors it is given; "
                                          "a baseline is not used with two arguments")
    elif "baseline" not in given:
        error(node.name_span, f"{fn} of an instant vector compares le buckets: give a second "
                              'bucket vector (such as the same with offset 7d) or baseline = '
                              '"name"')


# --- what the cross-file pass reads of a call ------------------------------------------


@dataclass(frozen=True, slots=True)
class DriftCall:
    method: str
    span: Span  # the function's name
    baseline: str | None
    baseline_span: Span | None
    by: tuple[str, ...] | None  # None: no by (...)
    raw: bool  # the first argument is a range vector of values
    selector: ast.Selector | None  # the first selector of the first argument


def drift_calls(expr: ast.Expr) -> list[DriftCall]:
    """The calls of drift functions in an expression, in source order."""
    out: list[DriftCall] = []
    for node in ast.walk(expr):
        if not isinstance(node, ast.Call) or node.name not in DRIFT or not node.args:
            continue
        baseline = next((kw for kw in node.kwargs if kw.name == "baseline"), None)
        value = ast.unparen(baseline.value) if baseline else None
        name = value.value if isinstance(value, ast.StringLit) else None
        grouping = node.grouping
        out.append(DriftCall(
            node.name, node.name_span, name, value.span if value is not None else None,
            grouping.labels if grouping is not None and not grouping.without else None,
            _is_range(node.args[0]), _first_selector(node.args[0])))
    return out


def feature_problems(call: DriftCall, feature_label: str,
                     kinds: Mapping[str, str] | None) -> list[tuple[Span, str]]:
    """What is wrong with a call given the features of its baseline (feature -> kind:
    numeric, categorical or histogram); nothing when they are not known yet."""
    if kinds is None or call.baseline is None:
        return []
    problems: list[tuple[Span, str]] = []
    named = f'baseline "{call.baseline}"'
    if call.by is not None and feature_label not in call.by and len(kinds) > 1:
        by = ", ".join(call.by)
        problems.append((call.span, f'{call.method}() groups by ({by}) without '
                                    f'"{feature_label}": {named} has {len(kinds)} features '
                                    f"({_names(kinds)}) and each group would mix them; add "
                                    f"{feature_label} to by (...)"))
    pinned = _pinned(call.selector, feature_label)
    for value, span in pinned:
        if value not in kinds:
            hint = did_you_mean(value, kinds)
            problems.append((span, f'{named} has no feature "{value}"{hint} '
                                   f"(its features: {_names(kinds)})"))
    used = [v for v, _ in pinned if v in kinds] or list(kinds)
    problems.extend((call.span, m) for m in _kind_problems(call, named, used, kinds))
    return problems


def _kind_problems(call: DriftCall, named: str, used: Collection[str],
                   kinds: Mapping[str, str]) -> list[str]:
    fn = f"{call.method}()"
    out: list[str] = []
    histogram = sorted(f for f in used if kinds[f] == "histogram")
    values = sorted(f for f in used if kinds[f] != "histogram")
    if call.raw and histogram and not values:
        out.append(f"{fn} compares raw values, but {named} holds histogram buckets "
                   f"({', '.join(histogram)}): compare it with a bucket vector")
    if not call.raw and values and not histogram:
        out.append(f"{fn} compares le buckets, but {named} holds values "
                   f"({', '.join(values)}), not buckets: compare it with a range vector")
    categorical = sorted(f for f in used if kinds[f] == "categorical")
    if call.method in RAW_ONLY and categorical and len(categorical) == len(used):
        out.append(f"{fn} needs numeric values, but the features of {named} are categories "
                   f"({', '.join(categorical)}); use psi, jsd or chi2")
    return out


def _pinned(selector: ast.Selector | None, label: str) -> list[tuple[str, Span]]:
    """The values a selector allows for `label`: `label="a"`, or `label=~"a|b"` when the
    regex is a plain list of alternatives. Nothing when any value may come."""
    if selector is None:
        return []
    for m in selector.matchers:
        if m.name != label:
            continue
        if m.op == "=":
            return [(m.value.value, m.value.span)]
        text = m.value.value
        if m.op == "=~" and text and set(text) <= _PLAIN_ALTERNATIVES | {"|"}:
            return [(part, m.value.span) for part in text.split("|") if part]
    return []


def _names(kinds: Collection[str], limit: int = 8) -> str:
    names = sorted(kinds)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _is_range(expr: ast.Expr) -> bool:
    """Whether an argument is a range vector as written (a range selector or subquery,
    possibly with modifiers): functions of one, such as increase(x[1h]), are not."""
    node = ast.unparen(expr)
    while not isinstance(node, ast.Subscript | ast.Selector | ast.Call):
        inner = ast.children(node)
        if len(inner) != 1:
            return False
        node = ast.unparen(inner[0])
    return isinstance(node, ast.Subscript)


def _first_selector(expr: ast.Expr) -> ast.Selector | None:
    return next((n for n in ast.walk(expr) if isinstance(n, ast.Selector)), None)
