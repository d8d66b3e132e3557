"""The scan's progress on a terminal: files, bytes, rate and time left, on one line.

The scan calls it with each file's label as it gets to that file; the bytes of the files
before it are done. Sizes are the files' sizes on disk (compressed ones count as their
compressed bytes). Redrawn at most ten times a second, on standard error.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from logwatch.report_text import neutralise
from logwatch.sources.history import LogFamily

_REDRAW_S = 0.1


def human_bytes(n: float) -> str:
    """`512 B`, `3.4 KB`, `412.3 MB`, `1.07 GB`."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:,.{2 if unit == 'GB' else 1}f} {unit}"
    return f"{int(n)} B"


def eta(seconds: float) -> str:
    """`0:07`, `3:05`, `1:02:03`."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ScanProgress:
    """on_file for scan(): draws `scanning [k/N] done of total, rate, ETA, file`."""

    def __init__(
        self,
        sizes: Sequence[tuple[str, int]],
        *,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sizes = dict(sizes)
        self._total = sum(self._sizes.values())
        self._count = len(self._sizes)
        self._out = out or sys.stderr
        self._clock = clock
        self._started = clock()
        self._drawn = float("-inf")
        self._seen = 0
        self._done = 0
        self._current = 0

    def line(self, label: str) -> str:
        """The progress line as of the file `label` starting."""
        elapsed = self._clock() - self._started
        done = self._done
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f"ETA {eta((self._total - done) / rate)}" if rate > 0 else "ETA -:--"
        speed = f"{human_bytes(rate)}/s" if rate > 0 else "-- MB/s"
        name = neutralise(label)
        if len(name) > 40:
            name = "…" + name[-39:]
        return (
            f"scanning [{self._seen}/{self._count}] {human_bytes(done)} of"
            f" {human_bytes(self._total)}  {speed}  {left}  {name}"
        )

    def __call__(self, label: str) -> None:
        """The scan got to the file `label`."""
        self._done += self._current
        self._current = self._sizes.get(label, 0)
        self._seen += 1
        now = self._clock()
        if now - self._drawn >= _REDRAW_S or self._seen == self._count:
            self._drawn = now
            self._out.write("\r\x1b[K" + self.line(label))
            self._out.flush()

    def done(self) -> None:
        """Clear the line."""
        self._out.write("\r\x1b[K")
        self._out.flush()


def progress_for(families: Sequence[LogFamily], labels: Mapping[Path, str]) -> ScanProgress:
    """The progress of a scan of these families, on standard error."""
    sizes = []
    for family in families:
        for path in family.files:
            try:
                size = os.stat(path).st_size
            except OSError:
                size = 0
            sizes.append((labels.get(path, str(path)), size))
    return ScanProgress(sizes)
