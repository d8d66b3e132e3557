"""`logwatch watch`: the agent."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from logwatch.cli.app import AppContext, pass_app
from logwatch.cli.sources import (
    chosen,
    journal_options,
    stream_factories,
    syslog_options,
)
from logwatch.config import Config
from logwatch.durations import parse_duration
from logwatch.rules import RulePack
from logwatch.watch_settings import parse_listen


@click.command()
@click.argument("paths", nargs=-1)
@journal_options
@syslog_options
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State database (sqlite). Default: $XDG_STATE_HOME/logwatch/state.db.",
)
@click.option("--jsonl", help="Append one JSON line per incident change to FILE (- for stdout).")
@click.option("--quiet-period", help="Quiet time after which an incident resolves (e.g. 2m).")
@click.option(
    "--from-start", is_flag=True, help="First start: read existing files from their start."
)
@click.option("--lookback", help="First start: begin at the first record of the last DURATION.")
@click.option(
    "--poll", is_flag=True, help="Poll for changes (NFS, container volumes) instead of inotify."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print each message as it would read in Slack instead of sending anything.",
)
@click.option(
    "--metrics",
    "metrics_listen",
    metavar="ADDR",
    help="Serve /metrics and /healthz on ADDR (127.0.0.1:9464; a bare port is loopback).",
)
@pass_app
def watch(
    app: AppContext,
    paths: tuple[str, ...],
    state: Path | None,
    jsonl: str | None,
    quiet_period: str | None,
    from_start: bool,
    lookback: str | None,
    poll: bool,
    dry_run: bool,
    metrics_listen: str | None,
) -> None:
    """Tail the logs and report Redis incidents as they open, update and resolve.

    \b
    PATHS are directories, files or globs (default: the config's paths, morningai/logs).
    Runs until SIGTERM or SIGINT (drains, commits, exits 0); a second signal exits at once;
    SIGHUP reloads the config and rules. Exit 2 on a config or state error.
    """
    import signal
    import socket

    from logwatch.agent import Agent, AgentOptions
    from logwatch.cli.oncall import preview_notifier, slack_buttons
    from logwatch.notify import close_notifiers
    from logwatch.notify.console import ConsoleNotifier, JsonlNotifier
    from logwatch.notify.settings import build_notifiers
    from logwatch.store import default_state_path

    cfg = app.config
    if quiet_period:
        seconds = parse_duration(quiet_period, what="--quiet-period")
        cfg = replace(cfg, grouping=replace(cfg.grouping, quiet_period_s=seconds))
    if metrics_listen:
        cfg = with_metrics_listen(cfg, metrics_listen)
    app.config = cfg
    if from_start and lookback:
        raise click.UsageError("--from-start and --lookback exclude each other")
    start = "start" if from_start else ("since" if lookback else "end")
    lookback_s = parse_duration(lookback, what="--lookback") if lookback else None
    options = AgentOptions(
        paths=paths or (() if chosen().any else cfg.paths),
        streams=stream_factories(start, lookback_s),
        state=state or default_state_path(app.env),
        start=start,
        lookback_s=lookback_s,
        poll=poll,
    )
    local: list[Any] = []
    if jsonl:
        try:
            local.append(JsonlNotifier(jsonl))
        except OSError as exc:
            raise click.BadParameter(f"{jsonl}: {exc.strerror}", param_hint="--jsonl") from None
    host = socket.gethostname()
    remote = [] if dry_run else build_notifiers(cfg.notify, host=host)
    if dry_run and jsonl != "-":
        local.append(preview_notifier(cfg, host))  # the messages as Slack would show them
    elif jsonl != "-" and not remote:
        local.append(ConsoleNotifier(sys.stdout))  # no notifier configured: say it on stdout
    buttons = None if dry_run else slack_buttons(cfg)

    def reload() -> tuple[Config, RulePack]:
        fresh = AppContext(config_path=app.config_path, env=dict(os.environ))
        return fresh.config, fresh.pack

    agent = Agent(
        cfg, app.pack, options, local=local, remote=remote, reload=reload, buttons=buttons
    )
    signal.signal(signal.SIGTERM, agent.request_stop)
    signal.signal(signal.SIGINT, agent.request_stop)
    signal.signal(signal.SIGHUP, agent.request_reload)
    try:
        code = agent.run()
    finally:
        close_notifiers([*local, *remote])
    sys.exit(code)


def with_metrics_listen(config: Config, listen: str) -> Config:
    """The config with `watch --metrics ADDR` in place of [metrics] listen."""
    watching = config.watching
    metrics = replace(watching.metrics, listen=parse_listen(listen, "--metrics"))
    return replace(config, watching=replace(watching, metrics=metrics))
