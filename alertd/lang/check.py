"""The checker: generic blocks of the syntax tree to GroupSpecs, and every mistake reported.

Like a compiler, it reports all problems of all files in one run, each at the most precise
span it knows, and never stops at the first. An alert with any error is left out of the
result (its errors are all reported); the result therefore holds only rules that compile.

Expressions are typed as in PromQL (scalar, instant vector, range vector, string) bottom-up
without recursion, so that a long generated `a + b + c + ...` cannot exhaust the stack.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.diagnostics import Diagnostic, did_you_mean, span_at
from alertd.lang.types import ALERT_STATES, ALL, FunctionSpec, ValueType
from alertd.rules.spec import NODATA_POLICIES, AlertSpec, GroupSpec, NoDataPolicy
from alertd.templates import find_template_problems

__all__ = ["CheckResult", "check_files", "infer_type"]

S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING

BLOCK_KINDS = ("group", "alert", "slo", "baseline")
UNSUPPORTED_KINDS = ("slo", "baseline")
GROUP_KEYS = ("interval", "owner", "labels")
ALERT_KEYS = (
    "when", "for", "keep_firing_for", "clear", "interval", "nodata", "severity", "owner",
    "runbook", "summary", "description", "labels", "annotations",
)
REQUIRABLE = ("owner", "runbook")

LABEL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Labels every instance gets from the alert itself; setting them in `labels` would be
# silently overridden, so it is an error that names the right key.
_RESERVED_LABELS = {
    "alertname": "it is always the alert's name",
    "severity": "use the severity key",
    "owner": "use the owner key",
}
# Annotations that an alert key also sets.
_ANNOTATION_KEYS = {"summary": "summary", "description": "description", "runbook_url": "runbook"}
_NODATA: dict[str, NoDataPolicy] = {p: p for p in NODATA_POLICIES}
_QUANTILE_FUNCS = frozenset({"quantile", "quantile_over_time", "histogram_quantile"})
_RANGE_HINT = "(wrap it in a function such as rate() or avg_over_time())"
_NO_SPAN = Span(1, 1, 1, 1, 0, 0)


@dataclass(frozen=True, slots=True)
class CheckResult:
    groups: tuple[GroupSpec, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def check_files(
    files: Sequence[ast.RuleFile], *, require: frozenset[str] = frozenset()
) -> CheckResult:
    """Check every file, then what spans files: duplicate names, alert() references, cycles.

    `require` may hold "owner" and "runbook": every alert must then end up with one.
    Other names are ignored. Never raises, whatever syntax tree it is given.
    """
    report = _Report()
    groups: list[_GroupDef] = []
    for rule_file in files:
        _FileChecker(report, rule_file, groups).run()
    alerts = [a for g in groups for a in g.alerts]
    _cross_check(report, groups, alerts, require)
    kept = _kept_alerts(alerts)
    specs: list[GroupSpec] = []
    for g in groups:
        if not g.ok or g.name is None:
            continue
        members = tuple(a.spec for a in g.alerts if id(a) in kept and a.spec is not None)
        if g.implicit and not members:
            continue
        specs.append(GroupSpec(g.name, g.path, g.span, g.interval, members, g.implicit))
    diagnostics = tuple(sorted(set(report.diagnostics), key=Diagnostic.sort_key))
    return CheckResult(tuple(specs), diagnostics)


def infer_type(expr: ast.Expr) -> ValueType | None:
    """The type of `expr`; None when it cannot be typed (the checker reports why)."""
    report = _Report()
    try:
        return _ExprChecker(report, "", _NO_SPAN).check(expr)
    except Exception:
        return None


# --- collecting diagnostics ---------------------------------------------------------------


class _Report:
    """Every diagnostic so far, and a count of errors that tells whether a region had any."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.errors = 0

    def error(self, path: str, span: Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, _valid(span), message))
        self.errors += 1

    def warning(self, path: str, span: Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, _valid(span), message, "warning"))

    def silent_error(self) -> None:
        """An error the parser already reported (an invalid duration): counted, not repeated."""
        self.errors += 1


# --- what the file pass gathers for the cross-file pass ---------------------------------


@dataclass(eq=False)
class _GroupDef:
    name: str | None
    path: str
    span: Span
    at: Span  # where a duplicate name is reported
    implicit: bool
    ok: bool = True
    interval: float | None = None
    owner: str | None = None
    has_owner: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    alerts: list[_AlertDef] = field(default_factory=list)


