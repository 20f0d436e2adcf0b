"""`alertd history export|import`: the alert history as JSON lines, to and from a store.

Both read the store the configuration's `storage` names directly (SQLite or PostgreSQL),
whether the daemon runs or not. Import is idempotent: an event already stored (same time,
kind, fingerprint and details) is not added again, so importing a file twice, or an
export back into its own store, adds nothing.

Exit codes: 0 done; 1 bad input (each bad line named as FILE:LINE and its field; nothing
is imported then) or a store that cannot be used; 2 a usage error.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO

import click

from alertd.errors import AlertdError
from alertd.history import HistoryEvent
from alertd.history.transfer import BadLine, from_line, to_line
from alertd.store import Store

IMPORT_BATCH = 1000  # events per transaction of an import
PROGRESS_EVERY = 100_000  # lines between two progress lines
MAX_SHOWN = 20  # bad lines listed before giving up on a file

Progress = Callable[[str], None]


class BadInput(AlertdError):
    """The file to import holds lines that are not events; nothing was imported."""


@click.group(name="history", context_settings={"help_option_names": ["-h", "--help"]})
def history() -> None:
    """Export or import the alert history (JSON lines), to move it between stores."""


@history.command(name="export")
@click.option("--from", "start", default=None, metavar="TIME",
              help="The first events: RFC 3339, a date, or relative to now (-7d); default "
                   "the oldest.")
@click.option("--to", "end", default=None, metavar="TIME",
              help="Events before this time; default all.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="alertd.yml, whose storage is read; without it, the defaults.")
@click.option("--format", "output", type=click.Choice(["jsonl"]), default="jsonl",
              show_default=True, help="One JSON object per line.")
def export_cmd(start: str | None, end: str | None, config_path: str | None,
               output: str) -> None:
    """Write the history's events to standard output, oldest first, one JSON object a
    line: {"at", "kind", "fingerprint", "labels", "rule", "details"}."""
    since, until = _period(start, end, time.time())
    store_url = _storage(config_path, must_exist=True)
    try:
        count = asyncio.run(export(store_url, since, until, sys.stdout, _progress("exported")))
    except BrokenPipeError:
        # The reader stopped (`| head`): not an error, and nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    _say(f"exported {_events(count)}")


@history.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="alertd.yml, whose storage receives the events; without it, the defaults.")
def import_cmd(file: str, config_path: str | None) -> None:
    """Add the events of FILE (written by `alertd history export`) to the history; those
    already there are left out."""
    check_file(file, _progress("checked"))
    store_url = _storage(config_path, must_exist=False)
    added, total = asyncio.run(import_file(store_url, file, _progress("imported")))
    _say(f"imported {_events(added)} of {total} ({total - added} already stored)")


# --- what the commands do, without the command line ----------------------------------------

async def export(store_url: str, since: float | None, until: float | None, out: IO[str],
                 progress: Progress | None = None) -> int:
    """Write the events in [since, until) to `out`; how many."""
    count = 0
    async with await Store.open(store_url) as store:
        async for e in store.history.between(since, until):
            out.write(to_line(e) + "\n")
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(f"{count} events")
    out.flush()
    return count


def check_file(path: str, progress: Progress | None = None) -> int:
    """Read every line of the file; BadInput listing the bad ones (FILE:LINE: field:
    problem). The number of events."""
    problems: list[str] = []
    count = 0
    for number, parsed in _lines(path):
        if isinstance(parsed, BadLine):
            problems.append(f"{path}:{number}: {parsed}")
            if len(problems) >= MAX_SHOWN:
                break
        count += 1
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(f"{number} lines")
    if problems:
        shown = "\n".join(problems)
        more = " (the first ones)" if len(problems) >= MAX_SHOWN else ""
        raise BadInput(f"{shown}\n{path}: {len(problems)} bad line"
                       f"{'s' if len(problems) > 1 else ''}{more}; nothing was imported")
    return count


async def import_file(store_url: str, path: str,
                      progress: Progress | None = None) -> tuple[int, int]:
    """Add the file's events (checked already) to the store; (added, events in the file)."""
    added = total = 0
    batch: list[HistoryEvent] = []
    async with await Store.open(store_url) as store:
        for _, parsed in _lines(path):
            if isinstance(parsed, BadLine):  # the file changed since it was checked
                raise BadInput(f"{path}: {parsed}; import stopped (importing again adds "
                               "only what is missing)")
            batch.append(parsed)
            total += 1
            if len(batch) >= IMPORT_BATCH:
                added += await store.history.add(batch)
                batch = []
                if progress is not None and total % PROGRESS_EVERY == 0:
                    progress(f"{total} events")
        added += await store.history.add(batch)
    return added, total


def _lines(path: str) -> Iterator[tuple[int, HistoryEvent | BadLine]]:
    """(line number, its event or what is wrong with it), blank lines left out."""
    try:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    yield number, from_line(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    yield number, BadLine(None, "not UTF-8 text")
                except BadLine as exc:
                    yield number, exc
    except OSError as exc:
        raise BadInput(f'cannot read "{path}": {exc.strerror or exc}') from None


# --- helpers ---------------------------------------------------------------------------------

def _period(start: str | None, end: str | None, now: float) -> tuple[float | None, float | None]:
    from alertd.report.period import PeriodError, parse_when

    try:
        since = parse_when(start, now, "--from") if start else None
        until = parse_when(end, now, "--to") if end else None
    except PeriodError as exc:
        raise click.UsageError(str(exc)) from None
    if since is not None and until is not None and since >= until:
        raise click.UsageError("--from must be before --to")
    return since, until


def _storage(config_path: str | None, *, must_exist: bool) -> str:
    """The store's URL from the configuration; for an export, a SQLite file that does not
    exist is an error (opening it would create an empty one)."""
    from alertd.receivers.checks import load_config

    url = load_config(config_path).storage_url()
    prefix = "sqlite+aiosqlite:///"
    path = url[len(prefix):].partition("?")[0] if url.startswith(prefix) else None
    if must_exist and path is not None and (path == ":memory:" or not os.path.isfile(path)):
        raise AlertdError(f'storage: no database at "{path}" (has alertd run with this '
                          "configuration?)")
    return url


def _progress(verb: str) -> Progress | None:
    # For a person watching; a pipeline or a cron job gets the summary line alone.
    if not sys.stderr.isatty():
        return None
    return lambda what: click.echo(f"alertd history: {verb} {what} ...", err=True)


def _say(message: str) -> None:
    click.echo(f"alertd history: {message}", err=True)


def _events(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"
