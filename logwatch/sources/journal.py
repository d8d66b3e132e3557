"""systemd journal entries -> records: per-unit reassembly, the entry's time, a resume point.

Under systemd an app's stdout and stderr go to the journal one line per entry, so a
traceback is as many entries, interleaved with other units' entries. Each unit is
assembled on its own; a record takes the time of its first entry (the journal's, to the
microsecond) and is named `journal/<unit>`.

Where a restart resumes (`JournalPosition`): the journal's cursor just before the earliest
entry of a record still being assembled, plus, per unit, how many entries after that
cursor were already part of emitted records. A restart re-reads from the cursor and passes
over those, so an entry is neither lost (a traceback cut by the stop is read whole again)
nor repeated (another unit's record emitted meanwhile is not emitted twice).
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from logwatch.model import LogLine, Record
from logwatch.records import RecordAssembler
from logwatch.store import Cursor

__all__ = ["JournalAssembler", "JournalEntry", "JournalPosition", "parse_entry"]

JOURNAL_DEV = -1  # the dev of a stream's cursor row: no file has it
_MAX_SPAN = 50_000  # entries held for a resume point before pending records are flushed


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalEntry:
    """One journal entry as journalctl -o json gives it."""

    cursor: str
    time: datetime  # aware UTC
    unit: str  # systemd unit, else syslog identifier, else command
    message: str


def parse_entry(line: str | bytes) -> JournalEntry | None:
    """An entry from one line of `journalctl -o json`; None for anything else."""
    try:
        fields = json.loads(line)
    except (ValueError, RecursionError):  # nesting past the recursion limit too
        return None
    if not isinstance(fields, dict):
        return None
    cursor = fields.get("__CURSOR")
    if not isinstance(cursor, str):
        return None
    stamp = fields.get("_SOURCE_REALTIME_TIMESTAMP") or fields.get("__REALTIME_TIMESTAMP")
    try:
        when = datetime.fromtimestamp(int(str(stamp)) / 1e6, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    unit = next(
        (
            v
            for k in ("_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_COMM")
            if isinstance(v := fields.get(k), str)
        ),
        "journal",
    )
    return JournalEntry(
        cursor=cursor, time=when, unit=unit, message=_message(fields.get("MESSAGE"))
    )


def _message(value: Any) -> str:
    """MESSAGE is a string, or a byte array for non-UTF-8 text, or absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) for b in value):
        try:
            return bytes(value).decode("utf-8", "replace")
        except ValueError:
            return ""
    return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalPosition:
    """Where reading a journal resumes: after `cursor`, passing over `skip[unit]` entries."""

    source: str  # what is read: the journal and its unit filters
    cursor: str | None
    skip: dict[str, int] = field(default_factory=dict)

    def to_cursor(self) -> Cursor:
        """The state store's row for it (a file's row: no file has dev -1)."""
        body = json.dumps({"source": self.source, "cursor": self.cursor, "skip": self.skip})
        return Cursor(
            dev=JOURNAL_DEV,
            ino=stream_id(self.source),
            head_len=0,
            head="",
            path=body,
            offset=0,
            line=0,
        )

    @classmethod
    def from_cursors(cls, source: str, cursors: list[Cursor]) -> JournalPosition | None:
        """The saved position of `source`, if any."""
        for row in cursors:
            if row.dev == JOURNAL_DEV and row.ino == stream_id(source):
                try:
                    body = json.loads(row.path)
                    skip = {str(k): int(v) for k, v in body.get("skip", {}).items()}
                    saved = body.get("cursor")
                except (ValueError, AttributeError, TypeError):
                    return None
                if body.get("source") == source and (saved is None or isinstance(saved, str)):
                    return cls(source=source, cursor=saved, skip=skip)
        return None


def stream_id(source: str) -> int:
    """A stable id for a stream's cursor row."""
    return zlib.crc32(source.encode())


@dataclass(frozen=True, slots=True)
class _Spanned:
    """An entry read since the resume cursor."""

    seq: int
    unit: str
    cursor: str
    skipped: bool = False  # passed over: it was in a record emitted before a restart


