"""Commands that read the agent's state database: `incidents`, `status`, `report`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from logwatch.cli.app import FORMAT, AppContext, CliError, pass_app
from logwatch.cli.fleet import show_incidents
from logwatch.cli.output import emit, render, styler
from logwatch.clock import SystemClock, parse_when
from logwatch.errors import LogwatchError


@click.command()
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), help="State database.")
@click.option("--status", type=click.Choice(["open", "resolved"]), help="Only these incidents.")
@click.option("--limit", type=int, default=50, show_default=True)
@FORMAT
@pass_app
def incidents(
    app: AppContext, state: Path | None, status: str | None, limit: int, fmt: str
) -> None:
    """List the incidents in the agent's state database (or the fleet store), newest first."""
    if app.config.fleet.enabled:  # the fleet's incidents, not this host's (cli/fleet.py)
        return show_incidents(app, status, limit, fmt)
    from logwatch.cli.oncall import oncall_lines
    from logwatch.store import StateStore, default_state_path

    path = state or default_state_path(app.env)
    if not path.exists():
        raise CliError(LogwatchError(f"{path}: no state database (has `logwatch watch` run?)"))
    store = StateStore(path)
    try:
        found = store.incidents(status=status, limit=limit)
        failures = store.failures()
    finally:
        store.close()
    stats = {"files": 0, "bytes": 0, "lines": 0, "records": 0, "events": 0, "seconds": 0}
    if fmt == "table":
        from logwatch import report

        if found:
            text = report.render_table(
                found, stats, tz=app.config.timezone, style=styler(sys.stdout.isatty())
            )
            click.echo(f"{len(found)} incidents in {path}")
            click.echo(text.split("\n", 1)[1], nl=False)  # without the scan summary line
        else:
            click.echo(f"no {status + ' ' if status else ''}incidents in {path}")
        for inc in found:
            for line in oncall_lines(inc):
                click.echo(line)
        for incident_id, notifier, error in failures:
            click.echo(f"notification failed: {incident_id} via {notifier}: {error}")
        return
    click.echo(render(fmt, found, stats, app.config.timezone, 0, True), nl=False)


@click.command()
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), help="State database.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@pass_app
def status(app: AppContext, state: Path | None, fmt: str) -> None:
    """The agent's health from its state database: last commit, unread bytes per file,
    outbox per notifier, the last active Redis check, failed notifications. Read-only.

    \b
    Exit codes (for a monitoring check):
      0  ok
      1  degraded: notifications failing or stuck, a large backlog
      2  down: no state, the agent not running or stuck, its state store failing
    """
    import json

    from logwatch.status import read_status, render_status, status_json
    from logwatch.store import default_state_path

    found = read_status(state or default_state_path(app.env), SystemClock().now())
    if fmt == "json":
        click.echo(json.dumps(status_json(found), indent=2))
    else:
        click.echo(render_status(found), nl=False)
    sys.exit(found.code)


@click.command()
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), help="State database.")
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="Incidents whose last event is at or after this time: ISO 8601, or back from now.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "html"]),
    default="table",
    show_default=True,
    help="Output format: html is one self-contained page with a timeline.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of stdout.",
)
@click.option(
    "--compact", is_flag=True, help="Table: each distinct runbook once, after the incidents."
)
@pass_app
def report(
    app: AppContext, state: Path | None, since: str, fmt: str, output: Path | None, compact: bool
) -> None:
    """The agent's incident history from its state database: each incident, when it opened,
    reopened and resolved, and its notifications. Read-only; exit 0.

    \b
    Examples:
      logwatch report --since 7d --format html --output week.html
      logwatch report --since 2026-03-01T00:00 --format markdown
    """
    from logwatch.history_report import load_history, render_history
    from logwatch.store import default_state_path

    cfg = app.config
    now = SystemClock().now()
    start = parse_when(since, now=now, tz=cfg.timezone, option="--since")
    path = state or default_state_path(app.env)
    night = load_history(path, since=start, now=now, quiet_period_s=cfg.grouping.quiet_period_s)
    style = styler(output is None and sys.stdout.isatty())
    text = render_history(fmt, night, tz=cfg.timezone, since=start, style=style, compact=compact)
    emit(text, output)
