"""A region of a source file, as errors and the rule language point at it."""

from __future__ import annotations

from typing import NamedTuple


class Span(NamedTuple):
    """A region of a source file: 1-based line and column, end exclusive; offsets too.

    A named tuple rather than a frozen dataclass: the parser makes one per token, and a
    tuple is several times cheaper to build.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.line, self.column, other.end_line, other.end_column, self.start, other.end)
