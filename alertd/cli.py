"""The `alertd` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alertd import __version__
from alertd.errors import AlertdError

if TYPE_CHECKING:
    from alertd.config import Config
    from alertd.lang.ast import Span
    from alertd.lang.diagnostics import Diagnostic

REQUIRABLE = ("owner", "runbook")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="alertd")
def cli() -> None:
    """alertd: composite alert rules, routing, silences and noise review."""


def _parse_require(ctx: click.Context, param: click.Parameter, value: str) -> frozenset[str]:
    wanted = {v.strip() for v in value.split(",") if v.strip()}
    unknown = sorted(wanted - set(REQUIRABLE))
    if unknown:
        raise click.BadParameter(
            f'unknown value "{unknown[0]}" (choose from {", ".join(REQUIRABLE)})')
    return frozenset(wanted)


@cli.command()
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object per diagnostic, one per line.")
@click.option("--require", default="", callback=_parse_require, metavar="owner,runbook",
              help="Report alerts that end up without an owner or a runbook.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Also check alertd.yml, and count its owners when looking for owners "
                   "and runbooks (implies --require owner,runbook).")
@click.option("--expand", is_flag=True,
              help="Also print the alerts each slo block expands into.")
@click.argument("paths", nargs=-1)
def check(output: str, require: frozenset[str], config_path: str | None, expand: bool,
          paths: Sequence[str]) -> None:
    """Check rule files (files, directories or globs) and report every problem."""
    from alertd.lang.diagnostics import Diagnostic, render_all
    from alertd.rules.files import check_paths

    if config_path is None:
        if not paths:
            raise click.UsageError("give rule files to check, or --config")
        result = check_paths(paths, require=require)
        diagnostics = result.diagnostics
    else:
        from alertd.alerts.coverage import coverage_problems
        from alertd.receivers.checks import load_config

        config = load_config(config_path)
        result = check_paths(list(paths) or config.rule_files)
        wanted = require or frozenset(REQUIRABLE)
        found = coverage_problems(result.groups, config.owners, wanted)
        found += _config_warnings(config_path, config)
        diagnostics = tuple(sorted([*result.diagnostics, *found], key=Diagnostic.sort_key))
    errors = sum(1 for d in diagnostics if d.severity == "error")
    if expand:
        from alertd.lang.slo_expand import print_expansions

        print_expansions(result.slos, output, click.echo)
    if output == "json":
        for d in diagnostics:
            click.echo(json.dumps(d.to_json()))
    else:
        sources = _sources(d.path for d in diagnostics)
        if diagnostics:
            click.echo(render_all(diagnostics, sources))
        alerts = sum(len(g.alerts) for g in result.groups)
        warnings = len(diagnostics) - errors
        if errors or warnings:
            click.echo(f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}", err=True)
        else:
            click.echo(f"ok: {_plural(alerts, 'alert')} in {_plural(len(result.groups), 'group')}",
                       err=True)
    sys.exit(1 if errors else 0)


@cli.command()
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; list the files that are not formatted and exit 1.")
@click.argument("paths", nargs=-1, required=True)
def fmt(check_only: bool, paths: Sequence[str]) -> None:
    """Rewrite rule files in the canonical layout (`-` formats standard input)."""
    from alertd.rules.files import expand_paths

    if list(paths) == ["-"]:
        formatted = _formatted(sys.stdin.read(), "<stdin>")
        if formatted is None:
            sys.exit(1)
        click.echo(formatted, nl=False)
        return

    files, problems = expand_paths(paths)
    failed = bool(problems)
    for d in problems:
        click.echo(d.headline(), err=True)
    changed: list[str] = []
    for path in files:
        try:
            source = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"{path}: cannot read: {exc}", err=True)
            failed = True
            continue
        formatted = _formatted(source, path)
        if formatted is None:
            failed = True
        elif formatted != source:
            changed.append(path)
            if not check_only:
                Path(path).write_text(formatted, "utf-8")
    for path in changed:
        click.echo(f"would reformat {path}" if check_only else f"reformatted {path}")
    sys.exit(1 if failed or (check_only and changed) else 0)


def _formatted(source: str, name: str) -> str | None:
    """`source` in the canonical layout, or None once its syntax errors are shown."""
    from alertd.lang.diagnostics import render
    from alertd.lang.format import format_source
    from alertd.lang.parse import parse_file

    parsed = parse_file(source, name)
    if not parsed.ok:
        for d in parsed.diagnostics:
            click.echo(render(d, source), err=True)
        return None
    return format_source(source, name)


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="alertd.yml; without it, the embedded defaults.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
def run(config_path: str | None, log_level: str) -> None:
    """Run the daemon: evaluate rules, serve the API, until SIGTERM or SIGINT."""
    import logging

    from alertd.daemon import run as run_daemon

    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_daemon(config_path)


@cli.group()
def routes() -> None:
    """Routing: which receivers an alert reaches."""


@routes.command(name="test")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="alertd.yml (or an alertmanager.yml); without it, the defaults.")
@click.argument("labels", nargs=-1, required=True)
def routes_test_cmd(config_path: str | None, labels: Sequence[str]) -> None:
    """Print the receivers an alert with these labels (name=value...) would reach, and why."""
    from alertd.dispatch.routes_cli import routes_test
    from alertd.receivers.checks import load_config

    parsed: dict[str, str] = {}
    for item in labels:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f'"{item}" is not name=value', param_hint="LABELS")
        parsed[name] = value.strip('"')
    _, text = routes_test(load_config(config_path), parsed)
    click.echo(text)


@cli.group()
def template() -> None:
    """Receiver templates: what a notification looks like."""


def _pairs(items: Sequence[str], hint: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f'"{item}" is not name=value', param_hint=hint)
        parsed[name] = value.strip('"')
    return parsed


@template.command(name="preview")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="alertd.yml (or an alertmanager.yml); without it, the defaults.")
@click.option("--receiver", required=True, help="The receiver whose integrations to render.")
@click.option("--annotation", "annotations", multiple=True, metavar="NAME=VALUE",
              help="An annotation of the alert (repeatable), e.g. summary=...")
@click.option("--value", type=float, default=None, help="The value that fired.")
@click.option("--resolved", is_flag=True, help="Render the resolved notification.")
@click.argument("labels", nargs=-1, required=True)
def template_preview(config_path: str | None, receiver: str, annotations: Sequence[str],
                     value: float | None, resolved: bool, labels: Sequence[str]) -> None:
    """Print what RECEIVER would send for an alert with these labels (name=value...):
    the Slack blocks, the PagerDuty event, the webhook body, the MQTT topic and payload."""
    import asyncio
    import time

    from alertd.notify.preview import preview, preview_alert
    from alertd.receivers.checks import load_config

    config = load_config(config_path)
    now = time.time()
    alert = preview_alert(config, _pairs(labels, "LABELS"), _pairs(annotations, "--annotation"),
                          value=value, resolved=resolved, now=now)
    reason = "all alerts resolved" if resolved else "first notification"
    click.echo(asyncio.run(preview(config, receiver, alert, now=now, reason=reason)))


@cli.command()
@click.option("--alertd.url", "url", envvar="ALERTD_URL", default="http://127.0.0.1:9095",
              show_default=True, help="The running alertd to ask.")
@click.option("--token", envvar="ALERTD_TOKEN", default=None,
              help="A bearer token, when the API's reads need one.")
@click.argument("what")
def explain(url: str, token: str | None, what: str) -> None:
    """What happened to an alert and why: WHAT is a fingerprint or an alertname."""
    import re
    import urllib.error
    import urllib.parse
    import urllib.request

    if re.fullmatch(r"[0-9a-f]{16}", what):
        path = f"/api/alertd/v1/alerts/{what}/history?format=text"
    else:
        path = "/api/alertd/v1/history?format=text&alertname=" + urllib.parse.quote(what)
    request = urllib.request.Request(url.rstrip("/") + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            click.echo(resp.read().decode().rstrip("\n"))
    except urllib.error.HTTPError as exc:
        raise click.ClickException(
            f"{url} answered {exc.code}: {exc.read().decode()[:200]}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"cannot reach alertd at {url}: {exc}") from None


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="alertd.yml: its storage, rule files, owners and receivers; without it, "
                   "the defaults.")
@click.option("--from", "start", default=None, metavar="TIME",
              help="Start: RFC 3339, a date, or relative to now (-7d); default 7 days "
                   "before --to.")
@click.option("--to", "end", default=None, metavar="TIME", help="End; default now.")
@click.option("--owner", default=None, help="Only the alerts of this owner.")
@click.option("--format", "output", type=click.Choice(["text", "markdown", "json", "html"]),
              default="text", show_default=True)
@click.option("--out", default=None, metavar="FILE", help="Write to FILE, not standard output.")
def report(config_path: str | None, start: str | None, end: str | None, owner: str | None,
           output: str, out: str | None) -> None:
    """The alert-noise report for a period, read from the store (the daemon running or not)."""
    from alertd.report.cli import run_report

    run_report(config_path, start=start, end=end, owner=owner, output=output, out=out)


@cli.command(name="test")
@click.argument("files", nargs=-1, required=True)
def test_cmd(files: Sequence[str]) -> None:
    """Run rule unit tests (YAML files in the style of `promtool test rules`)."""
    from alertd.ruletest.runner import run_test_files

    ok = run_test_files(files, sys.stdout)
    sys.exit(0 if ok else 1)


def _config_warnings(path: str, config: Config) -> list[Diagnostic]:
    """What alertd.yml allows but most likely does not mean: a fixed Slack channel that
    masks the owners' channels. Warnings: the exit code is unchanged."""
    from alertd.lang.ast import Span
    from alertd.lang.diagnostics import Diagnostic
    from alertd.receivers.slack_channels import masked_channels

    masked = masked_channels(config)
    if not masked:
        return []
    try:
        text = Path(path).read_text("utf-8")
    except OSError:
        text = ""
    return [Diagnostic(path, _yaml_span(text, m.path) or Span(1, 1, 1, 1, 0, 0), m.message(),
                       "warning") for m in masked]


