"""`logwatch fleet status`, and `logwatch incidents` when the agents share a fleet store.

Added to the main group in cli/__init__.py. Exit codes: 0 done, 2 when no fleet store is
configured or it cannot be reached (one line, the password never shown).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from logwatch.cli.app import AppContext, CliError, pass_app
from logwatch.cli.output import render
from logwatch.errors import ConfigError, LogwatchError


def _open(app: AppContext) -> Any:
    from logwatch.store.postgres import PostgresStore

    url = app.config.fleet.database_url
    if not url:
        raise CliError(
            ConfigError("no fleet store: set [fleet] database_url or LOGWATCH_DATABASE_URL")
        )
    return PostgresStore(url, max_size=1)


def show_incidents(app: AppContext, status: str | None, limit: int, fmt: str) -> None:
    """The fleet's incidents, with the hosts each one affects."""

    store = _open(app)
    try:
        found = store.incidents(status=status, limit=limit)
        hosts = {inc.id: store.hosts_of(inc.id) for inc in found}
    except LogwatchError as exc:
        raise CliError(exc) from None
    finally:
        store.close()
    stats = {"files": 0, "bytes": 0, "lines": 0, "records": 0, "events": 0, "seconds": 0}
    if fmt != "table":
        click.echo(render(fmt, found, stats, app.config.timezone, 0, True), nl=False)
        return
    if not found:
        click.echo(f"no {status + ' ' if status else ''}incidents in the fleet store")
        return
    from logwatch import report

    text = report.render_table(found, stats, tz=app.config.timezone, style=lambda t, _r: t)
    click.echo(f"{len(found)} incidents in the fleet store")
    click.echo(text.split("\n", 1)[1], nl=False)
    for inc in found:
        parts = ", ".join(f"{h} ({s})" for h, s in hosts[inc.id])
        click.echo(f"{inc.id}: hosts {parts}")


@click.group()
def fleet() -> None:
    """The agents sharing the fleet store ([fleet] database_url)."""


@fleet.command("status")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_app
def fleet_status(app: AppContext, fmt: str) -> None:
    """Each agent: host, version, last heartbeat, last commit, lag, outbox depth."""
    store = _open(app)
    try:
        agents = store.agents()
    except LogwatchError as exc:
        raise CliError(exc) from None
    finally:
        store.close()
    rows = [
        {
            "host": a.host,
            "version": a.version,
            "heartbeat_age_s": round(a.age_s, 1),
            "last_commit": a.last_commit.isoformat() if a.last_commit else None,
            "lag_s": None if a.lag_s is None else round(a.lag_s, 1),
            "outbox_depth": a.outbox_depth,
        }
        for a in agents
    ]
    if fmt == "json":
        json.dump({"agents": rows}, sys.stdout, indent=2)
        click.echo()
        return
    if not rows:
        click.echo("no agent has reported to the fleet store yet")
        return
    click.echo(
        f"{'host':<16} {'version':<10} {'heartbeat':>10} {'lag':>8} {'outbox':>6}  last commit"
    )
    for r in rows:
        lag = "-" if r["lag_s"] is None else f"{r['lag_s']:.0f}s"
        click.echo(
            f"{r['host']:<16} {r['version']:<10} {r['heartbeat_age_s']:>9.0f}s"
            f" {lag:>8} {r['outbox_depth']:>6}  {r['last_commit'] or '-'}"
        )
