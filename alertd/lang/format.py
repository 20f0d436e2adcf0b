"""The canonical formatter: one layout for every rule file, with every comment kept.

The layout is computed from the syntax tree, not from the source text, so that two files
with the same meaning format the same way. The source is consulted only for what the tree
does not carry: where comments and blank lines were, and whether a map was on one line.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from alertd.durations import format_duration
from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.parse import parse_file

MAX_WIDTH = 100
INDENT = "  "

# The values of these settings are maps, parsed as a name-less selector.
_MAP_KEYS = frozenset({"labels", "annotations"})
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
# These names are number literals when written bare, so `inf{}` must keep its braces.
_NUMBER_NAMES = frozenset({"inf", "nan"})


def format_source(source: str, path: str) -> str:
    """The canonical text of a rule file; raises RuleError if it does not parse cleanly."""
    result = parse_file(source, path)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        raise RuleError(errors[0].message, errors[0].span)
    rule_file = result.file
    entries = _entries(source, rule_file.items, rule_file.comments, start_line=0)
    lines = _render_entries(source, entries, depth=0)
    return "\n".join(lines) + "\n" if lines else ""


# --- expressions -------------------------------------------------------------------------


def format_expr(expr: ast.Expr) -> str:
    """One expression on one line (raw strings excepted), with PromQL's canonical spacing."""
    match expr:
        case ast.NumberLit() | ast.PercentLit() | ast.DurationLit() | ast.StringLit():
            return _literal(expr)
        case ast.Selector():
            return _selector(expr)
        case ast.Subscript():
            return _subscript(expr)
        case ast.Modified():
            return _modified(expr)
        case ast.Call():
            return _call(expr)
        case ast.Unary():
            return expr.op + format_expr(expr.operand)
        case ast.Binary():
            return f"{format_expr(expr.left)} {_operator(expr)} {format_expr(expr.right)}"
        case ast.Paren():
            return f"({format_expr(expr.expr)})"
    raise TypeError(f"not an expression: {expr!r}")  # pragma: no cover


def _literal(lit: ast.NumberLit | ast.PercentLit | ast.DurationLit | ast.StringLit) -> str:
    if isinstance(lit, ast.DurationLit):
        return _duration(lit)
    if isinstance(lit, ast.StringLit):
        return _string(lit)
    return lit.text


def _duration(lit: ast.DurationLit) -> str:
    return lit.text if lit.seconds is None else format_duration(lit.seconds)


def _string(lit: ast.StringLit) -> str:
    # A raw string has no escapes, so it can only be written back exactly as it was.
    return f"`{lit.value}`" if lit.raw else _quote(lit.value)


def _quote(value: str) -> str:
    """`value` as a double-quoted string, escaping only what must be escaped."""
    out: list[str] = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch) == "Cc":  # all control characters are below U+0100
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _selector(sel: ast.Selector) -> str:
    matchers = ", ".join(f"{m.name}{m.op}{_string(m.value)}" for m in sel.matchers)
    if sel.name is None:
        return "{" + matchers + "}"
    if matchers or (sel.braces and sel.name.lower() in _NUMBER_NAMES):
        return sel.name + "{" + matchers + "}"
    return sel.name


def _subscript(sub: ast.Subscript) -> str:
    step = ""
    if sub.subquery:
        step = ":" + (_duration(sub.step) if sub.step else "")
    return f"{format_expr(sub.expr)}[{_duration(sub.range)}{step}]"


def _modified(mod: ast.Modified) -> str:
    """`x[5m] @ 1700000000 offset 1d`: `@` first, as Prometheus prints them."""
    text = format_expr(mod.expr)
    if mod.at is not None:
        text += f" @ {mod.at.text}"
    if mod.offset is not None:
        sign = "-" if mod.offset.negative else ""
        text += f" offset {sign}{_duration(mod.offset.duration)}"
    return text


def _call(call: ast.Call) -> str:
    args = [format_expr(a) for a in call.args]
    args += [f"{k.name}={format_expr(k.value)}" for k in call.kwargs]
    body = "(" + ", ".join(args) + ")"
    if call.grouping is None:
        return call.name + body
    grouping = _grouping(call.grouping)
    if call.grouping_first:
        return f"{call.name} {grouping} {body}"
    return f"{call.name}{body} {grouping}"


def _grouping(grouping: ast.Grouping) -> str:
    return ("without " if grouping.without else "by ") + _label_list(grouping.labels)


def _label_list(labels: Sequence[str]) -> str:
    return "(" + ", ".join(labels) + ")"


