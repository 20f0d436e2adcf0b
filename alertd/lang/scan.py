"""A light pass over the source that finds comments and top-level block boundaries.

Knowing where top-level blocks start lets the parser recover after a syntax error, and
knowing where comments are lets the formatter keep them. It understands just enough of
the language to skip strings and comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alertd.lang.ast import Comment
from alertd.lang.diagnostics import span_at


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int  # offset of the first character (always at the start of a line)
    end: int
    line_offset: int  # lines before `start`


@dataclass(slots=True)
class Scanned:
    chunks: list[Chunk] = field(default_factory=list)
    comments: tuple[Comment, ...] = ()


def scan(source: str) -> Scanned:
    return _Scanner(source).run()


class _Scanner:
    def __init__(self, source: str) -> None:
        self.source = source
        self.n = len(source)
        self.comments: list[Comment] = []
        self.chunks: list[Chunk] = []
        self.depth = 0
        self.chunk_start = 0
        self.chunk_line = 0
        self.has_code = False  # the current chunk holds more than blanks and comments
        self.line = 0  # lines before the current position

    def run(self) -> Scanned:
        i = 0
        at_line_start = True
        while i < self.n:
            c = self.source[i]
            if at_line_start:
                at_line_start = False
                self._maybe_cut(c, i)
            if c == "\n":
                self.line += 1
                at_line_start = True
                i += 1
            else:
                i = self._step(c, i)
        if self.has_code or not self.chunks:
            self.chunks.append(Chunk(self.chunk_start, self.n, self.chunk_line))
        return Scanned(self.chunks, tuple(self.comments))

    def _maybe_cut(self, c: str, i: int) -> None:
        """End the current chunk at the start of this line if a new top-level block starts."""
        # A letter in column 1 starts a top-level block; when braces are unbalanced
        # this is where the broken block is assumed to end.
        starts_block = c.isalpha() and self.depth > 0
        if (self.depth == 0 or starts_block) and self.has_code and i > self.chunk_start:
            self.chunks.append(Chunk(self.chunk_start, i, self.chunk_line))
            self.chunk_start, self.chunk_line, self.has_code, self.depth = i, self.line, False, 0

    def _step(self, c: str, i: int) -> int:
        """The position after what starts at `i` (not a newline): a comment, a string, or
        one character."""
        if c == "#":
            return self._comment(i)
        if c in "\"'":
            self.has_code = True
            return self._quoted(c, i)
        if c == "`":
            self.has_code = True
            return self._raw(i)
        if c == "{":
            self.depth += 1
        elif c == "}":
            self.depth = max(self.depth - 1, 0)
        if not c.isspace():
            self.has_code = True
        return i + 1

    def _comment(self, i: int) -> int:
        source = self.source
        end = source.find("\n", i)
        end = self.n if end < 0 else end
        self.comments.append(Comment(source[i:end].rstrip(), span_at(source, i, end - i)))
        return end

    def _quoted(self, quote: str, i: int) -> int:
        source, n = self.source, self.n
        j = i + 1
        while j < n and source[j] != quote and source[j] != "\n":
            j += 2 if source[j] == "\\" else 1
        return min(j + 1, n)

    def _raw(self, i: int) -> int:
        end = self.source.find("`", i + 1)
        end = self.n if end < 0 else end + 1
        self.line += self.source.count("\n", i, end)
        return end
