"""Source text to syntax tree: lark (LALR) parses, a transformer (build.py) builds frozen AST nodes.

A file that parses cleanly takes one pass. A file with a syntax error is cut into top-level
chunks which are parsed one by one, so every broken block gets its own error and every
good block still reaches the checker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.ast import Span
from alertd.lang.build import TreeBuilder
from alertd.lang.diagnostics import Diagnostic, span_at
from alertd.lang.scan import Chunk, scan
from alertd.lang.unclosed import unclosed_blocks


@dataclass(frozen=True, slots=True)
class ParseResult:
    file: ast.RuleFile
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


@cache
def _parser() -> Lark:
    grammar = resources.files("alertd.lang").joinpath("grammar.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=["file", "expr_only"],
        maybe_placeholders=True,
        transformer=TreeBuilder(),
    )


# The transformer is part of the (shared, cached) parser and carries the offsets of the
# chunk being parsed, so parses are serialised.
_lock = threading.Lock()


def parse_file(source: str, path: str, *, with_comments: bool = True) -> ParseResult:
    """Parse a whole rule file; never raises for bad input.

    Comments are collected for the formatter; checking and loading skip that pass.
    """
    items, errors = _parse_chunk(source, Chunk(0, len(source), 0), "file")
    scanned = scan(source) if errors or with_comments else None
    if errors:
        assert scanned is not None
        # Parse again block by block: one error per broken block, the good ones kept.
        items = []
        errors = []
        for chunk in scanned.chunks:
            chunk_items, chunk_errors = _parse_chunk(source, chunk, "file")
            items.extend(chunk_items)
            errors.extend(chunk_errors)
    diagnostics = {Diagnostic(path, span, msg) for span, msg in errors}
    comments = scanned.comments if scanned and with_comments else ()
    rule_file = ast.RuleFile(path, source, tuple(items), comments)
    return ParseResult(rule_file, tuple(sorted(diagnostics, key=Diagnostic.sort_key)))


def parse_expr(source: str) -> ast.Expr:
    """Parse one expression; raises RuleError (with a span) when it is not valid."""
    result, errors = _parse_chunk(source, Chunk(0, len(source), 0), "expr_only")
    if errors:
        span, message = errors[0]
        raise RuleError(message, span)
    expr: ast.Expr = result
    return expr


def _parse_chunk(source: str, chunk: Chunk, start: str) -> tuple[Any, list[tuple[Span, str]]]:
    text = source[chunk.start : chunk.end]
    parser = _parser()
    with _lock:
        builder = parser.options.transformer
        assert isinstance(builder, TreeBuilder)
        builder.reset(chunk.line_offset, chunk.start)
        try:
            result = parser.parse(text, start=start)
        except UnexpectedInput as exc:
            return [], [*builder.errors, *_syntax_errors(exc, source, chunk)]
        except LarkError as exc:  # grammar-level surprises still become a positioned error
            return [], [*builder.errors, (span_at(source, chunk.start), f"syntax error: {exc}")]
        except RecursionError:
            return [], [(span_at(source, chunk.start), "expression is nested too deeply")]
        errors = builder.errors
    return result, errors


# --- syntax errors -----------------------------------------------------------------------

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "RAW_STRING": "a raw string",
    "NUMBER": "a number",
    "DURATION": "a duration",
    "PERCENT": "a percentage",
    "ADD_OP": '"+" or "-"',
    "MUL_OP": '"*", "/" or "%"',
    "$END": "end of input",
}
_EXPR_START = {"NAME", "NUMBER", "DURATION", "LPAR", "STRING"}
_OPERATORS = {"OR", "AND", "UNLESS", "EQL", "GT", "LT", "ADD_OP", "MUL_OP"}


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    if name == "OFFSET":  # a keyword, but a regex (see the grammar)
        return '"offset"'
    for term in _parser().terminals:
        if term.name == name and term.pattern.type == "str":
            return f'"{term.pattern.value}"'
    return name.lower()


def _describe_expected(expected: set[str]) -> str:
    parts: list[str] = []
    rest = set(expected)
    if rest >= _EXPR_START:
        parts.append("an expression")
        rest -= _EXPR_START | {"PERCENT", "RAW_STRING", "ADD_OP", "LBRACE"}
    if rest >= _OPERATORS:
        parts.append("an operator")
        rest -= _OPERATORS | {
            "ATAN2", "NEQ", "GTE", "LTE", "MUL_OP", "POW", "LSQB", "BY", "WITHOUT",
        }
    parts.extend(sorted(_describe_terminal(t) for t in rest))
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return "one of " + ", ".join(parts)


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of input"
    value = str(tok)
    if tok.type in _TERMINAL_NAMES and tok.type not in {"ADD_OP", "MUL_OP"}:
        return f'{_TERMINAL_NAMES[tok.type].split(" ", 1)[1]} "{value}"'
    return f'"{value}"'


def _syntax_errors(exc: UnexpectedInput, source: str,
                   chunk: Chunk) -> list[tuple[Span, str]]:
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        # The input ran out inside a block: say which block was left open, where it opens,
        # rather than where the file ends.
        unclosed = unclosed_blocks(source, chunk)
        if unclosed:
            return unclosed
    return [_syntax_error(exc, source, chunk)]


def _syntax_error(exc: UnexpectedInput, source: str, chunk: Chunk) -> tuple[Span, str]:
    if isinstance(exc, UnexpectedCharacters):
        offset = chunk.start + (exc.pos_in_stream or 0)
        char = source[offset] if offset < len(source) else ""
        if char in "\"'`":
            return span_at(source, offset), "unterminated string"
        shown = char if char.isprintable() else repr(char)[1:-1]
        return span_at(source, offset), f'unexpected character "{shown}"'
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = _describe_expected(set(exc.expected))
        suffix = f", expected {expected}" if expected else ""
        if tok.type == "$END":
            # Point at the last character of the chunk, where the input stopped.
            end = chunk.end
            while end > chunk.start and source[end - 1].isspace():
                end -= 1
            return span_at(source, max(end - 1, 0)), f"unexpected end of input{suffix}"
        offset = chunk.start + (tok.start_pos or 0)
        length = max(len(str(tok)), 1)
        return span_at(source, offset, length), f"unexpected {_describe_token(tok)}{suffix}"
    offset = chunk.start + (exc.pos_in_stream or 0)
    return span_at(source, offset), "syntax error"
