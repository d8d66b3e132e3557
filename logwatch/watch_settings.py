"""Settings of the agent's own monitoring: [metrics], [heartbeat], [quiet], [[expect]] and the
active Redis check's `probe_interval` / `probe_failures` in [logwatch].

Parsed here, beside config.py (which calls `parse_watch_settings`), with the same one-line
errors naming the file, the section, the key and the value; a heartbeat URL (it carries
its check's secret token) is never repeated in an error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from logwatch.errors import ConfigError
from logwatch.toml_table import TomlTable, shown

DEFAULT_METRICS_HOST = "127.0.0.1"

KNOWN: dict[str, set[str]] = {
    "metrics": {"listen", "max_sources"},
    "heartbeat": {"url", "fail_url", "interval", "timeout"},
    "quiet": {"default_within"},
}
EXPECT_KEYS = {"path", "within", "name"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """`[[expect]]`: files whose name matches `pattern` write at least every `within_s`."""

    pattern: str  # fnmatch on the file name, or on the whole path when it holds a "/"
    within_s: float
    name: str = ""  # what writes it, for the message ("RQ worker")


@dataclass(frozen=True, slots=True, kw_only=True)
class QuietPolicy:
    """When a followed log that stops writing opens a `log_quiet` incident."""

    expectations: tuple[Expectation, ...] = ()
    # "auto": a file seen writing steadily (AUTO_* in quiet.py) is expected to go on;
    # "off": only [[expect]] files; a number: every followed file within that many seconds.
    default: str = "auto"
    default_within_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSettings:
    """`/metrics` and `/healthz`: off unless an address is given (a bare port is loopback)."""

    listen: tuple[str, int] | None = None
    max_sources: int = 100  # distinct `source` label values before "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatSettings:
    """A push-style heartbeat (healthchecks.io, Cronitor, Uptime Kuma)."""

    url: str | None = field(default=None, repr=False)
    fail_url: str | None = field(default=None, repr=False)  # default: url + "/fail"
    interval_s: float = 60.0
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSettings:
    """Everything about watching the watcher."""

    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    heartbeat: HeartbeatSettings = field(default_factory=HeartbeatSettings, repr=False)
    quiet: QuietPolicy = field(default_factory=QuietPolicy)
    probe_interval_s: float = 30.0  # 0: no active check
    probe_failures: int = 2  # failed probes in a row that open an incident

    @property
    def secrets(self) -> tuple[str, ...]:
        """The heartbeat URLs: their path is the check's secret token."""
        return tuple(u for u in (self.heartbeat.url, self.heartbeat.fail_url) if u)


def parse_listen(value: object, where: str) -> tuple[str, int]:
    """`127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`, `:9464` or `9464` (loopback)."""
    text = (
        str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    )
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or DEFAULT_METRICS_HOST
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(
            f"{where}: expected an address like 127.0.0.1:9464 or a port, got {shown(value)}"
        )
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether a listen host only takes connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(table: TomlTable, key: str) -> str | None:
    value = table.string(key, secret=True)
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise ConfigError(f"{table.where(key)}: expected an http:// or https:// URL")
    return value


def parse_watch_settings(
    data: Mapping[str, Any], env: Mapping[str, str], *, source: str
) -> WatchSettings:
    """[metrics], [heartbeat], [quiet], [[expect]] and the probe keys of [logwatch]."""
    main = TomlTable(source, "logwatch", data.get("logwatch", {}))
    met = TomlTable(source, "metrics", data.get("metrics", {}))
    beat = TomlTable(source, "heartbeat", data.get("heartbeat", {}))
    quiet = TomlTable(source, "quiet", data.get("quiet", {}))

    listen = None
    if "listen" in met.table:
        listen = parse_listen(met.table["listen"], met.where("listen"))

    url = _url(beat, "url")
    if env.get("LOGWATCH_HEARTBEAT_URL"):
        url = env["LOGWATCH_HEARTBEAT_URL"].strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError("LOGWATCH_HEARTBEAT_URL: expected an http:// or https:// URL")
    fail_url = _url(beat, "fail_url")
    heartbeat = HeartbeatSettings(
        url=url,
        fail_url=fail_url or (url.rstrip("/") + "/fail" if url else None),
        interval_s=beat.duration("interval", 60.0, positive=True),
        timeout_s=beat.duration("timeout", 10.0, positive=True),
    )

    default: object = quiet.table.get("default_within", "auto")
    default_within_s = 0.0
    if default not in ("auto", "off"):
        try:
            default_within_s = quiet.duration("default_within", 0.0, positive=True)
        except ConfigError:
            quiet.refuse("default_within", '"auto", "off" or a duration like "30m"', default)
        default = "fixed"

    return WatchSettings(
        metrics=MetricsSettings(
            listen=listen, max_sources=met.integer("max_sources", 100, minimum=1)
        ),
        heartbeat=heartbeat,
        quiet=QuietPolicy(
            expectations=_expectations(data.get("expect", []), source),
            default=str(default),
            default_within_s=default_within_s,
        ),
        probe_interval_s=main.duration("probe_interval", 30.0),
        probe_failures=main.integer("probe_failures", 2, minimum=1),
    )


def _expectations(value: object, source: str) -> tuple[Expectation, ...]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(
            f'{source}: [[expect]] must be tables: [[expect]] path = "worker*.log" within = "10m"'
        )
    found = []
    for number, table in enumerate(value, start=1):
        t = TomlTable(source, f"expect #{number}", table)
        for key in table:
            if key not in EXPECT_KEYS:
                raise ConfigError(f"{source}: [[expect]] #{number}: unknown key {key!r}")
        pattern = t.string("path")
        if pattern is None:
            raise ConfigError(f"{source}: [[expect]] #{number}: path is required")
        if "within" not in table:
            raise ConfigError(f"{source}: [[expect]] #{number}: within is required")
        found.append(
            Expectation(
                pattern=pattern,
                within_s=t.duration("within", 0.0, positive=True),
                name=t.string("name") or "",
            )
        )
    return tuple(found)
