"""The fast scan: literal search over big blocks, record assembly only around the hits.

Most of a busy app's log is healthy traffic that no rule can match: every rule needs one of
its literals in the record, so a block with none of them needs no lines, no records and no
timestamps. A multi-literal search (Aho-Corasick with SIMD, about 4 GB/s) finds the lines
that hold a literal; for each, assembly starts afresh at the last line before it that
carries a full date of its own (records.starts_dated_record: nothing before such a line
changes the records after it) and runs until the record holding the hit is complete. Those
records go through the same Matcher as the reference path. Large files are cut into
line-aligned ranges for a process pool; a record belongs to the range holding its first
literal, so each is matched once. Compressed files are decompressed, in a worker, to an
unlinked temporary file and scanned the same way.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from logwatch.config import Config
from logwatch.dating import Dating
from logwatch.leanrecords import LeanRecords
from logwatch.model import Event, LogLine, Record
from logwatch.pipeline import Engine
from logwatch.prefilter import AHO_CORASICK, Finder, make_finder, needles
from logwatch.records import RecordAssembler, starts_dated_record
from logwatch.rules import RulePack
from logwatch.sources.reader import compression_of, file_mtime, is_binary, make_line, open_log
from logwatch.stampshape import START, StampShape

BLOCK = 8 << 20  # bytes searched per call: big enough to amortise, small for memory
RANGE = 32 << 20  # a plain file over this is cut into ranges of about this size
WINDOW = 1 << 20  # bytes read around a position outside the current block
_IN_PROCESS_BELOW = 16 << 20  # a scan this small is not worth starting a pool

_CONTINUED = frozenset({b" ", b"\t", b"\n", b"\r"})
# Bytes read ahead while assembling around a hit: a hit's record is most often a line or
# a traceback of a few KB, so start small and double while the record goes on.
_CHUNK, _MAX_CHUNK = 2 << 10, 256 << 10

# A report's look at records no rule needs (logwatch.lookout): record and its event, if
# any -> something small to send back from the worker, or None.
Look = Callable[[Record, Event | None], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Task:
    """One piece of work: the lines of `path` starting in [lo, hi) (hi None: to the end)."""

    family: int
    index: int  # of the file in the whole scan, for ordering
    path: str
    label: str
    lo: int
    hi: int | None
    last: bool  # the file's last range: also find the file's last record time
    compressed: bool
    binary: bool = False  # known binary: nothing to do but say so
    file_time: datetime | None = None  # the dating's reference time (None: the mtime)
    shape: StampShape = START  # where the file's stamps sit


@dataclass(slots=True)
class _Result:
    """What a worker returns for a task."""

    events: list[Event] = field(default_factory=list)  # line numbers relative to lo
    newlines: int = 0  # in [lo, hi)
    size: int = 0  # of the (decompressed) file; set by the last range
    partial_last_line: bool = False  # the file does not end with a newline
    last_time: datetime | None = None  # time of the file's last record
    records: int = 0
    binary: bool = False
    error: Exception | None = None
    side: list[Any] = field(default_factory=list)  # what `look` kept, in file order


@dataclass(frozen=True, slots=True, kw_only=True)
class FileScan:
    """The scan of one file: its events in file order and what the stats need."""

    family: int
    label: str
    events: list[Event]
    lines: int
    size: int
    last_time: datetime | None
    records: int
    binary: bool
    side: list[Any] = field(default_factory=list)  # what `look` kept of its records
    filter: str = AHO_CORASICK  # the engine that found the candidate lines


# Set in the parent before the pool forks, so workers inherit the compiled pack.
_STATE: tuple[Config, RulePack, Finder] | None = None
_LOOK: Look | None = None


def scan_files(
    families: Sequence[Sequence[Path]],
    config: Config,
    pack: RulePack,
    *,
    jobs: int | None = None,
    dating: Mapping[Path, Dating] | None = None,
    labels: Mapping[Path, str] | None = None,
    extra: Sequence[bytes] = (),
    look: Look | None = None,
) -> Iterator[FileScan]:
    """Scan every file of every family, in order; Unsupported if the pack needs the reference.

    `dating` gives each file's reference time and stamp shape (logwatch.dating), as the
    reference path uses them; without it, the file's mtime and stamps at line starts.
    `extra` literals are searched too, and `look` sees every record assembled (with its
    event, if any); what it returns goes to FileScan.side. Without them nothing changes.
    """
    global _STATE, _LOOK
    finder = make_finder([*needles(pack), *extra])
    _STATE = (config, pack, finder)
    _LOOK = look
    tasks = list(_plan(families, dating or {}, labels or {}))
    total = sum(_size(t.path) for t in tasks if t.last)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    workers = min(workers, len(tasks))
    results: Iterator[_Result]
    if workers <= 1 or total < _IN_PROCESS_BELOW:
        results = map(_run, tasks)
        yield from _collect(tasks, results)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        results = pool.imap(_run, tasks)
        yield from _collect(tasks, results)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _plan(
    families: Sequence[Sequence[Path]], dating: Mapping[Path, Dating], labels: Mapping[Path, str]
) -> Iterator[_Task]:
    index = 0
    for family, files in enumerate(families):
        for path in files:
            dated = dating.get(path)
            base = _Task(
                family=family,
                index=index,
                path=str(path),
                label=labels.get(path, str(path)),
                lo=0,
                hi=None,
                last=True,
                compressed=compression_of(path) is not None,  # SourceError as the reference
                file_time=dated.file_time if dated else None,
                shape=dated.shape if dated else START,
            )
            index += 1
            size = _size(str(path))
            if not base.compressed:
                with open(path, "rb") as fh:
                    if is_binary(fh.read(4096)):
                        yield replace(base, binary=True)
                        continue
            if base.compressed or size <= RANGE:
                yield base
                continue
            n = max(1, round(size / RANGE))
            cuts = [size * k // n for k in range(n + 1)]
            for k in range(n):
                last = k == n - 1
                yield replace(base, lo=cuts[k], hi=None if last else cuts[k + 1], last=last)


def _collect(tasks: list[_Task], results: Iterator[_Result]) -> Iterator[FileScan]:
    """Join the ranges of each file: absolute line numbers, totals; raise a worker's error."""
    current: list[tuple[_Task, _Result]] = []
    for task, result in zip(tasks, results, strict=True):
        if result.error is not None:
            raise result.error
        current.append((task, result))
        if not task.last:
            continue
        events: list[Event] = []
        base = 1  # line number of the range's first line
        for _, part in current:
            events.extend(replace(e, line=e.line + base) for e in part.events)
            base += part.newlines
        last = current[-1][1]
        lines = sum(part.newlines for _, part in current) + last.partial_last_line
        yield FileScan(
            family=task.family,
            label=task.label,
            events=events,
            lines=lines,
            size=last.size,
            last_time=last.last_time,
            records=sum(part.records for _, part in current),
            binary=any(part.binary for _, part in current),
            side=[item for _, part in current for item in part.side],
            filter=_STATE[2].name if _STATE is not None else AHO_CORASICK,
        )
        current = []


