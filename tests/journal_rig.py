"""A journal of the test's own, written by systemd's tools: no journald runs here.

`write_journal` turns (time, unit, message) entries into systemd's journal export format
and has `systemd-journal-remote --output=FILE` append them to a real journal file, which
`journalctl --file` (and so logwatch) reads as it reads the system's journal.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

JOURNAL_REMOTE = Path("/usr/lib/systemd/systemd-journal-remote")
BOOT = "0123456789abcdef0123456789abcdef"
STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})")
CLOCK = re.compile(r"(\d\d:\d\d:\d\d) ")  # RQ's time-only stamps


class Entry(NamedTuple):
    """One journal entry to write."""

    time: datetime
    unit: str
    message: str


def write_journal(path: Path, entries: list[Entry]) -> None:
    """Append the entries to the journal file at `path` (created if missing)."""
    chunks = []
    for entry in entries:
        micros = int(entry.time.timestamp() * 1e6)
        name = entry.unit.split("@")[0].removesuffix(".service")
        chunks.append(
            f"__REALTIME_TIMESTAMP={micros}\n__MONOTONIC_TIMESTAMP={micros % 10**9}\n"
            f"_BOOT_ID={BOOT}\n_HOSTNAME=app-1\n_SYSTEMD_UNIT={entry.unit}\n"
            f"SYSLOG_IDENTIFIER={name}\n_TRANSPORT=stdout\nPRIORITY=6\n"
            f"MESSAGE={entry.message}\n\n"
        )
    subprocess.run(
        [str(JOURNAL_REMOTE), f"--output={path}", "-"],
        input="".join(chunks).encode(),
        check=True,
        capture_output=True,
        timeout=60,
    )


def entries_of(
    lines: list[str], unit: str, *, day: str = "2026-11-26", shift: timedelta = timedelta()
) -> list[Entry]:
    """A log's lines as a unit's stdout entries: each at its own stamp (a time-only one on
    `day`; all moved by `shift`), traceback lines a microsecond apart after it."""
    out: list[Entry] = []
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for text in lines:
        m = STAMP.match(text)
        c = CLOCK.match(text)
        if m is not None:
            when = datetime.fromisoformat(f"{m[1]}.{m[2]}").replace(tzinfo=UTC)
        elif c is not None:
            when = datetime.fromisoformat(f"{day}T{c[1]}").replace(tzinfo=UTC)
        else:
            when += timedelta(microseconds=1)
        out.append(Entry(when + shift, unit, text))
    return out


def interleave(a: list[Entry], b: list[Entry]) -> list[Entry]:
    """Two units' entries in journal order (by time; a first on a tie)."""
    return sorted(a + b, key=lambda e: e.time)
