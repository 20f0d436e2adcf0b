"""Every error answer of the API, in one of two shapes, and what the API answers and logs
when a request goes wrong in a way no handler expected.

- Alertmanager's endpoints (`/api/v2/...`) answer an error with a bare JSON string, the
  message itself: the OpenAPI spec declares their error bodies `type: string`, and amtool
  and Alertmanager's clients read them so (`alertmanager_error`).
- Every other endpoint that answers in JSON (`/api/alertd/v1/...`, the samples endpoint,
  the Slack endpoint, `/-/reload`) answers `{"error": "..."}` (`alertd_error`).
  `/-/reload` adds `"status": "error"` beside it, the counterpart of its
  `{"status": "success", ...}` (`reload_error`). The samples endpoint lists each invalid
  sample in its own body (see alertd/sources/webhook.py), and the report page answers a
  person with a page.

- A handler that raises gets its client a 500 with a short message, and the log one
  record with the traceback: a bug, to be found and fixed.
- A request aiohttp cannot parse (a request line over the limit, a NUL in a header, a
  broken chunked body) gets a 400 from aiohttp; the log gets one warning line, since a
  client's malformed request is not alertd's failure and a traceback would only hide the
  lines that matter. A client that leaves before its body is read gets one info line.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

from alertd.api.auth import Handler

log = logging.getLogger("alertd.api")

ALERTMANAGER_PREFIX = "/api/v2/"


def alertmanager_error(status: int, message: str) -> web.Response:
    """An error of Alertmanager's API: the message as a JSON string."""
    return _json(status, message)


def error_body(message: str) -> dict[str, str]:
    """The body of an error of alertd's own endpoints."""
    return {"error": message}


def alertd_error(status: int, message: str) -> web.Response:
    """An error of alertd's own endpoints: `{"error": message}`."""
    return _json(status, error_body(message))


def reload_error(status: int, message: str) -> web.Response:
    """An error of `/-/reload`: alertd's error body with the reload's status."""
    return _json(status, {"status": "error", **error_body(message)})


def _json(status: int, body: object) -> web.Response:
    return web.Response(status=status, text=json.dumps(body),
                        content_type="application/json")


@web.middleware
async def unexpected_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise  # aiohttp's own answers (404, 405, 413...)
    except HttpProcessingError as exc:  # the body could not be read (e.g. bad chunking)
        log.warning("malformed request %s %s: %s", request.method, request.path,
                    _reason(exc))
        return _answer(request, 400, f"malformed request: {_reason(exc)}")
    except ConnectionResetError:  # the client left before its body was read: no one to tell
        log.info("%s %s: the client went away before its request was read", request.method,
                 request.path)
        return _answer(request, 400, "the connection was lost")
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _answer(request, 500, "internal error; see alertd's log")


def _answer(request: web.Request, status: int, message: str) -> web.Response:
    if request.path.startswith(ALERTMANAGER_PREFIX):
        return alertmanager_error(status, message)
    return alertd_error(status, message)


def _reason(exc: HttpProcessingError) -> str:
    # One line, and short: some messages quote the offending request line.
    text = " ".join(str(exc.message or type(exc).__name__).split())
    return text if len(text) <= 200 else text[:200] + "..."


class _ParserErrorsInOneLine(logging.Filter):
    """aiohttp logs every request it cannot parse with a full traceback ("Error handling
    request"); this turns those records into one warning line without one."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "rejected a malformed request from %s: %s"
            record.args = (peer, _reason(exc))
            if record.levelno > logging.WARNING:  # aiohttp logs some at debug: kept so
                record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = _ParserErrorsInOneLine()


def quiet_parser_errors() -> None:
    """Install the filter on aiohttp's server logger (once, however often it is called)."""
    if _FILTER not in server_logger.filters:
        server_logger.addFilter(_FILTER)
