"""Configuration: TOML file + environment -> one validated Config. All validation lives here."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from logwatch.clock import parse_timezone
from logwatch.errors import ConfigError
from logwatch.fleet.settings import KNOWN as FLEET_KNOWN
from logwatch.fleet.settings import FleetSettings, parse_fleet_settings
from logwatch.grouping import UNNAMED_TARGET, GroupingPolicy
from logwatch.notify.settings import NotifySettings, parse_notify_settings
from logwatch.oncall_config import OnCallSettings, parse_inhibit, parse_windows
from logwatch.toml_table import TomlTable
from logwatch.watch_settings import KNOWN as WATCH_KNOWN
from logwatch.watch_settings import WatchSettings, parse_watch_settings

DEFAULT_CONFIG = Path("config/logwatch.toml")
DEFAULT_PATHS = ("morningai/logs",)
_SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_APP_TOKEN")
#: Sections validated elsewhere: notifiers (notify/settings.py), on call (oncall_config.py).
_OTHER_SECTIONS = ("slack", "webhook", "command", "maintenance", "inhibit", "expect")


_KNOWN: dict[str, set[str]] = {
    "logwatch": {
        "paths",
        "timezone",
        "redis_url",
        "rules",
        "builtin_rules",
        "match_timeout",
        "probe",
        "follow_symlinks",
        "probe_interval",
        "probe_failures",
    },
    **WATCH_KNOWN,
    **FLEET_KNOWN,
    "incidents": {
        "quiet_period",
        "reopen_window",
        "update_interval",
        "samples",
        "confirmed_quiet",
        "repeat_interval",
        "probe_wait",
    },
    "records": {"max_lines", "max_bytes", "max_line_bytes"},
}


def redis_target(url: str) -> str:
    """`host:port` of a Redis URL (the socket path for unix://); the password is never kept."""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme == "unix":
            return parts.path or "redis"
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(parts.scheme)
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    except ValueError:
        raise ConfigError("REDIS_URL: not a redis://, rediss:// or unix:// URL") from None


def url_secrets(url: str) -> list[str]:
    """The password (and user) in a URL, for the redactor."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    return [unquote(s) for s in (parts.password,) if s]


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything logwatch needs to know, validated."""

    source: str = "built-in defaults"  # the file it came from, for messages
    paths: tuple[str, ...] = DEFAULT_PATHS
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    redis_url: str | None = field(default=None, repr=False)
    rule_files: tuple[Path, ...] = ()
    builtin_rules: bool = True
    probe: bool = True  # probe the REDIS_URL's server when an incident on it opens/resolves
    follow_symlinks: bool = False  # symlinks out of a watched directory are skipped
    match_timeout_s: float = 1.0
    grouping: GroupingPolicy = field(default_factory=GroupingPolicy)
    max_record_lines: int = 200
    max_record_bytes: int = 64 * 1024
    max_line_bytes: int = 64 * 1024
    secrets: tuple[str, ...] = field(default=(), repr=False)
    notify: NotifySettings = field(default_factory=NotifySettings, repr=False)
    oncall: OnCallSettings = field(default_factory=OnCallSettings)
    watching: WatchSettings = field(default_factory=WatchSettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)


def load_config(path: Path | None, env: Mapping[str, str]) -> Config:
    """Read the TOML file (or the default one if present) and the environment into a Config."""
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path}: cannot read config: {getattr(exc, 'strerror', exc)}"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return build_config(data, env, source=str(path) if path else "built-in defaults", base=path)