def _operator(binary: ast.Binary) -> str:
    """The operator with its modifiers: `>`, `> bool`, `and on(a)`, `/ on(a) group_left(b)`."""
    parts = [binary.op]
    if binary.return_bool:
        parts.append("bool")
    matching = binary.matching
    if matching is not None:
        parts.append(("on" if matching.on else "ignoring") + _label_list(matching.labels))
        if matching.card != "one-to-one":
            side = "group_left" if matching.card == "many-to-one" else "group_right"
            # Always with parentheses: a bare `group_left (x)` reads `(x)` as its labels.
            parts.append(side + _label_list(matching.include))
    return " ".join(parts)


# --- structure: which comments and blank lines go where ------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """One element of a block or file: an item, or a comment on a line of its own."""

    node: ast.Item | ast.Comment
    blank: bool  # the source had a blank line before it
    trailing: ast.Comment | None = None  # the comment at the end of the item's last line
    inner: tuple[ast.Comment, ...] = ()  # for a block: the comments inside its braces


def _entries(
    source: str,
    items: Sequence[ast.Item],
    comments: Sequence[ast.Comment],
    start_line: int,
) -> list[_Entry]:
    """Interleave `items` with the `comments` among them, in source order."""
    entries: list[_Entry] = []
    queue = deque(comments)
    last_line = start_line  # the line where the previous entry ended
    for item in items:
        while queue and queue[0].span.start < item.span.start:
            comment = queue.popleft()
            entries.append(_Entry(comment, comment.span.line - last_line > 1))
            last_line = comment.span.line
        inside: list[ast.Comment] = []
        while queue and queue[0].span.start < item.span.end:
            inside.append(queue.popleft())
        moved, inner = _split_inside(source, item, inside)
        blank = item.span.line - last_line > 1
        # Comments that cannot stay where they are go on their own lines before the item,
        # taking over the blank line that preceded it.
        for comment in moved:
            entries.append(_Entry(comment, blank))
            blank = False
        trailing = None
        if queue and queue[0].span.line == item.span.end_line:
            trailing = queue.popleft()
        entries.append(_Entry(item, blank, trailing, inner))
        last_line = item.span.end_line
    for comment in queue:
        entries.append(_Entry(comment, comment.span.line - last_line > 1))
        last_line = comment.span.line
    return entries


def _split_inside(
    source: str, item: ast.Item, inside: list[ast.Comment]
) -> tuple[list[ast.Comment], tuple[ast.Comment, ...]]:
    """Split comments within an item into those moved before it and those inside a block."""
    if isinstance(item, ast.Setting):
        # In the middle of a value: its lines are rebuilt, so the comment has no place there.
        return inside, ()
    brace = _open_brace(source, item)
    moved = [c for c in inside if c.span.start < brace]
    return moved, tuple(c for c in inside if c.span.start > brace)


def _open_brace(source: str, block: ast.Block) -> int:
    """The offset of a block's `{`, which the tree does not record."""
    i = (block.name_span or block.kind_span).end
    while source[i] != "{":
        if source[i] == "#":  # a comment may sit between the header and its brace
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
        else:
            i += 1
    return i


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


# --- rendering ---------------------------------------------------------------------------


def _render_entries(source: str, entries: list[_Entry], depth: int) -> list[str]:
    blanks = _blank_lines(entries, top_level=depth == 0)
    widths = _key_widths(entries, blanks)
    indent = INDENT * depth
    lines: list[str] = []
    for entry, blank, width in zip(entries, blanks, widths, strict=True):
        if blank:
            lines.append("")
        node = entry.node
        if isinstance(node, ast.Comment):
            lines.append(indent + node.text.rstrip())
        elif isinstance(node, ast.Setting):
            lines.extend(_with_comment(_render_setting(node, indent, width), entry.trailing))
        else:
            lines.extend(_render_block(source, node, entry, depth))
    return lines


def _blank_lines(entries: list[_Entry], top_level: bool) -> list[bool]:
    """Whether to put a blank line before each entry (never before the first)."""
    return [
        i > 0 and (entry.blank or _needs_separation(entries, i, top_level))
        for i, entry in enumerate(entries)
    ]


def _needs_separation(entries: list[_Entry], i: int, top_level: bool) -> bool:
    """True if entry `i` starts an item (or the comments leading to it) that must be set
    apart from the previous item: every top-level item, and every nested block."""
    if isinstance(entries[i - 1].node, ast.Comment):
        return False  # the separation, if any, went before the first of these comments
    for entry in entries[i:]:
        if not isinstance(entry.node, ast.Comment):
            return top_level or isinstance(entry.node, ast.Block)
    return False  # only comments follow: they close the block or the file


