"""Command line: parses options, builds a context, delegates. No business logic here.

Exit codes: 0 success (scan: no incident), 1 scan found incidents, 2 usage, config or input error.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any

import click

from logwatch import __version__
from logwatch.clock import SystemClock, parse_when
from logwatch.config import Config, load_config, parse_duration, parse_timezone
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
    level = logging.WARNING - 10 * verbosity
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
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
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
@FORMAT
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
@pass_app
def scan(
    app: AppContext,
    paths: tuple[str, ...],
    fmt: str,
    since: str | None,
    until: str | None,
    tz_name: str | None,
    quiet_period: str | None,
    output: Path | None,
    exit_zero: bool,
) -> None:
    """Scan log files, directories (rotated and compressed siblings, oldest first) or globs.

    \b
    Examples:
      logwatch scan /var/log/morningai/
      logwatch scan 'logs/*.log*' --since 6h --format markdown --output incident.md
    Exit codes: 0 no incident, 1 incidents found, 2 usage/config/input error.
    """
    from logwatch.scan import scan as run_scan
    from logwatch.sources.history import expand_paths

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
    families = expand_paths(list(paths))
    if not families:
        raise click.UsageError("no log files found in the given paths")
    progress = _progress(sum(len(f.files) for f in families))
    result = run_scan(families, cfg, app.pack, since=start, until=end, on_file=progress)
    if progress is not None:
        click.echo("\r\x1b[K", err=True, nl=False)
    stats = result.stats.as_dict()
    text = _render(
        fmt, result.incidents, stats, cfg.timezone, result.isolated_events, output is None
    )
    _emit(text, output)
    if result.incidents and not exit_zero:
        sys.exit(1)


def _render(
    fmt: str, incidents: list[Any], stats: dict[str, Any], tz: tzinfo, isolated: int, tty: bool
) -> str:
    from logwatch import report

    if fmt == "json":
        return report.render_json(incidents, stats) + "\n"
    if fmt == "ndjson":
        return report.render_ndjson(incidents)
    if fmt == "markdown":
        return report.render_markdown(incidents, stats, tz=tz, isolated=isolated)
    colour = tty and sys.stdout.isatty()
    return report.render_table(incidents, stats, tz=tz, isolated=isolated, style=_styler(colour))


_COLOURS = {"critical": "red", "error": "red", "warning": "yellow", "info": "cyan", "title": None}


def _styler(enabled: bool) -> Callable[[str, str], str]:
    def style(text: str, role: str) -> str:
        if not enabled:
            return text
        return click.style(text, fg=_COLOURS.get(role), bold=True)

    return style


def _progress(total: int) -> Callable[[str], None] | None:
    if not sys.stderr.isatty():
        return None
    count = 0

    def on_file(path: str) -> None:
        nonlocal count
        count += 1
        click.echo(f"\r\x1b[Kscanning [{count}/{total}] {path}", err=True, nl=False)

    return on_file


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
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
@click.argument("file", type=click.File("rb"))
@click.option("--timezone", "tz_name", help="Zone of naive timestamps (default UTC).")
@click.option(
    "--all", "show_all", is_flag=True, help="Show every matched record, not the first 100."
)
@pass_app
def test_cmd(app: AppContext, file: Any, tz_name: str | None, show_all: bool) -> None:
    """Show which rule matches each record of FILE (or - for stdin), per-rule hits and time,
    and error-looking records that no rule matched."""
    from logwatch.explain import explain
    from logwatch.matching import Matcher
    from logwatch.records import RecordAssembler
    from logwatch.redact import Redactor
    from logwatch.sources.reader import read_lines

    cfg = app.config
    if tz_name:
        cfg = replace(cfg, timezone=parse_timezone(tz_name))
    redact = Redactor(cfg.secrets)
    matcher = Matcher(app.pack, default_target=cfg.grouping.default_target, redact=redact)
    name = getattr(file, "name", "-")
    assembler = RecordAssembler(
        source=str(name),
        file_time=SystemClock().now(),
        tz=cfg.timezone,
        max_lines=cfg.max_record_lines,
        max_bytes=cfg.max_record_bytes,
    )

    def records() -> Any:
        for line in read_lines(file, max_line_bytes=cfg.max_line_bytes, final=True):
            yield from assembler.feed(line)
        yield from assembler.flush()

    shown = 0

    def on_match(record: Any, rule: str, fields: dict[str, str], target: str) -> None:
        nonlocal shown
        shown += 1
        if show_all or shown <= 100:
            extracted = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
            click.echo(f"line {record.line}: {rule} target={target} {extracted}".rstrip())
            click.echo(f"    {redact(record.text.splitlines()[-1] if record.text else '')[:200]}")

    result = explain(records(), matcher, on_match=on_match)
    if shown > 100 and not show_all:
        click.echo(f"... {shown - 100} more matched records (--all shows them)")
    click.echo("")
    click.echo(f"records: {result.records:,}, matched: {result.matched:,}")
    click.echo("rule                              hits      time")
    for rule_id, st in result.rules.items():
        click.echo(f"{rule_id:32} {st.hits:6,} {st.seconds * 1000:8.1f} ms")
    for rule_id, count in sorted(app.pack.timeouts.items()):
        click.echo(f"warning: rule {rule_id}: {count} match(es) timed out")
    click.echo("")
    click.echo(f"error-looking records no rule matched: {result.missed_total:,}")
    for record in result.missed:
        first = redact(record.text.splitlines()[0])[:200]
        click.echo(f"line {record.line}: {first}")
    if result.missed_total > len(result.missed):
        click.echo(f"... {result.missed_total - len(result.missed)} more")