def _run(task: _Task) -> _Result:
    """A worker's entry: scan one task, returning errors as values to raise in the parent."""
    try:
        if task.binary:
            return _Result(binary=True)
        if task.compressed:
            return _run_compressed(task)
        with open(task.path, "rb") as fh:
            return _scan_file(task, fh)
    except Exception as exc:  # raised again in the parent, in file order
        return _Result(error=exc)


def _run_compressed(task: _Task) -> _Result:
    with tempfile.TemporaryFile(prefix="logwatch-") as tmp, open_log(Path(task.path)) as stream:
        shutil.copyfileobj(stream, tmp, 1 << 20)
        tmp.flush()
        return _scan_file(task, tmp)


def _scan_file(task: _Task, fh: BinaryIO) -> _Result:
    assert _STATE is not None
    config, pack, finder = _STATE
    data = _FileBytes(fh.fileno())
    result = _Result()
    if task.lo == 0 and is_binary(data.read(0, 4096)):
        result.binary = True
        return result
    scanner = _RangeScanner(task, data, config, pack, finder)
    scanner.scan(result)
    return result


class _FileBytes:
    """Random access to a file's bytes: the current block, or a small window read around."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size
        self._block = (0, b"")
        self._windows: list[tuple[int, bytes]] = []

    def load(self, start: int, end: int) -> bytes:
        """Read [start, end) as the current block."""
        block = os.pread(self.fd, end - start, start)
        self._block = (start, block)
        return block

    @property
    def block(self) -> tuple[int, bytes]:
        """The current block and the offset it starts at."""
        return self._block

    def _window(self, off: int) -> tuple[int, bytes]:
        start, block = self._block
        if start <= off < start + len(block):
            return self._block
        for window in self._windows:
            if window[0] <= off < window[0] + len(window[1]):
                return window
        base = off - off % WINDOW
        window = (base, os.pread(self.fd, WINDOW, base))
        self._windows = [window, *self._windows[:1]]
        return window

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end), clipped to the file."""
        start, end = max(start, 0), min(end, self.size)
        if start >= end:
            return b""
        base, block = self._window(start)
        if end <= base + len(block):
            return block[start - base : end - base]
        return os.pread(self.fd, end - start, start)

    def line_end(self, off: int) -> int:
        """Offset just past the newline ending the line at `off`, or the file size."""
        while off < self.size:
            base, block = self._window(off)
            i = block.find(b"\n", off - base)
            if i >= 0:
                return base + i + 1
            off = base + len(block)
        return self.size

    def line_start(self, off: int) -> int:
        """Start of the line holding offset `off` (the offset after the newline before it)."""
        while off > 0:
            base, block = self._window(off - 1)
            i = block.rfind(b"\n", 0, off - base)
            if i >= 0:
                return base + i + 1
            off = base
        return 0

    def count_newlines(self, start: int, end: int) -> int:
        """Newlines in [start, end)."""
        base, block = self._block
        if base <= start and end <= base + len(block):
            return block.count(b"\n", start - base, end - base)
        total = 0
        while start < end:
            base, block = self._window(start)
            stop = min(end, base + len(block))
            total += block.count(b"\n", start - base, stop - base)
            start = stop
        return total