def _key_widths(entries: list[_Entry], blanks: list[bool]) -> list[int]:
    """The width each setting's key is padded to, so that `=` signs align within a run."""
    keys = {i: e.node.key for i, e in enumerate(entries) if isinstance(e.node, ast.Setting)}
    runs: list[list[int]] = []
    for i in keys:
        # A blank line, an own-line comment or a block (anything not a setting) ends a run.
        if runs and runs[-1][-1] == i - 1 and not blanks[i]:
            runs[-1].append(i)
        else:
            runs.append([i])
    widths = [0] * len(entries)
    for run in runs:
        width = max(len(keys[i]) for i in run)
        for i in run:
            widths[i] = width
    return widths


def _with_comment(lines: list[str], comment: ast.Comment | None) -> list[str]:
    if comment is not None:
        lines[-1] += "  " + comment.text.rstrip()
    return lines


def _render_block(source: str, block: ast.Block, entry: _Entry, depth: int) -> list[str]:
    indent = INDENT * depth
    header = indent + block.kind
    if block.name is not None:
        header += " " + _block_name(block.name)
    brace_line = _line_of(source, _open_brace(source, block))
    inner = list(entry.inner)
    opening = _opening_comment(block, inner, brace_line)
    if opening is not None:
        inner.remove(opening)
    body = _render_entries(source, _entries(source, block.items, inner, brace_line), depth + 1)
    if not body and (opening is None or entry.trailing is None):
        return [header + " {}" + _comment_suffix(opening or entry.trailing)]
    first = header + " {" + _comment_suffix(opening)
    return [first, *body, indent + "}" + _comment_suffix(entry.trailing)]


def _opening_comment(
    block: ast.Block, inner: list[ast.Comment], brace_line: int
) -> ast.Comment | None:
    """The comment after the `{`, unless an item comes between them on that line."""
    if not inner or inner[0].span.line != brace_line:
        return None
    if block.items and block.items[0].span.start < inner[0].span.start:
        return None
    return inner[0]


def _comment_suffix(comment: ast.Comment | None) -> str:
    return "" if comment is None else "  " + comment.text.rstrip()


def _block_name(name: str) -> str:
    return name if _BARE_NAME.fullmatch(name) else _quote(name)


def _render_setting(setting: ast.Setting, indent: str, width: int) -> list[str]:
    prefix = indent + setting.key.ljust(width) + " = "
    value = setting.value
    if setting.key in _MAP_KEYS and isinstance(value, ast.Selector) and value.name is None:
        return _render_map(value, prefix, indent)
    return _render_value(value, prefix)


def _render_map(value: ast.Selector, prefix: str, indent: str) -> list[str]:
    """`{ a = "b" }` when it was on one line and fits; else one entry per line."""
    if not value.matchers:
        return [prefix + "{}"]
    entries = [(m.name, f" {m.op} {_string(m.value)}") for m in value.matchers]
    one_line = prefix + "{ " + ", ".join(name + rest for name, rest in entries) + " }"
    if value.span.line == value.span.end_line and _fits(one_line):
        return [one_line]
    width = max(len(name) for name, _ in entries)
    inner = indent + INDENT
    return [prefix + "{", *(inner + n.ljust(width) + rest for n, rest in entries), indent + "}"]


def _render_value(value: ast.Expr, prefix: str) -> list[str]:
    """The value on one line if it fits, else broken before its top-level set operators."""
    flat = prefix + format_expr(value)
    operands, operators = _set_chain(value)
    if _fits(flat) or not operators:
        return [flat]
    align = " " * len(prefix)
    lines = [prefix + format_expr(operands[0])]
    for op, operand in zip(operators, operands[1:], strict=True):
        lines.append(f"{align}{_operator(op)} {format_expr(operand)}")
    return lines


def _set_chain(expr: ast.Expr) -> tuple[list[ast.Expr], list[ast.Binary]]:
    """The operands of a chain of `and` / `or` / `unless` outside parentheses, in order."""
    if not (isinstance(expr, ast.Binary) and expr.op in ast.SET_OPS):
        return [expr], []
    left, left_ops = _set_chain(expr.left)
    right, right_ops = _set_chain(expr.right)
    return left + right, [*left_ops, expr, *right_ops]


def _fits(text: str) -> bool:
    # A raw string may hold newlines; each physical line is measured on its own.
    return all(len(line) <= MAX_WIDTH for line in text.split("\n"))
