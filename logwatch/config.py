"""Configuration: TOML file + environment -> one validated Config. All validation lives here."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logwatch.durations import parse_duration
from logwatch.errors import ConfigError
from logwatch.grouping import GroupingPolicy
from logwatch.notify.settings import NotifySettings, parse_notify_settings

DEFAULT_CONFIG = Path("config/logwatch.toml")
DEFAULT_PATHS = ("morningai/logs",)


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
    },
    "incidents": {"quiet_period", "reopen_window", "update_interval", "samples"},
    "records": {"max_lines", "max_bytes", "max_line_bytes"},
}


def parse_timezone(name: str) -> tzinfo:
    """A zone from its IANA name (`Europe/Paris`) or `UTC`; ConfigError otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown timezone {name!r} (expected an IANA name like UTC or Europe/Paris)"
        ) from None


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
        if section not in _KNOWN and section not in ("slack", "webhook", "command"):
            raise ConfigError(f"{source}: unknown section [{section}]")
        if section in _KNOWN:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            for key in value:
                if key not in _KNOWN[section]:
                    raise ConfigError(f"{source}: [{section}] unknown key {key!r}")
    main = data.get("logwatch", {})
    inc = data.get("incidents", {})
    rec = data.get("records", {})

    def where(section: str, key: str) -> str:
        return f"{source}: [{section}] {key}"

    paths = main.get("paths", list(DEFAULT_PATHS))
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError(f"{where('logwatch', 'paths')}: expected a list of paths")
    rules = main.get("rules", [])
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, list) or not all(isinstance(p, str) for p in rules):
        raise ConfigError(f"{where('logwatch', 'rules')}: expected a list of rule files")
    # Rule files are named relative to the config file; a directory means every *.toml in it.
    root = base.parent if base is not None else Path()
    rule_files = tuple(_expand_rules(Path(p) if Path(p).is_absolute() else root / p) for p in rules)

    tz_name = main.get("timezone", "UTC")
    if not isinstance(tz_name, str):
        raise ConfigError(f"{where('logwatch', 'timezone')}: expected a zone name")
    try:
        tz = parse_timezone(tz_name)
    except ConfigError as exc:
        raise ConfigError(f"{where('logwatch', 'timezone')}: {exc}") from None

    redis_url = env.get("REDIS_URL") or main.get("redis_url")
    default_target = redis_target(redis_url) if redis_url else "redis"

    def duration(section: str, key: str, default: float) -> float:
        table = {"incidents": inc, "logwatch": main}[section]
        return parse_duration(table.get(key, default), what=where(section, key))

    def positive(section: str, key: str, default: int) -> int:
        table = {"incidents": inc, "records": rec}[section]
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where(section, key)}: expected a positive integer, got {value!r}")
        return value

    grouping = GroupingPolicy(
        quiet_period_s=duration("incidents", "quiet_period", 120.0),
        reopen_window_s=duration("incidents", "reopen_window", 900.0),
        update_interval_s=duration("incidents", "update_interval", 300.0),
        max_samples=positive("incidents", "samples", 5),
        default_target=default_target,
    )
    if grouping.quiet_period_s <= 0:
        raise ConfigError(f"{where('incidents', 'quiet_period')}: must be more than 0")
    notify = parse_notify_settings(data, env, source=source, base=base)
    secrets = [
        *url_secrets(redis_url or ""),
        *(env[k] for k in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL") if env.get(k)),
        *notify.secrets,
    ]
    return Config(
        source=source,
        paths=tuple(paths),
        timezone=tz,
        redis_url=redis_url,
        rule_files=tuple(p for group in rule_files for p in group),
        builtin_rules=bool(main.get("builtin_rules", True)),
        probe=bool(main.get("probe", True)),
        follow_symlinks=_flag(main, "follow_symlinks", False, where("logwatch", "follow_symlinks")),
        match_timeout_s=duration("logwatch", "match_timeout", 1.0),
        grouping=grouping,
        max_record_lines=positive("records", "max_lines", 200),
        max_record_bytes=positive("records", "max_bytes", 64 * 1024),
        max_line_bytes=positive("records", "max_line_bytes", 64 * 1024),
        secrets=tuple(secrets),
        notify=notify,
    )


def _flag(table: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def _expand_rules(path: Path) -> tuple[Path, ...]:
    if path.is_dir():
        return tuple(sorted(p for p in path.glob("*.toml") if p.name != "redis.toml"))
    return (path,)
