"""Which block a missing `}` belongs to, once the parser has run out of input.

The parser only learns that a `}` is missing at the end of the file (or of the chunk it
was given), far from the mistake; and until then the next `alert` nests inside the
unclosed one. This pass walks the braces again and blames the block that was most likely
left open, where it opens, with a guess at where its `}` belongs:

- only a `group` holds blocks, and not another group: a block header inside anything
  else means the enclosing block was never closed, and its `}` belongs before that header;
- a `}` that starts a line closes the open block whose header is indented as it is, so
  the blocks opened since, indented deeper, were never closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alertd.lang.ast import Span
from alertd.lang.diagnostics import span_at
from alertd.lang.scan import Chunk

# `alert Name {`, `group "name" {`: a block header, alone on its line before the brace.
_HEADER = re.compile(
    r"[ \t]*(?P<kind>[A-Za-z_][A-Za-z0-9_:]*)"
    r"(?:[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_:]*|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'))?"
    r"[ \t]*")
_CONTAINER = "group"  # the one block kind that holds blocks (alerts)
_KINDS = frozenset({"group", "alert", "slo", "baseline"})  # may stand without a name


@dataclass(frozen=True, slots=True)
class _Open:
    kind: str | None  # None: a brace of an expression (label matchers)
    name: str
    at: int  # offset of the header's first character (or of the brace)
    brace: int  # offset of the "{"
    indent: int  # the header line's indentation

    def title(self) -> str:
        return f"{self.kind} {self.name}".rstrip() if self.kind else "this block"


def unclosed_blocks(source: str, chunk: Chunk) -> list[tuple[Span, str]]:
    """An error for each block of the chunk that is never closed; empty when the braces
    tell nothing (the caller then reports the parse error as it is)."""
    walker = _Walker(source, chunk)
    walker.run()
    for block in reversed(walker.stack):
        if block.kind is not None:
            walker.blame(block, _next_header(source, chunk.end))
    return sorted(walker.found, key=lambda e: e[0].start)


class _Walker:
    def __init__(self, source: str, chunk: Chunk) -> None:
        self.source = source
        self.chunk = chunk
        self.stack: list[_Open] = []
        self.found: list[tuple[Span, str]] = []

    def run(self) -> None:
        source, i, end = self.source, self.chunk.start, self.chunk.end
        while i < end:
            c = source[i]
            if c == "#":
                i = _line_end(source, i, end)
                continue
            if c in "\"'":
                i = _string_end(source, i, end)
                continue
            if c == "`":
                found = source.find("`", i + 1, end)
                i = end if found < 0 else found + 1
                continue
            if c == "{":
                self.opened(i)
            elif c == "}":
                self.closed(i)
            i += 1

    def opened(self, brace: int) -> None:
        line_start = self.source.rfind("\n", 0, brace) + 1
        header = _HEADER.fullmatch(self.source, line_start, brace)
        if header is None or not (header["name"] or header["kind"] in _KINDS):
            # Label matchers (`labels = {`, `foo{` in an expression), or nothing a reader
            # would take for a block.
            self.stack.append(_Open(None, "", brace, brace, -1))
            return
        block = _Open(header["kind"], header["name"] or "", header.start("kind"), brace,
                      header.start("kind") - line_start)
        # A block inside an alert (or a group inside a group) cannot be meant: the
        # enclosing block's "}" is missing, before this header.
        while self.stack and self.stack[-1].kind is not None and not (
                self.stack[-1].kind == _CONTAINER and block.kind != _CONTAINER):
            self.blame(self.stack.pop(), _describe(self.source, block))
        self.stack.append(block)

    def closed(self, brace: int) -> None:
        if not self.stack:
            return
        line_start = self.source.rfind("\n", 0, brace) + 1
        indent = brace - line_start
        alone = not self.source[line_start:brace].strip()
        if alone and self.stack[-1].kind is not None:
            # A "}" on a line of its own closes the block indented as it is.
            match = next((k for k in range(len(self.stack) - 1, -1, -1)
                          if self.stack[k].indent == indent), None)
            if match is not None:
                for block in reversed(self.stack[match + 1:]):
                    if block.kind is not None:
                        self.blame(block, f'the "}}" on line {_line(self.source, brace)}')
                del self.stack[match:]
                return
        self.stack.pop()

    def blame(self, block: _Open, before: str | None) -> None:
        span = span_at(self.source, block.at, block.brace + 1 - block.at)
        where = f", probably before {before}" if before else ""
        self.found.append((span, f'this block is never closed: {block.title()} needs a "}}"'
                                 f"{where}"))


def _describe(source: str, block: _Open) -> str:
    return f"{block.title()} on line {_line(source, block.at)}"


def _next_header(source: str, offset: int) -> str | None:
    """What starts at `offset` (where the parser's input stopped short), if anything."""
    if offset >= len(source):
        return None
    header = _HEADER.match(source, offset)
    name = f"{header['kind']} {header['name'] or ''}".rstrip() if header else ""
    return f"{name} on line {_line(source, offset)}" if name else f"line {_line(source, offset)}"


def _line(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _line_end(source: str, i: int, end: int) -> int:
    found = source.find("\n", i, end)
    return end if found < 0 else found


def _string_end(source: str, i: int, end: int) -> int:
    quote = source[i]
    j = i + 1
    while j < end and source[j] != quote and source[j] != "\n":
        j += 2 if source[j] == "\\" else 1
    return min(j + 1, end)
