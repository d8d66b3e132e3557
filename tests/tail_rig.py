"""Shared rig of the tail's edge tests (test_tail_said, _edges, _reads, _young): a fake
clock, a descriptor pool with knobs (budget, no holding, failing or hooked reads, a denied
open), the log line maker, and the tailer's info lines read as an operator's grep does."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

import pytest

from logwatch.model import Record
from logwatch.prefilter import Finder
from logwatch.sources.descriptors import Descriptors, Holder
from logwatch.sources.identity import FileId
from logwatch.sources.tail import Tailer


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Pool(Descriptors):
    """The real pool; `hold=False`: no descriptor is held (more files than descriptors);
    `before_open`: called with the path before each open (a rotation racing the open)."""

    def __init__(self, budget: int = 64, *, hold: bool = True) -> None:
        super().__init__(budget)
        self.hold = hold
        self.before_open: Callable[[Path], None] | None = None
        self.reads: list[int] = []  # sizes asked of the descriptors' read()
        self.failing: OSError | None = None  # raised by every read() while set
        self.before_read: Callable[[], None] | None = None  # once, at the next read()

    def open(self, path: Path) -> BinaryIO:
        if self.before_open is not None:
            self.before_open(path)
        super().open(path).close()  # the pool's own errors (EMFILE), then a counted reader
        return Counted(io.FileIO(path, "rb"), self)

    def keep(self, file: FileId, holder: Holder, *, changed: bool) -> bool:
        return self.hold and super().keep(file, holder, changed=changed)


class Counted(io.BufferedReader):
    """A file opened for reading that notes each read() asked of it."""

    def __init__(self, raw: io.FileIO, pool: Pool) -> None:
        super().__init__(raw)
        self._pool = pool

    def read(self, size: int | None = -1, /) -> bytes:
        self._pool.reads.append(-1 if size is None else size)
        hook, self._pool.before_read = self._pool.before_read, None
        if hook is not None:
            hook()
        if self._pool.failing is not None:
            raise self._pool.failing
        return super().read(size)


def line(n: int, text: str = "INFO ok") -> str:
    return f"2026-03-01 12:00:{n % 60:02d},000 {text} n={n}\n"


def numbers(records: list[Record]) -> list[int]:
    return [int(r.text.split("n=", 1)[1].split()[0]) for r in records if "n=" in r.text]


def append(path: Path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


def tailers(clock: FakeMonotonic) -> Iterator[Callable[..., Tailer]]:
    """A `make` fixture's body: builds tailers on the fake clock, closes them after."""
    made: list[Tailer] = []

    def build(
        pool: Pool | None = None,
        max_lines_per_poll: int = 20000,
        finder: Finder | None = None,
        max_line_bytes: int = 65536,
        record_wait_s: float = 0.3,
    ) -> Tailer:
        t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=max_line_bytes,
                   max_lines_per_poll=max_lines_per_poll, monotonic=clock,
                   descriptors=pool or Pool(), finder=finder,
                   record_wait_s=record_wait_s)  # fmt: skip
        made.append(t)
        return t

    yield build
    for t in made:
        t.close()


def settle(tailer: Tailer, clock: FakeMonotonic) -> list[Record]:
    """Poll, let the record wait pass, poll again (the last record is flushed)."""
    records = tailer.poll()
    clock.now += 1.0
    return records + tailer.poll()


class Said:
    """One info line of the tailer, as an operator's grep reads it."""

    def __init__(self, message: str) -> None:
        self.message = message
        words = message.split()
        keyed = [i for i, w in enumerate(words) if "=" in w]
        self.event = " ".join(words[: keyed[0]] if keyed else words)
        self.values = dict(w.split("=", 1) for w in words if "=" in w)


def said(caplog: pytest.LogCaptureFixture, event: str) -> list[Said]:
    lines = [
        Said(r.getMessage())
        for r in caplog.records
        if r.name == "logwatch.sources.tail" and r.levelno == logging.INFO
    ]
    return [s for s in lines if s.event == event]
