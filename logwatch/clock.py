"""The one place that reads the wall clock, and the parsing of times relative to it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logwatch.durations import is_duration, parse_duration
from logwatch.errors import ConfigError

_DAYS = {"today": 0, "yesterday": 1}


def check_range(since: datetime | None, until: datetime | None) -> None:
    """ConfigError when --since is later than --until (nothing could be in range)."""
    if since is not None and until is not None and since > until:
        raise ConfigError(
            f"--since ({since.isoformat()}) is later than --until ({until.isoformat()})"
        )


class Clock(Protocol):
    """Something that tells the current time (aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Current time, aware UTC."""
        return datetime.now(UTC)


def shift(moment: datetime, seconds: float, *, option: str, value: str) -> datetime:
    """moment + seconds; ConfigError naming the option and value when that leaves the
    years datetime can hold (1-9999)."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        raise ConfigError(f"{option}: {value!r} is out of range (years 1 to 9999)") from None


def parse_when(value: str, *, now: datetime, tz: tzinfo, option: str = "time") -> datetime:
    """An ISO time (naive means `tz`), a duration back from now (`2h`, `3d`), or `today` /
    `yesterday` (the start of that day in `tz`) -> aware UTC. ConfigError, naming the
    option and value, for anything else and for a time outside years 1-9999 in UTC."""
    try:
        return _parse_when(value, now=now, tz=tz, option=option)
    except OverflowError:
        raise ConfigError(f"{option}: {value!r} is out of range (years 1 to 9999)") from None


def _parse_when(value: str, *, now: datetime, tz: tzinfo, option: str) -> datetime:
    text = value.strip()
    day = _DAYS.get(text.lower())
    if day is not None:  # Perl Logwatch's ranges: the start of the day, in `tz`
        midnight = datetime.combine(now.astimezone(tz).date() - timedelta(days=day), time())
        return midnight.replace(tzinfo=tz).astimezone(UTC)
    if is_duration(text):  # a bare number is refused for its missing unit
        return now - timedelta(seconds=parse_duration(text, what=option))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{option}: invalid time {value!r} (expected ISO 8601 like 2026-03-01T12:00 or a"
            " duration back from now like 2h, 3d, or today, yesterday)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def parse_timezone(name: str) -> tzinfo:
    """A zone from its IANA name (`Europe/Paris`) or `UTC`; ConfigError otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown timezone {name!r} (expected an IANA name like UTC or Europe/Paris)"
        ) from None
