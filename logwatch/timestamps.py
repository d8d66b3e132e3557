"""Timestamps at the start of log lines and in JSON fields, parsed without strptime.

Pure: no clock, no files. parse_line_start runs on every line of multi-GB logs, so it
dispatches on the first character and fixed positions before any regex, and builds
datetimes with the C constructors. Nothing here raises on bad input; it returns None.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import NamedTuple

__all__ = ["Stamp", "parse_line_start", "parse_value"]


class Stamp(NamedTuple):
    """A timestamp found at the start of a line.

    Exactly one of `when` and `clock` is set. `when` is a full datetime, aware when the
    text carried an offset or Z (or a default zone was given), else naive. `clock` is a
    time of day whose date the caller infers: with month and day set (syslog, old
    redis-server: the year is missing), or with month == day == 0 (RQ's `08:23:06`: the
    whole date is missing). A NamedTuple rather than a frozen dataclass: one is built
    for almost every line, and it costs a quarter as much.
    """

    when: datetime | None
    clock: time | None = None
    end: int = 0  # index in the line just after the timestamp
    month: int = 0
    day: int = 0


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_FRAC = r"(?:[.,](\d{1,9}))?"
_YEARLESS_TAIL = r"(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:[.,](?P<frac>\d{1,9}))?"

# 2026-03-01T12:00:00.123Z, 2026-03-01 12:00:00,123, 2026-03-01 12:00:00 +0000.
# An offset after a space needs four digits and no digit after it, so that a message
# starting with a number is not read as an offset. The match only checks the shape;
# datetime.fromisoformat (C, and 3.11 reads all these forms) builds the value.
_ISO = re.compile(
    r"(\d{4}[-/]\d\d[-/]\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?)"
    r"(Z|[+-]\d\d(?::?\d\d)?(?![\d:])| [+-]\d\d:?\d\d(?![\d:]))?"
)
_CLOCK = re.compile(r"(\d\d):(\d\d):(\d\d)" + _FRAC + r"(?![\d:])")
_EPOCH = re.compile(r"(\d{10})(?:\.(\d{1,9}))?(?=\s|$)")
# redis-server >= 3: "1234:M 01 Mar 2026 12:00:00.123 # msg"
_REDIS = re.compile(
    r"\d{1,10}:[MCSX] (\d\d) " + _MON + r" (\d{4}) (\d\d):(\d\d):(\d\d)" + _FRAC + " "
)
# redis-server 2.x: "[1234] 01 Mar 12:00:00.123 # msg" (no year)
_REDIS_OLD = re.compile(r"\[\d{1,10}\] (?P<d>\d\d) (?P<mon>" + _MON + ") " + _YEARLESS_TAIL + " ")
# syslog: "Mar  1 12:00:00 host prog[pid]: msg" (no year)
_SYSLOG = re.compile("(?P<mon>" + _MON + r") (?P<d>[ \d]\d) " + _YEARLESS_TAIL + "(?= |$)")
# common/combined log format: "[01/Mar/2026:00:00:00 +0000]"; Django's runserver and
# werkzeug write it with a space and no zone: "[01/Mar/2026 00:00:00]" (local time).
_CLF = re.compile(
    r"\[(\d\d)/" + _MON + r"/(\d{4})"
    r"(?::(\d\d):(\d\d):(\d\d) ([+-]\d{4})| (\d\d):(\d\d):(\d\d))\]"
)

_ZONES: dict[str, tzinfo] = {}
_MISSING = Stamp(None)


def _zone(text: str) -> tzinfo:
    """A fixed-offset zone from "+0530", "+05:30" or "-05"; cached, UTC for zero."""
    zone = _ZONES.get(text)
    if zone is None:
        minutes = int(text[1:3]) * 60 + (int(text[-2:]) if len(text) > 3 else 0)
        if minutes == 0:
            zone = UTC
        else:
            zone = timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))
        _ZONES[text] = zone
    return zone


def _micros(frac: str | None) -> int:
    """Microseconds from the digits after the decimal separator."""
    if not frac:
        return 0
    return int(frac[:6].ljust(6, "0"))


def _iso(line: str, pos: int, tz: tzinfo | None) -> tuple[datetime, int] | None:
    """An ISO-like date-time starting at pos, and the index just after it."""
    m = _ISO.match(line, pos)
    if m is None:
        return None
    text, offset = m.groups()
    if text[4] == "/":
        text = text.replace("/", "-", 2)
    try:
        if offset:
            return datetime.fromisoformat(text + offset.lstrip()), m.end()
        if tz is None:
            return datetime.fromisoformat(text), m.end()
        if tz is UTC:  # the zone in the text costs nothing, a replace() later does
            return datetime.fromisoformat(text + "+00:00"), m.end()
        return datetime.fromisoformat(text).replace(tzinfo=tz), m.end()
    except ValueError:  # month 13, hour 24, second 60, offset of 24 h
        return None


def _digit_start(line: str, tz: tzinfo | None) -> Stamp | None:
    """Time-only (RQ), redis-server, epoch seconds, or an access log's IP first."""
    if "." in line[1:4]:  # an IPv4 address: an access log line
        return _access_log(line, tz)
    if line[2:3] == ":":
        m = _CLOCK.match(line)
        if m is not None:
            h, mi, s, frac = m.groups()
            try:
                return Stamp(None, time(int(h), int(mi), int(s), _micros(frac)), m.end())
            except ValueError:
                return None
    m = _REDIS.match(line)
    if m is not None:
        d, mon, y, h, mi, s, frac = m.groups()
        try:
            when = datetime(
                int(y), _MONTHS[mon], int(d), int(h), int(mi), int(s), _micros(frac), tz
            )
        except ValueError:
            return None
        return Stamp(when, None, m.end() - 1)
    m = _EPOCH.match(line)
    if m is not None:
        epoch = _from_epoch(int(m[1]), _micros(m[2]))
        return None if epoch is None else Stamp(epoch, None, m.end())
    return _access_log(line, tz)