@dataclass(eq=False)
class _AlertDef:
    name: str
    path: str
    name_span: Span
    group: _GroupDef
    order: int
    ok: bool
    refs: list[tuple[str, Span]]
    has_owner: bool
    has_runbook: bool
    spec: AlertSpec | None = None


# --- one file ------------------------------------------------------------------------------


class _FileChecker:
    def __init__(self, report: _Report, rule_file: ast.RuleFile, groups: list[_GroupDef]) -> None:
        self.report = report
        self.file = rule_file
        self.path = str(getattr(rule_file, "path", ""))
        source = getattr(rule_file, "source", "")
        self.source = source if isinstance(source, str) else ""
        self.groups = groups
        self.implicit: _GroupDef | None = None

    def error(self, span: Span, message: str) -> None:
        self.report.error(self.path, span, message)

    def run(self) -> None:
        items = getattr(self.file, "items", ())
        try:
            items = tuple(items)
        except Exception:
            items = ()
        for item in items:
            try:
                self._top_item(item)
            except Exception as exc:  # a malformed tree must not stop the other checks
                self.error(_span_of(item), f"internal error while checking: {exc!r}")

    def _top_item(self, item: ast.Item) -> None:
        if isinstance(item, ast.Setting):
            self.error(item.key_span,
                       f'setting "{item.key}" must be inside a block such as group or alert')
            return
        if not isinstance(item, ast.Block):
            self.error(_span_of(item), "unexpected item at top level")
            return
        if item.kind == "group":
            self._group(item)
        elif item.kind == "alert":
            self._alert(item, self._implicit_group(item))
        elif item.kind in UNSUPPORTED_KINDS:
            self.error(item.kind_span, f'"{item.kind}" blocks are not supported yet')
        else:
            hint = did_you_mean(item.kind, BLOCK_KINDS)
            self.error(item.kind_span, f'unknown block type "{item.kind}"{hint}')

    def _implicit_group(self, first_alert: ast.Block) -> _GroupDef:
        if self.implicit is None:
            at = first_alert.name_span or first_alert.kind_span
            self.implicit = _GroupDef(PurePath(self.path).stem, self.path, first_alert.span, at,
                                      implicit=True)
            self.groups.append(self.implicit)
        else:
            self.implicit.span = self.implicit.span.to(first_alert.span)
        return self.implicit

    def _name(self, block: ast.Block) -> str | None:
        if block.name is None or not block.name.strip():
            self.error(block.name_span or block.kind_span, f"{block.kind} needs a name")
            return None
        return block.name

    def _settings(self, block: ast.Block, keys: Sequence[str]) -> dict[str, ast.Setting]:
        """The block's settings by key, reporting unknown and repeated keys."""
        seen: dict[str, ast.Setting] = {}
        for s in block.settings():
            if s.key in seen:
                first = seen[s.key].key_span.line
                self.error(s.key_span,
                           f'duplicate key "{s.key}" in {block.kind} (first set on line {first})')
            elif s.key not in keys:
                if block.kind == "group" and s.key in ALERT_KEYS:
                    hint = f" ({s.key} belongs in an alert block)"
                else:
                    hint = did_you_mean(s.key, keys)
                self.error(s.key_span, f'unknown key "{s.key}" in {block.kind}{hint}')
            else:
                seen[s.key] = s
        return seen

    # groups -------------------------------------------------------------------------------

    def _group(self, block: ast.Block) -> None:
        mark = self.report.errors
        name = self._name(block)
        group = _GroupDef(name, self.path, block.span, block.name_span or block.kind_span,
                          implicit=False)
        self.groups.append(group)
        values = _Values(self, "group")
        settings = self._settings(block, GROUP_KEYS)
        if "interval" in settings:
            group.interval = values.duration(settings["interval"], positive=True)
        if "owner" in settings:
            group.has_owner = True
            group.owner = values.string(settings["owner"], allow_empty=False)
        if "labels" in settings:
            group.labels = values.labels(settings["labels"]) or {}
        group.ok = self.report.errors == mark
        nested = block.blocks()
        for child in nested:
            try:
                if child.kind == "alert":
                    self._alert(child, group)
                elif child.kind in BLOCK_KINDS:
                    self.error(child.kind_span,
                               f'"{child.kind}" blocks cannot be inside a group; '
                               "only alert blocks can")
                else:
                    hint = did_you_mean(child.kind, ("alert",))
                    self.error(child.kind_span,
                               f'unknown block type "{child.kind}" in group{hint}')
            except Exception as exc:
                self.error(_span_of(child), f"internal error while checking: {exc!r}")
        if not nested and group.ok:
            self.report.warning(self.path, group.at, f'group "{name}" has no alerts')

    # alerts -------------------------------------------------------------------------------

    def _alert(self, block: ast.Block, group: _GroupDef) -> None:
        mark = self.report.errors
        name = self._name(block)
        for child in block.blocks():
            self.error(child.kind_span, f'"{child.kind}" blocks cannot be inside an alert')
        settings = self._settings(block, ALERT_KEYS)
        values = _Values(self, "alert")
        refs: list[tuple[str, Span]] = []

        def expr(key: str) -> ast.Expr | None:
            setting = settings.get(key)
            if setting is None:
                return None
            checker = _ExprChecker(self.report, self.path, setting.span)
            try:
                typ = checker.check(setting.value)
            except Exception as exc:
                self.error(setting.span, f"internal error while checking {key}: {exc!r}")
                return None
            refs.extend(checker.refs)
            if typ is not None and typ is not V:
                hint = f" {_RANGE_HINT}" if typ is M else ""
                self.error(setting.value.span,
                           f"{key} must be an instant vector, got {_a(typ)}{hint}")
            return setting.value

        when = expr("when")
        if "when" not in settings:
            where = block.name_span or block.kind_span
            self.error(where, f'alert "{name}" has no when' if name else "alert has no when")
        clear = expr("clear")

        def duration(key: str, *, positive: bool) -> float | None:
            return values.duration(settings[key], positive=positive) if key in settings else None

        for_ = duration("for", positive=False)
        keep_firing_for = duration("keep_firing_for", positive=False)
        interval = duration("interval", positive=True)
        nodata = values.nodata(settings["nodata"]) if "nodata" in settings else "ok"
        strings: dict[str, str | None] = {}
        for key in ("severity", "owner", "runbook", "summary", "description"):
            if key in settings:
                template = key in ("runbook", "summary", "description")
                strings[key] = values.string(settings[key], allow_empty=key in (
                    "summary", "description"), template=template)
        labels = values.labels(settings["labels"]) if "labels" in settings else {}
        annotations = (values.annotations(settings["annotations"], settings)
                       if "annotations" in settings else {})

        if name is None:
            return
        ok = self.report.errors == mark
        has_runbook = "runbook" in settings or "runbook_url" in (annotations or {})
        alert = _AlertDef(name, self.path, block.name_span or block.kind_span, group,
                          len(group.alerts), ok, refs, "owner" in settings or group.has_owner,
                          has_runbook)
        group.alerts.append(alert)
        if not ok or when is None or nodata is None or labels is None or annotations is None:
            alert.ok = False
            return
        merged_annotations: dict[str, str] = {}
        for key in ("summary", "description"):
            text = strings.get(key)
            if text is not None:
                merged_annotations[key] = text
        merged_annotations.update(annotations)
        alert.spec = AlertSpec(
            name=name,
            path=self.path,
            span=block.span,
            name_span=alert.name_span,
            group=group.name or "",
            when=when,
            clear=clear,
            for_=for_ or 0.0,
            keep_firing_for=keep_firing_for or 0.0,
            interval=interval,
            nodata=nodata,
            severity=strings.get("severity"),
            owner=strings.get("owner") or group.owner,
            runbook=strings.get("runbook"),
            labels={**group.labels, **labels},
            annotations=merged_annotations,
        )

    # templates ----------------------------------------------------------------------------

    def check_template(self, lit: ast.StringLit) -> None:
        for problem in find_template_problems(lit.value):
            self.error(self._template_span(lit, problem.line, problem.focus), problem.message)

    def _template_span(self, lit: ast.StringLit, line: int | None, focus: str | None) -> Span:
        """Where a template problem is in the file: the name at fault when it can be found."""
        body = lit.span.start + 1
        exact = self.source[body : body + len(lit.value)] == lit.value
        lines = lit.value.split("\n")
        if not exact or line is None or not 1 <= line <= len(lines):
            return lit.span
        start = body + sum(len(text) + 1 for text in lines[: line - 1])
        text = lines[line - 1]
        if focus:
            m = re.search(rf"(?<![A-Za-z0-9_]){re.escape(focus)}(?![A-Za-z0-9_])", text)
            if m:
                return span_at(self.source, start + m.start(), len(focus))
        if len(lines) == 1:
            return lit.span
        indent = len(text) - len(text.lstrip())
        return span_at(self.source, start + indent, max(len(text.strip()), 1))


