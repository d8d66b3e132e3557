"""Random access to a file's bytes for the fast scan: one big block at a time, and small
windows read around positions outside it (walking back to a record's start, reading a
record on past the block's end)."""

from __future__ import annotations

import os

__all__ = ["WINDOW", "FileBytes"]

WINDOW = 1 << 20  # bytes read around a position outside the current block


class FileBytes:
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