def _bracket_start(line: str, tz: tzinfo | None) -> Stamp | None:
    if line[5:6] == "-":  # gunicorn "[2026-03-01 12:00:00 +0000]", Flask "[2026-... ,123]"
        found = _iso(line, 1, tz)
        if found is None:
            return None
        after = line[found[1] : found[1] + 2]
        if after[:1] == "]":
            return Stamp(found[0], None, found[1] + 1)
        if after == ": ":  # Celery "[2026-03-01 12:00:00,123: ERROR/MainProcess]"
            close = line.find("]", found[1], found[1] + 64)
            return None if close < 0 else Stamp(found[0], None, close + 1)
        return None
    if line[3:4] == "/":  # "[01/Mar/2026:00:00:00 +0000]", "[01/Mar/2026 00:00:00]"
        return _clf(line, 0, tz)
    m = _REDIS_OLD.match(line)
    return None if m is None else _yearless(m, m.end() - 1)


def _syslog(line: str) -> Stamp | None:
    m = _SYSLOG.match(line)
    return None if m is None else _yearless(m, m.end())


def _yearless(m: re.Match[str], end: int) -> Stamp | None:
    d, mon, h, mi, s, frac = m.group("d", "mon", "h", "mi", "s", "frac")
    day = int(d)
    if not 1 <= day <= 31:
        return None
    try:
        clock = time(int(h), int(mi), int(s), _micros(frac))
    except ValueError:
        return None
    return Stamp(None, clock, end, _MONTHS[mon], day)


_CLF_CACHE: dict[str, Stamp | None] = {}


def _clf(line: str, pos: int, tz: tzinfo | None) -> Stamp | None:
    # Access logs have whole seconds and dozens of lines a second: remember the last few.
    key = line[pos : pos + 28]
    stamp = _CLF_CACHE.get(key, _MISSING)
    if stamp is _MISSING:
        if len(_CLF_CACHE) > 256:
            _CLF_CACHE.clear()
        stamp = _CLF_CACHE[key] = _parse_clf(key)
    if stamp is None:
        return None
    when = stamp.when
    if when is not None and when.tzinfo is None and tz is not None:  # no zone written
        return Stamp(when.replace(tzinfo=tz), None, stamp.end + pos)
    return stamp if pos == 0 else Stamp(when, None, stamp.end + pos)


def _parse_clf(text: str) -> Stamp | None:
    m = _CLF.match(text)
    if m is None:
        return None
    d, mon, y, h, mi, s, off, h2, mi2, s2 = m.groups()
    if off is None:  # runserver's and werkzeug's: no zone (naive: the caller's zone applies)
        h, mi, s = h2, mi2, s2
    elif int(off[1:3]) > 23:
        return None
    try:
        zone = None if off is None else _zone(off)
        when = datetime(int(y), _MONTHS[mon], int(d), int(h), int(mi), int(s), 0, zone)
    except ValueError:
        return None
    return Stamp(when, None, m.end())