class _Values:
    """Checks of setting values, named after the key in every message."""

    def __init__(self, checker: _FileChecker, where: str) -> None:
        self.checker = checker
        self.where = where

    def error(self, span: Span, message: str) -> None:
        self.checker.error(span, message)

    def duration(self, s: ast.Setting, *, positive: bool) -> float | None:
        value = s.value
        negative = False
        if isinstance(value, ast.Unary) and isinstance(value.operand, ast.DurationLit):
            negative = value.op == "-"
            literal: ast.Expr = value.operand
        else:
            literal = value
        if not isinstance(literal, ast.DurationLit):
            self.error(value.span, f"{s.key} must be a duration such as 5m, got {_describe(value)}")
            return None
        if literal.seconds is None:
            self.checker.report.silent_error()
            return None
        seconds = -literal.seconds if negative else literal.seconds
        if seconds < 0:
            self.error(value.span, f"{s.key} must not be negative, got -{literal.text}")
            return None
        if positive and seconds == 0:
            self.error(value.span, f"{s.key} must be positive, got {literal.text}")
            return None
        return seconds

    def string(self, s: ast.Setting, *, allow_empty: bool, template: bool = False) -> str | None:
        value = s.value
        if not isinstance(value, ast.StringLit):
            hint = ""
            if isinstance(value, ast.Selector) and value.name and not value.braces:
                hint = f' (did you mean "{value.name}"?)'
            self.error(value.span, f"{s.key} must be a string, got {_describe(value)}{hint}")
            return None
        if not allow_empty and not value.value.strip():
            self.error(value.span, f"{s.key} must not be empty")
            return None
        if template:
            mark = self.checker.report.errors
            self.checker.check_template(value)
            if self.checker.report.errors != mark:
                return None
        return value.value

    def nodata(self, s: ast.Setting) -> NoDataPolicy | None:
        value = s.value
        text: str | None = None
        if isinstance(value, ast.StringLit):
            text = value.value
        elif isinstance(value, ast.Selector) and value.name and not value.braces:
            text = value.name
        if text is not None and text in _NODATA:
            return _NODATA[text]
        choices = ", ".join(f'"{p}"' for p in NODATA_POLICIES)
        got = f'"{text}"' if text is not None else _describe(value)
        hint = did_you_mean(text, NODATA_POLICIES) if text is not None else ""
        self.error(value.span, f"nodata must be one of {choices}, got {got}{hint}")
        return None

    def _map(self, s: ast.Setting, noun: str) -> list[tuple[ast.Matcher, Span]] | None:
        """The well-formed entries of a map literal `{ a = "b" }` with the span of each name.

        None when the value is not a map; the bad entries are reported and left out.
        """
        value = s.value
        if not (isinstance(value, ast.Selector) and value.name is None and value.braces):
            self.error(value.span, f'{s.key} must be a map such as {{ team = "ml" }}, '
                                   f"got {_describe(value)}")
            return None
        entries: list[tuple[ast.Matcher, Span]] = []
        seen: dict[str, ast.Matcher] = {}
        for m in value.matchers:
            name_span = _prefix(m.span, len(m.name))
            if m.op != "=":
                self.error(m.span, f'{s.key} entries are set with "=", got "{m.op}"')
            elif not LABEL_NAME_RE.fullmatch(m.name):
                self.error(name_span, f'invalid {noun} name "{m.name}"')
            elif m.name in seen:
                first = seen[m.name].span.line
                self.error(name_span,
                           f'duplicate {noun} "{m.name}" in {s.key} (first set on line {first})')
            else:
                seen[m.name] = m
                entries.append((m, name_span))
        return entries

    def labels(self, s: ast.Setting) -> dict[str, str] | None:
        mark = self.checker.report.errors
        entries = self._map(s, "label")
        if entries is None:
            return None
        out: dict[str, str] = {}
        for m, name_span in entries:
            if m.name in _RESERVED_LABELS:
                why = _RESERVED_LABELS[m.name]
                if self.where == "group" and m.name == "severity":
                    why = "use the severity key of each alert"
                self.error(name_span, f'label "{m.name}" is not allowed in labels; {why}')
            elif m.name.startswith("__"):
                self.error(name_span, 'label names starting with "__" are reserved')
            else:
                if "{{" in m.value.value:
                    self.checker.report.warning(
                        self.checker.path, m.value.span,
                        f'label "{m.name}" looks like a template, but label values are not '
                        "expanded")
                out[m.name] = m.value.value
        return out if self.checker.report.errors == mark else None

    def annotations(
        self, s: ast.Setting, settings: dict[str, ast.Setting]
    ) -> dict[str, str] | None:
        mark = self.checker.report.errors
        entries = self._map(s, "annotation")
        if entries is None:
            return None
        out: dict[str, str] = {}
        for m, name_span in entries:
            key = _ANNOTATION_KEYS.get(m.name)
            if key is not None and key in settings:
                self.error(name_span, f'annotation "{m.name}" conflicts with the {key} key; '
                                      "set only one")
                continue
            self.checker.check_template(m.value)
            out[m.name] = m.value.value
        return out if self.checker.report.errors == mark else None


