"""Rule-file edits: `for`/`keep_firing_for` of one alert set, or the alert deleted.

A rule file is changed block by block: the alert's block is rewritten as `alertd fmt`
writes it, with every comment kept, and every other byte of the file stays as it was. The
result is checked as `alertd check` checks the file alone: an edit that would add an error,
or not do what was asked, raises EditError.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

from alertd.durations import format_duration, parse_duration
from alertd.errors import RuleError
from alertd.lang import ast
from alertd.lang.check import ALERT_KEYS, CheckResult, check_files
from alertd.lang.diagnostics import Diagnostic
from alertd.lang.format import INDENT, format_source
from alertd.lang.parse import ParseResult, parse_file
from alertd.suggest import did_you_mean
from alertd.whatif.edit import Edit, cannot

__all__ = ["delete_rule", "set_rule_timing"]


def set_rule_timing(path: str, text: str, rule: str, *, for_: float | None = None,
                    keep_firing_for: float | None = None) -> Edit:
    """The rule file `text` with `for` and/or `keep_firing_for` of the alert `rule` set
    (replaced, or added after the keys that come before them)."""
    values = {key: seconds for key, seconds in (("for", for_), ("keep_firing_for",
                                                                keep_firing_for))
              if seconds is not None}
    what = f'set {" and ".join(values) or "the timing"} of alert "{rule}"'
    if not values:
        raise cannot(path, what, "neither for nor keep_firing_for was given")
    for seconds in values.values():
        if seconds < 0 or parse_duration(format_duration(seconds))[0] != seconds:
            raise cannot(path, what, f"{seconds!r} seconds is not a duration a rule file can "
                         "hold (whole milliseconds, 0s or more)")
    block, depth = _find_alert(_parsed(text, path), rule, path, what)
    start, end = _block_lines(text, block, path, what)
    changed = _splice(text, _timing_splices(text, block, depth, values))
    grown = len(changed) - len(text)
    after = text[:start] + _format_block(changed[start : end + grown], depth, path, what) \
        + text[end:]
    result = _no_new_errors(text, after, path, what)
    got = _timing_of(result, after, path, rule)
    wrong = [f"{key} is {_shown(got[key])}" for key, seconds in values.items()
             if got[key] != seconds]
    if wrong:
        raise cannot(path, what, "after the change " + " and ".join(wrong))
    return Edit(path, text, after)


def delete_rule(path: str, text: str, rule: str) -> Edit:
    """The rule file `text` without the alert `rule`, the comment lines directly above it
    and a blank line next to it."""
    what = f'delete alert "{rule}"'
    parsed = parse_file(text, path)
    block, _ = _find_alert(parsed, rule, path, what)
    start, end = _block_lines(text, block, path, what)
    start = _with_comments_above(text, start, block.span.line, parsed.file.comments)
    start, end = _with_one_blank(text, start, end)
    after = text[:start] + text[end:]
    _no_new_errors(text, after, path, what)
    if _alerts_named(parse_file(after, path, with_comments=False).file, rule):
        raise cannot(path, what, "the alert is still there after the change")
    return Edit(path, text, after)


def _alerts(rule_file: ast.RuleFile) -> Iterator[tuple[ast.Block, int]]:
    """Every alert block, with its depth (1 inside a group)."""
    for item in rule_file.items:
        if isinstance(item, ast.Block):
            blocks = [(item, 0)] + [(b, 1) for b in item.blocks() if item.kind == "group"]
            yield from ((b, depth) for b, depth in blocks if b.kind == "alert")


def _alerts_named(rule_file: ast.RuleFile, rule: str) -> list[tuple[ast.Block, int]]:
    return [(b, depth) for b, depth in _alerts(rule_file) if b.name == rule]


def _find_alert(parsed: ParseResult, rule: str, path: str,
                what: str) -> tuple[ast.Block, int]:
    found = _alerts_named(parsed.file, rule)
    if len(found) == 1:
        return found[0]
    if found:
        lines = ", ".join(str(block.span.line) for block, _ in found)
        raise cannot(path, what, f"the file defines it {len(found)} times (lines {lines})")
    names = [b.name or "" for b, _ in _alerts(parsed.file)]
    why = f'the file has no alert "{rule}"{did_you_mean(rule, names)}'
    if not parsed.ok:  # a block that does not parse is left out of the tree
        why += f"; or it is where the file does not parse ({parsed.diagnostics[0].headline()})"
    raise cannot(path, what, why)


def _block_lines(text: str, block: ast.Block, path: str, what: str) -> tuple[int, int]:
    """The offsets of the whole lines the block takes (its trailing comment included)."""
    start = text.rfind("\n", 0, block.span.start) + 1
    end = _next_line(text, block.span.end)
    after = text[block.span.end : end].strip()
    if text[start : block.span.start].strip() or (after and not after.startswith("#")):
        raise cannot(path, what, f"line {block.span.line} or {block.span.end_line} holds more "
                     "than the alert block; run alertd fmt first")
    return start, end


def _next_line(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _timing_splices(text: str, block: ast.Block, depth: int,
                    values: Mapping[str, float]) -> list[tuple[int, int, str]]:
    # The checker reads the first of repeated keys: that is the one to replace.
    settings = {s.key: s for s in reversed(block.settings())}
    splices: list[tuple[int, int, str]] = []
    added: dict[int, str] = {}
    for key in (k for k in ALERT_KEYS if k in values):
        written = format_duration(values[key])
        if key in settings:
            value = settings[key].value
            splices.append((value.span.start, value.span.end, written))
        else:
            at = _insertion_point(text, block, settings, key)
            # Indented, so that were the block broken, the parser would not take the key
            # for the start of a new top-level block.
            added[at] = added.get(at, "\n" if text[at - 1] != "\n" else "") + \
                f"{INDENT * (depth + 1)}{key} = {written}\n"
    return splices + [(at, at, line) for at, line in added.items()]


def _insertion_point(text: str, block: ast.Block, settings: Mapping[str, ast.Setting],
                     key: str) -> int:
    """Where a new key goes: after the line of the key that comes last before it in the
    usual order (`for` after `when`), else before the first setting."""
    close = block.span.end - 1  # the block's `}`
    earlier = [settings[k] for k in ALERT_KEYS[: ALERT_KEYS.index(key)] if k in settings]
    if earlier:
        return min(_next_line(text, earlier[-1].span.end), close)
    first = block.settings()
    return text.rfind("\n", 0, first[0].span.start) + 1 if first else close


def _splice(text: str, splices: Sequence[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(splices, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _format_block(block_text: str, depth: int, path: str, what: str) -> str:
    """The block as `alertd fmt` writes it at `depth`: formatted inside as many stand-in
    groups, so that its indentation and line breaks are those of its place in the file."""
    source = "group _ {\n" * depth + block_text.rstrip("\n") + "\n" + "}\n" * depth
    try:
        lines = format_source(source, path).split("\n")
    except RuleError as exc:
        raise cannot(path, what, f"the changed alert block does not parse: {exc}") from None
    return "\n".join(lines[depth : len(lines) - 1 - depth]) + "\n"


def _with_comments_above(text: str, start: int, line: int,
                         comments: Sequence[ast.Comment]) -> int:
    """`start` moved up over the comment lines directly above the block's first line."""
    own_lines = {c.span.line: c.span.start - c.span.column + 1 for c in comments
                 if not text[c.span.start - c.span.column + 1 : c.span.start].strip()}
    while line - 1 in own_lines:
        line -= 1
        start = own_lines[line]
    return start


