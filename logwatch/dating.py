"""Where the records of each file of a scan get their time, decided once per file.

In order: a record's own full stamp; for a time-only stamp (RQ's `08:23:06`) or a
year-less one (syslog), the date of the dated records before it in the same file, else of
the other files of the scan (its rotation family first, then its directory, then the rest:
the date that puts its first stamp nearest their records), else `--date`, else the file's
modification time; a line with no stamp belongs to the record above. A file with no stamp
at all is undated: its matches are evidence without a time, never part of an incident.

Copied logs (scp, kubectl cp, a ticket attachment) carry the copy's mtime, so the mtime is
the last resort, and the report says which files were dated how. Both scan paths read the
same decision, so they stay identical.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import BinaryIO

from logwatch.errors import SourceError
from logwatch.records import TIME_FIELDS, json_object
from logwatch.sources.reader import compression_of, file_mtime, open_log
from logwatch.stampshape import START, StampShape, learn_shape, line_shape, parse_stamp
from logwatch.timestamps import parse_value

HEAD_BYTES = 64 << 10  # looked at to learn a file's shape and first stamps
_CHUNK = 1 << 20  # read at a time looking past a head without stamps for the first one
_LINE = 4096  # of a line, looked at to tell whether it holds a stamp
# Lines that may hold a stamp, found by searches that start with a literal (fast: a
# pattern starting with a class is searched at every byte, 20 times slower). A clock is in
# every dated format but epochs and JSON; those, and journalctl's export, start a line.
_CLOCKISH = re.compile(rb":\d\d:\d\d")
_LINE_STARTS = re.compile(rb"\n(?:\d{10}|\{|__REALTIME_TIMESTAMP=)")
_NONE = 1 << 62  # no (more) match
TAIL_BYTES = 64 << 10  # looked at (plain files) for its last full stamp

OWN = "own timestamps"
NONE = "no timestamps: matches are listed as undated evidence"
MTIME = "time-only stamps dated by the file's modification time"
GIVEN = "time-only stamps dated by --date"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileHead:
    """What a file's first and last lines say about its time."""

    path: Path
    shape: StampShape
    first: datetime | None  # its first full stamp (aware UTC)
    last: datetime | None  # its last full stamp
    clock: time | None  # the first time-only or year-less stamp, when before any full one
    month: int = 0  # the year-less stamp's month and day (0: time-only, the date is missing)
    day: int = 0
    mtime: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Dating:
    """How one file's records are dated: its assembler's reference time and stamp shape."""

    shape: StampShape
    file_time: datetime  # the time of records before the first stamp; the date of time-only ones
    how: str  # for the report: "own timestamps", "time-only stamps dated from app.log", ...
    undated: bool = False


def read_head(path: Path, tz: tzinfo) -> FileHead:
    """The stamps at the start of a file; never raises for an unreadable file (it is
    reported when it is read). Its last full stamp is read only if another file needs it."""
    try:
        mtime: datetime | None = file_mtime(path)
    except SourceError:
        mtime = None
    try:
        with open_log(path) as stream:
            head = stream.read(HEAD_BYTES)
            if len(head) == HEAD_BYTES and not _stamped(_lines(head, whole=False), tz):
                # Its stamps are no less its own for coming after 64 KB of lines without
                # one (a uvicorn stdout log: access lines, then its app's errors): its head
                # is where they start.
                head = _from_first_stamp(stream, head, tz)
    except (OSError, SourceError, ValueError, EOFError):
        return FileHead(path=path, shape=START, first=None, last=None, clock=None, mtime=mtime)
    whole = len(head) < HEAD_BYTES
    lines = _lines(head, whole=whole)
    shape = learn_shape(lines, tz)
    first = clock = None
    month = day = 0
    for line in lines:
        when, stamp_clock, m, d = _stamp_of(line, tz, shape)
        if when is not None:
            first = when
            break
        if stamp_clock is not None and clock is None:
            clock, month, day = stamp_clock, m, d
    last = _last_in(lines, tz, shape) if whole and first is not None else None
    return FileHead(
        path=path,
        shape=shape,
        first=first,
        last=last,
        clock=clock,
        month=month,
        day=day,
        mtime=mtime,
    )


def _stamped(lines: Iterable[str], tz: tzinfo) -> bool:
    """Some line holds a stamp, at its start or after a prefix (or in its JSON)."""
    for line in lines:
        if line_shape(line, tz) is not None:
            return True
        if line[:1] == "{" and _stamp_of(line, tz, START) != (None, None, 0, 0):
            return True
    return False


