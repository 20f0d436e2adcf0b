"""Finding, reading and checking rule files: what `alertd check` and the daemon share.

A path is a file, a directory (every `*.rules` file below it) or a glob. Problems with the
paths themselves (missing, empty directory, not UTF-8) are diagnostics like any other, so
one run reports everything.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.check import CheckResult, check_files
from alertd.lang.diagnostics import Diagnostic
from alertd.lang.parse import parse_file
from alertd.lang.spec import AlertSpec, GroupSpec

__all__ = ["RULE_SUFFIX", "check_paths", "expand_paths", "read_rule_files"]

RULE_SUFFIX = ".rules"
_BOM = b"\xef\xbb\xbf"
_START = Span(1, 1, 1, 1, 0, 0)
_GLOB_CHARS = frozenset("*?[")


def expand_paths(paths: Sequence[str]) -> tuple[list[str], list[Diagnostic]]:
    """The files that `paths` name, each once, and a diagnostic for each path naming none."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for path in paths:
        found, problem = _expand(path)
        if problem is not None:
            problems.append(Diagnostic(path, _START, problem))
        for name in found:
            key = os.path.realpath(name)
            if key not in seen:
                seen.add(key)
                files.append(name)
    return files, problems


def read_rule_files(paths: Sequence[str]) -> tuple[list[ast.RuleFile], list[Diagnostic]]:
    """Parse every rule file that `paths` name; each file is read once even if named twice."""
    names, diagnostics = expand_paths(paths)
    files: list[ast.RuleFile] = []
    for name in names:
        source, diagnostic = _read(name)
        if diagnostic is not None:
            diagnostics.append(diagnostic)
        if source is None:
            continue
        result = parse_file(source, name, with_comments=False)
        files.append(result.file)
        diagnostics.extend(result.diagnostics)
    return files, diagnostics


def check_paths(paths: Sequence[str], *, require: frozenset[str] = frozenset()) -> CheckResult:
    """Read, parse and check; diagnostics of every stage together, sorted by position.

    An alert whose source holds a syntax error the parser recovered from (an invalid
    duration, a bad escape) is left out of the result like any alert with an error.
    """
    files, diagnostics = read_rule_files(paths)
    result = check_files(files, require=require)
    parse_errors = [d for d in diagnostics if d.severity == "error"]
    groups = tuple(_without_broken(g, parse_errors) for g in result.groups)
    merged = sorted(set(diagnostics) | set(result.diagnostics), key=_position)
    return CheckResult(groups, tuple(merged), result.baselines, result.slos)


def _position(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.path, d.span.line, d.span.column, d.message)


def _without_broken(group: GroupSpec, errors: list[Diagnostic]) -> GroupSpec:
    def broken(alert: AlertSpec) -> bool:
        return any(
            d.path == alert.path and alert.span.start <= d.span.start < alert.span.end
            for d in errors
        )

    alerts = tuple(a for a in group.alerts if not broken(a))
    if len(alerts) == len(group.alerts):
        return group
    return replace(group, alerts=alerts)


def _expand(path: str) -> tuple[list[str], str | None]:
    """The files `path` names, or a problem to report at the start of that path."""
    if os.path.isdir(path):
        found = _rules_below(path)
        return found, None if found else f"no {RULE_SUFFIX} files found"
    if os.path.exists(path):
        return [path], None
    if _GLOB_CHARS & set(path):
        found = []
        for match in sorted(glob.glob(path, recursive=True)):
            found.extend(_rules_below(match) if os.path.isdir(match) else [match])
        return found, None if found else "no files match this pattern"
    return [], "no such file or directory"


def _rules_below(directory: str) -> list[str]:
    return sorted(
        str(p) for p in Path(directory).rglob(f"*{RULE_SUFFIX}") if p.is_file()
    )


def _read(path: str) -> tuple[str | None, Diagnostic | None]:
    """The text of a file, without a leading BOM; None and a diagnostic when unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        return None, Diagnostic(path, _START, f"cannot read file: {reason}")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        offset = len(before)
        span = Span(line, column, line, column + 1, offset, offset + 1)
        message = f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})"
        return None, Diagnostic(path, span, message)
