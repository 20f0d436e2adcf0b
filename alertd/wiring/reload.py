"""What a reload looks at and tells: the files watched for changes, and its outcome."""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

WATCH_INTERVAL = 2.0  # how often rule and config files are checked for changes

# (path, modification time, size) of each file watched, in path order.
Signature = tuple[tuple[str, float, int], ...]


@dataclass(slots=True)
class ReloadStatus:
    success: bool = True
    at: float | None = None
    error: str | None = None
    summary: str = ""


def signature(rule_files: Iterable[str], base_dir: Path, config_path: str | None) -> Signature:
    """The rule files the patterns match now (relative ones under `base_dir`) and the
    config file: a change to any of them, or a file added or removed, changes it."""
    paths: set[str] = set()
    for pattern in rule_files:
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        paths.update(glob.glob(full, recursive=True))
    if config_path:
        paths.add(config_path)
    sig = []
    for p in sorted(paths):
        with contextlib.suppress(OSError):
            st = Path(p).stat()
            sig.append((p, st.st_mtime, st.st_size))
    return tuple(sig)
