"""Durations as people write them in configs and options: `90`, `"90s"`, `"2m"`, `"1.5h"`.

A TOML number is seconds; a string needs its unit (`"0"` aside): `--since 90` could mean
anything, so it is refused rather than guessed. Nor is a duration longer than ten years
(`99999999999d`): no window, silence or look-back is that long, and datetime arithmetic
with one overflows (a traceback instead of a one-line error).
"""

from __future__ import annotations

import re

from logwatch.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
MAX_DURATION_S = 10 * 365 * 86400.0  # 3650d: options and config values alike


def _in_range(seconds: float, value: object, what: str, bounded: bool) -> float:
    if bounded and not seconds <= MAX_DURATION_S:  # inf and nan (a TOML float) too
        raise ConfigError(f"{what}: duration {value!r} is out of range (at most 3650d)")
    return seconds


def is_duration(text: str) -> bool:
    """Whether text is written as a duration (a number and maybe a unit), in range or not."""
    return _DURATION.match(text) is not None


def parse_duration(value: object, *, what: str = "duration", bounded: bool = True) -> float:
    """Seconds from `90`, `"90s"`, `"2m"`, `"1.5h"`, `"3d"`; ConfigError names the value
    (and a string without a unit, and, when bounded, one longer than MAX_DURATION_S)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return _in_range(float(value), value, what, bounded)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        amount = float(m.group(1))
        if m.group(2) is None and amount:
            # "90" in a string or an option: seconds, minutes or days? Say which.
            raise ConfigError(
                f"{what}: duration {value!r} has no unit (write e.g. {m.group(1)}s,"
                f" {m.group(1)}m, {m.group(1)}h or {m.group(1)}d)"
            )
        return _in_range(amount * _UNITS[m.group(2)], value, what, bounded)
    raise ConfigError(f"{what}: invalid duration {value!r} (expected e.g. 90s, 5m, 2h, 3d)")
