"""Baselines when the rules load: the version each drift rule uses, made when needed.

For each baseline a rule names, the latest stored version is used if it was made from
what the block says now; otherwise a new version is made and stored first:

- file: from the references read when the file was checked (a version per content: the
  file's SHA-256 is part of what it was made from);
- prometheus: from a range query over Prometheus history, pulled once per query and range;
- captured: never made here; `alertd baseline capture` makes them from pushed samples.

Every problem is a diagnostic at the baseline block (or at the drift call whose features
the baseline lacks), raised together as a RuleLoadError, so a reload keeps the old rules.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from alertd.drift import Reference
from alertd.drift.baseline_files import BaselineFileError, references
from alertd.drift.versions import BaselineVersion, StoredBaseline
from alertd.errors import AlertdError
from alertd.lang import ast
from alertd.lang.baselines import BaselineSpec
from alertd.lang.diagnostics import Diagnostic
from alertd.lang.drift_check import drift_calls, feature_problems
from alertd.lang.drift_eval import Baseline
from alertd.lang.spec import GroupSpec
from alertd.model import METRIC_NAME, Labels
from alertd.rules.manager import load_error

__all__ = ["Pull", "Resolver", "baseline_problems", "references_from_series", "used_baselines",
           "who"]

Pull = Callable[[str, float, float, float], Awaitable[list[tuple[Labels, list[float]]]]]
"""(query, start, end, step) -> the series of a range query with their values."""


def who(role: str = "") -> str:
    """Who made a version: user@host, and the role (`rule load`) when alertd did."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}" + (f" ({role})" if role else "")


class BaselineRepository(Protocol):
    """Where baselines are stored (alertd.store.baselines.BaselineRepository)."""

    async def add(self, name: str, *, created_at: float, created_by: str, kind: str,
                  origin: Mapping[str, Any], references: Mapping[str, Reference]
                  ) -> BaselineVersion: ...

    async def latest(self, name: str) -> BaselineVersion | None: ...

    async def load(self, name: str, version: int | None = None) -> StoredBaseline | None: ...


@dataclass
class Resolver:
    repository: BaselineRepository
    pull: Pull | None  # None: no Prometheus source
    now: Callable[[], float]
    created_by: str

    async def load(self, specs: Sequence[BaselineSpec],
                   groups: Sequence[GroupSpec]) -> dict[str, Baseline]:
        """The baselines the rules use; raises RuleLoadError listing every problem."""
        wanted = used_baselines(groups)
        out: dict[str, Baseline] = {}
        problems: list[Diagnostic] = []
        for spec in specs:
            if spec.name not in wanted:
                continue
            try:
                out[spec.name] = await self.resolve(spec)
            except AlertdError as exc:
                problems.append(Diagnostic(spec.path, spec.name_span,
                                           f'baseline "{spec.name}": {exc}'))
        problems += baseline_problems(groups, out)
        if problems:
            raise load_error(problems)
        return out

    async def resolve(self, spec: BaselineSpec) -> Baseline:
        """The version to use now, made and stored when the latest is not from `spec`."""
        latest = await self.repository.latest(spec.name)
        if spec.source == "captured":
            return await self._captured(spec, latest)
        if latest is not None and dict(latest.origin) == spec.origin():
            if spec.loaded is not None:  # the references read from the file just now
                return _baseline(spec, latest, spec.loaded.features)
            stored = await self.repository.load(spec.name, latest.version)
            if stored is not None:
                return _baseline(spec, stored.meta, stored.references)
        refs = await self.make(spec)
        meta = await self.repository.add(
            spec.name, created_at=self.now(), created_by=self.created_by, kind=spec.source,
            origin=spec.origin(), references=refs)
        return _baseline(spec, meta, refs)

    async def make(self, spec: BaselineSpec) -> dict[str, Reference]:
        """New references from the source of a file or prometheus baseline."""
        if spec.loaded is not None:
            return spec.loaded.features
        if spec.source != "prometheus" or spec.query is None:
            raise BaselineFileError(f"the file {spec.file} was not read")
        if self.pull is None:
            raise BaselineFileError(
                "it is pulled from Prometheus, and no Prometheus source is configured "
                "(sources.prometheus) while no version from this query and range is stored")
        assert spec.start is not None and spec.end is not None
        series = await self.pull(spec.query, spec.start, spec.end, spec.step)
        return references_from_series(series, spec, f"the range query {spec.query!r}")

    async def _captured(self, spec: BaselineSpec, latest: BaselineVersion | None) -> Baseline:
        stored = await self.repository.load(spec.name) if latest is not None else None
        if stored is None:
            raise BaselineFileError(
                "no version has been captured yet: run alertd baseline capture "
                f"{spec.name} --from TIME --to TIME SELECTOR")
        return _baseline(spec, stored.meta, stored.references)


