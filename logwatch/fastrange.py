"""One range of a file, scanned: the literal search over big blocks, records only around
the hits (logwatch.fastscan plans the ranges and joins their results).

A candidate line that is a record alone (a dated line, not JSON, the next line opening
another record) and that no rule's regex can match (logwatch.regexfilter, when Hyperscan
is installed) is counted and passed over without building its record; any other goes to
the lean path (logwatch.leanrecords) or, for unusual shapes, to runs of the assembler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from logwatch.config import Config
from logwatch.filebytes import FileBytes
from logwatch.leanrecords import LeanRecords
from logwatch.model import Event, LogLine, Record
from logwatch.passover import line_rules, opens_dated
from logwatch.pipeline import Engine
from logwatch.prefilter import Finder
from logwatch.records import RecordAssembler, starts_dated_record
from logwatch.regexfilter import RuleFilter
from logwatch.rules import RulePack
from logwatch.sources.reader import file_mtime, make_line
from logwatch.stampshape import START, StampShape

BLOCK = 8 << 20  # bytes searched per call: big enough to amortise, small for memory
_CONTINUED = frozenset({b" ", b"\t", b"\n", b"\r"})
# Bytes read ahead while assembling around a hit: a hit's record is most often a line or
# a traceback of a few KB, so start small and double while the record goes on.
_CHUNK, _MAX_CHUNK = 2 << 10, 256 << 10

# A report's look at records no rule needs (logwatch.lookout): record and its event, if
# any -> something small to send back from the worker, or None.
Look = Callable[[Record, Event | None], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeTask:
    """One piece of work: the lines of `path` starting in [lo, hi) (hi None: to the end)."""

    family: int
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
class RangeResult:
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


class RangeScanner:
    """Finds the records of one range that hold a needle, and matches them."""

    def __init__(
        self,
        task: RangeTask,
        data: FileBytes,
        config: Config,
        pack: RulePack,
        finder: Finder,
        *,
        look: Look | None = None,
        rules: RuleFilter | None = None,
        overlap: int = 0,
    ) -> None:
        self.task = task
        self.overlap = overlap  # the longest needle's length less one
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
        self.look = look
        self.rules = rules
        # (line, end, rules): the last candidate line's span and the rules that can match
        # it, when a record of it alone has its decoded text (logwatch.passover).
        self.hint: tuple[int, int, frozenset[int]] | None = None
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

    def scan(self, result: RangeResult) -> None:
        data = self.data
        pos = self.lo
        newlines = 0
        opened = pos  # start of the line holding `pos`: before it, when a line outgrows a block
        while pos < self.hi:
            end = min(self.hi, pos + BLOCK)
            block = data.load(pos, end)
            cut = len(block)
            if end < self.hi:  # cut at the last newline; the rest starts the next block
                cut = block.rfind(b"\n") + 1 or cut
                end = pos + cut
            self.count_at, self.count_line = pos, newlines
            eof = pos + cut >= data.size
            line_end = 0  # in the block, just past the line of the last hit
            for hit in self.finder(memoryview(block)[:cut]):
                if hit < line_end:  # more hits on the same line: one look back per line,
                    continue  # else a long line full of them costs its length per hit
                before = block.rfind(b"\n", 0, hit)
                line_end = block.find(b"\n", hit, cut) + 1 or cut
                if before < 0 and opened < pos:
                    # The rest of a line longer than a block: its record starts at the
                    # line's start, in an earlier block; looked at once.
                    if opened >= self.checked:
                        self._candidate(opened)
                    continue
                line = pos + before + 1
                if self.rules is not None and self._pass_over(block, pos, cut, line, eof):
                    continue
                if not self._lean(block, pos, cut, line, eof):
                    self._candidate(line)
            newlines = self._number(pos + cut)  # counted on from the last candidate
            if block[cut - 1 : cut] == b"\n":
                opened = end
            elif end < self.hi:
                # A line longer than the block goes on: the next block overlaps this one by
                # a needle's length less one (BLOCK is far longer), so that a needle across
                # the cut is found.
                end -= self.overlap
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

    # -- lines no rule can match (logwatch.regexfilter) -------------------------------

    def _pass_over(self, block: bytes, base: int, limit: int, line: int, eof: bool) -> bool:
        """Count, without building it, the record of the candidate line at `line` when it
        is the line alone and no rule's regex can match it (logwatch.passover); else note
        the rules that can match it, for the record built of it alone."""
        self.hint = None
        if line < self.checked or (self.assembler is not None and line < self.fed):
            return False  # already looked at, or inside a run of the assembler
        assert self.rules is not None
        at = line - base
        found = line_rules(self.rules, block, at, limit, eof=eof)
        if found is None:
            return False
        end, rules = found
        if rules:
            self.hint = (line, base + end, frozenset(rules))
            return False
        if not opens_dated(block, at, end, tz=self.tz, shape=self.shape, max_line=self.max_line):
            return False
        self.checked = base + end
        self.records += 1  # a record holding a literal, as if the rules had run on it
        return True

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
        hint = self.hint
        only = None
        if hint is not None and hint[0] == record.offset and hint[1] == record.end:
            only = hint[2]  # the record is the candidate line alone (RulePack.match)
        event = self.engine.match(record, only)
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