# --- expressions -------------------------------------------------------------------------


class _ExprChecker:
    """Types an expression bottom-up, reporting every problem; collects alert() references."""

    def __init__(self, report: _Report, path: str, fallback: Span) -> None:
        self.report = report
        self.path = path
        self.fallback = fallback
        self.refs: list[tuple[str, Span]] = []

    def error(self, span: Span, message: str) -> None:
        self.report.error(self.path, span, message)

    def check(self, expr: ast.Expr) -> ValueType | None:
        types: dict[int, ValueType | None] = {}
        for node in reversed(ast.walk(expr)):  # children before their parents
            types[id(node)] = self._node(node, types)
        return types.get(id(expr))

    def _node(self, node: ast.Expr, types: dict[int, ValueType | None]) -> ValueType | None:
        def t(child: ast.Expr) -> ValueType | None:
            return types.get(id(child))

        if isinstance(node, ast.NumberLit | ast.PercentLit):
            return S
        if isinstance(node, ast.DurationLit):
            if node.seconds is None:
                self.report.silent_error()
            return S
        if isinstance(node, ast.StringLit):
            return STR
        if isinstance(node, ast.Selector):
            self._selector(node)
            return V
        if isinstance(node, ast.Paren):
            return t(node.expr)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, t(node.expr))
        if isinstance(node, ast.Unary):
            return self._unary(node, t(node.operand))
        if isinstance(node, ast.Binary):
            return self._binary(node, t(node.left), t(node.right))
        if isinstance(node, ast.Call):
            return self._call(node, [t(a) for a in node.args], [t(k.value) for k in node.kwargs])
        self.error(getattr(node, "span", self.fallback), "unsupported expression")
        return None

    # selectors ----------------------------------------------------------------------------

    def _selector(self, node: ast.Selector) -> None:
        selective = node.name is not None  # some matcher (or the name) rules out ""
        bad_regex = False
        for m in node.matchers:
            value = m.value.value
            if not LABEL_NAME_RE.fullmatch(m.name):
                self.error(_prefix(m.span, len(m.name)), f'invalid label name "{m.name}"')
            if m.name == "__name__" and node.name is not None:
                self.error(m.span, f'the metric name is given twice: "{node.name}" and '
                                   "a __name__ matcher")
            if m.op in ("=~", "!~"):
                regex = self._regex(value, m.value.span)
                if regex is None:
                    bad_regex = True
                    continue
                matches_empty = regex.fullmatch("") is not None
                if m.op == "!~":
                    matches_empty = not matches_empty
            elif m.op == "=":
                matches_empty = value == ""
            else:
                matches_empty = value != ""
            selective = selective or not matches_empty
        if not selective and not bad_regex:
            self.error(node.span,
                       "a selector needs a metric name or a matcher that does not match "
                       "the empty string")

    def _regex(self, pattern: str, span: Span) -> re.Pattern[str] | None:
        try:
            return re.compile(pattern, re.DOTALL)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            self.error(span, f'invalid regular expression "{pattern}": {exc.msg}{where}')
        except (OverflowError, RecursionError, ValueError) as exc:
            self.error(span, f'invalid regular expression "{pattern}": {exc}')
        return None

    # ranges -------------------------------------------------------------------------------

    def _positive(self, lit: ast.DurationLit, what: str) -> None:
        if lit.seconds is None:
            self.report.silent_error()
        elif lit.seconds <= 0:
            self.error(lit.span, f"{what} must be positive, got {lit.text}")

    def _subscript(self, node: ast.Subscript, inner: ValueType | None) -> ValueType | None:
        self._positive(node.range, "a range")
        if node.step is not None:
            self._positive(node.step, "a subquery step")
        if not node.subquery:
            if not isinstance(node.expr, ast.Selector):
                self.error(node.expr.span,
                           "ranges are only allowed on selectors; for a range over an "
                           "expression use a subquery such as [5m:1m]")
        elif inner is not None and inner is not V:
            self.error(node.expr.span, f"a subquery needs an instant vector, got {_a(inner)}")
        return M

    # operators ----------------------------------------------------------------------------

    def _unary(self, node: ast.Unary, operand: ValueType | None) -> ValueType | None:
        if operand is M:
            self.error(node.operand.span,
                       f'unary "{node.op}" cannot be applied to a range vector {_RANGE_HINT}')
            return None
        if operand is STR:
            self.error(node.operand.span, f'unary "{node.op}" cannot be applied to a string')
            return None
        return operand

    def _binary(
        self, node: ast.Binary, left: ValueType | None, right: ValueType | None
    ) -> ValueType | None:
        op = node.op
        is_cmp = op in ast.COMPARISON_OPS
        is_set = op in ast.SET_OPS
        sound = True
        for side, typ, operand in (("left", left, node.left), ("right", right, node.right)):
            if typ is M:
                self.error(operand.span,
                           f'a range vector cannot be an operand of "{op}" {_RANGE_HINT}')
                sound = False
            elif typ is STR:
                self.error(operand.span, f'a string cannot be an operand of "{op}"')
                sound = False
            elif is_set and typ is S:
                self.error(operand.span, f'"{op}" needs instant vectors on both sides, '
                                         f"got a scalar on the {side}")
        if node.return_bool and not is_cmp:
            self.error(node.op_span, f'bool is only allowed on comparisons, not on "{op}"')
        if node.matching is not None:
            self._matching(node, left, right)
        if is_cmp and left is S and right is S and not node.return_bool:
            self.error(node.op_span, "comparisons between scalars must use bool")
        if is_set or V in (left, right):
            return V
        if sound and left is S and right is S:
            return S
        return None

    def _matching(self, node: ast.Binary, left: ValueType | None, right: ValueType | None) -> None:
        m = node.matching
        assert m is not None
        kind = "on" if m.on else "ignoring"
        group = {"many-to-one": "group_left", "one-to-many": "group_right"}.get(m.card)
        if S in (left, right):
            self.error(m.span, f"{kind}(...) is only allowed between two instant vectors")
        elif group is not None and node.op in ast.SET_OPS:
            self.error(m.span, f'{group} is not allowed with "{node.op}"')
        for name in (*m.labels, *m.include):
            if not LABEL_NAME_RE.fullmatch(name):
                self.error(m.span, f'invalid label name "{name}"')
        if m.on and group is not None:
            for name in m.include:
                if name in m.labels:
                    self.error(m.span,
                               f'label "{name}" must not be in both on(...) and {group}(...)')

    # calls --------------------------------------------------------------------------------

    def _call(
        self,
        node: ast.Call,
        arg_types: list[ValueType | None],
        kwarg_types: list[ValueType | None],
    ) -> ValueType | None:
        spec = ALL.get(node.name)
        if spec is None:
            hint = did_you_mean(node.name, ALL)
            self.error(node.name_span, f'unknown function "{node.name}"{hint}')
            return None
        fn = f"{node.name}()"
        self._arg_count(node, spec)
        for i, (arg, actual) in enumerate(zip(node.args, arg_types, strict=False)):
            expected = _param(spec, i)
            if expected is None or actual is None or actual is expected:
                continue
            self.error(arg.span, f"{fn} expects {_a(expected)} as argument {i + 1}, "
                                 f"got {_a(actual)}{_conversion_hint(expected, actual)}")
        self._kwargs(node, spec, kwarg_types)
        if node.grouping is not None:
            g = node.grouping
            word = "without" if g.without else "by"
            if not spec.grouping:
                self.error(g.span, f"{word} (...) is only allowed on aggregations such as sum, "
                                   f"not on {fn}")
            for name in g.labels:
                if not LABEL_NAME_RE.fullmatch(name):
                    self.error(g.span, f'invalid label name "{name}"')
        self._special(node)
        return spec.returns

    def _arg_count(self, node: ast.Call, spec: FunctionSpec) -> None:
        n, low, high = len(node.args), spec.min_args, spec.max_args
        if low <= n and (high is None or n <= high):
            return
        plural = "argument" if (high if high is not None else low) == 1 else "arguments"
        if high is None:
            wanted = f"at least {low} {plural}"
        elif high == 0:
            wanted = "no arguments"
        elif low == high:
            wanted = f"{low} {plural}"
        elif high == low + 1:
            wanted = f"{low} or {high} arguments"
        else:
            wanted = f"{low} to {high} arguments"
        span = node.name_span
        if high is not None and n > high:
            span = node.args[high].span.to(node.args[-1].span)
        self.error(span, f"{node.name}() takes {wanted}, got {n}")

    def _kwargs(self, node: ast.Call, spec: FunctionSpec, types: list[ValueType | None]) -> None:
        seen: set[str] = set()
        for kw, actual in zip(node.kwargs, types, strict=False):
            name_span = _prefix(kw.span, len(kw.name))
            expected = spec.kwargs.get(kw.name)
            if expected is None:
                hint = did_you_mean(kw.name, spec.kwargs)
                self.error(name_span,
                           f'unknown keyword argument "{kw.name}" for {node.name}(){hint}')
            elif kw.name in seen:
                self.error(name_span, f'keyword argument "{kw.name}" is given twice')
            elif actual is not None and actual is not expected:
                self.error(kw.value.span, f"{node.name}() expects {_a(expected)} as {kw.name}, "
                                          f"got {_a(actual)}")
            seen.add(kw.name)

    def _special(self, node: ast.Call) -> None:
        """Checks on literal arguments that the signature table cannot express."""
        first = _unparen(node.args[0]) if node.args else None
        if node.name == "prom" and isinstance(first, ast.StringLit) and not first.value.strip():
            self.error(first.span, "prom() needs a query, got an empty string")
        elif node.name == "alert":
            if isinstance(first, ast.StringLit):
                if first.value.strip():
                    self.refs.append((first.value, first.span))
                else:
                    self.error(first.span, "alert() needs a rule name, got an empty string")
            for kw in node.kwargs:
                value = _unparen(kw.value)
                if kw.name == "state" and isinstance(value, ast.StringLit) \
                        and value.value not in ALERT_STATES:
                    choices = " or ".join(f'"{s}"' for s in ALERT_STATES)
                    hint = did_you_mean(value.value, ALERT_STATES)
                    self.error(value.span, f'state must be {choices}, got "{value.value}"{hint}')
        elif node.name in _QUANTILE_FUNCS and first is not None:
            phi = _constant(node.args[0])
            if phi is not None and not math.isnan(phi) and not 0 <= phi <= 1:
                self.error(node.args[0].span,
                           f"{node.name}() expects φ between 0 and 1, got {phi:g}")
        elif node.name == "label_replace" and len(node.args) >= 5:
            regex = _unparen(node.args[4])
            if isinstance(regex, ast.StringLit):
                self._regex(regex.value, regex.span)
            dst = _unparen(node.args[1])
            if isinstance(dst, ast.StringLit) and not LABEL_NAME_RE.fullmatch(dst.value):
                self.error(dst.span, f'invalid label name "{dst.value}"')


