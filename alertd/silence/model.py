"""A silence: label matchers and a time range during which matching alerts are muted.

The rules are Alertmanager's: a silence is pending before it starts, active until it ends
and expired from then on; it needs at least one matcher, and not all its matchers may
match the empty string (a silence that would mute every alert is a mistake).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Literal

from alertd.errors import AlertdError
from alertd.model import EMPTY_LABELS, LabelMatcher, Labels
from alertd.regex import RegexError
from alertd.validation import TIME_OUT_OF_RANGE, representable, valid_text

SilenceState = Literal["pending", "active", "expired"]
PENDING: Final = "pending"
ACTIVE: Final = "active"
EXPIRED: Final = "expired"
STATES: Final[tuple[SilenceState, ...]] = (ACTIVE, PENDING, EXPIRED)

# Prometheus's label names (model.LabelName.IsValid).
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class SilenceError(AlertdError):
    """A silence could not be set or expired; the message says why."""


class InvalidSilence(SilenceError):
    """The silence breaks a rule (matchers, times); answered with 400 by the API."""


class SilenceNotFound(SilenceError):
    """No silence has this id (it may have been garbage-collected)."""

    def __init__(self, silence_id: str) -> None:
        # Alertmanager's words, which its clients show.
        super().__init__("silence not found")
        self.silence_id = silence_id


class TimeOutOfRange(ValueError):
    """A well-formed date-time whose instant (in UTC) RFC 3339 cannot write."""


class SilenceAlreadyExpired(SilenceError):
    def __init__(self, silence_id: str) -> None:
        super().__init__(f"silence {silence_id} already expired")
        self.silence_id = silence_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    """One silence. Times are seconds since the epoch.

    `id` is a UUID (version 4); an empty id asks `Silences.set` for a new silence.
    `expire_on_resolve` (alertd's own) expires the silence as soon as the alerts it
    silenced have all resolved, so it cannot hide the next, unrelated incident.
    """

    matchers: tuple[LabelMatcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    id: str = ""
    updated_at: float = 0.0
    expire_on_resolve: bool = False
    annotations: Labels = field(default=EMPTY_LABELS)

    def state(self, now: float) -> SilenceState:
        if self.ends_at <= now:
            return EXPIRED
        if self.starts_at > now:
            return PENDING
        return ACTIVE

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher matches these labels (a missing label reads as "")."""
        return all(m.matches(labels.get(m.name, "")) for m in self.matchers)

    def validate(self) -> None:
        """Raise InvalidSilence unless the silence follows Alertmanager's rules."""
        validate_matchers(self.matchers)
        for name, value in (("start", self.starts_at), ("end", self.ends_at),
                            ("update", self.updated_at)):
            if not math.isfinite(value):
                raise InvalidSilence(f"invalid {name} timestamp {value}")
            if not representable(value):
                raise InvalidSilence(f"{name} time {TIME_OUT_OF_RANGE}")
        for name, text in (("createdBy", self.created_by), ("comment", self.comment)):
            if not valid_text(text):
                raise InvalidSilence(f"{name}: invalid unicode (lone surrogate)")
        if self.ends_at < self.starts_at:
            raise InvalidSilence("end time must not be before start time")


def new_id() -> str:
    return str(uuid.uuid4())


def validate_matchers(matchers: Sequence[LabelMatcher]) -> None:
    if not matchers:
        raise InvalidSilence("at least one matcher required")
    all_match_empty = True
    for i, m in enumerate(matchers):
        if not _LABEL_NAME.fullmatch(m.name):
            raise InvalidSilence(f'invalid label matcher {i}: invalid label name "{m.name}"')
        if not valid_text(m.value):
            raise InvalidSilence(f"invalid label matcher {i}: invalid label value {m.value!r}")
        # Alertmanager counts only = and =~ here: a != or !~ matcher alone still mutes
        # nearly everything, but that is its rule and silences move between the two.
        all_match_empty = all_match_empty and m.op in ("=", "=~") and m.matches("")
    if all_match_empty:
        raise InvalidSilence("at least one matcher must not match the empty string")


def make_matcher(name: str, value: str, *, is_regex: bool, is_equal: bool = True,
                 index: int = 0) -> LabelMatcher:
    """A matcher from Alertmanager's API fields; a bad regex is an InvalidSilence."""
    op = ("=~" if is_equal else "!~") if is_regex else ("=" if is_equal else "!=")
    try:
        return LabelMatcher(name, op, value)
    except RegexError as exc:
        raise InvalidSilence(f'invalid label matcher {index}: invalid regular expression '
                             f'"{value}": {exc}') from None


def is_regex(m: LabelMatcher) -> bool:
    return m.op in ("=~", "!~")


def is_equal(m: LabelMatcher) -> bool:
    return m.op in ("=", "=~")


def matches_filter(silence: Silence, filters: Sequence[LabelMatcher]) -> bool:
    """Whether a silence is listed under these filters, as in Alertmanager's API.

    Alertmanager matches the filters against the silence's matchers read as a label set
    (name -> value or pattern, whatever the operator), and a filter with an empty value
    passes when the silence has (for != and !~) or lacks (for = and =~) that name.
    """
    if not filters:
        return True
    values = {m.name: m.value for m in silence.matchers}
    for f in filters:
        present = f.name in values
        value = values.get(f.name, "")
        if f.value == "" and present == (f.op in ("!=", "!~")):
            continue
        if not f.matches(value):
            return False
    return True


# --- Alertmanager's matcher syntax (pkg/labels.ParseMatcher) --------------------------------

# Go's \s is ASCII whitespace only.
_MATCHER = re.compile(r"^[ \t\n\f\r]*([a-zA-Z_:][a-zA-Z0-9_:]*)[ \t\n\f\r]*(=~|=|!=|!~)"
                      r"[ \t\n\f\r]*(.*?)[ \t\n\f\r]*\Z", re.DOTALL)


def parse_matcher(text: str) -> LabelMatcher:
    """`name="value"`, `name=~"re"`, `name!=value`...: one matcher as amtool writes it.

    The value may be quoted; inside quotes `\\"`, `\\\\` and `\\n` are escapes. Raises
    InvalidSilence with Alertmanager's message on a malformed matcher or a bad regex.
    """
    m = _MATCHER.match(text)
    if m is None:
        raise InvalidSilence(f"bad matcher format: {text}")
    name, op, raw = m.group(1), m.group(2), m.group(3)
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i < len(body) - 1:
            nxt = body[i + 1]
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            if not quoted or i < len(body) - 1:
                raise InvalidSilence(f"matcher value contains unescaped double quote: {raw}")
            quoted = False  # the closing quote
        else:
            out.append(ch)
        i += 1
    if quoted:
        raise InvalidSilence(f"matcher value contains unescaped double quote: {raw}")
    value = "".join(out)
    try:
        return LabelMatcher(name, op, value)
    except RegexError as exc:
        raise InvalidSilence(f'invalid regular expression "{value}": {exc}') from None


def format_matcher(m: LabelMatcher) -> str:
    """`name=~"value"`, escaped as Alertmanager prints a matcher."""
    return matcher_text(m.name, m.op, m.value)


def matcher_text(name: str, op: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return f'{name}{op}"{escaped}"'


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")


def parse_time(text: str) -> float:
    """An RFC 3339 date-time (any fraction of a second, Z or an offset) as epoch seconds.

    Raises ValueError for anything else, and TimeOutOfRange (a ValueError) for a time
    whose instant in UTC falls outside the years 1 to 9999, which nothing could write back.
    """
    m = _RFC3339.fullmatch(text.strip())
    if m is None:
        raise ValueError(f'not an RFC 3339 date-time: "{text}"')
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction, zone = m.group(7) or "", m.group(8)
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    at = datetime(year, month, day, hour, minute, second, tzinfo=tz)  # ValueError if invalid
    # Whole seconds, then the fraction as an exact count of microseconds.
    micros = int((fraction + "000000")[:6])
    t = int(at.timestamp()) + micros / 1_000_000
    if not representable(t):
        raise TimeOutOfRange(f'"{text}" {TIME_OUT_OF_RANGE}')
    return t
