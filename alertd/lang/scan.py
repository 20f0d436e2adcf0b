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
    comments: list[Comment] = []
    chunks: list[Chunk] = []
    depth = 0
    chunk_start = 0
    chunk_line = 0
    has_code = False  # the current chunk holds more than blanks and comments
    line = 0  # lines before position i
    i = 0
    n = len(source)
    at_line_start = True
    while i < n:
        c = source[i]
        if at_line_start:
            at_line_start = False
            # A letter in column 1 starts a top-level block; when braces are unbalanced
            # this is where the broken block is assumed to end.
            starts_block = c.isalpha() and depth > 0
            if (depth == 0 or starts_block) and has_code and i > chunk_start:
                chunks.append(Chunk(chunk_start, i, chunk_line))
                chunk_start, chunk_line, has_code, depth = i, line, False, 0
        if c == "\n":
            line += 1
            at_line_start = True
            i += 1
        elif c == "#":
            end = source.find("\n", i)
            end = n if end < 0 else end
            comments.append(Comment(source[i:end].rstrip(), span_at(source, i, end - i)))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and source[j] != c and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            i = min(j + 1, n)
            has_code = True
        elif c == "`":
            end = source.find("`", i + 1)
            end = n if end < 0 else end + 1
            line += source.count("\n", i, end)
            i = end
            has_code = True
        else:
            if c == "{":
                depth += 1
            elif c == "}":
                depth = max(depth - 1, 0)
            if not c.isspace():
                has_code = True
            i += 1
    if has_code or not chunks:
        chunks.append(Chunk(chunk_start, n, chunk_line))
    return Scanned(chunks, tuple(comments))