def _param(spec: FunctionSpec, i: int) -> ValueType | None:
    if i < len(spec.params):
        return spec.params[i]
    if spec.variadic and spec.params:
        return spec.params[-1]
    return None


def _conversion_hint(expected: ValueType, actual: ValueType) -> str:
    if expected is M and actual is V:
        return " (add a range such as [5m])"
    if expected is V and actual is M:
        return f" {_RANGE_HINT}"
    return ""


# --- the cross-file pass -----------------------------------------------------------------


def _cross_check(
    report: _Report, groups: list[_GroupDef], alerts: list[_AlertDef], require: frozenset[str]
) -> None:
    first_group: dict[str, _GroupDef] = {}
    for g in groups:
        if g.name is None:
            continue
        first = first_group.get(g.name)
        if first is None:
            first_group[g.name] = g
            continue
        hint = ("; alerts outside a group form a group named after the file"
                if g.implicit or first.implicit else "")
        report.error(g.path, g.at, f'duplicate group "{g.name}" '
                                   f"(first defined at {_where(first.path, first.at)}){hint}")
        g.ok = False

    by_name: dict[str, _AlertDef] = {}
    for a in alerts:
        earlier = by_name.get(a.name)
        if earlier is None:
            by_name[a.name] = a
            continue
        where = _where(earlier.path, earlier.name_span)
        report.error(a.path, a.name_span, f'duplicate alert "{a.name}" (first defined at {where})')
        a.ok = False

    for a in alerts:
        for ref, span in a.refs:
            if ref not in by_name:
                report.error(a.path, span,
                             f'alert("{ref}") names no rule{did_you_mean(ref, by_name)}')
                a.ok = False

    _report_cycles(report, by_name)

    for a in alerts:
        if "owner" in require and not a.has_owner:
            report.error(a.path, a.name_span,
                         f'alert "{a.name}" has no owner (set owner in the alert or its group)')
            a.ok = False
        if "runbook" in require and not a.has_runbook:
            report.error(a.path, a.name_span,
                         f'alert "{a.name}" has no runbook (set runbook in the alert)')
            a.ok = False


