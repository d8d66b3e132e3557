"""Skimming: the tailer passes over healthy stretches of a log without building records.

The same reasoning as the fast scan (logwatch.fastscan): every rule needs one of its
literals in the record, so lines that hold none of them, and are not part of a record that
does, can change no incident. A line that starts a record with a full date of its own
(records.starts_dated_record) resets everything earlier lines could carry over, so
assembly can start afresh there and produce the records a line-by-line feed would. These
helpers work on one block of complete lines read from the file; the tailer decides.
"""

from __future__ import annotations

from datetime import tzinfo

from logwatch.model import LogLine
from logwatch.records import starts_dated_record
from logwatch.sources.reader import make_line
from logwatch.stampshape import START, StampShape

BLOCK = 1 << 20  # bytes looked at per step: the literal search runs at GB/s over it
WALK_LINES = 256  # how far back a record start is looked for before feeding line by line
_CONTINUED = frozenset({b" ", b"\t", b"\n", b"\r"})


def line_at(block: bytes, base: int, pos: int, number: int, max_line: int) -> tuple[LogLine, int]:
    """The complete line starting at block[pos] (file offset base + pos) as read_lines
    gives it, and where the next line starts in the block."""
    end = block.find(b"\n", pos) + 1
    return make_line(block[pos : end - 1], number, base + pos, base + end, max_line), end


def dated_start(
    block: bytes,
    line: int,
    floor: int,
    tz: tzinfo,
    max_line: int,
    shape: StampShape = START,
) -> int | None:
    """The last line at or before `line` (a line start) and at or after `floor` that starts
    a record with a full date of its own (where the file's shape puts stamps); None if
    there is none within WALK_LINES."""
    start = line
    for _ in range(WALK_LINES):
        if start < floor:
            return None
        if block[start : start + 1] not in _CONTINUED:
            candidate, _ = line_at(block, 0, start, 0, max_line)
            if starts_dated_record(candidate.text, tz, shape=shape):
                return start
        if start <= floor:
            return None
        start = block.rfind(b"\n", 0, start - 1) + 1
    return None
