"""Command line: parses options, builds a context, delegates. No business logic here.

Exit codes: 0 success (scan: no incident), 1 scan found incidents, 2 usage, config or input error.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import click

from logwatch import __version__
from logwatch.clock import SystemClock, parse_when
from logwatch.config import Config, load_config, parse_timezone
from logwatch.durations import parse_duration
from logwatch.errors import LogwatchError
from logwatch.rules import RulePack, load_rule_pack

logger = logging.getLogger("logwatch")


class CliError(click.ClickException):
    """A LogwatchError on its way to the user: one line, exit code 2."""

    exit_code = 2

    def __init__(self, error: LogwatchError) -> None:
        super().__init__(str(error))

    def show(self, file: Any = None) -> None:
        """Print `logwatch: error: ...` without a traceback."""
        click.echo(f"logwatch: error: {self.format_message()}", err=True)


class Group(click.Group):
    """Turns LogwatchError from any command into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LogwatchError as exc:
            raise CliError(exc) from None


@dataclass(slots=True)
class AppContext:
    """What every command shares: where the config is, and the config and rules once loaded."""

    config_path: Path | None
    env: dict[str, str]
    _config: Config | None = None
    _pack: RulePack | None = None

    @property
    def config(self) -> Config:
        """The validated configuration (loaded on first use)."""
        if self._config is None:
            self._config = load_config(self.config_path, self.env)
        return self._config

    @config.setter
    def config(self, value: Config) -> None:
        self._config = value
        self._pack = None

    @property
    def pack(self) -> RulePack:
        """The compiled rule pack: built-in plus the config's rule files."""
        if self._pack is None:
            cfg = self.config
            self._pack = load_rule_pack(
                cfg.rule_files,
                include_builtin=cfg.builtin_rules,
                match_timeout_s=cfg.match_timeout_s,
            )
        return self._pack


pass_app = click.make_pass_decorator(AppContext)

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "ndjson", "markdown"]),
    default="table",
    show_default=True,
    help="Output format.",
)


def _setup_logging(verbosity: int) -> None:
    from logwatch.logs import NOTICE

    # Default NOTICE: the agent's incident changes and start-up checks, one line each.
    level = NOTICE if verbosity == 0 else logging.INFO - 10 * (verbosity - 1)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("logwatch: %(levelname)s: %(message)s"))
    root = logging.getLogger("logwatch")
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.DEBUG))
    root.propagate = False


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="logwatch")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML config file (default: config/logwatch.toml if present, else built-in defaults).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More logging on stderr (default: incident changes; -v info, -vv debug).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """logwatch: Redis incidents from Python/RQ application logs.

    \b
    Exit codes:
      0  success (scan: no incident found)
      1  scan: incidents found
      2  usage, config or input error
    """
    _setup_logging(verbose)
    ctx.obj = AppContext(config_path=config_path, env=dict(os.environ))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "ndjson", "markdown", "html"]),
    default="table",
    show_default=True,
    help="Output format: html is one self-contained page with a timeline; markdown a"
    " post-mortem draft.",
)
@click.option(
    "--compact", is_flag=True, help="Table: each distinct runbook once, after the incidents."
)
@click.option(
    "--since", help="Only records at or after this time: ISO 8601, or back from now (2h, 3d)."
)
@click.option("--until", help="Only records at or before this time: ISO 8601, or back from now.")
@click.option(
    "--timezone", "tz_name", help="Zone of naive timestamps and of the table (default UTC)."
)
@click.option("--quiet-period", help="Quiet time after which an incident resolves (e.g. 2m).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of stdout.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when incidents are found.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for the fast scan (default: one per core).",
)
@click.option(
    "--reference",
    is_flag=True,
    help="Read every record (the slow, obvious path), to check the fast one.",
)
@click.option(
    "--date",
    "date_text",
    metavar="YYYY-MM-DD",
    help="Date of files whose stamps have a time but no date (RQ's 08:23:06), instead of"
    " the date taken from the other files of the scan.",
)
@pass_app
def scan(
    app: AppContext,
    paths: tuple[str, ...],
    fmt: str,
    compact: bool,
    since: str | None,
    until: str | None,
    tz_name: str | None,
    quiet_period: str | None,
    output: Path | None,
    exit_zero: bool,
    jobs: int | None,
    reference: bool,
    date_text: str | None,
) -> None:
    """Scan log files, directories (rotated and compressed siblings, oldest first) or globs;
    `-` (or a pipe, a FIFO, /dev/stdin) reads standard input, compressed or not.

    \b
    Examples:
      logwatch scan /var/log/morningai/
      logwatch scan 'logs/*.log*' --since 6h --format markdown --output incident.md
      logwatch scan logs/ --format html --output night.html
      zcat app.log.2.gz | logwatch scan -
    Exit codes: 0 no incident, 1 incidents found, 2 usage/config/input error.
    """
    from logwatch.sources.spool import spool_inputs

    cfg = app.config
    if tz_name:
        cfg = replace(cfg, timezone=parse_timezone(tz_name))
    if quiet_period:
        cfg = replace(
            cfg,
            grouping=replace(
                cfg.grouping, quiet_period_s=parse_duration(quiet_period, what="--quiet-period")
            ),
        )
    app.config = cfg
    now = SystemClock().now()
    start = parse_when(since, now=now, tz=cfg.timezone, option="--since") if since else None
    end = parse_when(until, now=now, tz=cfg.timezone, option="--until") if until else None
    day = _parse_date(date_text) if date_text else None
    with spool_inputs(list(paths)) as spooled:
        result, night = _scan_spooled(app, spooled, start, end, reference, jobs, day, fmt)
    stats = result.stats.as_dict()
    if night is not None and fmt != "table":
        from logwatch.reporting import render as render_night

        text = render_night(fmt, night, tz=cfg.timezone)
    else:
        text = _render(
            fmt,
            result.incidents,
            stats,
            cfg.timezone,
            result.isolated_events,
            output is None,
            dating=result.dating,
            undated=result.undated,
            night=night,
            compact=compact,
        )
    _emit(text, output)
    if result.incidents and not exit_zero:
        sys.exit(1)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (expected YYYY-MM-DD)", param_hint="--date"
        ) from None