def _report_cycles(report: _Report, by_name: dict[str, _AlertDef]) -> None:
    graph = {name: [r for r, _ in a.refs if r in by_name] for name, a in by_name.items()}
    position = {name: i for i, name in enumerate(by_name)}
    for component in _strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        start = min(component, key=position.__getitem__)
        path = _cycle_through(start, graph, members)
        alert = by_name[start]
        span = next(s for r, s in alert.refs if r == path[1])
        report.error(alert.path, span, "alert reference cycle: " + " -> ".join(path))
        for name in component:
            by_name[name].ok = False


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so that long reference chains cannot hit the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, successors = work[-1]
            descended = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    descended = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out


def _cycle_through(start: str, graph: dict[str, list[str]], members: set[str]) -> list[str]:
    """The shortest cycle from `start` back to itself within one component, as names."""
    parent: dict[str, str] = {}
    queue = [start]
    for node in queue:  # breadth first: the list grows while it is read
        for nxt in graph[node]:
            if nxt == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(parent[chain[-1]])
                return [*reversed(chain), start]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]


def _kept_alerts(alerts: Iterable[_AlertDef]) -> set[int]:
    """Alerts without errors whose alert() references all lead to kept alerts."""
    candidates = [a for a in alerts if a.ok and a.group.ok and a.spec is not None]
    kept = {a.name: a for a in candidates}
    changed = True
    while changed:
        changed = False
        for a in list(kept.values()):
            if any(ref not in kept for ref, _ in a.refs):
                del kept[a.name]
                changed = True
    return {id(a) for a in kept.values()}