def _from_first_stamp(stream: BinaryIO, head: bytes, tz: tzinfo) -> bytes:
    """The HEAD_BYTES from the first line past `head` that holds a stamp (to the end of
    the file if shorter); empty when no line does. Lines are picked out for a look by
    byte searches, so a long file without stamps is read at the speed of a search."""
    data = b"\n" + head[head.rfind(b"\n") + 1 :]  # the line the head cut, after a newline
    inside = False  # data starts inside a line longer than a chunk, already looked at
    while True:
        chunk = stream.read(_CHUNK)
        data += chunk
        if inside:  # the rest of that line starts no line: on from its end
            newline = data.find(b"\n", 1)
            if newline < 0:
                if not chunk:
                    return b""
                data = b"\n"
                continue
            data, inside = data[newline:], False
        end = len(data) if not chunk else data.rfind(b"\n") + 1
        if end == 1 and len(data) > _CHUNK:  # one line longer than a chunk: look at it
            end = len(data)
            inside = bool(chunk)
        pos, clock, starts = 1, -1, -1
        while pos < end:
            if clock < pos:
                m = _CLOCKISH.search(data, pos, end)
                clock = _NONE if m is None else m.start()
            if starts < pos:
                m = _LINE_STARTS.search(data, pos - 1, end)
                starts = _NONE if m is None else m.start() + 1  # the line's first byte
            at = min(clock, starts)
            if at == _NONE:
                break
            start = data.rfind(b"\n", 0, at) + 1
            stop = data.find(b"\n", at, end)
            stop = end if stop < 0 else stop
            line = data[start : min(stop, start + _LINE)].decode("utf-8", "replace")
            if _stamped([line.rstrip("\r")], tz):
                found = data[start : start + HEAD_BYTES]
                return found + stream.read(HEAD_BYTES - len(found))
            pos = stop + 1
        if not chunk:
            return b""
        data = b"\n" + data[end:]


def plan_dating(
    families: Sequence[Sequence[Path]], tz: tzinfo, *, given: date | None = None
) -> dict[Path, Dating]:
    """The dating of every file of a scan (families as expand_paths groups them)."""
    heads = {path: read_head(path, tz) for files in families for path in files}
    dated: dict[Path, list[FileHead]] = {}  # directory -> its files with a full stamp
    for head in heads.values():
        if head.first is not None:
            dated.setdefault(head.path.parent, []).append(head)
    spans = _Spans(tz)
    plan: dict[Path, Dating] = {}
    for files in families:
        for path in files:
            plan[path] = _date_one(heads[path], files, heads, dated, spans, given)
    return plan


_ALL = Path("\0all")  # the key of every dated file of the scan (no real directory)


class _Spans:
    """First and last full stamps of reference files, the last read from a file's tail
    only when a time-only file needs it."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._last: dict[Path, datetime | None] = {}
        self._merged: dict[Path, list[tuple[datetime, datetime]]] = {}
        self._names: dict[Path, str] = {}

    def of(
        self, refs: Iterable[FileHead], key: Path | None = None
    ) -> list[tuple[datetime, datetime]]:
        """Their (first, last) spans, overlapping ones merged, in order; kept under `key`."""
        if key is not None and key in self._merged:
            return self._merged[key]
        merged = self._merge(refs)
        if key is not None:
            self._merged[key] = merged
        return merged

    def names(self, refs: Iterable[FileHead], key: Path | None) -> str:
        """The dated files' names for the report: three of them at most."""
        if key is not None and key in self._names:
            return self._names[key]
        found = sorted({r.path.name for r in refs if r.first is not None})
        text = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        if key is not None:
            self._names[key] = text
        return text

    def _merge(self, refs: Iterable[FileHead]) -> list[tuple[datetime, datetime]]:
        found = []
        for ref in refs:
            if ref.first is None:
                continue
            last = ref.last
            if last is None:
                if ref.path not in self._last:
                    self._last[ref.path] = _last_full(ref.path, self.tz, ref.shape)
                last = self._last[ref.path]
            found.append((ref.first, max(ref.first, last or ref.first)))
        merged: list[tuple[datetime, datetime]] = []
        for first, last in sorted(found):
            if merged and first <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return merged


