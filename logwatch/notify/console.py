"""Local notifiers: a readable line per change on a stream, and JSON lines to a file."""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from logwatch.errors import ConfigError
from logwatch.notify import Delivered, Failed, Notification, Outcome, Retry
from logwatch.notify.render import plain_date, rate_per_min
from logwatch.report import format_duration, incident_dict

RETRY_HINT_S = 5.0


def _printable(text: str) -> str:
    # A target taken from a log line must not move the cursor or clear the terminal.
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def console_line(n: Notification) -> str:
    """`2026-03-01 02:54:57 UTC  OPENED    critical connection 127.0.0.1:6379  ...`."""
    inc = n.incident
    label = "REOPENED" if n.kind == "opened" and inc.reopened else n.kind.upper()
    head = (
        f"{plain_date(n.at)}  {label:<9} {inc.severity.label:<8} {_printable(inc.category):<11}"
        f" {_printable(inc.target)}"
    )
    if n.kind == "test":
        return f"{plain_date(n.at)}  TEST      logwatch notify-test: console notifications work"
    if inc.status == "resolved":
        return f"{head}  after {format_duration(inc.duration_s)}, {inc.events:,} events  {inc.id}"
    return f"{head}  {inc.events:,} events ({rate_per_min(inc):,.1f}/min)  {inc.id}"


def _write(stream: TextIO, line: str, lock: threading.Lock, what: str) -> Outcome:
    try:
        with lock:
            stream.write(line)
            stream.flush()
    except BrokenPipeError:
        return Failed(reason=f"{what}: the reader went away (broken pipe)")
    except (OSError, ValueError) as exc:  # ValueError: the stream was closed
        return Retry(after_s=RETRY_HINT_S, reason=f"{what}: cannot write: {exc}")
    return Delivered()


class ConsoleNotifier:
    """One human-readable line per change, on stderr by default."""

    def __init__(self, stream: TextIO | None = None, *, name: str = "console") -> None:
        self.name = name
        self._stream = stream
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "ConsoleNotifier()"

    def send(self, n: Notification) -> Outcome:
        """Write the line and flush."""
        stream = self._stream or sys.stderr
        return _write(stream, console_line(n) + "\n", self._lock, self.name)


def jsonl_line(n: Notification) -> str:
    """`{"type": "incident.opened", "at": ISO, "incident": INCIDENT, "seq": N}`, one line.

    `seq` is the outbox row id: increasing, so a reader (and a restarted agent) can tell
    which changes it already has.
    """
    body = {
        "type": f"incident.{n.kind}",
        "at": n.at.isoformat(),
        "incident": incident_dict(n.incident),
        "seq": n.id,
    }
    return json.dumps(body, ensure_ascii=False) + "\n"


def last_seq(path: Path) -> int:
    """The highest `seq` in the last lines of a JSON-lines file (0 if none)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            tail = fh.read().splitlines()
    except OSError:
        return 0
    for raw in reversed(tail):
        try:
            seq = json.loads(raw).get("seq")
        except (ValueError, AttributeError):
            continue
        if isinstance(seq, int):
            return seq
    return 0


class JsonlNotifier:
    """Appends one JSON line per change to a file (never truncated) or stdout (`-`)."""

    def __init__(self, path: str | Path, *, name: str = "jsonl") -> None:
        self.name = name
        self.path = str(path)
        self._lock = threading.Lock()
        self._owned = self.path != "-"
        # Opened now so a bad path is a startup error, in append mode so nothing is lost.
        self._stream: TextIO = _open_private(self.path) if self._owned else sys.stdout
        # A kill between writing a line and recording it as sent would repeat it on
        # restart: rows the file already holds are skipped (exactly once in the file).
        self._written = last_seq(Path(self.path)) if self._owned else 0

    def __repr__(self) -> str:
        return f"JsonlNotifier(path={self.path!r})"

    def send(self, n: Notification) -> Outcome:
        """Append the line and flush (unless the file already holds it)."""
        if n.id and n.id <= self._written:
            return Delivered()
        outcome = _write(self._stream, jsonl_line(n), self._lock, f"{self.name} {self.path}")
        if isinstance(outcome, Delivered) and n.id:
            self._written = n.id
        return outcome

    def close(self) -> None:
        """Close the file (stdout is left open)."""
        if self._owned and not self._stream.closed:
            with self._lock:
                self._stream.close()


def _open_private(path: str) -> TextIO:
    """Append to `path`, creating it mode 600: its lines hold log excerpts.

    Never through a symlink (O_NOFOLLOW): whoever can write the directory must not be able
    to point the agent's appends at another file.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise ConfigError(
                f"--jsonl {path}: is a symbolic link (to {os.readlink(path)!r}); logwatch"
                " does not write through one: name the file itself"
            ) from None
        raise
    return open(fd, "a", encoding="utf-8")
