"""Label matchers in Alertmanager's syntax (`severity="page"`, `team!~"ml|data"`), as the
`matchers` keys of routes, inhibition rules and owners read them, and as they are written
back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import AfterValidator

from alertd.model import LabelMatcher
from alertd.regex import RegexError

__all__ = [
    "MatcherText",
    "compile_matchers",
    "format_matcher",
    "parse_matcher",
    "parse_matchers",
    "sort_matchers",
]

_WS = "[ \t\n\f\r]"
_MATCHER = re.compile(
    rf"{_WS}*([a-zA-Z_:][a-zA-Z0-9_:]*){_WS}*(=~|=|!=|!~){_WS}*(.*?){_WS}*", re.DOTALL)
_OP_ORDER = {"=": 0, "!=": 1, "=~": 2, "!~": 3}
_MATCHER_HELP = 'write name="value", name!="value", name=~"regex" or name!~"regex"'
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


def parse_matchers(text: str) -> list[LabelMatcher]:
    """The matchers in `text`, as Alertmanager parses one item of `matchers`: one matcher
    (`severity="page"`, `team!=ml`) or several separated by commas, with optional braces
    (`{a="b", c=~"d|e"}`). Raises ValueError naming the bad matcher."""
    if text.startswith("{"):
        text = text[1:]
    if text.endswith("}"):
        text = text[:-1]
    return [parse_matcher(t) for t in _split(text)]


def _split(text: str) -> list[str]:
    """`text` cut at each comma outside double quotes; a last empty item left out."""
    tokens: list[str] = []
    token: list[str] = []
    inside_quotes = escaped = False
    for ch in text:
        if ch == "," and not inside_quotes:
            tokens.append("".join(token))
            token = []
            continue
        if ch == '"':
            if escaped:
                escaped = False
            else:
                inside_quotes = not inside_quotes
        elif ch == "\\":
            escaped = not escaped
        elif ch != ",":
            escaped = False
        token.append(ch)
    last = "".join(token).strip(" \t\n\f\r\v")
    if last:
        tokens.append(last)
    return tokens


def parse_matcher(text: str) -> LabelMatcher:
    """One matcher in Alertmanager's syntax; a quoted value may use \\", \\\\ and \\n."""
    found = _MATCHER.fullmatch(text)
    if found is None:
        raise ValueError(f'invalid matcher "{text.strip()}": {_MATCHER_HELP}')
    name, op, raw = found[1], found[2], found[3]
    what = f'matcher "{text.strip()}"'
    value = _unquote(raw, what)
    try:
        return LabelMatcher(name, op, value)
    except RegexError as exc:
        raise ValueError(f'the regular expression of {what} is invalid: {exc}') from None


def _unquote(raw: str, what: str) -> str:
    """A matcher's value: its escapes read, its quotes (if any) removed."""
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    value: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        last = i == len(raw) - 1
        if escaped:
            escaped = False
            value.append(_ESCAPES.get(ch, "\\" + ch))
        elif ch == "\\":
            escaped = not last
            if last:
                value.append("\\")
        elif ch == '"':
            if not quoted or not last:
                raise ValueError(f'invalid {what}: a double quote inside the value must be '
                                 'escaped as \\"')
            quoted = False
        else:
            value.append(ch)
    if quoted:
        raise ValueError(f'invalid {what}: the value has no closing quote')
    return "".join(value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_matcher(m: LabelMatcher) -> str:
    """`name="value"` as Alertmanager writes a matcher (and as `parse_matcher` reads it)."""
    return f'{m.name}{m.op}"{_escape(m.value)}"'


def sort_matchers(matchers: Sequence[LabelMatcher]) -> list[LabelMatcher]:
    """Alertmanager's order: by name, then value, then operator (=, !=, =~, !~)."""
    return sorted(matchers, key=lambda m: (m.name, m.value, _OP_ORDER[m.op]))


def _check_matchers(value: str) -> str:
    parse_matchers(value)
    return value


# One item of a `matchers` list, checked when read and compiled by `compile_matchers`.
MatcherText = Annotated[str, AfterValidator(_check_matchers)]


def compile_matchers(matchers: Sequence[str], equal: Mapping[str, str] | None = None,
                     regex: Mapping[str, str] | None = None) -> list[LabelMatcher]:
    """Every matcher of a route, an inhibition side or an owner, sorted as Alertmanager
    sorts them. A deprecated `match_re` value is anchored as Alertmanager 0.25 writes it."""
    found = [LabelMatcher(n, "=", v) for n, v in (equal or {}).items()]
    found += [LabelMatcher(n, "=~", f"^(?:{v})$") for n, v in (regex or {}).items()]
    for text in matchers:
        found += parse_matchers(text)
    return sort_matchers(found)
