"""One changed file, `Edit`, and `EditError`, raised when a file cannot be changed as asked.

Every module that changes a file (rule_edit.py, config_edit.py, sleep_hours.py) builds on
this one; edits.py gathers them into the public API.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from alertd.errors import AlertdError

__all__ = ["Edit", "EditError", "cannot"]


class EditError(AlertdError):
    """A file cannot be changed as asked; the message says what could not be changed and
    why."""


def cannot(path: str, what: str, why: str) -> EditError:
    """`path: cannot <what>: <why>`, the one shape of every EditError."""
    return EditError(f"{path}: cannot {what}: {why}")


@dataclass(frozen=True, slots=True)
class Edit:
    path: str  # the file changed, as given
    before: str
    after: str

    @property
    def diff(self) -> str:
        """A unified diff (`git apply` reads it), with 3 lines of context."""
        lines = difflib.unified_diff(_lines(self.before), _lines(self.after),
                                     f"a/{self.path}", f"b/{self.path}", n=3)
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in lines)


def _lines(text: str) -> list[str]:
    # Only "\n" ends a line, as for git: a form feed inside a string stays in its line.
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
