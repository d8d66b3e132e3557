"""Records built straight from a block's bytes, for the shapes logs mostly have.

The fast scan's candidate line is most often a dated line alone, a JSON line, or the last
line of a traceback below a dated line. For those the record is found from the first
bytes of the lines around it: walk back over the lines that cannot start a dated record
(indented, blank, traceback headers are told by their first bytes; only unindented lines
are decoded) to the last one that does; then go forward record by record to the one
holding the candidate, deciding where each ends by its lines' first bytes. A record's
first line alone is decoded and parsed, by a RecordAssembler fed that line, so times
(time-only and year-less stamps included, from the records before), JSON fields and
untimed records are exactly the assembler's; a multi-line record's text is its bytes
decoded once. Anything unusual (a "\\r", a line over max_line_bytes inside a record, a
record over the head budget, a JSON line with continuation lines, a walk that reaches
the block's edge or its budget) gives None, and the caller feeds the assembler as before.
tests/test_leanrecords.py holds both paths to the same records, times and line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, tzinfo

from logwatch.model import Record
from logwatch.records import RecordAssembler, json_object, starts_dated_record
from logwatch.sources.reader import make_line
from logwatch.stampshape import StampShape, prefixed_stamp
from logwatch.timestamps import parse_line_start

__all__ = ["HEADERS", "LeanRecords"]

# The assembler's traceback headers (records.py): they continue the record above.
HEADERS = (
    b"Traceback (most recent call last):",
    b"During handling of the above exception, another exception occurred:",
    b"The above exception was the direct cause of the following exception:",
)
_CONTINUED = frozenset({b" ", b"\t", b"\n", b"\r"})
_HOLED_LINE = re.compile(rb"(?:^|\n)\0+[^\0\n]")  # a line with NULs before its text
_WALK_DECODED = 32  # unindented lines the walk back decodes before it gives up
_TAIL_LINES = 10  # as records._TAIL_LINES: the head budget is what the tail leaves


class LeanRecords:
    """The record holding a candidate line, from the bytes of the block it sits in."""

    def __init__(
        self,
        *,
        source: str,
        file_time: Callable[[], datetime],
        tz: tzinfo,
        shape: StampShape,
        max_lines: int,
        max_bytes: int,
        max_line: int,
    ) -> None:
        self.source = source
        self.file_time = file_time
        self.tz = tz
        self.shape = shape
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.max_line = max_line
        # RecordAssembler keeps a record's lines whole while they fit its head budget.
        self.head_lines = max(1, max_lines - min(_TAIL_LINES, max_lines // 2))
        self.head_chars = max(1, max_bytes - max_bytes // 4)
        self._clock: RecordAssembler | None = None  # times the records' first lines

    def record(
        self,
        block: bytes,
        base: int,
        limit: int,
        line: int,
        *,
        eof: bool,
        number: Callable[[int], int],
    ) -> Record | None:
        """The record holding the line that starts at file offset `line`, or None.

        `block` holds the file's bytes from offset `base`; its first `limit` bytes are
        whole lines (the last may lack its newline when `eof`: the block ends the file).
        `number(offset)` is the line number of the line starting at that offset.
        """
        at = line - base
        start = self._start(block, base, at)
        if start is None:
            return None
        clock = self._clock
        if clock is None or base + start == 0:
            # A dated line sets every time the next records take; the file's first line
            # (dated or not) needs an assembler that has seen nothing.
            clock = self._clock = RecordAssembler(
                source=self.source,
                file_time=self.file_time(),
                tz=self.tz,
                max_lines=self.max_lines,
                max_bytes=self.max_bytes,
                shape=self.shape,
            )
        opener = start
        while True:
            found = self._record(block, base, limit, opener, eof, clock)
            if found is None:
                return None
            first, last_end, lines, next_opener = found
            if next_opener > at or next_opener >= limit:
                break
            opener = next_opener
        # Up to the end of the line after the record, which ended it.
        seen = block.find(b"\n", next_opener, limit) if next_opener < limit else limit
        span = block[start : limit if seen < 0 else seen]
        if b"\r" in span:
            return None  # the reader drops a line's "\r": a blank line may be one
        if b"\0" in span and _HOLED_LINE.search(span):
            # A hole (copytruncate without O_APPEND): the assembler drops NULs before a
            # line's text, which may make it a dated opener or a continuation: its business.
            return None
        abs_end = base + last_end
        if lines == 1:
            return Record(
                source=self.source,
                line=number(base + opener),
                offset=base + opener,
                end=abs_end,
                time=first.time,
                text=first.text,
                truncated=first.truncated,
                timed=first.timed,
            )
        raw = block[opener:last_end]
        if raw[-1:] == b"\n":
            raw = raw[:-1]
        text = raw.decode("utf-8", "replace")
        if first.truncated or lines > self.head_lines or len(text) + 1 > self.head_chars:
            return None  # the assembler's head and tail trimming: its own business
        return Record(
            source=self.source,
            line=number(base + opener),
            offset=base + opener,
            end=abs_end,
            time=first.time,
            text=text,
            lines=lines,
            timed=first.timed,
        )

    def _start(self, block: bytes, base: int, at: int) -> int | None:
        """The last line at or before `at` that starts a dated record (or the file's
        first line); None when the walk reaches the block's start or its budget."""
        start = at
        decoded = 0
        while True:
            end = block.find(b"\n", start)
            if end < 0:
                end = len(block)
            if block[start : start + 1] not in _CONTINUED:
                if block.startswith(HEADERS, start):
                    pass
                else:
                    decoded += 1
                    if decoded > _WALK_DECODED:
                        return None
                    text = make_line(block[start:end], 0, 0, 0, self.max_line).text
                    if starts_dated_record(text, self.tz, shape=self.shape):
                        return start
            if base + start == 0:
                return start if block[:1] != b"\n" else None  # a blank first line: rare
            if start == 0:
                return None  # the record may begin in the block before
            start = block.rfind(b"\n", 0, start - 1) + 1

    def _record(
        self,
        block: bytes,
        base: int,
        limit: int,
        opener: int,
        eof: bool,
        clock: RecordAssembler,
    ) -> tuple[Record, int, int, int] | None:
        """The record opened by the line at `opener`: (its first line's record from the
        assembler, where it ends, how many lines it has, where the next record opens)."""
        end = block.find(b"\n", opener, limit)
        if end < 0:
            if not eof:
                return None
            end = stop = limit
        else:
            stop = end + 1
        raw = block[opener:end]
        clock.feed(make_line(raw, 0, base + opener, base + stop, self.max_line))
        done = clock.flush()
        if len(done) != 1:
            return None  # a blank line (or a lone "\r") opens nothing
        first = done[0]
        frames = block.startswith(HEADERS, opener)
        is_json = raw[:1] == b"{" and raw[-1:] == b"}"
        last_end = stop
        lines = 1
        blanks = 0
        pos = stop
        while pos < limit:
            end = block.find(b"\n", pos, limit)
            if end < 0:
                if not eof:
                    return None
                end = stop = limit
            else:
                stop = end + 1
            head = block[pos : pos + 1]
            if end == pos:
                blanks += 1
                pos = stop
                continue
            if head == b" " or head == b"\t":
                pass
            elif block.startswith(HEADERS, pos):
                frames = True
            elif frames and not self._opens(block[pos:end]):
                frames = False  # the exception line that ends the traceback
            else:
                return first, last_end, lines, pos
            if is_json or end - pos > self.max_line:
                return None  # a JSON line's continuation, a cut line: the assembler's
            lines += blanks + 1
            blanks = 0
            last_end = stop
            pos = stop
        if not eof:
            return None  # the record may go on in the next block
        return first, last_end, lines, limit

    def _opens(self, raw: bytes) -> bool:
        """Whether an unindented line inside a traceback's frames starts a record (a JSON
        object or a stamp) rather than being the traceback's exception line."""
        text = make_line(raw, 0, 0, 0, self.max_line).text
        if text[:1] == "{" and text[-1] == "}" and json_object(text) is not None:
            return True
        if parse_line_start(text, self.tz) is not None:
            return True
        return bool(self.shape.prefix_tokens) and (
            prefixed_stamp(text, self.tz, self.shape.prefix_tokens) is not None
        )