def _scan_spooled(
    app: AppContext,
    spooled: Any,
    start: datetime | None,
    end: datetime | None,
    reference: bool,
    jobs: int | None,
    day: date | None,
    fmt: str = "table",
) -> tuple[Any, Any]:
    from logwatch import reporting
    from logwatch.progress import progress_for
    from logwatch.scan import scan as run_scan
    from logwatch.sources.history import expand_paths

    families = expand_paths(spooled.args, follow_symlinks=app.config.follow_symlinks)
    if not families:
        raise click.UsageError("no log files found in the given paths")
    # html and markdown show what the rules missed and the 5xx: the scan looks for them too;
    # the table only counts events, for its sparklines.
    files = reporting.report_files(families, spooled.labels)
    gathered = None
    if fmt in reporting.NIGHT_FORMATS or fmt == "table":
        gathered = reporting.collector(files, app.config, sightings=fmt in reporting.NIGHT_FORMATS)
    progress = progress_for(families, spooled.labels) if sys.stderr.isatty() else None
    result = run_scan(
        families,
        app.config,
        app.pack,
        since=start,
        until=end,
        on_file=progress,
        reference=reference,
        jobs=jobs,
        date_of_time_only=day,
        labels=spooled.labels,
        observer=gathered,
    )
    if progress is not None:
        progress.done()
    if result.stats.files == 0 and result.stats.skipped:
        # Every input was binary, corrupt or unreadable: that is not "no Redis errors".
        raise CliError(LogwatchError(f"nothing could be read: {result.stats.skipped[0]}"))
    night = None
    if gathered is not None:
        night = reporting.night_of_scan(
            gathered,
            result,
            files,
            app.config,
            since=start,
            until=end,
            reference=reference,
            server_log=fmt != "table",
        )
    return result, night


def _render(
    fmt: str,
    incidents: list[Any],
    stats: dict[str, Any],
    tz: tzinfo,
    isolated: int,
    tty: bool,
    *,
    dating: dict[str, str] | None = None,
    undated: list[Any] | None = None,
    night: Any = None,
    compact: bool = False,
) -> str:
    from logwatch import report

    notes: dict[str, Any] = {"dating": dating, "undated": undated or ()}
    if fmt == "json":
        return report.render_json(incidents, stats, **notes) + "\n"
    if fmt == "ndjson":
        return report.render_ndjson(incidents)
    if fmt == "markdown":
        return report.render_markdown(incidents, stats, tz=tz, isolated=isolated, **notes)
    colour = tty and sys.stdout.isatty()
    sparks = None
    if night is not None:
        from logwatch.sparkline import incident_sparks

        sparks = incident_sparks(night)
    return report.render_table(
        incidents,
        stats,
        tz=tz,
        isolated=isolated,
        style=_styler(colour),
        sparks=sparks,
        compact=compact,
        **notes,
    )


