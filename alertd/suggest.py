"""Suggestions for a misspelt name: every "unknown X" message, from rule files to the
configuration, ends with the same ` (did you mean "y"?)` hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ` (did you mean "x"?)` suffix when a candidate is close to `name`, else ``."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{matches[0]}"?)' if matches else ""
