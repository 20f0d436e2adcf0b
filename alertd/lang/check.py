"""The checker: generic blocks of the syntax tree to GroupSpecs, and every mistake reported.

Like a compiler, it reports all problems of all files in one run, each at the most precise
span it knows, and never stops at the first. An alert with any error is left out of the
result (its errors are all reported); the result therefore holds only rules that compile.

This module checks blocks and keys and builds the groups and alerts; setting values are
checked by check_values.py, expressions are typed by check_expr.py, and what spans files is
checked by check_refs.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.baselines import BaselineSpec, check_baseline, check_baseline_refs
from alertd.lang.check_expr import RANGE_HINT, ExprChecker, infer_type
from alertd.lang.check_refs import AlertDef, GroupDef, cross_check, kept_alerts
from alertd.lang.check_report import Report, article, settings_by_key, span_of
from alertd.lang.check_values import AlertValues, Values, alert_values
from alertd.lang.diagnostics import Diagnostic
from alertd.lang.slo import SloSpec, check_slo
from alertd.lang.slo_check import check_slo_refs
from alertd.lang.slo_expand import expand_slo
from alertd.lang.spec import AlertSpec, GroupSpec
from alertd.lang.types import ValueType
from alertd.suggest import did_you_mean

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
        def hint(key: str) -> str:
            if block.kind == "group" and key in ALERT_KEYS:
                return f" ({key} belongs in an alert block)"
            return did_you_mean(key, keys)

        return settings_by_key(block, keys, block.kind, self.error, hint)

    # groups -------------------------------------------------------------------------------

    def _group(self, block: ast.Block) -> None:
        mark = self.report.errors
        name = self._name(block)
        group = GroupDef(name, self.path, block.span, block.name_span or block.kind_span,
                          implicit=False)
        self.groups.append(group)
        values = Values(self.report, self.path, self.source, "group")
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
        refs: list[tuple[str, Span]] = []
        when = self._condition(settings, "when", refs)
        if "when" not in settings:
            where = block.name_span or block.kind_span
            self.error(where, f'alert "{name}" has no when' if name else "alert has no when")
        clear = self._condition(settings, "clear", refs)
        values = alert_values(Values(self.report, self.path, self.source, "alert"), settings,
                              when)
        if name is None:
            return
        ok = self.report.errors == mark
        has_runbook = "runbook" in settings or "runbook_url" in (values.annotations or {})
        alert = AlertDef(name, self.path, block.name_span or block.kind_span, group,
                          len(group.alerts), ok, refs, "owner" in settings or group.has_owner,
                          has_runbook)
        group.alerts.append(alert)
        if not ok or when is None or not values.complete:
            alert.ok = False
            return
        alert.spec = _alert_spec(block, alert, when, clear, values)

    def _condition(self, settings: dict[str, ast.Setting], key: str,
                   refs: list[tuple[str, Span]]) -> ast.Expr | None:
        """The expression of `when` or `clear`, which must be an instant vector; the
        alert() references it makes are added to `refs`."""
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


def _alert_spec(block: ast.Block, alert: AlertDef, when: ast.Expr, clear: ast.Expr | None,
                values: AlertValues) -> AlertSpec:
    group = alert.group
    strings = values.strings
    annotations = {key: text for key in ("summary", "description")
                   if (text := strings.get(key)) is not None}
    annotations.update(values.annotations or {})
    return AlertSpec(
        name=alert.name,
        path=alert.path,
        span=block.span,
        name_span=alert.name_span,
        group=group.name or "",
        when=when,
        clear=clear,
        for_=values.for_ or 0.0,
        keep_firing_for=values.keep_firing_for or 0.0,
        interval=values.interval,
        nodata=values.nodata or "ok",
        severity=strings.get("severity"),
        owner=strings.get("owner") or group.owner,
        runbook=strings.get("runbook"),
        dashboard=strings.get("dashboard"),
        generator_url=strings.get("generator_url"),
        suppresses_inputs=bool(values.suppresses),
        labels={**group.labels, **(values.labels or {})},
        annotations=annotations,
    )
