"""`logwatch check` (the config and rule packs) and `logwatch test` (which rule matches
each record of a file).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from logwatch.cli.app import AppContext, CliError, parse_date, pass_app
from logwatch.clock import parse_timezone
from logwatch.errors import LogwatchError
from logwatch.rules import load_rule_pack


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The config file to check (as `logwatch --config F check`).",
)
@pass_app
def check(app: AppContext, config_path: Path | None) -> None:
    """Validate the config and rule packs, compiling every pattern. Exit 0 valid, 2 invalid."""
    if config_path is not None:
        app.use_config(config_path)
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


@click.command("test")
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
    day = parse_date(date_text) if date_text else None
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
