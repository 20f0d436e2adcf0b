"""The tree builder: lark's transformer that turns each LALR reduction into a frozen node
of the syntax tree, with spans relative to the whole file and the problems only the values
show (an unknown escape, an invalid duration, a modifier given twice)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, Transformer

from alertd.durations import parse_duration
from alertd.lang import ast
from alertd.lang.ast import Span

__all__ = ["TreeBuilder"]

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)", re.DOTALL)
_SPECIAL_NUMBERS = {"inf": float("inf"), "nan": float("nan")}


@dataclass(frozen=True, slots=True)
class _Labels:
    names: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class _Name:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class _BinMod:
    return_bool: bool
    matching: ast.VectorMatching | None


@dataclass(frozen=True, slots=True)
class _GroupMod:
    card: ast.Cardinality
    include: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class _Matchers:
    matchers: tuple[ast.Matcher, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class _Range:
    range: ast.DurationLit
    step: ast.DurationLit | None
    subquery: bool


class TreeBuilder(Transformer[Token, Any]):
    """Builds AST nodes while LALR reduces; spans come from the first and last child."""

    def __init__(self) -> None:
        super().__init__()
        self.line_offset = 0
        self.pos_offset = 0
        self.errors: list[tuple[Span, str]] = []

    def reset(self, line_offset: int, pos_offset: int) -> None:
        self.line_offset = line_offset
        self.pos_offset = pos_offset
        self.errors = []

    # helpers
    def _tok_span(self, tok: Token) -> Span:
        return Span(
            (tok.line or 1) + self.line_offset,
            tok.column or 1,
            (tok.end_line or 1) + self.line_offset,
            tok.end_column or 1,
            (tok.start_pos or 0) + self.pos_offset,
            (tok.end_pos or 0) + self.pos_offset,
        )

    def _span(self, child: Any) -> Span:
        if isinstance(child, Token):
            return self._tok_span(child)
        span: Span = child.span
        return span

    def _cover(self, children: list[Any]) -> Span:
        present = [c for c in children if c is not None and not isinstance(c, _BinMod)]
        return self._span(present[0]).to(self._span(present[-1]))

    def _string(self, tok: Token) -> ast.StringLit:
        text = str(tok)
        span = self._tok_span(tok)
        if text.startswith("`"):
            return ast.StringLit(text[1:-1], True, span)
        return ast.StringLit(self._unescape(text[1:-1], span), False, span)

    def _unescape(self, body: str, span: Span) -> str:
        def replace(m: re.Match[str]) -> str:
            esc = m.group(1)
            if esc in _ESCAPES:
                return _ESCAPES[esc]
            if esc[0] in "uUx" and len(esc) > 1:
                return chr(int(esc[1:], 16))
            self.errors.append((span, f'unknown escape sequence "\\{esc}" in string'))
            return esc

        return _ESCAPE_RE.sub(replace, body) if "\\" in body else body

    # structure
    def file(self, children: list[Any]) -> tuple[ast.Item, ...]:
        return tuple(children)

    def expr_only(self, children: list[Any]) -> ast.Expr:
        return children[0]  # type: ignore[no-any-return]

    def block(self, children: list[Any]) -> ast.Block:
        kind_tok = children[0]
        name: str | None = None
        name_span: Span | None = None
        rest = children[1:]
        if isinstance(rest[0], _Name):
            name, name_span = rest[0].name, rest[0].span
            rest = rest[1:]
        items = tuple(c for c in rest if not isinstance(c, Token))
        return ast.Block(str(kind_tok), self._tok_span(kind_tok), name, name_span, items,
                         self._cover(children))

    def block_name(self, children: list[Any]) -> _Name:
        tok = children[0]
        if tok.type == "STRING":
            lit = self._string(tok)
            return _Name(lit.value, lit.span)
        return _Name(str(tok), self._tok_span(tok))

    def setting(self, children: list[Any]) -> ast.Setting:
        key, _, value = children
        return ast.Setting(str(key), self._tok_span(key), value, self._cover(children))

    # expressions
    def binary(self, children: list[Any]) -> ast.Binary:
        left, op, mod, right = children
        return ast.Binary(str(op), left, right, mod.return_bool, mod.matching,
                          self._tok_span(op), self._cover([left, right]))

    def bin_mod(self, children: list[Any]) -> _BinMod:
        bool_tok, matching = children
        return _BinMod(bool_tok is not None, matching)

    def matching(self, children: list[Any]) -> ast.VectorMatching:
        kind, labels, group = children
        card: ast.Cardinality = group.card if group else "one-to-one"
        include = group.include if group else ()
        return ast.VectorMatching(str(kind) == "on", labels.names, card, include,
                                  self._cover(children))

    def group_mod(self, children: list[Any]) -> _GroupMod:
        kind, labels = children
        card: ast.Cardinality = "many-to-one" if str(kind) == "group_left" else "one-to-many"
        return _GroupMod(card, labels.names if labels else (), self._cover(children))

    def unary(self, children: list[Any]) -> ast.Unary:
        op, operand = children
        return ast.Unary("-" if str(op) == "-" else "+", operand, self._cover(children))

    def subscript(self, children: list[Any]) -> ast.Subscript:
        expr, _, rng, _ = children
        return ast.Subscript(expr, rng.range, rng.step, rng.subquery, self._cover(children))

    def range(self, children: list[Any]) -> _Range:
        rng, colon, step = children
        return _Range(self.duration([rng]), self.duration([step]) if step else None,
                      colon is not None)

    def modified(self, children: list[Any]) -> ast.Modified:
        expr, mod = children
        offset = mod if isinstance(mod, ast.Offset) else None
        at = mod if isinstance(mod, ast.At) else None
        if not isinstance(expr, ast.Modified):
            return ast.Modified(expr, offset, at, self._span(expr).to(mod.span))
        # The second modifier of `x @ t offset d`: both belong to the same selector.
        if (offset and expr.offset) or (at and expr.at):
            word = "offset" if offset else '"@"'
            self.errors.append((mod.span, f"{word} is given twice"))
        return ast.Modified(expr.expr, offset or expr.offset, at or expr.at,
                            expr.span.to(mod.span))

    def offset(self, children: list[Any]) -> ast.Offset:
        _, sign, duration = children
        negative = sign is not None and str(sign) == "-"
        return ast.Offset(self.duration([duration]), negative, self._cover(children))

    def at(self, children: list[Any]) -> ast.At:
        span = self._cover(children)
        first = children[1]
        if isinstance(first, Token) and first.type == "NAME":
            name = str(first)
            if name not in ("start", "end"):
                self.errors.append((self._tok_span(first), f'"@" takes a time in seconds since '
                                                          f"the epoch, start() or end(), got "
                                                          f"{name}()"))
            return ast.At(None, f"{name}()", span)
        sign = "-" if first is not None and str(first) == "-" else ""
        number = sign + str(children[2])
        return ast.At(float(number), number, span)

    def number(self, children: list[Any]) -> ast.NumberLit:
        tok = children[0]
        return ast.NumberLit(float(str(tok)), str(tok), self._tok_span(tok))

    def duration(self, children: list[Any]) -> ast.DurationLit:
        tok = children[0]
        span = self._tok_span(tok)
        seconds, problem = parse_duration(str(tok))
        if problem:
            self.errors.append((span, f'invalid duration "{tok}": {problem}'))
        return ast.DurationLit(seconds, str(tok), span)

    def percent(self, children: list[Any]) -> ast.PercentLit:
        tok = children[0]
        # Shift the decimal point in the text: 99.9% is exactly 0.999, not 99.9 / 100.
        return ast.PercentLit(float(str(tok)[:-1] + "e-2"), str(tok), self._tok_span(tok))

    def string(self, children: list[Any]) -> ast.StringLit:
        return self._string(children[0])

    def paren(self, children: list[Any]) -> ast.Paren:
        return ast.Paren(children[1], self._cover(children))

    def selector(self, children: list[Any]) -> ast.Expr:
        if isinstance(children[0], _Matchers):
            m = children[0]
            return ast.Selector(None, m.matchers, True, m.span)
        name_tok, matchers = children
        name = str(name_tok)
        if matchers is None and name.lower() in _SPECIAL_NUMBERS:
            return ast.NumberLit(_SPECIAL_NUMBERS[name.lower()], name, self._tok_span(name_tok))
        return ast.Selector(name, matchers.matchers if matchers else (), matchers is not None,
                            self._cover(children))

    def matchers(self, children: list[Any]) -> _Matchers:
        found = tuple(c for c in children if isinstance(c, ast.Matcher))
        return _Matchers(found, self._cover(children))

    def matcher(self, children: list[Any]) -> ast.Matcher:
        label, op, value = children
        op_text: ast.MatchOp = str(op)  # type: ignore[assignment]
        return ast.Matcher(label.name, op_text, self._string(value), self._cover(children))

    def label_name(self, children: list[Any]) -> _Name:
        return _Name(str(children[0]), self._tok_span(children[0]))

    def label_list(self, children: list[Any]) -> _Labels:
        names = tuple(c.name for c in children if isinstance(c, _Name))
        return _Labels(names, self._cover(children))

    def grouping(self, children: list[Any]) -> ast.Grouping:
        kind, labels = children
        return ast.Grouping(str(kind) == "without", labels.names, self._cover(children))

    def kwarg(self, children: list[Any]) -> ast.KwArg:
        name, _, value = children
        return ast.KwArg(str(name), value, self._cover(children))

    def call(self, children: list[Any]) -> ast.Call:
        name_tok = children[0]
        groupings = [c for c in children if isinstance(c, ast.Grouping)]
        grouping_first = isinstance(children[1], ast.Grouping)
        args = tuple(c for c in children[1:] if _is_expr(c))
        kwargs = tuple(c for c in children if isinstance(c, ast.KwArg))
        if len(groupings) > 1:
            self.errors.append((groupings[1].span, "only one by or without clause is allowed"))
        return ast.Call(str(name_tok), self._tok_span(name_tok), args, kwargs,
                        groupings[0] if groupings else None, grouping_first,
                        self._cover(children))


_EXPR_TYPES = (ast.NumberLit, ast.DurationLit, ast.PercentLit, ast.StringLit, ast.Selector,
               ast.Subscript, ast.Modified, ast.Call, ast.Unary, ast.Binary, ast.Paren)


def _is_expr(node: Any) -> bool:
    return isinstance(node, _EXPR_TYPES)
