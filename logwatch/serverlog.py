"""redis-server's own log -> its lifecycle: started, ready, signals, shutdown, role changes,
background save failures, memory and client limits, dataset loading.

redis-server writes `PID:ROLE DD Mon YYYY HH:MM:SS.mmm LEVEL message` (ROLE is M, S, C or
X), and from a signal handler `PID:signal-handler (EPOCH) Received SIGTERM ...`. Only the
lines that say what the server went through are kept; its chatter (each save, each CoW
figure) is not. A SIGKILL leaves no line at all: the next "starting" is the restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from logwatch.errors import SourceError
from logwatch.redact import Redactor
from logwatch.sources.reader import is_binary, open_log, read_lines

logger = logging.getLogger(__name__)

_LINE = re.compile(
    r"^(?P<pid>\d+):(?P<role>[MSCX]) (?P<stamp>\d{1,2} [A-Z][a-z]{2} \d{4} "
    r"\d{2}:\d{2}:\d{2})(?:\.(?P<ms>\d{1,6}))? [.\-*#] (?P<message>.*)$"
)
_SIGNAL = re.compile(r"^(?P<pid>\d+):signal-handler \((?P<epoch>\d{9,11})\) (?P<message>.*)$")

# (kind, what it means, the messages that say it), first match wins
_KINDS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (kind, meaning, re.compile("|".join(messages)))
    for kind, meaning, messages in (
        ("start", "redis-server starting", ["Redis is starting", "Server started, Redis version"]),
        ("ready", "ready to accept connections", ["Ready to accept connections"]),
        ("signal", "signal received", ["Received SIG[A-Z]+"]),
        ("shutdown", "shutting down", ["User requested shutdown", "ready to exit", "[Ss]hutdown"]),
        (
            "replica",
            "became a replica",
            [r"REPLICAOF \S+ enabled", "Before turning into a replica"],
        ),
        ("master", "became master", ["MASTER MODE enabled"]),
        (
            "save-failed",
            "background save failed",
            [
                "Background saving error",
                "Write error saving DB",
                "Failed opening the temp RDB file",
                "Can't save in background",
                "MISCONF",
            ],
        ),
        (
            "oom",
            "out of memory",
            [r"\bOOM\b", "[Oo]ut [Oo]f [Mm]emory", "maxmemory", "Cannot allocate memory"],
        ),
        ("maxclients", "client limit", ["max(?:imum)? number of clients", "maxclients"]),
        (
            "loading",
            "loading the dataset",
            [
                "Loading RDB",
                "DB loaded from disk",
                "Done loading",
                "LOADING",
                "Loading the dataset",
            ],
        ),
    )
)
KINDS = {kind: meaning for kind, meaning, _ in _KINDS}
# Kinds that say the server was not serving well: drawn louder on the timeline.
TROUBLE = frozenset({"signal", "shutdown", "save-failed", "oom", "maxclients"})
# One search decides whether a line is worth a closer look.
_WANTED = re.compile("|".join(f"(?:{p.pattern})" for _, _, p in _KINDS))
_MONTHS = {
    m: n
    for n, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
HEAD_BYTES = 4096
MAX_LINE = 64 << 10
MAX_TEXT = 240


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerEvent:
    """One thing redis-server said about itself."""

    time: datetime  # aware UTC
    kind: str  # one of KINDS
    text: str  # the message, redacted and shortened
    source: str  # the file, as the user named it
    pid: int
    role: str = ""  # M (master), S (replica), C (child: a save), X (sentinel)


def looks_like_server_log(head: bytes) -> bool:
    """Whether a file's first lines are redis-server's own log."""
    lines = [ln for ln in head.decode("utf-8", "replace").splitlines()[:20] if ln.strip()]
    if not lines:
        return False
    hits = sum(1 for ln in lines if _LINE.match(ln) or _SIGNAL.match(ln))
    return hits * 2 >= len(lines)


def classify(message: str) -> str | None:
    """The lifecycle kind of a redis-server message, or None for chatter."""
    if _WANTED.search(message) is None:
        return None
    for kind, _, pattern in _KINDS:
        if pattern.search(message):
            return kind
    return None


def parse_lines(
    lines: Iterable[str], *, source: str, tz: tzinfo, redact: Redactor
) -> Iterator[ServerEvent]:
    """The lifecycle events of redis-server log lines (others, and garbage, are skipped)."""
    for line in lines:
        m = _LINE.match(line)
        if m is not None:
            message = m["message"]
            kind = classify(message)
            if kind is None:
                continue
            when = _stamp(m["stamp"], m["ms"], tz)
            if when is None:
                continue
            yield ServerEvent(
                time=when, kind=kind, text=redact(message)[:MAX_TEXT], source=source,
                pid=int(m["pid"]), role=m["role"],
            )  # fmt: skip
            continue
        s = _SIGNAL.match(line)
        if s is not None and (kind := classify(s["message"])) is not None:
            yield ServerEvent(
                time=datetime.fromtimestamp(int(s["epoch"]), UTC),
                kind=kind, text=redact(s["message"])[:MAX_TEXT], source=source,
                pid=int(s["pid"]),
            )  # fmt: skip


def _stamp(stamp: str, ms: str | None, tz: tzinfo) -> datetime | None:
    day, month, year, clock = stamp.split(" ")
    try:
        hh, mm, ss = (int(x) for x in clock.split(":"))
        micro = int((ms or "0").ljust(6, "0")[:6])
        naive = datetime(int(year), _MONTHS[month], int(day), hh, mm, ss, micro)
    except (KeyError, ValueError):
        return None
    return naive.replace(tzinfo=tz).astimezone(UTC)


def read_server_events(
    files: Iterable[tuple[Path, str]],
    *,
    tz: tzinfo,
    redact: Redactor,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ServerEvent]:
    """The lifecycle of every redis-server log among (path, label) files, by time; other
    files are passed over after a look at their head."""
    found: list[ServerEvent] = []
    for path, label in files:
        try:
            with open_log(path) as stream:
                head = stream.peek(HEAD_BYTES)[:HEAD_BYTES] if hasattr(stream, "peek") else b""
                if is_binary(head) or not looks_like_server_log(head):
                    continue
                lines = (ln.text for ln in read_lines(stream, max_line_bytes=MAX_LINE, final=True))
                for event in parse_lines(lines, source=label, tz=tz, redact=redact):
                    if (since is None or event.time >= since) and (
                        until is None or event.time <= until
                    ):
                        found.append(event)
        except (OSError, SourceError, EOFError, ValueError) as exc:
            logger.info("%s: not read for the server lifecycle: %s", label, exc)
    return sorted(found, key=lambda e: (e.time, e.source))