class _RangeScanner:
    """Finds the records of one range that hold a needle, and matches them."""

    def __init__(
        self, task: _Task, data: _FileBytes, config: Config, pack: RulePack, finder: Finder
    ) -> None:
        self.task = task
        self.data = data
        self.config = config
        self.engine = Engine(config, pack, jobs=False)
        self.finder = finder
        self.tz = config.timezone
        self.max_line = config.max_line_bytes
        self.file_time = task.file_time
        self.shape = task.shape
        self.lo = self._align(task.lo)
        self.hi = data.size if task.hi is None else self._align(task.hi)
        self.assembler: RecordAssembler | None = None
        self.fed = self.lo  # offset of the next line to feed the assembler
        self.fed_line = 0  # its line number relative to lo (0 = the line at lo)
        self.checked = -1  # records starting before this offset were already looked at
        self.queue: list[bytes] = []  # lines read ahead of `fed`, last first
        self.ahead_end = 0  # where the lines read ahead end
        self.chunk = _CHUNK
        self.events: list[Event] = []
        self.records = 0
        self.look = _LOOK
        self.side: list[Any] = []
        self.count_at = self.lo  # an offset in the current block and its line number
        self.count_line = 0
        self.lean = LeanRecords(
            source=task.label,
            file_time=self._file_time,
            tz=self.tz,
            shape=self.shape,
            max_lines=config.max_record_lines,
            max_bytes=config.max_record_bytes,
            max_line=self.max_line,
        )

    def _align(self, off: int) -> int:
        return 0 if off <= 0 else self.data.line_end(off - 1)

    def _file_time(self) -> datetime:
        if self.file_time is None:
            self.file_time = file_mtime(Path(self.task.path))
        return self.file_time

    def scan(self, result: _Result) -> None:
        data = self.data
        pos = self.lo
        newlines = 0
        while pos < self.hi:
            end = min(self.hi, pos + BLOCK)
            block = data.load(pos, end)
            cut = len(block)
            if end < self.hi:  # cut at the last newline; the rest starts the next block
                cut = block.rfind(b"\n") + 1 or cut
                end = pos + cut
            self.count_at, self.count_line = pos, newlines
            eof = pos + cut >= data.size
            prev = -1
            for hit in self.finder(memoryview(block)[:cut]):
                line = pos + block.rfind(b"\n", 0, hit) + 1
                if line != prev:
                    if not self._lean(block, pos, cut, line, eof):
                        self._candidate(line)
                    prev = line
            newlines = self._number(pos + cut)  # counted on from the last candidate
            pos = end
        self._finish_run()
        result.events = self.events
        result.side = self.side
        result.newlines = newlines
        result.records = self.records
        if self.task.last:
            result.size = data.size
            result.partial_last_line = (
                data.size > 0 and data.read(data.size - 1, data.size) != b"\n"
            )
            result.last_time = self._last_time()

    # -- records from the block's bytes (logwatch.leanrecords) ------------------------

    def _lean(self, block: bytes, base: int, limit: int, line: int, eof: bool) -> bool:
        """Match the record holding the candidate line, built from the block's bytes;
        False when that is not for the lean path (the assembler takes the line)."""
        if line < self.checked:
            # Candidates come in file order, and every record from the last candidate's on
            # was matched up to `checked`: this line's record was, nothing to do.
            return True
        if self.assembler is not None and line < self.fed:
            return False  # inside the current run of the assembler
        record = self.lean.record(block, base, limit, line, eof=eof, number=self._number)
        if record is None:
            return False
        self._take(record)
        return True

    def _number(self, offset: int) -> int:
        """The line number (relative to lo) of the line starting at `offset` in the current
        block, counted from the last one asked for."""
        base, block = self.data.block
        at = self.count_at
        if offset >= at:
            self.count_line += block.count(b"\n", at - base, offset - base)
        else:
            self.count_line -= block.count(b"\n", offset - base, at - base)
        self.count_at = offset
        return self.count_line

    # -- runs of assembly ------------------------------------------------------------

    def _candidate(self, line: int) -> None:
        """Assemble the record holding the line that starts at `line`, and match it."""
        if self.assembler is None or line >= self.fed:
            start = self._dated_start(line, stop=self.fed if self.assembler else 0)
            if start is not None:  # a fresh run: what the old one still holds has no needle
                self._start_run(start)
        assembler = self.assembler
        assert assembler is not None
        while True:
            pending = assembler.pending_start()
            if self.fed > line and (pending is None or pending[0] > line):
                return
            if self.fed >= self.data.size:
                self._emit(assembler.flush())
                return
            self._feed_line()

    def _dated_start(self, line: int, *, stop: int) -> int | None:
        """The last line at or before `line` that starts a dated record; None when the walk
        back reaches `stop` (the current run has fed up to there: go on with it)."""
        data = self.data
        start = line
        while True:
            if start < stop:
                return None
            end = data.line_end(start)
            head = data.read(start, start + 1)
            # Indented lines and blank ones continue a record: no need to decode them.
            if head not in _CONTINUED and starts_dated_record(
                self._text(start, end)[0], self.tz, shape=self.shape
            ):
                return start
            if start == 0:
                return 0
            start = data.line_start(start - 1)

    def _start_run(self, start: int) -> None:
        self.assembler = RecordAssembler(
            source=self.task.label,
            file_time=self._file_time(),
            tz=self.tz,
            max_lines=self.config.max_record_lines,
            max_bytes=self.config.max_record_bytes,
            shape=self.shape,
        )
        if start >= self.fed:
            self.fed_line += self.data.count_newlines(self.fed, start)
        else:
            self.fed_line -= self.data.count_newlines(start, self.fed)
        self.fed = start
        self.queue = []
        self.chunk = _CHUNK

    def _finish_run(self) -> None:
        """End of the range: the buffered record is complete only at the end of the file."""
        if self.assembler is not None and self.fed >= self.data.size:
            self._emit(self.assembler.flush())

    def _feed_line(self) -> None:
        assert self.assembler is not None
        if not self.queue:
            self._read_ahead()
        piece = self.queue.pop()  # made a LogLine only now: a run often ends mid-chunk
        pos = self.fed
        stop = min(pos + len(piece) + 1, self.ahead_end)
        line = make_line(piece, self.fed_line, pos, stop, self.max_line)
        self.fed = stop
        self.fed_line += 1
        self._emit(self.assembler.feed(line))

    def _read_ahead(self) -> None:
        """The next chunk of whole lines, as raw pieces (read_lines decodes them alike)."""
        start = self.fed
        end = self.data.line_end(min(start + self.chunk, self.data.size) - 1)
        self.chunk = min(self.chunk * 2, _MAX_CHUNK)
        raws = self.data.read(start, end).split(b"\n")
        if raws[-1] == b"":
            raws.pop()
        raws.reverse()
        self.queue = raws
        self.ahead_end = end

    def _text(self, start: int, end: int) -> tuple[str, bool]:
        """The line's text as read_lines gives it: cut at max_line_bytes, no "\\r"."""
        size = end - start
        if size and self.data.read(end - 1, end) == b"\n":
            size -= 1
        if size > self.max_line:
            text = self.data.read(start, start + self.max_line).decode("utf-8", "replace")
            return (text[:-1] if text[-1:] == "\r" else text), True
        text = self.data.read(start, start + size).decode("utf-8", "replace")
        return (text[:-1] if text[-1:] == "\r" else text), False

    def _emit(self, records: list[Record]) -> None:
        for record in records:
            if record.offset < self.checked:
                continue
            self.checked = record.end
            hits = self.finder(self.data.read(record.offset, record.end))
            if not hits or not self.lo <= record.offset + min(hits) < self.hi:
                continue  # no needle, or the range of its first needle owns it
            self._take(record)

    def _take(self, record: Record) -> None:
        """Match a record that holds a needle and this range owns (stats.records counts
        these: the records the rules ran on, whichever path built them)."""
        self.checked = record.end
        self.records += 1
        event = self.engine.match(record)
        if event is not None:
            self.events.append(event)
        if self.look is not None:
            seen = self.look(record, event)
            if seen is not None:
                self.side.append(seen)

    # -- the file's last record ---------------------------------------------------------

    def _last_time(self) -> datetime | None:
        """Time of the file's last record: that of the last dated record and what follows."""
        size = self.data.size
        if size == 0:
            return None
        start = self._dated_start(self.data.line_start(size - 1), stop=0)
        assert start is not None
        assembler = RecordAssembler(
            source=self.task.label,
            file_time=self._file_time(),
            tz=self.tz,
            max_lines=self.config.max_record_lines,
            max_bytes=self.config.max_record_bytes,
            shape=self.shape,
        )
        last: Record | None = None
        pos = start
        while pos < size:
            end = self.data.line_end(pos)
            text, truncated = self._text(pos, end)
            for record in assembler.feed(
                LogLine(text=text, number=0, offset=pos, end=end, truncated=truncated)
            ):
                last = record
            pos = end
        for record in assembler.flush():
            last = record
        return None if last is None else last.time
