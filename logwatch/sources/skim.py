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

BLOCK = 1 << 20  # bytes looked at per step: the literal search runs at GB/s over it
WALK_LINES = 256  # how far back a record start is looked for before feeding line by line
_CONTINUED = frozenset({b" ", b"\t", b"\n", b"\r"})


def line_texts(
    block: bytes, base: int, start: int, end: int, number: int, max_line: int
) -> list[LogLine]:
    """The lines of block[start:end) (complete lines: `end` is just past a newline), as
    sources.reader.read_lines gives them: "\\r" dropped, over-long lines cut."""
    raw = block[start:end]
    raws = raw.split(b"\n")
    raws.pop()
    texts = raw.decode("utf-8", "replace").split("\n")
    texts.pop()
    if len(texts) != len(raws):  # pragma: no cover - a newline never sits inside UTF-8
        texts = [r.decode("utf-8", "replace") for r in raws]
    out: list[LogLine] = []
    pos = base + start
    for text, piece in zip(texts, raws, strict=True):
        size = len(piece)
        stop = pos + size + 1
        if size > max_line:
            out.append(
                LogLine(
                    text=_text(piece[:max_line]),
                    number=number,
                    offset=pos,
                    end=stop,
                    truncated=True,
                )
            )
        else:
            if text[-1:] == "\r":
                text = text[:-1]
            out.append(LogLine(text=text, number=number, offset=pos, end=stop))
        pos = stop
        number += 1
    return out


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return text[:-1] if text[-1:] == "\r" else text


def dated_start(block: bytes, line: int, floor: int, tz: tzinfo, max_line: int) -> int | None:
    """The last line at or before `line` (a line start) and at or after `floor` that starts
    a record with a full date of its own; None if there is none within WALK_LINES."""
    start = line
    for _ in range(WALK_LINES):
        if start < floor:
            return None
        if block[start : start + 1] not in _CONTINUED:
            end = block.find(b"\n", start)
            if starts_dated_record(_text(block[start : min(end, start + max_line)]), tz):
                return start
        if start <= floor:
            return None
        start = block.rfind(b"\n", 0, start - 1) + 1
    return None
