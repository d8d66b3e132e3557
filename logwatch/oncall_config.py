"""`[[maintenance]]` windows and `[[inhibit]]` rules from the config, and when they apply.

[[maintenance]]                       # dates: the migration tonight
name = "redis-migration"
start = 2026-03-01T22:00:00Z
end = 2026-03-02T02:00:00Z
target = "10.0.0.5:6379"              # optional; so is category

[[maintenance]]                       # weekly: the backup every Sunday night
name = "nightly-backup"
weekly = "sun 02:00-03:00"            # days: mon..sun, mon-fri, sat,sun, daily
timezone = "Europe/Paris"             # default: [logwatch] timezone
category = "timeout"

[[inhibit]]                           # refused connections hide the timeouts they cause
source = "connection"
target = ["timeout", "loading"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from logwatch.clock import parse_timezone
from logwatch.errors import ConfigError
from logwatch.oncall import Silence
from logwatch.toml_table import TomlTable, shown

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(
    r"^\s*(?P<days>daily|\*|[a-z]{3}(?:\s*[-,]\s*[a-z]{3})*)\s+"
    r"(?P<start>\d{1,2}:\d\d)\s*-\s*(?P<end>\d{1,2}:\d\d)\s*$"
)
_WINDOW_KEYS = {"name", "start", "end", "weekly", "timezone", "category", "target", "reason"}
_INHIBIT_KEYS = {"source", "target"}


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceWindow:
    """A time when incidents that match are recorded but not notified."""

    name: str
    reason: str = ""
    categories: frozenset[str] | None = None  # None: any
    target: str | None = None
    start: datetime | None = None  # dates...
    end: datetime | None = None
    days: frozenset[int] = frozenset()  # ...or weekly: weekdays (0 = Monday), local times
    daily_start: time | None = None
    daily_end: time | None = None
    tz: tzinfo | None = None

    def bounds(self, at: datetime) -> tuple[datetime, datetime] | None:
        """(start, end) of the stretch of the window that holds `at`, if one does."""
        if self.start is not None and self.end is not None:
            return (self.start, self.end) if self.start <= at < self.end else None
        if self.daily_start is None or self.daily_end is None or self.tz is None:
            return None
        local = at.astimezone(self.tz)
        for day in (local.date() - timedelta(days=1), local.date()):
            if day.weekday() not in self.days:
                continue
            start, end = self._stretch(day)
            if start <= at < end:
                return start, end
        return None

    def _stretch(self, day: date) -> tuple[datetime, datetime]:
        assert self.daily_start is not None and self.daily_end is not None
        start = datetime.combine(day, self.daily_start, self.tz)
        end = datetime.combine(day, self.daily_end, self.tz)
        if end <= start:  # 22:00-02:00 ends the next day
            end = datetime.combine(day + timedelta(days=1), self.daily_end, self.tz)
        return start, end

    def silence_at(self, at: datetime) -> Silence | None:
        """The window as a silence, when `at` falls in it."""
        bounds = self.bounds(at)
        if bounds is None:
            return None
        categories = self.categories
        return Silence(
            id=f"maint:{self.name}",
            kind="maintenance",
            by="config",
            reason=self.reason or self.name,
            starts=bounds[0],
            ends=bounds[1],
            category=next(iter(categories)) if categories and len(categories) == 1 else None,
            target=self.target,
        )

    def covers(self, category: str, target: str) -> bool:
        """True when its category and target filters let an incident through."""
        return (self.categories is None or category in self.categories) and (
            self.target is None or self.target == target
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class InhibitRule:
    """While an incident of a source category is open on a Redis, incidents of the target
    categories on that Redis are recorded but not notified (Alertmanager's inhibit_rules,
    with `equal: [target]`)."""

    sources: frozenset[str]
    targets: frozenset[str]


def parse_windows(value: object, *, source: str, tz: tzinfo) -> tuple[MaintenanceWindow, ...]:
    """`[[maintenance]]` tables; errors name the window and key."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"{source}: [[maintenance]] must be tables ([[maintenance]] ...)")
    windows = []
    for i, item in enumerate(value, 1):
        t = TomlTable(source, f"maintenance {i}", item)
        unknown = sorted(set(item) - _WINDOW_KEYS)
        if unknown:
            raise ConfigError(f"{source}: [maintenance {i}] unknown key {unknown[0]!r}")
        name = t.string("name") or f"window-{i}"
        common: dict[str, Any] = {
            "name": name,
            "reason": t.string("reason") or "",
            "categories": _names(t, "category", item.get("category", "*")),
            "target": t.string("target"),
        }
        if "weekly" in item:
            if "start" in item or "end" in item:
                raise ConfigError(f"{t.where('weekly')}: either weekly or start/end, not both")
            windows.append(_weekly(t, item, common, tz))
            continue
        start, end = _moment(t, item, "start", tz), _moment(t, item, "end", tz)
        if end <= start:
            raise ConfigError(f"{t.where('end')}: must be after start ({shown(item['start'])})")
        windows.append(MaintenanceWindow(start=start, end=end, **common))
    return tuple(windows)


