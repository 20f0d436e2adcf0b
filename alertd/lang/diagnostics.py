"""Compiler-style diagnostics: `path:line:col: message`, the source line, and a caret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from alertd.lang.ast import Span

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str
    span: Span
    message: str
    severity: Severity = "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.message)

    def headline(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.span.line}:{self.span.column}: {prefix}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "line": self.span.line,
            "column": self.span.column,
            "end": {"line": self.span.end_line, "column": self.span.end_column},
            "severity": self.severity,
            "message": self.message,
        }


def render(diag: Diagnostic, source: str | None) -> str:
    """The headline, then the offending source line with a caret under the span."""
    lines = [diag.headline()]
    if source is None:
        return lines[0]
    src_lines = source.splitlines()
    if not 1 <= diag.span.line <= len(src_lines):
        return lines[0]
    text = src_lines[diag.span.line - 1]
    lines.append("  " + text.replace("\t", " "))
    start = max(diag.span.column - 1, 0)
    if diag.span.end_line == diag.span.line:
        width = max(diag.span.end_column - diag.span.column, 1)
    else:
        width = max(len(text) - start, 1)
    lines.append("  " + " " * start + "^" + "~" * (width - 1))
    return "\n".join(lines)


def render_all(diags: Iterable[Diagnostic], sources: Mapping[str, str]) -> str:
    return "\n".join(render(d, sources.get(d.path)) for d in diags)


def span_at(source: str, offset: int, length: int = 1) -> Span:
    """The span of `length` characters at `offset` in `source` (for errors found by offset)."""
    offset = max(0, min(offset, len(source)))
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1) + 1
    end = min(offset + length, len(source))
    end_line = source.count("\n", 0, end) + 1
    end_col = end - (source.rfind("\n", 0, end) + 1) + 1
    return Span(line, col, end_line, end_col, offset, end)

