"""`alertd report`: the noise report from the store, written to a terminal or a file."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import click

from alertd.errors import AlertdError
from alertd.report import render
from alertd.report.period import parse_period
from alertd.report.source import ReportQuery, config_rules, report_from_config


class OutputError(AlertdError):
    """The report could not be written where --out says."""


def run_report(config_path: str | None, *, start: str | None, end: str | None,
               owner: str | None, output: str, out: str | None,
               now: float | None = None) -> None:
    """Build the report for the period and print it (or write it to `out`). Errors are
    AlertdErrors with a one-line message naming the option or the store: exit code 1."""
    from alertd.receivers.checks import load_config

    config = load_config(config_path)
    current = time.time() if now is None else now
    period = parse_period(start, end, current)
    rules, errors = config_rules(config)
    if errors:
        click.echo(f"alertd report: warning: the rule files have {errors} error(s); the "
                   "rules with errors are left out (see alertd check)", err=True)
    _progress(f"reading the history in {config.storage_url().split('?')[0]} ...")
    began = time.monotonic()
    query = ReportQuery(period.start, period.end, owner or None, current)
    report = asyncio.run(report_from_config(config, query, rules, config_path))
    text = render(report, output)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_atomically(Path(out), text)
    _progress(f"report built in {time.monotonic() - began:.1f}s"
              + (f", written to {out}" if out else ""))


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it, so that a reader (a web
    server serving last week's page) never sees half a report."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        # mkstemp makes the file private; give it the mode any new file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise OutputError(f'--out: cannot write "{path}": {exc.strerror or exc}') from None


def _progress(message: str) -> None:
    # Only for a person watching: a pipeline or cron job gets the report and nothing else.
    if sys.stderr.isatty():
        click.echo(f"alertd report: {message}", err=True)
