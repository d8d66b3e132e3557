"""Line numbers through copytruncate and rewrites: a record names the line it is on now.

After logrotate's copytruncate the file starts again at line 1; an incident's sample and
the cursor a restart resumes from must say so (the cursor's line is where a restarted
reader counts from). Checked against the file's content as written, through the
tailer's public face (records and cursors), with and without the literal prefilter.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.model import Record
from logwatch.prefilter import make_finder
from logwatch.sources.tail import Tailer
from logwatch.store import Cursor


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def line(n: int, error: bool = False) -> str:
    text = "ERROR redis.exceptions.ConnectionError: Error 111" if error else "INFO ok"
    return f"2026-03-01 12:{n // 60 % 60:02d}:{n % 60:02d},000 {text} n={n}\n"


def ident(record: Record) -> int:
    return int(record.text.rsplit("n=", 1)[-1])


class Log:
    """A log file and the line number each line id has in it now."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.number: dict[int, int] = {}
        self.lines = 0
        self.next_id = 0
        path.write_text("")

    def append(self, count: int, error_every: int = 0) -> None:
        text = ""
        for _ in range(count):
            self.next_id += 1
            self.lines += 1
            self.number[self.next_id] = self.lines
            text += line(self.next_id, error=bool(error_every) and self.next_id % error_every == 0)
        with open(self.path, "a") as fh:
            fh.write(text)

    def truncate(self) -> None:
        """logrotate's copytruncate, once the copy is made: the file is emptied in place."""
        os.truncate(self.path, 0)
        self.lines = 0


def make_tailer(clock: FakeMonotonic, prefilter: bool) -> Tailer:
    return Tailer(
        tz=UTC,
        max_lines=200,
        max_bytes=65536,
        max_line_bytes=65536,
        monotonic=clock,
        finder=make_finder([b"Error 111"]) if prefilter else None,
    )


def settle(tailer: Tailer, clock: FakeMonotonic) -> list[Record]:
    records = tailer.poll()
    clock.now += 1.0
    return records + tailer.poll()


def file_cursor(tailer: Tailer, path: Path) -> Cursor:
    """The cursor of the followed file (the tailer also keeps cursors of content it saw
    truncated, until a copy of it is read)."""
    st = os.stat(path)
    (cursor,) = [c for c in tailer.cursors() if (c.dev, c.ino) == (st.st_dev, st.st_ino)]
    return cursor


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.mark.parametrize("prefilter", [False, True], ids=["every-line", "prefilter"])
def test_after_copytruncate_the_first_new_line_is_line_1(
    tmp_path: Path, clock: FakeMonotonic, prefilter: bool
) -> None:
    log = Log(tmp_path / "app.log")
    log.append(2)
    tailer = make_tailer(clock, prefilter)
    try:
        tailer.open(log.path)
        settle(tailer, clock)
        log.truncate()
        log.append(1, error_every=1)
        records = settle(tailer, clock)
        assert [(ident(r), r.line) for r in records] == [(3, 1)]
        cursor = file_cursor(tailer, log.path)
        assert (cursor.offset, cursor.line) == (os.path.getsize(log.path), 2)
    finally:
        tailer.close()


def test_a_restart_from_the_cursor_after_copytruncate_counts_on_from_there(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    log = Log(tmp_path / "app.log")
    log.append(3)
    tailer = make_tailer(clock, prefilter=False)
    tailer.open(log.path)
    settle(tailer, clock)
    log.truncate()
    log.append(2)
    settle(tailer, clock)
    cursor = file_cursor(tailer, log.path)
    tailer.close()
    log.append(1)
    restarted = make_tailer(clock, prefilter=False)
    try:
        assert restarted.resume(log.path, cursor) is not None
        records = settle(restarted, clock)
        assert [(ident(r), r.line) for r in records] == [(6, 3)]
    finally:
        restarted.close()


def test_a_file_rewritten_in_place_longer_than_it_was_counts_from_line_1(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    """Truncated and regrown past our offset before we looked: caught by its head."""
    log = Log(tmp_path / "app.log")
    log.append(2)
    tailer = make_tailer(clock, prefilter=False)
    try:
        tailer.open(log.path)
        settle(tailer, clock)
        log.truncate()
        log.append(4)
        records = settle(tailer, clock)
        assert [(ident(r), r.line) for r in records] == [(3, 1), (4, 2), (5, 3), (6, 4)]
    finally:
        tailer.close()


ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(min_value=1, max_value=30)),
        st.tuples(st.just("truncate"), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(ops=ops, prefilter=st.booleans(), error_every=st.sampled_from([1, 3, 7, 50]))
def test_every_record_names_its_line_in_the_file_as_it_is_now(
    ops: list[tuple[str, int]], prefilter: bool, error_every: int
) -> None:
    """Appends and copytruncates in any order, the tailer looking after each: every record
    it returns is on the line its text is on in the file, and the cursor's line is the
    next line to be written."""
    clock = FakeMonotonic()
    with tempfile.TemporaryDirectory() as tmp:
        log = Log(Path(tmp) / "app.log")
        tailer = make_tailer(clock, prefilter)
        try:
            tailer.open(log.path)
            for op, count in ops:
                if op == "append":
                    log.append(count, error_every)
                else:
                    log.truncate()
                for record in settle(tailer, clock):
                    assert record.line == log.number[ident(record)], record.text
                cursor = file_cursor(tailer, log.path)
                assert cursor.line == log.lines + 1
        finally:
            tailer.close()