def build_config(
    data: Mapping[str, Any], env: Mapping[str, str], *, source: str, base: Path | None = None
) -> Config:
    """Validate parsed TOML plus environment; every error names the file and key."""
    for section, value in data.items():
        if section not in _KNOWN and section not in _OTHER_SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]")
        if section in _KNOWN:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            for key in value:
                if key not in _KNOWN[section]:
                    raise ConfigError(f"{source}: [{section}] unknown key {key!r}")
    main = TomlTable(source, "logwatch", data.get("logwatch", {}))
    inc = TomlTable(source, "incidents", data.get("incidents", {}))
    rec = TomlTable(source, "records", data.get("records", {}))

    paths = main.strings("paths", list(DEFAULT_PATHS), "a list of paths")
    rules = main.strings("rules", [], "a list of rule files")
    # Rule files are named relative to the config file; a directory means every *.toml in it.
    root = base.parent if base is not None else Path()
    rule_files = tuple(_expand_rules(Path(p) if Path(p).is_absolute() else root / p) for p in rules)

    tz_name = main.table.get("timezone", "UTC")
    if not isinstance(tz_name, str):
        main.refuse("timezone", "a zone name", tz_name)
    try:
        tz = parse_timezone(tz_name)
    except ConfigError as exc:
        raise ConfigError(f"{main.where('timezone')}: {exc}") from None

    # The URL holds the Redis password: errors name where it came from, never its value.
    file_url = main.string("redis_url", secret=True)
    if file_url is not None:
        _checked_target(file_url, main.where("redis_url"))  # wrong even when REDIS_URL wins
    redis_url = env.get("REDIS_URL") or file_url
    default_target = UNNAMED_TARGET
    if redis_url:
        where = "REDIS_URL" if env.get("REDIS_URL") else main.where("redis_url")
        default_target = _checked_target(redis_url, where)

    grouping = GroupingPolicy(
        quiet_period_s=inc.duration("quiet_period", 120.0, positive=True),
        reopen_window_s=inc.duration("reopen_window", 900.0),
        update_interval_s=inc.duration("update_interval", 300.0),
        max_samples=inc.integer("samples", 5, minimum=1),
        default_target=default_target,
        confirmed_quiet_s=inc.duration("confirmed_quiet", 30.0, positive=True),
    )
    oncall = OnCallSettings(
        maintenance=parse_windows(data.get("maintenance"), source=source, tz=tz),
        inhibit=parse_inhibit(data.get("inhibit"), source=source),
        repeat_interval_s=inc.duration("repeat_interval", 1800.0),
        probe_wait_s=inc.duration("probe_wait", 2.0),
    )
    if oncall.probe_wait_s > 2.0:
        raise ConfigError(f"{inc.where('probe_wait')}: at most 2s (the root waits no longer)")
    notify = parse_notify_settings(data, env, source=source, base=base)
    watching = parse_watch_settings(data, env, source=source)
    fleet = parse_fleet_settings(data, env, source=source)
    secrets = [
        *watching.secrets,
        *url_secrets(redis_url or ""),
        *url_secrets(file_url or ""),
        *(
            env[k]
            for k in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_APP_TOKEN")
            if env.get(k)
        ),
        *notify.secrets,
        *url_secrets(fleet.database_url or ""),
    ]
    return Config(
        source=source,
        paths=tuple(paths),
        timezone=tz,
        redis_url=redis_url,
        rule_files=tuple(p for group in rule_files for p in group),
        builtin_rules=main.flag("builtin_rules", True),
        probe=main.flag("probe", True),
        follow_symlinks=main.flag("follow_symlinks", False),
        match_timeout_s=main.duration("match_timeout", 1.0),
        grouping=grouping,
        max_record_lines=rec.integer("max_lines", 200, minimum=1),
        max_record_bytes=rec.integer("max_bytes", 64 * 1024, minimum=1),
        max_line_bytes=rec.integer("max_line_bytes", 64 * 1024, minimum=1),
        secrets=tuple(secrets),
        notify=notify,
        oncall=oncall,
        watching=watching,
        fleet=fleet,
    )


def _checked_target(url: str, where: str) -> str:
    try:
        return redis_target(url)
    except ConfigError:
        raise ConfigError(f"{where}: not a redis://, rediss:// or unix:// URL") from None


def _expand_rules(path: Path) -> tuple[Path, ...]:
    if path.is_dir():
        return tuple(sorted(p for p in path.glob("*.toml") if p.name != "redis.toml"))
    return (path,)
