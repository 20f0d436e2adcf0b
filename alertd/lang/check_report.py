"""What every pass of the checker shares: the diagnostic collector, span and wording helpers.

The file pass (check.py), the expression checker (check_expr.py) and the cross-file pass
(check_refs.py) all import from here and this module imports none of them, so the
dependencies run one way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.diagnostics import Diagnostic
from alertd.lang.types import ValueType
from alertd.suggest import did_you_mean

__all__ = ["NO_SPAN", "ErrorFn", "Report", "article", "prefix_span", "settings_by_key", "span_of",
           "valid_span"]

NO_SPAN = Span(1, 1, 1, 1, 0, 0)

ErrorFn = Callable[[Span, str], None]
"""Reports an error at a span, in the file being checked."""


class Report:
    """Every diagnostic so far, and a count of errors that tells whether a region had any."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.errors = 0

    def error(self, path: str, span: Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, valid_span(span), message))
        self.errors += 1

    def warning(self, path: str, span: Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, valid_span(span), message, "warning"))

    def silent_error(self) -> None:
        """An error the parser already reported (an invalid duration): counted, not repeated."""
        self.errors += 1


def article(t: ValueType) -> str:
    """A type as a message names it: "a scalar", "an instant vector"."""
    text = str(t)
    return ("an " if text[0] in "aeiou" else "a ") + text


def span_of(node: object) -> Span:
    return valid_span(getattr(node, "span", None))


def valid_span(span: object) -> Span:
    """`span` if it is one a diagnostic can carry (a hand-made tree may hold anything)."""
    if isinstance(span, Span) and all(
        isinstance(v, int) for v in (span.line, span.column, span.end_line, span.end_column)
    ):
        return span
    return NO_SPAN


def prefix_span(span: Span, length: int) -> Span:
    """The first `length` characters of a span that starts with a name."""
    return Span(span.line, span.column, span.line, span.column + length, span.start,
                span.start + length)


def settings_by_key(block: ast.Block, keys: Sequence[str], what: str, error: ErrorFn,
                    hint: Callable[[str], str] | None = None) -> dict[str, ast.Setting]:
    """The block's settings by key, reporting unknown and repeated keys; `hint` words what
    follows the name of an unknown key (by default, the known key it is closest to)."""
    seen: dict[str, ast.Setting] = {}
    for s in block.settings():
        if s.key in seen:
            first = seen[s.key].key_span.line
            error(s.key_span, f'duplicate key "{s.key}" in {what} (first set on line {first})')
        elif s.key not in keys:
            suffix = hint(s.key) if hint is not None else did_you_mean(s.key, keys)
            error(s.key_span, f'unknown key "{s.key}" in {what}{suffix}')
        else:
            seen[s.key] = s
    return seen