def _access_log(line: str, tz: tzinfo | None) -> Stamp | None:
    """`host ident user [01/Mar/2026:00:00:00 +0000] "GET ..."`: the time is the 4th field
    (werkzeug's: `[01/Mar/2026 00:00:00]`)."""
    i = line.find(" [", 0, 300)
    if i <= 0 or line[i + 4 : i + 5] != "/" or line.count(" ", 0, i) != 2:
        return None
    return _clf(line, i + 1, tz)


def _from_epoch(seconds: int, micros: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
    except (OverflowError, OSError, ValueError):
        return None


def parse_line_start(line: str, tz: tzinfo | None = None) -> Stamp | None:
    """The timestamp that starts `line` (and so a record), or None.

    With `tz`, a full date-time written without an offset is returned aware in that
    zone (cheaper than the caller's replace()); without, it is naive.
    """
    c = line[:1]
    if "0" <= c <= "9":
        c4 = line[4:5]
        if c4 == "-" or c4 == "/":  # ISO 8601 and Python logging: the common case, inline
            found = _iso(line, 0, tz)
            return None if found is None else Stamp(found[0], None, found[1])
        return _digit_start(line, tz)
    if c == "[":
        return _bracket_start(line, tz)
    if "A" <= c <= "Z":
        return _syslog(line) or _access_log(line, tz) or _compose(line, tz)
    if "a" <= c <= "z":
        return _access_log(line, tz) or _compose(line, tz)
    if c == "\x1b":  # ANSI colours before the stamp (uvicorn, structlog's console renderer)
        m = _ANSI.match(line)
        if m is None:
            return None
        stamp = parse_line_start(line[m.end() :], tz)
        return None if stamp is None else stamp._replace(end=stamp.end + m.end())
    if c == "_" and line.startswith(_JOURNAL_EXPORT):  # journalctl -o export
        value = line[len(_JOURNAL_EXPORT) :]
        if value.isdigit() and len(value) <= 20:
            when = _epoch_number(int(value))
            return None if when is None else Stamp(when, None, len(line))
    return None


_ANSI = re.compile(r"(?:\x1b\[[0-9;]{0,16}m)+")
_JOURNAL_EXPORT = "__REALTIME_TIMESTAMP="


_COMPOSE = re.compile(r"[A-Za-z][\w.-]{0,63}\s*\| ")


def _compose(line: str, tz: tzinfo | None) -> Stamp | None:
    """`docker compose logs`: "web-1  | 2026-03-01 12:00:00,123 ERROR ...", the service's
    name before a bar; the stamp after it (the prefix stays part of the line)."""
    m = _COMPOSE.match(line)
    if m is None:
        return None
    rest = line[m.end() :]
    c = rest[:1]
    if not ("0" <= c <= "9" or c == "["):  # a stamp, not another prefix: no recursion
        return None
    stamp = parse_line_start(rest, tz)
    return None if stamp is None else stamp._replace(end=stamp.end + m.end())


_EPOCH_TEXT = re.compile(r"-?\d{1,20}(?:\.\d{1,9})?")


def parse_value(value: str | int | float) -> datetime | None:
    """A datetime from a JSON field: ISO 8601, asctime, epoch seconds/millis/micros/nanos.

    Aware when the value says its zone (epochs are UTC), naive otherwise.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _epoch_number(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _EPOCH_TEXT.fullmatch(text):
        try:
            return _epoch_number(float(text) if "." in text else int(text))
        except ValueError:
            return None
    stamp = parse_line_start(text)
    if stamp is not None and stamp.when is not None:
        return stamp.when
    try:  # the forms 3.11's fromisoformat knows that the fast path does not
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _epoch_number(value: int | float) -> datetime | None:
    """Seconds, or millis/micros/nanos told apart by magnitude (1e11 s is the year 5138)."""
    scale = 1
    magnitude = abs(value)
    if magnitude != magnitude or magnitude == float("inf"):  # NaN, infinity
        return None
    if magnitude >= 1e17:
        scale = 1_000_000_000
    elif magnitude >= 1e14:
        scale = 1_000_000
    elif magnitude >= 1e11:
        scale = 1000
    try:
        if isinstance(value, int):
            seconds, rest = divmod(value, scale)
            return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest * 1e6 / scale)
        return datetime.fromtimestamp(value / scale, UTC)
    except (OverflowError, OSError, ValueError):
        return None
