"""`logwatch scan`: one-off scans of files, directories, standard input or the journal."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from logwatch.cli.app import AppContext, CliError, parse_date, pass_app
from logwatch.cli.output import emit, render
from logwatch.cli.sources import (
    journal_options,
    journal_streams,
)
from logwatch.clock import SystemClock, check_range, parse_timezone, parse_when
from logwatch.durations import parse_duration
from logwatch.errors import LogwatchError


@click.command()
@click.argument("paths", nargs=-1)
@journal_options
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
    check_range(start, end)
    day = parse_date(date_text) if date_text else None
    with spool_inputs(list(paths)) as spooled:
        result, night = _scan_spooled(app, spooled, start, end, reference, jobs, day, fmt)
    stats = result.stats.as_dict()
    if night is not None and fmt != "table":
        from logwatch.reporting import render as render_night

        text = render_night(fmt, night, tz=cfg.timezone)
    else:
        text = render(
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
    emit(text, output)
    if result.incidents and not exit_zero:
        sys.exit(1)


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

    streams = journal_streams(app.config, start, end)
    if not spooled.args and not streams:
        raise click.UsageError("give PATHS to scan, or --journal")
    families = expand_paths(spooled.args, follow_symlinks=app.config.follow_symlinks)
    if not families and not streams:
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
        streams=streams,
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