def _date_one(
    head: FileHead,
    family: Sequence[Path],
    heads: dict[Path, FileHead],
    dated: dict[Path, list[FileHead]],
    spans: _Spans,
    given: date | None,
) -> Dating:
    tz = spans.tz
    fallback = head.mtime or datetime.now(UTC)
    if head.first is not None:
        # Time-only stamps before its first full one take the date nearest that one.
        when = head.first if head.clock is None else _nearest(head, spans.of([head]), tz)
        return Dating(shape=head.shape, file_time=when or head.first, how=OWN)
    if head.clock is None:
        return Dating(shape=head.shape, file_time=fallback, how=NONE, undated=True)
    if given is not None:
        day = date(given.year, head.month or given.month, head.day or given.day)
        return Dating(shape=head.shape, file_time=_local(day, head.clock, tz), how=GIVEN)
    # The family first, then the directory, then every dated file of the scan. A dated
    # member of the family or directory would have answered before the next group, so the
    # directory's and the scan's lists need no exclusions, and their spans are computed once.
    groups = (
        (None, [heads[p] for p in family if p != head.path]),
        (head.path.parent, dated.get(head.path.parent, [])),
        (_ALL, [h for hs in dated.values() for h in hs]),
    )
    for key, refs in groups:
        when = _nearest(head, spans.of(refs, key), tz)
        if when is not None:
            return Dating(
                shape=head.shape,
                file_time=when,
                how=f"time-only stamps dated from {spans.names(refs, key)}",
            )
    return Dating(shape=head.shape, file_time=fallback, how=MTIME)


def _nearest(
    head: FileHead, spans: Sequence[tuple[datetime, datetime]], tz: tzinfo
) -> datetime | None:
    """The time of the file's first stamp on the date that puts it nearest the references'
    records (their spans); among equally near dates, the one nearest the file's mtime."""
    if not spans or head.clock is None:
        return None
    days: set[date] = set()
    for first, last in spans:
        d = first.astimezone(tz).date() - timedelta(days=1)
        end = last.astimezone(tz).date() + timedelta(days=1)
        while d <= end and len(days) < 400:
            days.add(d)
            d += timedelta(days=1)
    best: tuple[float, float, datetime] | None = None
    for d in sorted(days):
        try:
            day = date(d.year, head.month, head.day) if head.month else d
        except ValueError:  # 29 Feb in a common year
            continue
        when = _local(day, head.clock, tz)
        gap = min(_distance(when, first, last) for first, last in spans)
        tie = abs((when - head.mtime).total_seconds()) if head.mtime else 0.0
        key = (round(gap / 60), tie, when)
        if best is None or key[:2] < best[:2]:
            best = key
    return None if best is None else best[2]


def _distance(when: datetime, first: datetime, last: datetime) -> float:
    if first <= when <= last:
        return 0.0
    return min(abs((when - first).total_seconds()), abs((when - last).total_seconds()))


def _local(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def _lines(data: bytes, *, whole: bool) -> list[str]:
    raws = data.split(b"\n")
    if not whole:
        raws.pop()  # a line cut by the read
    return [r.decode("utf-8", "replace").rstrip("\r") for r in raws]


def _stamp_of(
    line: str, tz: tzinfo, shape: StampShape
) -> tuple[datetime | None, time | None, int, int]:
    """(full time, or the clock, month and day of a stamp missing its date or year)."""
    c = line[:1]
    if not c or c in " \t":
        return None, None, 0, 0
    if c == "{" and line.endswith("}"):
        fields = json_object(line)
        if fields is not None:
            for name in TIME_FIELDS:
                value = fields.get(name)
                if isinstance(value, str | int | float):
                    parsed = parse_value(value)
                    if parsed is not None:
                        aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
                        if not 1900 <= aware.year <= 9000:  # no log's year (records: untimed)
                            return None, None, 0, 0
                        return aware.astimezone(UTC), None, 0, 0
        return None, None, 0, 0
    stamp = parse_stamp(line, tz, shape)
    if stamp is None:
        return None, None, 0, 0
    if stamp.when is not None:
        when = stamp.when if stamp.when.tzinfo else stamp.when.replace(tzinfo=tz)
        if not 1900 <= when.year <= 9000:
            return None, None, 0, 0
        return when.astimezone(UTC), None, 0, 0
    return None, stamp.clock, stamp.month, stamp.day


def _last_in(lines: list[str], tz: tzinfo, shape: StampShape) -> datetime | None:
    for line in reversed(lines):
        when = _stamp_of(line, tz, shape)[0]
        if when is not None:
            return when
    return None


def _last_full(path: Path, tz: tzinfo, shape: StampShape) -> datetime | None:
    """The last full stamp in a plain file's tail (a compressed one is not decompressed)."""
    try:
        if compression_of(path) is not None:
            return None
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            start = max(0, size - TAIL_BYTES)
            tail = os.pread(fh.fileno(), size - start, start)
    except (OSError, SourceError):
        return None
    lines = _lines(tail, whole=True)
    if start:
        lines = lines[1:]  # cut by the read
    return _last_in(lines, tz, shape)