def _weekly(t: TomlTable, item: Mapping[str, Any], common: dict[str, Any],
            tz: tzinfo) -> MaintenanceWindow:  # fmt: skip
    text = item["weekly"]
    m = _WEEKLY.match(text.lower()) if isinstance(text, str) else None
    if m is None:
        t.refuse("weekly", 'a schedule like "sun 02:00-03:00" or "mon-fri 22:00-23:30"', text)
    days = _days(t, m["days"])
    zone = tz
    if "timezone" in item:
        zone = parse_timezone(str(item["timezone"]))
    return MaintenanceWindow(
        days=days,
        daily_start=_clock(t, m["start"]),
        daily_end=_clock(t, m["end"]),
        tz=zone,
        **common,
    )


def _days(t: TomlTable, text: str) -> frozenset[int]:
    if text in ("daily", "*"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in re.split(r"\s*,\s*", text):
        ends = re.split(r"\s*-\s*", part)
        if not all(e in _DAYS for e in ends) or len(ends) > 2:
            t.refuse("weekly", f"days among {', '.join(_DAYS)} (or daily)", part)
        first, last = _DAYS.index(ends[0]), _DAYS.index(ends[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days.update(span)
    return frozenset(days)


def _clock(t: TomlTable, text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours > 23 or minutes > 59:
        t.refuse("weekly", "times from 00:00 to 23:59", text)
    return time(hours, minutes)


def _moment(t: TomlTable, item: Mapping[str, Any], key: str, tz: tzinfo) -> datetime:
    value = item.get(key)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            t.refuse(key, "a date and time (2026-03-01T22:00:00Z)", item.get(key))
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        t.refuse(key, "a date and time (2026-03-01T22:00:00Z), or use weekly", value)
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _names(t: TomlTable, key: str, value: object) -> frozenset[str] | None:
    if value == "*":
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        t.refuse(key, '"*", a category or a list of categories', value)
    return frozenset(v.strip() for v in value)


def parse_inhibit(value: object, *, source: str) -> tuple[InhibitRule, ...]:
    """`[[inhibit]]` tables: `source` and `target` categories."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"{source}: [[inhibit]] must be tables ([[inhibit]] ...)")
    rules = []
    for i, item in enumerate(value, 1):
        t = TomlTable(source, f"inhibit {i}", item)
        unknown = sorted(set(item) - _INHIBIT_KEYS)
        if unknown:
            raise ConfigError(f"{source}: [inhibit {i}] unknown key {unknown[0]!r}")
        sources = _names(t, "source", item.get("source"))
        targets = _names(t, "target", item.get("target"))
        if sources is None or targets is None:
            raise ConfigError(f"{source}: [inhibit {i}] needs named source and target categories")
        if both := sorted(sources & targets):
            raise ConfigError(f"{source}: [inhibit {i}] a category cannot hide itself: {both[0]!r}")
        rules.append(InhibitRule(sources=sources, targets=targets))
    return tuple(rules)


@dataclass(frozen=True, slots=True, kw_only=True)
class OnCallSettings:
    """Maintenance windows, inhibition rules, reminders and the probe's wait."""

    maintenance: Sequence[MaintenanceWindow] = ()
    inhibit: Sequence[InhibitRule] = ()
    repeat_interval_s: float = 1800.0  # 0: no reminders
    probe_wait_s: float = 2.0  # longest the root waits for the probe's verdict
