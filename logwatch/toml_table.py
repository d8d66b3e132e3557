"""Typed reads of one TOML table: a key holds the type it documents or is refused by name.

TOML has real booleans, integers and strings; `probe = "no"` is a string, and a string is
not a boolean (Python's `bool("no")` is True). Every error is one line naming the file,
the section, the key and the value as written, except a secret, of which only the type is
named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NoReturn

from logwatch.durations import MAX_DURATION_S, parse_duration
from logwatch.errors import ConfigError

#: Longest duration a key accepts: ten years. Longer ones overflow the datetime arithmetic
#: of the grouper (an incident that can never resolve is a mistake, not a setting).


def shown(value: object) -> str:
    """A value as the user wrote it in TOML: `true`, `'no'`, `[1, 2]`, `inf`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {shown(v)}" for k, v in value.items()) + "}"
    return repr(value)


def kind(value: object) -> str:
    """What a value is, for a secret's error (the value itself is never repeated)."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}  # fmt: skip
    return names.get(type(value), f"a {type(value).__name__}")


class TomlTable:
    """One section of a config file, read key by key with errors that name where."""

    def __init__(self, source: str, section: str, table: Mapping[str, Any]) -> None:
        self.source, self.section, self.table = source, section, table

    def where(self, key: str) -> str:
        """`file: [section] key` (just the key for a table with no file)."""
        return f"{self.source}: [{self.section}] {key}" if self.section else key

    def refuse(self, key: str, expected: str, value: object, *, secret: bool = False) -> NoReturn:
        """Raise the one-line error for a value of the wrong type or range."""
        got = kind(value) if secret else shown(value)
        raise ConfigError(f"{self.where(key)}: expected {expected}, got {got}")

    def flag(self, key: str, default: bool) -> bool:
        """A TOML boolean (`true`/`false`), nothing else."""
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            self.refuse(key, "true or false", value)
        return value

    def string(self, key: str, *, secret: bool = False) -> str | None:
        """A non-empty string, stripped; None when the key is absent."""
        value = self.table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.refuse(key, "a non-empty string", value, secret=secret)
        return value.strip()

    def strings(self, key: str, default: list[str], what: str) -> list[str]:
        """A string or a list of strings."""
        value = self.table.get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.refuse(key, what, value)
        return list(value)

    def integer(self, key: str, default: int, *, minimum: int) -> int:
        """An integer (not a boolean, not a float) of at least `minimum`."""
        value = self.table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            self.refuse(key, expected, value)
        return value

    def duration(self, key: str, default: float, *, positive: bool = False) -> float:
        """Seconds from `90`, `1.5`, `"90s"`, `"2m"`...: finite, at most MAX_DURATION_S."""
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.refuse(key, 'a duration (e.g. 90, "90s", "5m", "2h")', value)
        if isinstance(value, float) and not math.isfinite(value):
            self.refuse(key, "a finite duration", value)
        seconds = parse_duration(value, what=self.where(key), bounded=False)  # refused below
        if seconds > MAX_DURATION_S:
            self.refuse(key, "a duration of at most 3650d", value)
        if positive and seconds <= 0:
            raise ConfigError(f"{self.where(key)}: must be more than 0")
        return seconds
