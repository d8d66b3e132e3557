"""The one place that reads the wall clock, and the parsing of times relative to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from logwatch.durations import parse_duration
from logwatch.errors import ConfigError


class Clock(Protocol):
    """Something that tells the current time (aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Current time, aware UTC."""
        return datetime.now(UTC)


def parse_when(value: str, *, now: datetime, tz: tzinfo, option: str = "time") -> datetime:
    """An ISO time (naive means `tz`) or a duration back from now (`2h`, `3d`) -> aware UTC."""
    text = value.strip()
    try:
        seconds = parse_duration(text)
    except ConfigError:
        pass
    else:
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{option}: invalid time {value!r} (expected ISO 8601 like 2026-03-01T12:00 or a"
            " duration back from now like 2h, 3d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)
