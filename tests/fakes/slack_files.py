"""File uploads for the Slack double: the external upload flow that replaced files.upload.

1. files.getUploadURLExternal (`filename`, `length` in bytes, optional `alt_txt`) answers
   an `upload_url` on the double's own server and a `file_id`;
2. the bytes are POSTed to `upload_url` (raw body, or the first part of a multipart
   body), once, and must be `length` bytes: the answer is 200 `text/plain`, as Slack's
   `OK - <length>`;
3. files.completeUploadExternal (`files` a JSON array of `{"id", "title"?}`, optional
   `channel_id`, `thread_ts`, `initial_comment`) shares the files: without a channel
   the file stays private to the app, as in Slack.

(/work/shared/reference/integrations.md §8.1; the method references of both methods.)
The `files:write` scope and the channel checks are the double's, like any method's.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Args = dict[str, Any]

ALT_TXT_MAX = 1000


@dataclass
class UploadedFile:
    """A file from getUploadURLExternal on: `content` once uploaded, the rest once
    completed (`channel` None: completed without one, private to the app)."""

    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


class ExternalUploads:
    def __init__(self) -> None:
        self._files: dict[str, UploadedFile] = {}
        self._tickets: dict[str, str] = {}  # upload URL path -> file id, until used
        self._ids = itertools.count(1)

    @property
    def files(self) -> list[UploadedFile]:
        """The completed files, in the order they were completed."""
        return [f for f in self._files.values() if f.completed]

    def get_upload_url(self, args: Args, base_url: str) -> Args:
        filename = str(args.get("filename") or "")
        missing = [k for k, v in (("filename", filename), ("length", args.get("length")))
                   if v in (None, "")]
        if missing:
            return _invalid_arguments([f"missing required field: {k}" for k in missing])
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            return _invalid_arguments(["invalid `length`"])
        if length <= 0:
            return {"ok": False, "error": "missing_argument"}
        alt_txt = args.get("alt_txt")
        if alt_txt is not None and len(str(alt_txt)) > ALT_TXT_MAX:
            return {"ok": False, "error": "alt_txt_too_large"}
        file_id = f"F{next(self._ids):010d}"
        ticket = secrets.token_urlsafe(16)
        self._files[file_id] = UploadedFile(file_id, filename, length,
                                            None if alt_txt is None else str(alt_txt))
        self._tickets[ticket] = file_id
        return {"ok": True, "upload_url": f"{base_url}/upload/v1/{ticket}", "file_id": file_id}

    def receive(self, ticket: str, content: bytes) -> tuple[int, str]:
        """(HTTP status, text) of the upload of `content` to the URL `ticket` names."""
        file_id = self._tickets.get(ticket)
        if file_id is None:
            return 404, "upload_url_not_found"
        f = self._files[file_id]
        if len(content) != f.length:
            return 400, f"length_mismatch: expected {f.length} bytes, got {len(content)}"
        del self._tickets[ticket]  # an upload URL takes the bytes once
        f.content = content
        return 200, f"OK - {len(content)}"

    def complete(self, args: Args,
                 where: Callable[[str, str | None], str | None]) -> Args:
        """`where(channel, thread_ts)` is the error for sharing there, None if allowed."""
        items = _file_items(args.get("files"))
        if items is None:
            return _invalid_arguments(["invalid `files`: a JSON array of {id, title}"])
        channel = str(args.get("channel_id") or "") or None
        thread_ts = str(args.get("thread_ts") or "") or None
        if thread_ts and not channel:
            return _invalid_arguments(["`thread_ts` needs `channel_id`"])
        found = [self._files.get(item["id"]) for item in items]
        if any(f is None or f.content is None or f.completed for f in found):
            return {"ok": False, "error": "file_not_found"}
        if channel and (error := where(channel, thread_ts)):
            return {"ok": False, "error": error}
        comment = args.get("initial_comment")
        shared = []
        for f, item in zip(found, items, strict=True):
            assert f is not None
            f.title, f.completed = item.get("title") or f.filename, True
            f.channel, f.thread_ts = channel, thread_ts
            f.initial_comment = None if comment is None else str(comment)
            shared.append({"id": f.id, "title": f.title, "name": f.filename,
                           "size": f.length})
        return {"ok": True, "files": shared}


def _file_items(value: Any) -> list[dict[str, str]] | None:
    """`files` as a list of {id, title?}, from its JSON string; None when malformed."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, list) or not value:
        return None
    for item in value:
        if not (isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
                and isinstance(item.get("title", ""), str)):
            return None
    return value


def _invalid_arguments(messages: list[str]) -> Args:
    return {"ok": False, "error": "invalid_arguments",
            "response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}}
