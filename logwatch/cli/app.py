"""The command line's shared parts: the `logwatch` group, its context (config and rules
loaded once), one-line errors, and option values every command parses the same way.

Exit codes: 0 success (scan: no incident), 1 scan found incidents, 2 usage, config or input error.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click

from logwatch import __version__
from logwatch.config import Config, load_config
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

    def use_config(self, path: Path) -> None:
        """Load the config from `path` instead (a command's own --config)."""
        self.config_path, self._config, self._pack = path, None, None

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


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (expected YYYY-MM-DD)", param_hint="--date"
        ) from None
