"""Durations as people write them in configs and options: `90`, `"90s"`, `"2m"`, `"1.5h"`."""

from __future__ import annotations

import re

from logwatch.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: object, *, what: str = "duration") -> float:
    """Seconds from `90`, `"90s"`, `"2m"`, `"1.5h"`, `"3d"`; ConfigError names the value."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return float(m.group(1)) * _UNITS[m.group(2)]
    raise ConfigError(f"{what}: invalid duration {value!r} (expected e.g. 90s, 5m, 2h, 3d)")
