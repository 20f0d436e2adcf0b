"""`baseline` blocks: where the reference of the drift functions comes from.

    baseline "churn-training" {
      file = "baselines/churn-training.csv"   # CSV or Parquet, next to this rule file
      bins = 10
    }
    baseline "scores-may" {
      prometheus = `prediction_score`          # a range query over Prometheus history
      from = "2026-05-01T00:00:00Z"
      to   = "2026-05-08T00:00:00Z"
    }
    baseline "churn-live" { captured = true }  # versions made by `alertd baseline capture`

The file pass checks each block into a `BaselineSpec` (reading a file baseline, so that
`alertd check` reports a missing file or column, too few values and missing values); the
cross-file pass then checks every drift call against the baselines: the name, and the
features when they are known (a file's now, the others' once the rules load).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from alertd.drift import DEFAULT_BINS
from alertd.drift.baseline_files import BaselineFileError, FileBaseline, read_baseline_file
from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check_refs import AlertDef
from alertd.lang.check_report import Report, settings_by_key
from alertd.lang.drift_check import drift_calls, feature_problems
from alertd.lang.drift_eval import DEFAULT_FEATURE_LABEL
from alertd.suggest import did_you_mean

__all__ = ["BASELINE_KEYS", "BaselineSpec", "check_baseline", "check_baseline_refs"]

BASELINE_KEYS = ("file", "columns", "prometheus", "from", "to", "step", "captured", "bins",
                 "max_missing", "feature_label", "description")
SOURCES = ("file", "prometheus", "captured")
DEFAULT_STEP = 60.0
_ONLY_WITH = {"columns": "file", "from": "prometheus", "to": "prometheus",
              "step": "prometheus"}
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, eq=False)
class BaselineSpec:
    name: str
    path: str  # the rule file
    span: Span
    name_span: Span
    source: str  # one of SOURCES
    bins: int = DEFAULT_BINS
    max_missing: float = 0.0  # the share of missing values a feature may have
    feature_label: str = DEFAULT_FEATURE_LABEL
    description: str = ""
    file: str | None = None  # as resolved against the rule file's directory
    columns: tuple[str, ...] | None = None
    query: str | None = None
    start: float | None = None
    end: float | None = None
    step: float = DEFAULT_STEP
    loaded: FileBaseline | None = None  # a file's references, read when it was checked
    ok: bool = True  # False: the block has errors (reported); its users are left out

    def kinds(self) -> dict[str, str] | None:
        """Feature -> kind, when known without the store (a file's)."""
        if self.loaded is None:
            return None
        return {name: ref.kind for name, ref in self.loaded.features.items()}

    def origin(self) -> dict[str, Any]:
        """What a stored version records it was made from; a version made from the same
        is reused when the rules load."""
        common: dict[str, Any] = {"bins": self.bins, "max_missing": self.max_missing}
        if self.source == "file":
            return {"file": os.path.abspath(self.file or ""),
                    "sha256": self.loaded.sha256 if self.loaded else None,
                    "columns": list(self.columns) if self.columns else None, **common}
        if self.source == "prometheus":
            return {"prometheus": self.query, "from": self.start, "to": self.end,
                    "step": self.step, "feature_label": self.feature_label, **common}
        return {"feature_label": self.feature_label, **common}

    @property
    def where(self) -> str:
        return f"{self.path}:{self.name_span.line}:{self.name_span.column}"


def check_baseline(report: Report, path: str, block: ast.Block) -> BaselineSpec | None:
    """A checked baseline block; with its problems reported, one that is not `ok`, or None
    when it has no name."""
    return _Block(report, path, block).run()


def check_baseline_refs(report: Report, baselines: Sequence[BaselineSpec],
                        alerts: Sequence[AlertDef]) -> tuple[BaselineSpec, ...]:
    """Report duplicate baselines and drift calls that name no baseline or features the
    baseline lacks (the alerts at fault are no longer ok); the baselines, each once."""
    by_name: dict[str, BaselineSpec] = {}
    for spec in baselines:
        first = by_name.setdefault(spec.name, spec)
        if first is not spec:
            report.error(spec.path, spec.name_span,
                         f'duplicate baseline "{spec.name}" (first defined at {first.where})')
            # Which of the two a rule means cannot be told: its rules are left out.
            by_name[spec.name] = replace(first, ok=False)
    for alert in alerts:
        if alert.spec is None:
            continue
        for expr in (alert.spec.when, alert.spec.clear):
            if expr is not None and not _refs_ok(report, alert.path, expr, by_name):
                alert.ok = False
    return tuple(spec for spec in by_name.values() if spec.ok)


def _refs_ok(report: Report, path: str, expr: ast.Expr,
             by_name: dict[str, BaselineSpec]) -> bool:
    ok = True
    for call in drift_calls(expr):
        if call.baseline is None or call.baseline_span is None:
            continue
        spec = by_name.get(call.baseline)
        if spec is None:
            hint = did_you_mean(call.baseline, by_name)
            report.error(path, call.baseline_span, f'no baseline named "{call.baseline}"{hint}; '
                                                   "define it with a baseline block")
            ok = False
            continue
        if not spec.ok:
            report.silent_error()  # the block's own errors say what to fix
            ok = False
            continue
        for span, message in feature_problems(call, spec.feature_label, spec.kinds()):
            report.error(path, span, message)
            ok = False
    return ok


class _Block:
    def __init__(self, report: Report, path: str, block: ast.Block) -> None:
        self.report = report
        self.path = path
        self.block = block
        self.ok = True

    def error(self, span: Span, message: str) -> None:
        self.report.error(self.path, span, message)
        self.ok = False

    def run(self) -> BaselineSpec | None:
        block = self.block
        name = (block.name or "").strip()
        at = block.name_span or block.kind_span
        if not name:
            self.error(at, "baseline needs a name")
        for child in block.blocks():
            self.error(child.kind_span, f'"{child.kind}" blocks cannot be inside a baseline')
        settings = self._settings()
        source = self._source(settings, name, at)
        values: dict[str, Any] = {}
        for key, setting in settings.items():
            value = self._value(key, setting, source)
            if value is not None:
                values[key] = value
        if source == "prometheus":
            self._range(settings, values, at)
        if not name:
            return None
        if not self.ok or source is None:
            return BaselineSpec(name, self.path, block.span, at, source or "file", ok=False)
        spec = BaselineSpec(
            name, self.path, block.span, at, source, bins=values.get("bins", DEFAULT_BINS),
            max_missing=values.get("max_missing", 0.0),
            feature_label=values.get("feature_label", DEFAULT_FEATURE_LABEL),
            description=values.get("description", ""), file=values.get("file"),
            columns=values.get("columns"), query=values.get("prometheus"),
            start=values.get("from"), end=values.get("to"),
            step=values.get("step", DEFAULT_STEP))
        return self._read(spec, settings) if source == "file" else spec

    def _settings(self) -> dict[str, ast.Setting]:
        return settings_by_key(self.block, BASELINE_KEYS, "baseline", self.error)

    def _source(self, settings: dict[str, ast.Setting], name: str, at: Span) -> str | None:
        given = [key for key in SOURCES if key in settings]
        if len(given) == 1:
            return given[0]
        if not given:
            self.error(at, f'baseline "{name}" needs a source: file = "...", prometheus = '
                           '"query" (with from and to), or captured = true')
        else:
            self.error(settings[given[1]].key_span,
                       f'baseline "{name}" takes one source, got {" and ".join(given)}')
        return None

    def _value(self, key: str, s: ast.Setting, source: str | None) -> Any:
        needs = _ONLY_WITH.get(key)
        if needs is not None and source is not None and source != needs:
            self.error(s.key_span, f"{key} is only used with {needs}")
            return None
        parse = getattr(self, "_" + key)
        return parse(s)

    # one method per key ------------------------------------------------------------------

    def _file(self, s: ast.Setting) -> str | None:
        text = self._string(s)
        if text is None:
            return None
        base = os.path.dirname(self.path)
        return text if os.path.isabs(text) else os.path.normpath(os.path.join(base, text))

    def _columns(self, s: ast.Setting) -> tuple[str, ...] | None:
        text = self._string(s)
        names = tuple(c.strip() for c in (text or "").split(",") if c.strip())
        if text is not None and not names:
            self.error(s.value.span, 'columns must name columns, such as "age, income"')
        return names or None

    def _prometheus(self, s: ast.Setting) -> str | None:
        return self._string(s)

    def _from(self, s: ast.Setting) -> float | None:
        return self._time(s)

    def _to(self, s: ast.Setting) -> float | None:
        return self._time(s)

    def _step(self, s: ast.Setting) -> float | None:
        value = s.value
        if isinstance(value, ast.DurationLit):
            if value.seconds is None:
                self.report.silent_error()
                self.ok = False
            elif value.seconds <= 0:
                self.error(value.span, f"step must be positive, got {value.text}")
            return value.seconds
        self.error(value.span, "step must be a duration such as 1m")
        return None

    def _captured(self, s: ast.Setting) -> bool | None:
        value = s.value
        if isinstance(value, ast.Selector) and not value.braces and value.name == "true":
            return True
        self.error(value.span, "captured must be true (or leave it out and give file or "
                               "prometheus)")
        return None

    def _bins(self, s: ast.Setting) -> int | None:
        value = s.value
        if isinstance(value, ast.NumberLit) and value.value == int(value.value) \
                and value.value >= 2:
            return int(value.value)
        self.error(value.span, "bins must be a whole number of at least 2, such as 10")
        return None

    def _max_missing(self, s: ast.Setting) -> float | None:
        value = s.value
        if isinstance(value, ast.NumberLit | ast.PercentLit) and 0 <= value.value < 1:
            return value.value
        self.error(value.span, "max_missing must be a share below 1, such as 1% or 0.01")
        return None

    def _feature_label(self, s: ast.Setting) -> str | None:
        text = self._string(s)
        if text is not None and not _LABEL_NAME.fullmatch(text):
            self.error(s.value.span, f'feature_label must be a label name, got "{text}"')
            return None
        return text

    def _description(self, s: ast.Setting) -> str | None:
        return self._string(s)

    # shared ------------------------------------------------------------------------------

    def _string(self, s: ast.Setting) -> str | None:
        value = s.value
        if isinstance(value, ast.StringLit) and value.value.strip():
            return value.value
        self.error(value.span, f"{s.key} must be a non-empty string")
        return None

    def _time(self, s: ast.Setting) -> float | None:
        text = self._string(s)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            moment = None
        if moment is None or (moment.tzinfo is None and len(text.strip()) > 10):
            self.error(s.value.span, f'{s.key} must be an RFC 3339 time such as '
                                     f'"2026-05-01T00:00:00Z" or a date, got "{text}"')
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    def _range(self, settings: dict[str, ast.Setting], values: dict[str, Any], at: Span) -> None:
        for key in ("from", "to"):
            if key not in settings:
                self.error(at, f"a prometheus baseline needs {key} (an RFC 3339 time)")
        start, end = values.get("from"), values.get("to")
        if start is not None and end is not None and start >= end:
            self.error(settings["to"].value.span, "to must be after from")

    def _read(self, spec: BaselineSpec, settings: dict[str, ast.Setting]) -> BaselineSpec | None:
        assert spec.file is not None
        try:
            loaded = read_baseline_file(spec.file, bins=spec.bins, max_missing=spec.max_missing,
                                        columns=spec.columns)
        except BaselineFileError as exc:
            self.error(settings["file"].value.span, f'baseline "{spec.name}": {exc}')
            return replace(spec, ok=False)
        return replace(spec, loaded=loaded)