def _with_one_blank(text: str, start: int, end: int) -> tuple[int, int]:
    """The range widened by the blank line beside it that would otherwise be doubled, or
    left at the start or the end of a block or of the file."""
    prev_start = text.rfind("\n", 0, start - 1) + 1 if start else start
    prev = text[prev_start:start] if start else None
    next_end = _next_line(text, end)
    nxt = text[end:next_end] if end < len(text) else None
    opens = prev is None or prev.split("#")[0].rstrip().endswith("{")
    closes = nxt is None or nxt.lstrip().startswith("}")
    if prev is not None and not prev.strip() and (closes or (nxt is not None and not nxt.strip())):
        return prev_start, end
    if nxt is not None and not nxt.strip() and opens:
        return start, next_end
    return start, end


_LINE_NUMBER = re.compile(r"\bline \d+")


@functools.lru_cache(maxsize=4)
def _parsed(text: str, path: str) -> ParseResult:
    """The file parsed with its comments; remembered as `_check` is."""
    return parse_file(text, path)


@functools.lru_cache(maxsize=4)
def _check(text: str, path: str) -> tuple[CheckResult, tuple[Diagnostic, ...]]:
    """What `alertd check` finds in the file alone, and its errors. Remembered for a few
    texts: every change tried on a rule file is checked against the same original, and a
    file of hundreds of rules takes a tenth of a second to parse and check."""
    parsed = parse_file(text, path, with_comments=False)
    result = check_files([parsed.file])
    errors = tuple(d for d in (*parsed.diagnostics, *result.diagnostics)
                   if d.severity == "error")
    return result, errors


def _no_new_errors(before: str, after: str, path: str, what: str) -> CheckResult:
    """The check of `after`; raises when it has an error `before` did not have. Errors are
    compared by message: lines move, and a reference to another file's alert is an error
    in both when the file is checked alone."""
    had = Counter(_LINE_NUMBER.sub("line", d.message) for d in _check(before, path)[1])
    result, errors = _check(after, path)
    new: list[str] = []
    for d in errors:
        key = _LINE_NUMBER.sub("line", d.message)
        if had[key]:
            had[key] -= 1
        else:
            new.append(d.headline())
    if new:
        raise cannot(path, what, "the changed file has new errors:\n" + "\n".join(new))
    return result


def _timing_of(result: CheckResult, text: str, path: str, rule: str) -> dict[str, float | None]:
    """`for` and `keep_firing_for` of the alert: checked, or, for an alert left out of the
    check by an error it already had (say an alert() of another file), as written."""
    for spec in (a for g in result.groups for a in g.alerts if a.name == rule):
        return {"for": spec.for_, "keep_firing_for": spec.keep_firing_for}
    block, _ = _alerts_named(parse_file(text, path, with_comments=False).file, rule)[0]
    settings = {s.key: s.value for s in reversed(block.settings())}

    def seconds(key: str) -> float | None:
        value = settings.get(key)
        if value is None:
            return 0.0
        return value.seconds if isinstance(value, ast.DurationLit) else None

    return {"for": seconds("for"), "keep_firing_for": seconds("keep_firing_for")}


def _shown(seconds: float | None) -> str:
    return "not a duration" if seconds is None else format_duration(seconds)
