"""Regular expressions written by users, with Prometheus's semantics, run by RE2.

Every regex a user gives (label matchers in rules, routes, inhibit rules and silences,
`match_re`, `label_replace`, the API's `filter=` and `receiver=`) is compiled here, so that
there is one definition of what a pattern means: as Prometheus compiles a matcher,
`^(?s:pattern)$`: anchored at both ends, `.` matching a newline, RE2 syntax.

Python's `re` backtracks: `(a+)+` against a run of "a"s followed by "!" takes time that
doubles with each character, and matchers run on the event loop. RE2 runs in time linear
in the input, within a memory budget per pattern, and rejects what it cannot run that way
(backreferences, look-around), as Prometheus and Alertmanager (Go's regexp) do.
"""

from __future__ import annotations

from typing import Any

# google-re2 never falls back to Python's `re`: a pattern RE2 rejects raises re2.error.
import re2  # type: ignore[import-untyped]

__all__ = ["MAX_MEM", "Regex", "RegexError", "RegexMatch"]

# RE2's memory budget per pattern (its own default, stated here so that it is a decision):
# a pattern whose program does not fit is rejected when compiled, and a match whose DFA
# would outgrow it falls back to RE2's NFA, which is slower but still linear.
MAX_MEM = 8 << 20

_HINT = "(RE2 syntax, as in Prometheus, has no backreferences, look-around or possessive " \
        "quantifiers)"
# The errors RE2 gives for what Python's `re` (or PCRE) has and RE2 has not.
_HINTED = ("invalid escape sequence", "invalid perl operator", "bad repetition operator")


def _options() -> Any:
    options = re2.Options()
    options.max_mem = MAX_MEM
    # Anchoring is asked for at each match (fullmatch), not written around the pattern:
    # wrapping text such as `a)|(b` would let it close the group and escape the anchors.
    options.dot_nl = True
    options.log_errors = False  # a rejected pattern is reported to the user, not to stderr
    return options


_OPTIONS = _options()


class RegexError(ValueError):
    """RE2 does not accept the pattern. The message says why; callers quote the pattern."""


class RegexMatch:
    """The groups of a successful match (what `label_replace` expands)."""

    __slots__ = ("_match",)

    def __init__(self, match: Any) -> None:
        self._match = match

    def group(self, ref: int | str) -> str | None:
        """Group `ref` (a number or a name); None if it took no part in the match. Raises
        IndexError if the pattern has no such group."""
        found: bytes | None = self._match.group(ref)
        return None if found is None else _decode(found)


class Regex:
    """A compiled pattern, matched against a whole value."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled = _compile(pattern)

    def matches(self, value: str) -> bool:
        """Whether the pattern matches all of `value`."""
        return self._compiled.fullmatch(_encode(value)) is not None

    def match(self, value: str) -> RegexMatch | None:
        """The groups when the pattern matches all of `value`, else None."""
        found = self._compiled.fullmatch(_encode(value))
        return None if found is None else RegexMatch(found)

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def _compile(pattern: str) -> Any:
    if _has_any_byte(pattern):
        # RE2 has \C (any single byte), Go's regexp has not; it could also split a
        # character in two, which no label value can hold.
        raise RegexError(r"invalid escape sequence: `\C`")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise RegexError(_reason(exc)) from None
    except UnicodeEncodeError:  # a lone surrogate (JSON's "\ud800"): not text RE2 can read
        raise RegexError("invalid UTF-8: a lone surrogate") from None


def _has_any_byte(pattern: str) -> bool:
    i = pattern.find("\\")
    while i != -1 and i + 1 < len(pattern):
        escaped = pattern[i + 1]
        if escaped == "C":
            return True
        if escaped == "Q":  # \Q...\E is literal text: skip to its end
            end = pattern.find("\\E", i + 2)
            i = len(pattern) if end == -1 else end
        i = pattern.find("\\", i + 2)  # skip the escaped character (`\\C` is "\" then "C")
    return False


def _reason(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else ""
    reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if reason.startswith("pattern too large"):
        return f"the pattern is too large (RE2 compiles it within {MAX_MEM >> 20}MiB)"
    # RE2 writes "what: where" (`missing ): (`); quote the where as Go's regexp does.
    what, sep, where = reason.partition(": ")
    if sep:
        reason = f"{what}: `{where}`"
    return f"{reason} {_HINT}" if reason.startswith(_HINTED) else reason


def _encode(value: str) -> bytes:
    # Matched as UTF-8 bytes: no character offsets to map back, and a lone surrogate (JSON
    # can carry one) is passed on rather than failing the match.
    return value.encode("utf-8", "surrogatepass")


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # a group ends inside a malformed sequence
        return value.decode("utf-8", "replace")
