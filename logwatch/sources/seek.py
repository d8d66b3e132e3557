"""Where a first start begins reading a file: its end, or the first record of a window."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, tzinfo

from logwatch.sources.identity import Position
from logwatch.timestamps import parse_line_start


def end_of_complete_lines(fd: int, size: int) -> Position:
    """Just past the last newline, and the line number there."""
    lines, pos, last_nl = 0, 0, -1
    while pos < size:
        block = os.pread(fd, min(1 << 20, size - pos), pos)
        if not block:
            break
        lines += block.count(b"\n")
        nl = block.rfind(b"\n")
        if nl >= 0:
            last_nl = pos + nl
        pos += len(block)
    return Position(last_nl + 1, lines + 1)


def position_at(fd: int, offset: int) -> Position:
    """The position of byte `offset` (a line start): its line number counted."""
    return Position(offset, count_lines(fd, offset) + 1)


def seek_to_time(fd: int, size: int, since: datetime, tz: tzinfo) -> Position:
    """The first line stamped at or after `since` (binary search, as fail2ban)."""
    lo, hi = 0, size
    while hi - lo > 4096:
        mid = (lo + hi) // 2
        when = _first_stamp_after(fd, mid, size, tz)
        if when is None or when >= since:
            hi = mid
        else:
            lo = mid
    # Walk forward from lo to the exact first line at or after `since`.
    pos = _next_line_start(fd, lo) if lo else 0
    while pos < size:
        chunk = os.pread(fd, 64 * 1024, pos)
        nl = chunk.find(b"\n")
        if nl < 0:
            break
        stamp = parse_line_start(chunk[:nl].decode("utf-8", "replace"), tz)
        if stamp is not None and stamp.when is not None and stamp.when >= since:
            break
        pos += nl + 1
    return position_at(fd, pos)


def _next_line_start(fd: int, pos: int) -> int:
    chunk = os.pread(fd, 64 * 1024, pos - 1)
    nl = chunk.find(b"\n")
    return pos - 1 + nl + 1 if nl >= 0 else pos


def _first_stamp_after(fd: int, pos: int, size: int, tz: tzinfo) -> datetime | None:
    start = _next_line_start(fd, pos) if pos else 0
    chunk = os.pread(fd, min(256 * 1024, size - start), start)
    for raw in chunk.split(b"\n")[:-1]:
        stamp = parse_line_start(raw.decode("utf-8", "replace"), tz)
        if stamp is not None and stamp.when is not None:
            return stamp.when if stamp.when.tzinfo else stamp.when.replace(tzinfo=tz)
    return None


def count_lines(fd: int, end: int) -> int:
    """Newlines in the first `end` bytes."""
    count, pos = 0, 0
    while pos < end:
        block = os.pread(fd, min(1 << 20, end - pos), pos)
        if not block:
            break
        count += block.count(b"\n")
        pos += len(block)
    return count


def since_from_lookback(now: datetime, lookback_s: float) -> datetime:
    """The log time a --lookback starts from."""
    return now - timedelta(seconds=lookback_s)
