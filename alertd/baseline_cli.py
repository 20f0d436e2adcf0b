"""`alertd baseline list|show|capture|delete`: the stored baselines of the drift functions.

Each command reads the store the configuration's `storage` names (SQLite or PostgreSQL)
directly, the daemon running or not; `capture` also reads the rule files the
configuration names, for the baseline block. The daemon picks up a new version when it
next loads the rules (a reload, or a change to a rule file).

Exit codes, for scripts: 0 done; 1 failed (rule files with errors, a store or Prometheus
that cannot be used, no samples to capture); 2 a usage error; 3 no such baseline or version.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from alertd.drift.versions import BaselineVersion, StoredBaseline
from alertd.errors import AlertdError
from alertd.store import Store
from alertd.store.baselines import baseline_repository

NOT_FOUND = 3

_CONFIG = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                       default=None, help="alertd.yml: its storage (and, for capture, its "
                                          "rule files); without it, the defaults.")
_FORMAT = click.option("--format", "output", type=click.Choice(["text", "json"]),
                       default="text", show_default=True)

_Command = TypeVar("_Command", bound=Callable[..., None])  # a click command's function


def _version_option(help_text: str) -> Callable[[_Command], _Command]:
    return click.option("--version", "version", type=click.IntRange(min=1), default=None,
                        help=help_text)


class NotFound(AlertdError):
    """No such baseline, version or baseline block."""


@click.group(name="baseline", context_settings={"help_option_names": ["-h", "--help"]})
def baseline() -> None:
    """The baselines drift functions compare with: list, show, capture, delete versions.

    Exit codes: 0 done, 1 failed, 2 usage error, 3 no such baseline or version."""


@baseline.command(name="list")
@click.argument("name", required=False)
@_CONFIG
@_FORMAT
def list_cmd(name: str | None, config_path: str | None, output: str) -> None:
    """Every stored version (of NAME): who made it, when, from what, with which features."""
    versions = _run(_versions(_storage(config_path), name))
    if name is not None and not versions:
        _not_found(f'no stored baseline named "{name}"')
    if output == "json":
        click.echo(json.dumps([v.to_json() for v in versions], indent=2))
        return
    for v in versions:
        features = ", ".join(f.name for f in v.features)
        click.echo(f"{v.label:<28} {_when(v.created_at)}  {v.kind:<10} {v.created_by:<24} "
                   f"{len(v.features)} features: {features}")


@baseline.command(name="show")
@click.argument("name")
@_version_option("The version to show; default the latest.")
@_CONFIG
@_FORMAT
def show_cmd(name: str, version: int | None, config_path: str | None, output: str) -> None:
    """One version with the reference of each feature (cut points, shares, categories)."""
    stored = _run(_load(_storage(config_path), name, version))
    if stored is None:
        _no_version(name, version)
    if output == "json":
        click.echo(json.dumps(_show_json(stored), indent=2))
    else:
        click.echo(_show_text(stored))


@baseline.command(name="capture")
@click.argument("name")
@click.argument("selector", required=False)
@click.option("--from", "start", default=None, metavar="TIME",
              help="With SELECTOR: the first samples (RFC 3339, a date, or relative: -1d).")
@click.option("--to", "end", default=None, metavar="TIME",
              help="With SELECTOR: the last samples; default now.")
@_CONFIG
def capture_cmd(name: str, selector: str | None, start: str | None, end: str | None,
                config_path: str | None) -> None:
    """Store a new version of the baseline block NAME.

    With SELECTOR (a block with captured = true): from the pushed samples of SELECTOR
    between --from and --to, as the daemon last saved them to the store. Without (a file
    or prometheus block): from its file or range query, unless the latest version was
    made from the same (then that one stays the latest)."""
    from alertd.receivers.checks import load_config
    from alertd.rules.manager import load_checked

    config = load_config(config_path)
    base = Path(config_path).resolve().parent if config_path else Path.cwd()
    specs = {s.name: s for s in load_checked(config.rule_files, base).baselines}
    spec = specs.get(name)
    if spec is None:
        _not_found(f'no baseline block named "{name}" in the rule files')
    if (selector is None) != (spec.source != "captured"):
        raise click.UsageError(
            f'baseline "{name}" has captured = true: give a SELECTOR and --from'
            if selector is None else
            f'baseline "{name}" comes from its {spec.source}; SELECTOR, --from and --to are '
            "only for blocks with captured = true")
    if selector is not None and start is None:
        raise click.UsageError("--from is needed with a SELECTOR")
    made = _run(_capture(config, spec, selector, start, end))
    click.echo(f"{made.label}: {len(made.features)} features "
               f"({', '.join(f.name for f in made.features)})")


@baseline.command(name="delete")
@click.argument("name")
@_version_option("Delete only this version; default every version of NAME.")
@_CONFIG
def delete_cmd(name: str, version: int | None, config_path: str | None) -> None:
    """Delete one version, or every version, of a stored baseline. Rules keep the version
    they loaded until the next reload, which fails for a baseline left without any."""
    deleted = _run(_delete(_storage(config_path), name, version))
    if not deleted:
        _no_version(name, version)
    click.echo(f"deleted {deleted} version{'s' if deleted != 1 else ''} of {name}", err=True)


# --- what the commands do ------------------------------------------------------------------

async def _versions(url: str, name: str | None) -> list[BaselineVersion]:
    async with await Store.open(url) as store:
        return await baseline_repository(store).versions(name)


async def _load(url: str, name: str, version: int | None) -> StoredBaseline | None:
    async with await Store.open(url) as store:
        return await baseline_repository(store).load(name, version)


async def _delete(url: str, name: str, version: int | None) -> int:
    async with await Store.open(url) as store:
        return await baseline_repository(store).delete(name, version)


async def _capture(config: Any, spec: Any, selector: str | None, start: str | None,
                   end: str | None) -> BaselineVersion:
    from alertd.baseline_capture import capture_pushed
    from alertd.report.period import parse_when
    from alertd.rules.baselines import who
    from alertd.wiring.baselines import resolver

    now = time.time()
    async with await Store.open(config.storage_url()) as store:
        repository = baseline_repository(store)
        if selector is None:
            made = await resolver(store, config.sources.prometheus, time.time).resolve(spec)
            found = await repository.versions(spec.name)
            return next(v for v in found if v.version == made.version)
        since = parse_when(start or "", now, "--from")
        until = parse_when(end, now, "--to") if end else now
        if since >= until:
            raise click.UsageError("--from must be before --to")
        windows = await store.windows.load()
        return await capture_pushed(repository, windows, spec, selector, since, until,
                                    now=now, created_by=who())


def _storage(config_path: str | None) -> str:
    """The store's URL; a SQLite file that does not exist is an error (opening it would
    create an empty one)."""
    from alertd.receivers.checks import load_config

    url = load_config(config_path).storage_url()
    prefix = "sqlite+aiosqlite:///"
    path = url[len(prefix):].partition("?")[0] if url.startswith(prefix) else None
    if path is not None and (path == ":memory:" or not os.path.isfile(path)):
        raise AlertdError(f'storage: no database at "{path}" (has alertd run with this '
                          "configuration?)")
    return url


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def _no_version(name: str, version: int | None) -> NoReturn:
    _not_found(f'no stored baseline "{name}"' + (f" with version {version}" if version else ""))


def _not_found(message: str) -> NoReturn:
    click.echo(f"alertd: {message}", err=True)
    sys.exit(NOT_FOUND)


def _when(at: float) -> str:
    from alertd.history.explain import timestamp

    return timestamp(at)


def _show_json(stored: StoredBaseline) -> dict[str, Any]:
    out = stored.meta.to_json()
    out["features"] = [{"name": name, **_reference_json(ref)}
                       for name, ref in sorted(stored.references.items())]
    return out


def _reference_json(ref: Any) -> dict[str, Any]:
    data = ref.to_dict()
    # The sample (up to 100,000 values) is what KS and Wasserstein use; too long to show.
    data["sample_size"] = len(data.pop("sample"))
    return dict(data)


def _show_text(stored: StoredBaseline) -> str:
    meta = stored.meta
    origin = ", ".join(f"{k} {_value(v)}" for k, v in meta.origin.items() if v is not None)
    lines = [f"baseline {meta.label}",
             f"created  {_when(meta.created_at)} by {meta.created_by}",
             f"from     {meta.kind}: {origin}", "features:"]
    for name, ref in sorted(stored.references.items()):
        lines.append(f"  {name}  {ref.kind}, {ref.count:g} values, {ref.bins} "
                     f"{'categories' if ref.kind == 'categorical' else 'bins'}")
        lines.append(f"    shares {_numbers(ref.shares.tolist())}")
        if ref.kind == "categorical":
            lines.append(f"    categories {', '.join(ref.categories)}")
        else:
            lines.append(f"    cuts   {_numbers(ref.cuts.tolist())}")
    return "\n".join(lines)


def _numbers(values: Sequence[float]) -> str:
    return " ".join(f"{v:.4g}" for v in values)


def _value(value: Any) -> str:
    if isinstance(value, float) and value > 1e9:
        return _when(value)
    return str(value)