def _baseline(spec: BaselineSpec, meta: BaselineVersion,
              refs: Mapping[str, Reference]) -> Baseline:
    return Baseline(spec.name, dict(refs), meta.version, spec.feature_label)


def used_baselines(groups: Iterable[GroupSpec]) -> set[str]:
    """The names of the baselines the drift calls of these rules name."""
    return {call.baseline for expr in _exprs(groups) for call in drift_calls(expr)
            if call.baseline is not None}


def baseline_problems(groups: Iterable[GroupSpec],
                      baselines: Mapping[str, Baseline]) -> list[Diagnostic]:
    """Drift calls whose baseline lacks the features they read, or has the wrong kind."""
    out: list[Diagnostic] = []
    for group in groups:
        for alert in group.alerts:
            for expr in (alert.when, alert.clear):
                for call in drift_calls(expr) if expr is not None else ():
                    found = baselines.get(call.baseline or "")
                    if found is None:
                        continue
                    for span, message in feature_problems(call, found.feature_label,
                                                          found.kinds()):
                        out.append(Diagnostic(alert.path, span,
                                              f"{message} (version {found.label})"))
    return out


def references_from_series(series: Sequence[tuple[Labels, Sequence[float]]],
                           spec: BaselineSpec, what: str) -> dict[str, Reference]:
    """References from series: raw values pooled per feature (the value of the feature
    label), or, for series with an `le` label, their counts summed per feature and `le`
    (a histogram reference)."""
    if not series:
        raise BaselineFileError(f"{what} returned no series")
    label = spec.feature_label
    if any(labels.get("le") for labels, _ in series):
        return _histograms(series, label, what)
    values: dict[str, list[float]] = {}
    for labels, samples in series:
        values.setdefault(_feature_of(labels, label, series, what), []).extend(samples)
    return references(values, bins=spec.bins, max_missing=spec.max_missing,
                      where=f"{what}: feature")


def _histograms(series: Sequence[tuple[Labels, Sequence[float]]], label: str,
                what: str) -> dict[str, Reference]:
    counts: dict[str, dict[float, float]] = {}
    for labels, samples in series:
        try:
            le = float(labels.get("le"))
        except ValueError:
            raise BaselineFileError(f"{what}: series {labels} has no le label, but others "
                                    "have: a baseline holds values or buckets, not both"
                                    ) from None
        feature = counts.setdefault(_feature_of(labels, label, series, what), {})
        finite = [v for v in samples if v == v]
        feature[le] = feature.get(le, 0.0) + sum(finite)
    out: dict[str, Reference] = {}
    for name, by_le in counts.items():
        les = sorted(by_le)
        try:
            out[name] = Reference.from_buckets(les, [by_le[le] for le in les])
        except AlertdError as exc:
            raise BaselineFileError(f'{what}: feature "{name}": {exc}') from None
    return out


def _feature_of(labels: Labels, label: str, series: Sequence[tuple[Labels, Any]],
                what: str) -> str:
    """A series' feature: its feature label, or, when no series has one, the metric."""
    named = labels.get(label)
    if named:
        return named
    if any(other.get(label) for other, _ in series):
        raise BaselineFileError(f'{what}: series {labels} has no "{label}" label, but others '
                                "have: every series needs one (or set feature_label)")
    return labels.get(METRIC_NAME) or "value"


def _exprs(groups: Iterable[GroupSpec]) -> list[ast.Expr]:
    return [e for g in groups for a in g.alerts for e in (a.when, a.clear) if e is not None]