class JournalAssembler:
    """Entries in journal order -> records, one RecordAssembler per unit."""

    def __init__(
        self,
        *,
        source: str,
        start: JournalPosition | None = None,
        tz: tzinfo = UTC,
        max_lines: int = 200,
        max_bytes: int = 64 * 1024,
    ) -> None:
        self._source = source
        self._tz, self._max_lines, self._max_bytes = tz, max_lines, max_bytes
        self._units: dict[str, RecordAssembler] = {}
        self._seq = 0
        self._skip = dict(start.skip) if start else {}
        self._last_cursor = start.cursor if start else None
        self._times: dict[int, datetime] = {}  # first-line times of pending records
        # Every entry from the earliest pending one on.
        self._span: deque[_Spanned] = deque()
        self._before_span: str | None = self._last_cursor  # the cursor before the span

    def feed(self, entry: JournalEntry) -> list[Record]:
        """Records this entry completed (of its unit)."""
        unit = entry.unit
        if self._skip.get(unit, 0) > 0:  # emitted before the restart
            self._skip[unit] -= 1
            self._span.append(_Spanned(self._seq, unit, entry.cursor, skipped=True))
            self._last_cursor = entry.cursor
            self._trim()
            return []
        self._seq += 1
        seq = self._seq
        assembler = self._units.get(unit)
        if assembler is None:
            assembler = self._units[unit] = RecordAssembler(
                source=f"journal/{unit}",
                file_time=entry.time,
                tz=self._tz,
                max_lines=self._max_lines,
                max_bytes=self._max_bytes,
            )
        text = entry.message.rstrip("\n")
        self._times[seq] = entry.time
        self._span.append(_Spanned(seq, unit, entry.cursor))
        self._last_cursor = entry.cursor
        records = self._stamped(
            assembler.feed(LogLine(text=text, number=seq, offset=seq, end=seq + 1))
        )
        if len(self._span) > _MAX_SPAN:  # a record that never ends: let it go
            records += self.flush()
        self._trim()
        return records

    def _stamped(self, records: list[Record]) -> list[Record]:
        out = []
        for record in records:
            when = self._times.get(record.offset)
            out.append(record if when is None else replace(record, time=when, timed=True))
        return out

    def _pending(self) -> dict[str, int]:
        return {u: s[0] for u, a in self._units.items() if (s := a.pending_start()) is not None}

    def _trim(self) -> None:
        """Drop entries before the earliest pending one: a resume never goes back there."""
        pending = self._pending()
        earliest = min(pending.values(), default=self._seq + 1)
        while self._span and self._span[0].seq < earliest:
            self._before_span = self._span.popleft().cursor
        for seq in [s for s in self._times if s < earliest]:
            del self._times[seq]

    def flush(self, *, unfinished: bool = True) -> list[Record]:
        """Every unit's buffered record (input went idle, or it ended); with
        `unfinished=False`, not a traceback still waiting for its exception line."""
        records: list[Record] = []
        for assembler in self._units.values():
            if unfinished or not assembler.pending_unfinished():
                records += self._stamped(assembler.flush())
        records.sort(key=lambda r: r.offset)
        self._trim()
        return records

    def pending_complete(self) -> bool:
        """Every buffered record is surely whole (a traceback's exception line came)."""
        busy = [a for a in self._units.values() if a.pending_start() is not None]
        return bool(busy) and all(a.pending_complete() for a in busy)

    def position(self) -> JournalPosition:
        """Where a restart resumes so nothing is lost or repeated."""
        pending = self._pending()
        skip = {u: n for u, n in self._skip.items() if n > 0}
        for spanned in self._span:  # entries after the cursor, in emitted records
            start = pending.get(spanned.unit)
            if spanned.skipped or start is None or spanned.seq < start:
                skip[spanned.unit] = skip.get(spanned.unit, 0) + 1
        cursor = self._before_span if self._span else self._last_cursor
        return JournalPosition(source=self._source, cursor=cursor, skip=skip)