_COLOURS = {"critical": "red", "error": "red", "warning": "yellow", "info": "cyan", "title": None}


def _styler(enabled: bool) -> Callable[[str, str], str]:
    def style(text: str, role: str) -> str:
        if not enabled:
            return text
        return click.style(text, fg=_COLOURS.get(role), bold=True)

    return style


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        # Created private (reports hold log excerpts); an existing file keeps its mode.
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CliError(LogwatchError(f"{output}: cannot write: {exc.strerror}")) from None


@main.command()
@pass_app
def check(app: AppContext) -> None:
    """Validate the config and rule packs, compiling every pattern. Exit 0 valid, 2 invalid."""
    cfg = app.config
    pack = app.pack
    patterns = sum(len(rule.patterns) for rule in pack.rules)
    origins = sorted({rule.origin for rule in pack.rules})
    click.echo(f"config: {cfg.source}: ok")
    click.echo(
        f"rules: {len(pack.rules)} rules, {patterns} patterns compiled, from {', '.join(origins)}"
    )
    categories = sorted({rule.category for rule in pack.rules})
    click.echo(f"categories: {', '.join(categories)}")


@main.command("test")
@click.argument("file")
@click.option("--timezone", "tz_name", help="Zone of naive timestamps (default UTC).")
@click.option(
    "--all", "show_all", is_flag=True, help="Show every matched record, not the first 100."
)
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Test this rule pack (file or directory; repeatable) with the built-in one, instead"
    " of the config's packs.",
)
@click.option(
    "--pattern",
    "patterns",
    multiple=True,
    metavar="REGEX",
    help="Test this regex alone (repeatable), as fail2ban-regex does; no config needed.",
)
@click.option("--date", "date_text", metavar="YYYY-MM-DD", help="Date of time-only stamps.")
@pass_app
def test_cmd(
    app: AppContext,
    file: str,
    tz_name: str | None,
    show_all: bool,
    rule_files: tuple[Path, ...],
    patterns: tuple[str, ...],
    date_text: str | None,
) -> None:
    """Show which rule matches each record of FILE (- for stdin; gzip, bzip2 and xz are
    read like scan reads them), its time and where that time came from, per-rule hits and
    matching time, and error-looking records that no rule matched.

    \b
    Examples:
      logwatch test app.log.2.gz
      kubectl logs deploy/worker | logwatch test -
      logwatch test --pattern 'Error \\d+ connecting to (?P<host>[\\w.-]+):(?P<port>\\d+)' app.log
    """
    from logwatch.explain import run_test
    from logwatch.rules import pattern_pack
    from logwatch.sources.spool import spool_inputs

    cfg = app.config
    if tz_name:
        cfg = replace(cfg, timezone=parse_timezone(tz_name))
    if patterns:
        pack = pattern_pack(patterns, match_timeout_s=cfg.match_timeout_s)
    elif rule_files:
        files = [p for r in rule_files for p in (sorted(r.glob("*.toml")) if r.is_dir() else [r])]
        pack = load_rule_pack(files, include_builtin=True, match_timeout_s=cfg.match_timeout_s)
    else:
        pack = app.pack
    day = _parse_date(date_text) if date_text else None
    with spool_inputs([file]) as spooled:
        (path,) = [Path(a) for a in spooled.args]
        if path.is_dir():
            raise click.BadParameter(f"{file}: is a directory (test reads one file)")
        if not path.exists():
            raise CliError(LogwatchError(f"{file}: no such file"))
        for line in run_test(
            path, spooled.labels.get(path, file), cfg, pack, show_all=show_all, day=day
        ):
            click.echo(line)


