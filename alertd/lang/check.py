"""The checker: generic blocks of the syntax tree to GroupSpecs, and every mistake reported.

Like a compiler, it reports all problems of all files in one run, each at the most precise
span it knows, and never stops at the first. An alert with any error is left out of the
result (its errors are all reported); the result therefore holds only rules that compile.

This module checks blocks, keys and setting values and builds the groups and alerts;
expressions are typed by check_expr.py and what spans files is checked by check_refs.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.baselines import BaselineSpec, check_baseline, check_baseline_refs
from alertd.lang.check_expr import LABEL_NAME_RE, RANGE_HINT, ExprChecker, infer_type
from alertd.lang.check_refs import AlertDef, GroupDef, cross_check, kept_alerts
from alertd.lang.check_report import Report, article, prefix_span, span_of
from alertd.lang.diagnostics import Diagnostic, did_you_mean, span_at
from alertd.lang.slo import SloSpec, check_slo
from alertd.lang.slo_check import check_slo_refs
from alertd.lang.slo_expand import expand_slo
from alertd.lang.types import ValueType
from alertd.rules.references import input_refs
from alertd.rules.spec import NODATA_POLICIES, AlertSpec, GroupSpec, NoDataPolicy
from alertd.templates import find_template_problems

__all__ = ["CheckResult", "check_files", "infer_type"]

V, M = ValueType.VECTOR, ValueType.MATRIX

BLOCK_KINDS = ("group", "alert", "slo", "baseline")
UNSUPPORTED_KINDS: tuple[str, ...] = ()
GROUP_KEYS = ("interval", "owner", "labels")
ALERT_KEYS = (
    "when", "for", "keep_firing_for", "clear", "interval", "nodata", "severity", "owner",
    "runbook", "summary", "description", "labels", "annotations", "dashboard", "generator_url",
    "suppresses_inputs",
)
REQUIRABLE = ("owner", "runbook")

# Labels every instance gets from the alert itself; setting them in `labels` would be
# silently overridden, so it is an error that names the right key.
_RESERVED_LABELS = {
    "alertname": "it is always the alert's name",
    "severity": "use the severity key",
    "owner": "use the owner key",
}
# Annotations that an alert key also sets.
_ANNOTATION_KEYS = {"summary": "summary", "description": "description", "runbook_url": "runbook",
                    "dashboard": "dashboard"}
_NODATA: dict[str, NoDataPolicy] = {p: p for p in NODATA_POLICIES}
_FLAGS = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class CheckResult:
    groups: tuple[GroupSpec, ...]
    diagnostics: tuple[Diagnostic, ...]
    baselines: tuple[BaselineSpec, ...] = ()
    slos: tuple[SloSpec, ...] = ()

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
    report = Report()
    groups: list[GroupDef] = []
    baselines: list[BaselineSpec] = []
    slos: list[SloSpec] = []
    for rule_file in files:
        _FileChecker(report, rule_file, groups, baselines, slos).run()
    alerts = [a for g in groups for a in g.alerts]
    cross_check(report, groups, alerts, require)
    unique_baselines = check_baseline_refs(report, baselines, alerts)
    unique_slos = check_slo_refs(report, slos, alerts)
    kept = kept_alerts(alerts)
    specs: list[GroupSpec] = []
    for g in groups:
        if not g.ok or g.name is None:
            continue
        members = tuple(a.spec for a in g.alerts if id(a) in kept and a.spec is not None)
        if g.implicit and not members:
            continue
        specs.append(GroupSpec(g.name, g.path, g.span, g.interval, members, g.implicit))
    diagnostics = tuple(sorted(set(report.diagnostics), key=Diagnostic.sort_key))
    return CheckResult(tuple(specs), diagnostics, unique_baselines, unique_slos)


# --- one file ------------------------------------------------------------------------------


class _FileChecker:
    def __init__(self, report: Report, rule_file: ast.RuleFile, groups: list[GroupDef],
                 baselines: list[BaselineSpec], slos: list[SloSpec] | None = None) -> None:
        self.report = report
        self.baselines = baselines
        self.slos = slos if slos is not None else []
        self.file = rule_file
        self.path = str(getattr(rule_file, "path", ""))
        source = getattr(rule_file, "source", "")
        self.source = source if isinstance(source, str) else ""
        self.groups = groups
        self.implicit: GroupDef | None = None

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
                self.error(span_of(item), f"internal error while checking: {exc!r}")

    def _top_item(self, item: ast.Item) -> None:
        if isinstance(item, ast.Setting):
            self.error(item.key_span,
                       f'setting "{item.key}" must be inside a block such as group or alert')
            return
        if not isinstance(item, ast.Block):
            self.error(span_of(item), "unexpected item at top level")
            return
        if item.kind == "group":
            self._group(item)
        elif item.kind == "alert":
            self._alert(item, self._implicit_group(item))
        elif item.kind == "slo":
            self._slo(item, self._implicit_group(item))
        elif item.kind == "baseline":
            baseline = check_baseline(self.report, self.path, item)
            if baseline is not None:
                self.baselines.append(baseline)
        elif item.kind in UNSUPPORTED_KINDS:
            self.error(item.kind_span, f'"{item.kind}" blocks are not supported yet')
        else:
            hint = did_you_mean(item.kind, BLOCK_KINDS)
            self.error(item.kind_span, f'unknown block type "{item.kind}"{hint}')

    def _implicit_group(self, first_alert: ast.Block) -> GroupDef:
        if self.implicit is None:
            at = first_alert.name_span or first_alert.kind_span
            self.implicit = GroupDef(PurePath(self.path).stem, self.path, first_alert.span, at,
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
        group = GroupDef(name, self.path, block.span, block.name_span or block.kind_span,
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
                elif child.kind == "slo":
                    self._slo(child, group)
                elif child.kind in BLOCK_KINDS:
                    self.error(child.kind_span,
                               f'"{child.kind}" blocks cannot be inside a group; '
                               "only alert and slo blocks can")
                else:
                    hint = did_you_mean(child.kind, ("alert", "slo"))
                    self.error(child.kind_span,
                               f'unknown block type "{child.kind}" in group{hint}')
            except Exception as exc:
                self.error(span_of(child), f"internal error while checking: {exc!r}")
        if not nested and group.ok:
            self.report.warning(self.path, group.at, f'group "{name}" has no alerts')

    def _slo(self, block: ast.Block, group: GroupDef) -> None:
        """An SLO, and the alerts it expands into as members of its group."""
        def check(expr: ast.Expr) -> object:
            return ExprChecker(self.report, self.path, block.span).check(expr)

        spec = check_slo(self.report, self.path, block, group.name or "", check)
        if spec is not None:
            self.slos.append(spec)
            for alert in expand_slo(spec):
                self._alert(alert, group)

    # alerts -------------------------------------------------------------------------------

    def _alert(self, block: ast.Block, group: GroupDef) -> None:
        mark = self.report.errors
        name = self._name(block)
        for child in block.blocks():
            # Almost always a "}" forgotten above, which nests the next block in this one.
            title = f"alert {name}" if name else "the alert"
            self.error(child.kind_span, f'"{child.kind}" blocks cannot be inside an alert '
                                        f'(is the "}}" of {title} missing before it?)')
        settings = self._settings(block, ALERT_KEYS)
        values = _Values(self, "alert")
        refs: list[tuple[str, Span]] = []

        def expr(key: str) -> ast.Expr | None:
            setting = settings.get(key)
            if setting is None:
                return None
            checker = ExprChecker(self.report, self.path, setting.span)
            try:
                typ = checker.check(setting.value)
            except Exception as exc:
                self.error(setting.span, f"internal error while checking {key}: {exc!r}")
                return None
            refs.extend(checker.refs)
            if typ is not None and typ is not V:
                hint = f" {RANGE_HINT}" if typ is M else ""
                self.error(setting.value.span,
                           f"{key} must be an instant vector, got {article(typ)}{hint}")
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
        for key in ("severity", "owner", "runbook", "summary", "description", "dashboard",
                    "generator_url"):
            if key in settings:
                template = key not in ("severity", "owner")
                strings[key] = values.string(settings[key], allow_empty=key in (
                    "summary", "description"), template=template)
        for key in ("dashboard", "generator_url"):
            if strings.get(key) is not None:
                values.link(settings[key])
        suppresses = (values.flag(settings["suppresses_inputs"])
                      if "suppresses_inputs" in settings else False)
        if suppresses and when is not None and not input_refs(when):
            self.error(settings["suppresses_inputs"].value.span,
                       "suppresses_inputs needs an alert() reference in when: it holds back "
                       "the pages of the alerts that when refers to")
        labels = values.labels(settings["labels"]) if "labels" in settings else {}
        annotations = (values.annotations(settings["annotations"], settings)
                       if "annotations" in settings else {})

        if name is None:
            return
        ok = self.report.errors == mark
        has_runbook = "runbook" in settings or "runbook_url" in (annotations or {})
        alert = AlertDef(name, self.path, block.name_span or block.kind_span, group,
                          len(group.alerts), ok, refs, "owner" in settings or group.has_owner,
                          has_runbook)
        group.alerts.append(alert)
        if (not ok or when is None or nodata is None or labels is None or annotations is None
                or suppresses is None):
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
            dashboard=strings.get("dashboard"),
            generator_url=strings.get("generator_url"),
            suppresses_inputs=suppresses,
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

    def link(self, s: ast.Setting) -> None:
        """A link must be http(s): a page shows it as a button, which Slack refuses
        otherwise. A template that starts with a variable is checked when rendered."""
        value = s.value
        assert isinstance(value, ast.StringLit)
        text = value.value.strip()
        if text.startswith(("{{", "{%")) or text.lower().startswith(("http://", "https://")):
            return
        self.error(value.span, f"{s.key} must be an http:// or https:// URL, "
                               f"got {_describe(value)}")

    def flag(self, s: ast.Setting) -> bool | None:
        value = s.value
        if isinstance(value, ast.Selector) and not value.braces and value.name in _FLAGS:
            return _FLAGS[value.name]
        self.error(value.span, f"{s.key} must be true or false, got {_describe(value)}")
        return None

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
            name_span = prefix_span(m.span, len(m.name))
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


# --- small helpers -----------------------------------------------------------------------


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

