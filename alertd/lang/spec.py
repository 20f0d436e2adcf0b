"""What a checked rule file defines: groups of alert rules, as plain frozen values.

The checker turns the generic blocks of the syntax tree into these; the compiler turns
them into evaluable rules. Nothing here depends on how the rules are evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from alertd.lang import ast

NoDataPolicy = Literal["ok", "alert", "keep"]
NODATA_POLICIES: tuple[NoDataPolicy, ...] = ("ok", "alert", "keep")


@dataclass(frozen=True, slots=True)
class AlertSpec:
    name: str
    path: str
    span: ast.Span  # the whole `alert` block
    name_span: ast.Span
    group: str
    when: ast.Expr
    clear: ast.Expr | None = None
    for_: float = 0.0
    keep_firing_for: float = 0.0
    interval: float | None = None  # None: the group's interval
    nodata: NoDataPolicy = "ok"
    severity: str | None = None
    owner: str | None = None  # the alert's own, else its group's
    runbook: str | None = None  # a template, like the annotations
    dashboard: str | None = None  # a template: the `dashboard` annotation, a URL
    generator_url: str | None = None  # a template: the alerts' generatorURL
    # While an instance fires, the instances of the alert() references that made it are
    # held back from notifications (an inhibition generated from the references).
    suppresses_inputs: bool = False
    # Static labels: the group's, then the alert's (the alert wins). Without severity,
    # owner and alertname, which are added to every instance.
    labels: dict[str, str] = field(default_factory=dict)
    # Templates: `summary`, `description` and every key of `annotations`.
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    path: str
    span: ast.Span
    interval: float | None  # None: the global evaluation interval
    alerts: tuple[AlertSpec, ...]
    implicit: bool = False  # made for alerts written outside any group (named after the file)