# --- small helpers -----------------------------------------------------------------------


def _a(t: ValueType) -> str:
    text = str(t)
    return ("an " if text[0] in "aeiou" else "a ") + text


def _where(path: str, span: Span) -> str:
    return f"{path}:{span.line}:{span.column}"


def _span_of(node: object) -> Span:
    return _valid(getattr(node, "span", None))


def _valid(span: object) -> Span:
    """`span` if it is one a diagnostic can carry (a hand-made tree may hold anything)."""
    if isinstance(span, Span) and all(
        isinstance(v, int) for v in (span.line, span.column, span.end_line, span.end_column)
    ):
        return span
    return _NO_SPAN


def _prefix(span: Span, length: int) -> Span:
    """The first `length` characters of a span that starts with a name."""
    return Span(span.line, span.column, span.line, span.column + length, span.start,
                span.start + length)


def _unparen(expr: ast.Expr) -> ast.Expr:
    while isinstance(expr, ast.Paren):
        expr = expr.expr
    return expr


def _constant(expr: ast.Expr) -> float | None:
    """The value of a literal number, possibly signed and parenthesised."""
    sign = 1.0
    while True:
        if isinstance(expr, ast.Paren):
            expr = expr.expr
        elif isinstance(expr, ast.Unary):
            sign = -sign if expr.op == "-" else sign
            expr = expr.operand
        else:
            break
    if isinstance(expr, ast.NumberLit | ast.PercentLit):
        return sign * expr.value
    return None


def _describe(expr: ast.Expr) -> str:
    """A value as a message quotes it: `300`, `"5m"`, `page`, `an expression`."""
    if isinstance(expr, ast.NumberLit | ast.DurationLit | ast.PercentLit):
        return expr.text
    if isinstance(expr, ast.StringLit):
        text = expr.value if len(expr.value) <= 40 else expr.value[:37] + "..."
        return f'"{text}"'
    if isinstance(expr, ast.Selector):
        if expr.name is None:
            return "a map"
        return expr.name if not expr.braces else "a selector"
    if isinstance(expr, ast.Unary) and isinstance(expr.operand, ast.NumberLit | ast.DurationLit):
        return expr.op + expr.operand.text
    return "an expression"