def _yaml_span(text: str, path: Sequence[str | int]) -> Span | None:
    """Where the value at `path` is written in a YAML document, if it can be found."""
    import yaml

    from alertd.lang.ast import Span

    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            return None
    if node is None:
        return None
    start, end = node.start_mark, node.end_mark
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1,
                start.index, end.index)


def _sources(paths: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in set(paths):  # type: ignore[call-overload]
        try:
            # Like the parser, drop a leading BOM so that columns on line 1 agree.
            out[path] = Path(path).read_text("utf-8", errors="replace").removeprefix("\ufeff")
        except OSError:
            continue
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _add_silence_commands() -> None:
    from alertd.silence.cli import silence

    cli.add_command(silence)


_add_silence_commands()


def _add_history_commands() -> None:
    from alertd.history_cli import history

    cli.add_command(history)


_add_history_commands()


def _add_baseline_commands() -> None:
    from alertd.baseline_cli import baseline

    cli.add_command(baseline)


_add_baseline_commands()


def main() -> None:
    """Entry point: no traceback ever reaches the user."""
    # Compiling and formatting walk expressions recursively; the checker caps nesting at
    # check_expr.MAX_DEPTH levels, which needs more room than Python's default of 1,000 frames.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    try:
        cli(prog_name="alertd")
    except AlertdError as exc:
        click.echo(f"alertd: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line rather than a traceback
        click.echo(f"alertd: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(70)