@main.command()
@click.argument("paths", nargs=-1)
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
    from logwatch.cli_oncall import preview_notifier, slack_buttons
    from logwatch.notify import close_notifiers
    from logwatch.notify.console import ConsoleNotifier, JsonlNotifier
    from logwatch.notify.settings import build_notifiers
    from logwatch.store import default_state_path

    cfg = app.config
    if quiet_period:
        seconds = parse_duration(quiet_period, what="--quiet-period")
        cfg = replace(cfg, grouping=replace(cfg.grouping, quiet_period_s=seconds))
    if metrics_listen:
        from logwatch.watch_settings import with_metrics_listen

        cfg = with_metrics_listen(cfg, metrics_listen)
    app.config = cfg
    if from_start and lookback:
        raise click.UsageError("--from-start and --lookback exclude each other")
    options = AgentOptions(
        paths=paths or cfg.paths,
        state=state or default_state_path(app.env),
        start="start" if from_start else ("since" if lookback else "end"),
        lookback_s=parse_duration(lookback, what="--lookback") if lookback else None,
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


@main.command()
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), help="State database.")
@click.option("--status", type=click.Choice(["open", "resolved"]), help="Only these incidents.")
@click.option("--limit", type=int, default=50, show_default=True)
@FORMAT
@pass_app
def incidents(
    app: AppContext, state: Path | None, status: str | None, limit: int, fmt: str
) -> None:
    """List the incidents in the agent's state database (or the fleet store), newest first."""
    if app.config.fleet.enabled:  # the fleet's incidents, not this host's (cli_fleet.py)
        return cli_fleet.show_incidents(app, status, limit, fmt)
    from logwatch.cli_oncall import oncall_lines
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
                found, stats, tz=app.config.timezone, style=_styler(sys.stdout.isatty())
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
    click.echo(_render(fmt, found, stats, app.config.timezone, 0, True), nl=False)


@main.command()
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


@main.command()
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
    style = _styler(output is None and sys.stdout.isatty())
    text = render_history(fmt, night, tz=cfg.timezone, since=start, style=style, compact=compact)
    _emit(text, output)


@main.command("notify-test")
@pass_app
def notify_test(app: AppContext) -> None:
    """Send a test message through every configured notifier and say what worked.

    Exit 0 when every notifier delivered, 1 when one failed (bad token, unknown channel,
    unreachable URL). With no notifier configured, says how to configure one.
    """
    import socket

    from logwatch.notify import Delivered, Failed, close_notifiers, make_test_notification
    from logwatch.notify.settings import build_notifiers

    notifiers = build_notifiers(app.config.notify, host=socket.gethostname())
    if not notifiers:
        click.echo(
            "no notifier configured: set SLACK_BOT_TOKEN and LOGWATCH_SLACK_CHANNEL, or"
            " SLACK_WEBHOOK_URL, or a [slack]/[webhook]/[command] section in the config"
        )
        sys.exit(1)
    failed = 0
    try:
        for notifier in notifiers:
            outcome = notifier.send(make_test_notification(SystemClock().now()))
            if isinstance(outcome, Delivered):
                click.echo(f"{notifier.name}: ok")
                continue
            failed += 1
            why = (
                outcome.reason if isinstance(outcome, Failed) else f"unreachable: {outcome.reason}"
            )
            click.echo(f"{notifier.name}: FAILED: {why}")
    finally:
        close_notifiers(notifiers)
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("url", metavar="[REDIS_URL]", required=False)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The app's .env to read REDIS_URL from when neither REDIS_URL nor the environment"
    " gives one (default: ./.env if present).",
)
@click.option(
    "--timeout",
    default="2s",
    show_default=True,
    help="Longest wait to connect, and for each reply (e.g. 500ms, 2s).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--rq",
    "rq",
    is_flag=True,
    help="Also read RQ's keys (read-only, bounded): per queue the waiting, failed, started"
    " and abandoned jobs, the workers, and the command that retries the failed ones.",
)
@pass_app
def probe(
    app: AppContext, url: str | None, env_file: Path | None, timeout: str, fmt: str, rq: bool
) -> None:
    """Check a live Redis (PING, INFO) and say what is wrong, with the runbook steps.

    REDIS_URL (redis://, rediss:// or unix://) is the argument, else REDIS_URL in the
    environment, else REDIS_URL in the app's .env, else the config's redis_url. Only reads:
    nothing is written to Redis. The password never appears in the output.

    \b
    Examples:
      logwatch probe redis://:PASSWORD@10.0.0.5:6379/0
      logwatch probe --env-file /srv/morningai/.env --format json
      logwatch probe --rq
    Exit codes: 0 healthy, 1 unhealthy or unreachable, 2 usage (no URL, malformed URL).
    """
    from logwatch.probe import run_probe_command

    timeout_s = parse_duration(timeout, what="--timeout")
    if timeout_s <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--timeout")
    text, code = run_probe_command(
        url,
        env=app.env,
        env_file=env_file,
        timeout_s=timeout_s,
        fmt=fmt,
        configured=lambda: app.config.redis_url,
        rq=rq,
    )
    click.echo(text, nl=False)
    sys.exit(code)


# The on-call commands (silence, routes) live in their own module and register themselves.
from logwatch import cli_fleet, cli_oncall  # noqa: E402, F401
