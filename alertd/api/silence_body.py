"""Alertmanager's v2 silence bodies: a postableSilence read and checked, a gettableSilence
written, and the query parameters of a listing.

Every mistake is a `BadRequest` whose message names the field, as go-swagger's would: text
with a lone surrogate and times outside the years 1 to 9999 are refused here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertd.model import LabelMatcher, Labels
from alertd.silence.model import (
    InvalidSilence,
    Silence,
    TimeOutOfRange,
    is_equal,
    is_regex,
    make_matcher,
    parse_matcher,
    parse_time,
)
from alertd.timefmt import rfc3339
from alertd.validation import INVALID_UNICODE, valid_text

_TRUE = frozenset({"true", "1", "t", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "f", "no", "n", "off"})


class BadRequest(ValueError):
    """The request does not follow the API; the message is the answer's body."""


def silence_json(s: Silence, now: float) -> dict[str, Any]:
    """A gettableSilence."""
    return {
        "id": s.id,
        "status": {"state": s.state(now)},
        "updatedAt": _time(s.updated_at),
        "matchers": [{"name": m.name, "value": m.value, "isRegex": is_regex(m),
                      "isEqual": is_equal(m)} for m in s.matchers],
        "startsAt": _time(s.starts_at),
        "endsAt": _time(s.ends_at),
        "createdBy": s.created_by,
        "comment": s.comment,
        "annotations": dict(s.annotations),
        "expireOnResolve": s.expire_on_resolve,
    }


def postable_silence(body: Any) -> tuple[Silence, bool | None, Labels | None]:
    """A postableSilence: the silence, and its expireOnResolve and annotations when given."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (a postableSilence)")
    sid = _text_field(body, "id", required=False) or ""
    raw_matchers = _field(body, "matchers", list)
    if not raw_matchers:
        raise BadRequest("matchers in body should have at least 1 items")
    matchers = tuple(_matcher(m, i) for i, m in enumerate(raw_matchers))
    starts_at = _time_field(body, "startsAt")
    ends_at = _time_field(body, "endsAt")
    created_by = _text_field(body, "createdBy")
    comment = _text_field(body, "comment")
    expire_on_resolve = _field(body, "expireOnResolve", bool, required=False)
    raw_annotations = _field(body, "annotations", dict, required=False)
    annotations = None if raw_annotations is None else _annotations(raw_annotations)
    sil = Silence(id=sid, matchers=matchers, starts_at=starts_at, ends_at=ends_at,
                  created_by=created_by, comment=comment)
    return sil, expire_on_resolve, annotations


def _annotations(raw: Mapping[str, Any]) -> Labels:
    for key, value in raw.items():
        if not isinstance(value, str):
            raise BadRequest("annotations in body must be an object of strings")
        if not valid_text(key):
            raise BadRequest(f"annotations in body: {INVALID_UNICODE} in a name")
        if not valid_text(value):
            raise BadRequest(f"annotations.{key} in body: {INVALID_UNICODE}")
    return Labels(raw)


def _time_field(body: dict[str, Any], name: str) -> float:
    text = _text_field(body, name)
    try:
        return parse_time(text)
    except TimeOutOfRange as exc:
        raise BadRequest(f"{name} in body: {exc}") from None
    except ValueError:
        raise BadRequest(f'{name} in body must be of type date-time: "{text}"') from None


def _text_field(body: dict[str, Any], name: str, *, required: bool = True,
                where: str = "") -> Any:
    value = _field(body, name, str, required=required)
    if value is not None and not valid_text(value):
        raise BadRequest(f"{where}{name} in body: {INVALID_UNICODE}")
    return value


def _field(body: dict[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} in body is required")
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise BadRequest(f"{name} in body must be of type {_TYPE_NAMES[kind]}")
    return value


_TYPE_NAMES: dict[type, str] = {str: "string", bool: "boolean", list: "array", dict: "object"}


def _matcher(raw: Any, index: int) -> LabelMatcher:
    if not isinstance(raw, dict):
        raise BadRequest(f"matchers.{index} in body must be of type object")
    name = _text_field(raw, "name", required=False, where=f"matchers.{index}.")
    value = _text_field(raw, "value", required=False, where=f"matchers.{index}.")
    regex = _field(raw, "isRegex", bool, required=False)
    equal = _field(raw, "isEqual", bool, required=False)
    for key, got in (("name", name), ("value", value), ("isRegex", regex)):
        if got is None:
            raise BadRequest(f"matchers.{index}.{key} in body is required")
    try:
        return make_matcher(name, value, is_regex=regex,
                            is_equal=True if equal is None else equal, index=index)
    except InvalidSilence as exc:
        raise BadRequest(str(exc)) from None


def matcher_filter(text: str) -> LabelMatcher:
    """A listing's `filter=` matcher, as amtool sends it."""
    try:
        return parse_matcher(text)
    except InvalidSilence as exc:
        raise BadRequest(str(exc)) from None


def query_flag(query: Any, name: str, *, default: bool) -> bool:
    """A boolean query parameter, in the spellings Go's strconv.ParseBool takes and more."""
    raw = query.get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f'{name} in query must be of type boolean: "{raw}"')


def _time(t: float) -> str:
    text = rfc3339(t)
    assert text is not None
    return text
