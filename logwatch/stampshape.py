"""Where a file's timestamps sit: at the start of its lines, or after a short prefix.

Most formats start a line with its stamp. Some put a prefix first: Django's documented
"verbose" format (`ERROR 2026-12-01 04:54:51,411 log 23222 ...`), `[ERROR] 2026-...`,
`<pid> 2026-...`, ANSI colours. A stamp is looked for after a prefix only in files whose
first lines show that shape, and only after that many prefix tokens, so a date quoted in
a message (`ERROR job for 2026-03-01 12:00:00 failed`) is not taken for a record's time in
a file whose stamps sit elsewhere. The shape is learned from a file's head, once, so every
reader of the file (the fast scan's ranges, the reference scan, the tailer) agrees on it.
Pure: no files, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import tzinfo
from functools import lru_cache
from typing import NamedTuple

from logwatch.timestamps import Stamp, parse_line_start

__all__ = [
    "LEVEL_WORDS",
    "START",
    "StampShape",
    "learn_shape",
    "line_shape",
    "parse_stamp",
    "prefixed_stamp",
]

MAX_PREFIX_TOKENS = 3
HEAD_LINES = 400  # lines of a file's head looked at to learn its shape

# Level words of Python logging, syslog and the usual frameworks (matched in any case).
LEVEL_WORDS = (
    "DEBUG|INFO|INFORMATION|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|CRIT|FATAL|ALERT"
    "|EMERG|EMERGENCY|TRACE|EXCEPTION|SEVERE"
)
_LEVEL = f"(?:{LEVEL_WORDS})"
# One prefix token and the blanks after it. Each alternative is bounded and anchored: the
# match is linear in the token. Kinds: 1 a level word (ERROR, [error], <ERROR>, ERROR:),
# 2 a bracketed tag or thread name ([MainThread], [1234]) or RFC 5424's priority and
# version (`<11>1 2026-...`, rsyslog's RSYSLOG_SyslogProtocol23Format), 3 a number (pid,
# pid:thread), 4 a logger or module name (django.request, app:). No "=", "@" or "/" in
# any: a prefix is never a key=value pair or a URL, so it holds no secret.
_TOKEN = re.compile(
    r"(?:\x1b\[[0-9;]{0,16}m)*"
    r"(?:(?P<level>[\[<(]?(?i:" + _LEVEL + r")[\]>)]?:?)"
    r"|(?P<tag>\[[\w.:-]{1,64}\]|<\d{1,3}>\d{1,2})"
    r"|(?P<number>\d{1,10}(?::\w{1,20})?:?)"
    r"|(?P<name>[A-Za-z_][\w.-]{0,63}:?))"
    r"(?:\x1b\[[0-9;]{0,16}m)*"
    r"[ \t]{1,16}"
)


class StampShape(NamedTuple):
    """Where a file's stamps sit: at the start (0), or after this many prefix tokens."""

    prefix_tokens: int = 0


START = StampShape(0)


def prefixed_stamp(line: str, tz: tzinfo | None, tokens: int | None = None) -> Stamp | None:
    """A stamp after a prefix of `tokens` tokens (any count up to 3 when None), one of them
    a level word or all of them tags and numbers; its end is an index into `line`."""
    found = _prefixed(line, tz, tokens)
    return None if found is None else found[0]


def _prefixed(line: str, tz: tzinfo | None, tokens: int | None) -> tuple[Stamp, int] | None:
    """The stamp after the prefix, and how many tokens the prefix has."""
    pos = 0
    level = False
    names = 0
    most = MAX_PREFIX_TOKENS if tokens is None else tokens
    for n in range(1, most + 1):
        m = _TOKEN.match(line, pos)
        if m is None:
            return None
        kind = m.lastgroup
        if kind == "level":
            level = True
        elif kind == "name":
            names += 1
        pos = m.end()
        if tokens is not None and n < tokens:
            continue
        if names and not level:
            continue  # words before a date and no level word: a message, not a prefix
        rest = line[pos:]
        c = rest[:1]
        if not ("0" <= c <= "9" or c == "["):
            continue
        stamp = parse_line_start(rest, tz)
        if stamp is not None:
            return stamp._replace(end=stamp.end + pos), n
    return None


def line_shape(line: str, tz: tzinfo | None) -> StampShape | None:
    """Where this line's stamp sits, as learn_shape would take it: START for one at its
    start, the prefix's shape for one after a prefix; None when it shows no stamp."""
    if parse_line_start(line, tz) is not None:
        return START
    c = line[:1]
    if not c or c in " \t{":
        return None
    found = _prefixed(line, tz, None)
    return None if found is None else StampShape(found[1])


def parse_stamp(line: str, tz: tzinfo | None, shape: StampShape) -> Stamp | None:
    """The stamp that starts a record at `line` in a file of this shape, or None."""
    stamp = parse_line_start(line, tz)
    if stamp is None and shape.prefix_tokens:
        c = line[:1]
        if c and c not in " \t{":
            return prefixed_stamp(line, tz, shape.prefix_tokens)
    return stamp


SHAPE_HEAD_BYTES = 4096  # a live file's head read to learn its shape


@lru_cache(maxsize=256)
def shape_of_head(head: bytes) -> StampShape:
    """The shape learned from a file's first bytes (the tailer's view of it; cached, as
    the same head is looked at each time a record assembler is made for the file)."""
    raws = head.split(b"\n")
    if len(head) >= SHAPE_HEAD_BYTES:
        raws.pop()  # a line cut by the read
    return learn_shape(r.decode("utf-8", "replace").rstrip("\r") for r in raws)


def learn_shape(lines: Iterable[str], tz: tzinfo | None = None) -> StampShape:
    """The shape of a file from the lines of its head: a prefix shape if a line shows a
    stamp after a prefix that holds a level word, else START.

    Files that mix both (gunicorn's `[2026-...]` lines and Django's `ERROR 2026-...`
    lines in one captured stderr) get the prefix shape: start stamps always count.
    """
    for n, line in enumerate(lines):
        if n >= HEAD_LINES:
            break
        c = line[:1]
        if not c or c in " \t{" or parse_line_start(line, tz) is not None:
            continue
        found = _prefixed(line, tz, None)
        if found is not None:
            return StampShape(found[1])
    return START
