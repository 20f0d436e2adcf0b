"""Request bodies as JSON, with every way a body can be malformed answered as a 400.

Python's json module takes things RFC 8259 does not (NaN, Infinity) and fails in ways
that are not ValueError (RecursionError on deep nesting): both are turned into a
`BadBody` with a reason the client can act on.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class BadBody(ValueError):
    """The body is not JSON the API can read; the message says why."""


def _no_constant(name: str) -> Any:
    raise BadBody(f"invalid JSON: {name} is not a JSON value")


def loads(raw: bytes) -> Any:
    """The JSON in `raw` (UTF-8, an optional byte order mark); BadBody if it is not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    text = text.removeprefix("\ufeff")  # RFC 8259 lets a parser ignore a byte order mark
    if not text.strip():
        raise BadBody("the body is empty; send JSON")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadBody(f"invalid JSON at line {exc.lineno}, column {exc.colno}: "
                      f"{exc.msg}") from None
    except RecursionError:
        raise BadBody("invalid JSON: nested too deeply") from None
    except BadBody:
        raise
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise BadBody(f"invalid JSON: {exc}") from None


async def read_json(request: web.Request) -> Any:
    """The request's body as JSON; BadBody if it is not (a body over the size limit is
    aiohttp's 413)."""
    return loads(await request.read())
