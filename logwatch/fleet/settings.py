"""`[fleet]`: the PostgreSQL store the agents of a fleet share, and its timers.

Without a database URL nothing changes: sqlite, one host. The URL carries the password:
it is never repeated in an error (config.py adds it to the redactor's secrets).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from logwatch.errors import ConfigError
from logwatch.toml_table import TomlTable

ENV_URL = "LOGWATCH_DATABASE_URL"
ENV_HOST = "LOGWATCH_HOST"
KNOWN: dict[str, set[str]] = {
    "fleet": {
        "database_url",
        "host",
        "fallback_after",
        "host_deadline",
        "reopen_window",
        "min_hosts",
        "lease",
        "heartbeat",
        "poll",
    },
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetSettings:
    """Where the fleet store is and how long each wait lasts (seconds)."""

    database_url: str | None = field(default=None, repr=False)
    host: str = ""  # this agent's name in the fleet (default: the machine's host name)
    fallback_after_s: float = 60.0  # without the store this long, a host notifies alone
    host_deadline_s: float = 300.0  # a host silent this long no longer holds incidents open
    reopen_window_s: float = 900.0  # a resolved fleet incident that comes back reopens
    min_hosts: int = 1  # hosts that must report an outage before the fleet announces it
    lease_s: float = 30.0  # a claimed notification returns to the pool after this
    heartbeat_s: float = 5.0  # how often an agent says it is alive
    poll_s: float = 1.0  # how often an idle agent looks for notifications to deliver

    @property
    def enabled(self) -> bool:
        """A database URL is configured."""
        return bool(self.database_url)


def parse_fleet_settings(
    data: Mapping[str, Any], env: Mapping[str, str], *, source: str
) -> FleetSettings:
    """`[fleet]` and LOGWATCH_DATABASE_URL / LOGWATCH_HOST, with one-line errors."""
    t = TomlTable(source, "fleet", data.get("fleet", {}))
    file_url = t.string("database_url", secret=True)
    url = env.get(ENV_URL) or file_url
    if url:
        where = ENV_URL if env.get(ENV_URL) else t.where("database_url")
        check_database_url(url, where)
    host = env.get(ENV_HOST) or t.string("host") or socket.gethostname()
    if not host.strip() or any(c.isspace() for c in host):
        raise ConfigError(f"{t.where('host')}: a host name without spaces, not {host!r}")
    return FleetSettings(
        database_url=url or None,
        host=host,
        fallback_after_s=t.duration("fallback_after", 60.0, positive=True),
        host_deadline_s=t.duration("host_deadline", 300.0, positive=True),
        reopen_window_s=t.duration("reopen_window", 900.0),
        min_hosts=t.integer("min_hosts", 1, minimum=1),
        lease_s=t.duration("lease", 30.0, positive=True),
        heartbeat_s=t.duration("heartbeat", 5.0, positive=True),
        poll_s=t.duration("poll", 1.0, positive=True),
    )


def check_database_url(url: str, where: str) -> None:
    """A postgresql:// (or postgres://) URL; the error never shows the URL itself."""
    try:
        scheme = urlsplit(url.strip()).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"{where}: not a postgresql:// URL")
