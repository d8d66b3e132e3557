"""`logwatch init`: a commented config and a secrets file, with the modes they need.

The directory is the one the systemd unit reads (`/etc/logwatch-redis`, run as root), or
`$XDG_CONFIG_HOME/logwatch-redis` for a user; never `/etc/logwatch`, which Debian's Perl
Logwatch owns. The env file holds tokens: it is created 0600 before anything is written
to it, and an existing one is never made readable by others.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import click

from logwatch.cli.app import AppContext, CliError, pass_app
from logwatch.errors import ConfigError

SYSTEM_DIR = Path("/etc/logwatch-redis")

ENV_TEMPLATE = """\
# logwatch-redis secrets, read by the systemd unit (EnvironmentFile=) or `set -a; . FILE`.
# Mode 600: tokens and passwords. Never put them in logwatch.toml.
#
# Slack Web API (one message per incident, updates in its thread):
# SLACK_BOT_TOKEN=xoxb-...
# LOGWATCH_SLACK_CHANNEL=#ops-alerts
# Interactive buttons (Acknowledge, Silence), Socket Mode:
# SLACK_APP_TOKEN=xapp-...
# Or an incoming webhook instead:
# SLACK_WEBHOOK_URL=https://hooks.slack.com/services/...
#
# The Redis the app uses (the active check PINGs it; its password is never printed):
# REDIS_URL=redis://:password@redis.internal:6379/0
"""


def default_dir(env: dict[str, str]) -> Path:
    """/etc/logwatch-redis for root, else the user's config directory."""
    if os.geteuid() == 0:
        return SYSTEM_DIR
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "logwatch-redis"


def example_config() -> str:
    """The commented example config: packaged in a wheel, else the source tree's."""
    try:
        packaged = importlib.resources.files("logwatch") / "data" / "logwatch.toml"
        if isinstance(packaged, Path) and packaged.is_file():
            return packaged.read_text()
    except (ModuleNotFoundError, OSError):  # pragma: no cover - zip imports
        pass
    return (Path(__file__).resolve().parents[2] / "config" / "logwatch.toml").read_text()


def write_files(directory: Path, *, force: bool) -> list[Path]:
    """Write logwatch.toml (0644) and env (0600) into `directory`; ConfigError if they
    exist and not `force`."""
    config, env = directory / "logwatch.toml", directory / "env"
    existing = [p for p in (config, env) if p.exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]}: exists (--force overwrites it)")
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    _write(config, example_config(), 0o644)
    _write(env, ENV_TEMPLATE, 0o600)
    return [config, env]


def _write(path: Path, text: str, mode: int) -> None:
    """Write through a temporary file made with `mode` from the start, then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask does not widen or narrow it
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write (default: /etc/logwatch-redis as root, else"
    " $XDG_CONFIG_HOME/logwatch-redis).",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@pass_app
def init(app: AppContext, directory: Path | None, force: bool) -> None:
    """Write a commented logwatch.toml and an env file for secrets (mode 600).

    Exit 0 written, 2 when a file exists (without --force) or cannot be written.
    """
    target = directory or default_dir(app.env)
    try:
        written = write_files(target, force=force)
    except OSError as exc:
        raise CliError(ConfigError(f"{target}: cannot write: {exc.strerror or exc}")) from None
    except ConfigError as exc:
        raise CliError(exc) from None
    for path in written:
        click.echo(f"wrote {path} (mode {path.stat().st_mode & 0o777:o})")
    click.echo(f"next: edit {written[1]}, then `logwatch check --config {written[0]}`")
