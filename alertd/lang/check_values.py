"""Checks of setting values: durations, strings and templates, links, flags, the nodata
policy, and the label and annotation maps, each named after its key in every message."""

from __future__ import annotations

import re
from dataclasses import dataclass

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check_expr import LABEL_NAME_RE
from alertd.lang.check_report import Report, prefix_span
from alertd.lang.diagnostics import span_at
from alertd.lang.references import input_refs
from alertd.lang.spec import NODATA_POLICIES, NoDataPolicy
from alertd.suggest import did_you_mean
from alertd.templates import find_template_problems

__all__ = ["AlertValues", "Values", "alert_values", "describe"]

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


class Values:
    """Checks of setting values, named after the key in every message."""

    def __init__(self, report: Report, path: str, source: str, where: str) -> None:
        self.report = report
        self.path = path
        self.source = source  # the file's text, to point at a name inside a template
        self.where = where

    def error(self, span: Span, message: str) -> None:
        self.report.error(self.path, span, message)

    def duration(self, s: ast.Setting, *, positive: bool) -> float | None:
        value = s.value
        negative = False
        if isinstance(value, ast.Unary) and isinstance(value.operand, ast.DurationLit):
            negative = value.op == "-"
            literal: ast.Expr = value.operand
        else:
            literal = value
        if not isinstance(literal, ast.DurationLit):
            self.error(value.span, f"{s.key} must be a duration such as 5m, got {describe(value)}")
            return None
        if literal.seconds is None:
            self.report.silent_error()
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
            self.error(value.span, f"{s.key} must be a string, got {describe(value)}{hint}")
            return None
        if not allow_empty and not value.value.strip():
            self.error(value.span, f"{s.key} must not be empty")
            return None
        if template:
            mark = self.report.errors
            self.check_template(value)
            if self.report.errors != mark:
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
                               f"got {describe(value)}")

    def flag(self, s: ast.Setting) -> bool | None:
        value = s.value
        if isinstance(value, ast.Selector) and not value.braces and value.name in _FLAGS:
            return _FLAGS[value.name]
        self.error(value.span, f"{s.key} must be true or false, got {describe(value)}")
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
        got = f'"{text}"' if text is not None else describe(value)
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
                                   f"got {describe(value)}")
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
        mark = self.report.errors
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
                    self.report.warning(
                        self.path, m.value.span,
                        f'label "{m.name}" looks like a template, but label values are not '
                        "expanded")
                out[m.name] = m.value.value
        return out if self.report.errors == mark else None

    def annotations(
        self, s: ast.Setting, settings: dict[str, ast.Setting]
    ) -> dict[str, str] | None:
        mark = self.report.errors
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
            self.check_template(m.value)
            out[m.name] = m.value.value
        return out if self.report.errors == mark else None

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


@dataclass(frozen=True, slots=True)
class AlertValues:
    """An alert's settings other than its expressions; None where a value was wrong."""

    for_: float | None
    keep_firing_for: float | None
    interval: float | None
    nodata: NoDataPolicy | None
    strings: dict[str, str | None]
    suppresses: bool | None
    labels: dict[str, str] | None
    annotations: dict[str, str] | None

    @property
    def complete(self) -> bool:
        """Whether every value that has no default was valid."""
        return not (self.nodata is None or self.labels is None or self.annotations is None
                    or self.suppresses is None)


_STRING_KEYS = ("severity", "owner", "runbook", "summary", "description", "dashboard",
                "generator_url")


def alert_values(values: Values, settings: dict[str, ast.Setting],
                 when: ast.Expr | None) -> AlertValues:
    def duration(key: str, *, positive: bool) -> float | None:
        return values.duration(settings[key], positive=positive) if key in settings else None

    for_ = duration("for", positive=False)
    keep_firing_for = duration("keep_firing_for", positive=False)
    interval = duration("interval", positive=True)
    nodata = values.nodata(settings["nodata"]) if "nodata" in settings else "ok"
    strings = _strings(values, settings)
    suppresses = (values.flag(settings["suppresses_inputs"])
                  if "suppresses_inputs" in settings else False)
    if suppresses and when is not None and not input_refs(when):
        values.error(settings["suppresses_inputs"].value.span,
                     "suppresses_inputs needs an alert() reference in when: it holds back "
                     "the pages of the alerts that when refers to")
    labels = values.labels(settings["labels"]) if "labels" in settings else {}
    annotations = (values.annotations(settings["annotations"], settings)
                   if "annotations" in settings else {})
    return AlertValues(for_, keep_firing_for, interval, nodata, strings, suppresses, labels,
                       annotations)


def _strings(values: Values, settings: dict[str, ast.Setting]) -> dict[str, str | None]:
    """The string settings; all but severity and owner are templates, and the links must
    be URLs."""
    strings: dict[str, str | None] = {}
    for key in _STRING_KEYS:
        if key in settings:
            template = key not in ("severity", "owner")
            strings[key] = values.string(settings[key], allow_empty=key in (
                "summary", "description"), template=template)
    for key in ("dashboard", "generator_url"):
        if strings.get(key) is not None:
            values.link(settings[key])
    return strings


def describe(expr: ast.Expr) -> str:
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

