"""The tailer's less travelled paths: unreadable files, files followed without a held
descriptor, compressed files, and copies of content already read.

Promises, not mechanics: an unreadable file is said once, with its path, and the agent goes
on; it is read when it is readable again; a file opened only when it changes still yields
every line exactly once, under its right line number; a compressed file is read to its end
from where reading got to; a copy never makes a line read twice or lost.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import logging
import lzma
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

import pytest

from logwatch.model import Record
from logwatch.sources.descriptors import Descriptors, Holder
from logwatch.sources.identity import START, FileId, Position
from logwatch.sources.tail import Tailer


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Pool(Descriptors):
    """The real pool, with two knobs: paths whose open is denied (EACCES, as for a file
    the agent's user may not read: root reads anything, so a chmod cannot show it here),
    and `hold=False`: no descriptor is ever held (a host with more files than descriptors)."""

    def __init__(self, *, hold: bool = True) -> None:
        super().__init__(64)
        self.denied: set[Path] = set()
        self.hold = hold

    def open(self, path: Path) -> BinaryIO:
        if path in self.denied:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return super().open(path)

    def keep(self, file: FileId, holder: Holder, *, changed: bool) -> bool:
        return self.hold and super().keep(file, holder, changed=changed)


def line(n: int, text: str = "INFO ok") -> str:
    return f"2026-03-01 12:00:{n % 60:02d},000 {text} n={n}\n"


def traceback(n: int) -> str:
    return (
        f"2026-03-01 12:01:00,000 ERROR [app] failed n={n}\n"
        "Traceback (most recent call last):\n"
        '  File "/app/redis/connection.py", line 369, in connect\n'
        "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379.\n"
    )


def numbers(records: list[Record]) -> list[int]:
    return [int(r.text.split("n=", 1)[1].split()[0]) for r in records if "n=" in r.text]


def append(path: Path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def make(clock: FakeMonotonic) -> Iterator[Callable[[Pool], Tailer]]:
    made: list[Tailer] = []

    def build(pool: Pool) -> Tailer:
        t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536,
                   monotonic=clock, descriptors=pool)  # fmt: skip
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


def warnings_about(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and str(path) in r.getMessage()
    ]


# -- an unreadable file ----------------------------------------------------------------


def test_an_unreadable_file_is_said_once_skipped_and_read_when_readable_again(
    tmp_path: Path,
    make: Callable[[Pool], Tailer],
    clock: FakeMonotonic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="logwatch")
    pool = Pool()
    tailer = make(pool)
    locked, other = tmp_path / "locked.log", tmp_path / "other.log"
    locked.write_text(line(1) + line(2))
    other.write_text(line(50))
    pool.denied.add(locked)
    for _ in range(3):  # every rescan tries again
        assert tailer.open(locked) is None
    assert tailer.open(other) is not None  # the agent goes on with the others
    assert numbers(settle(tailer, clock)) == [50]
    said = warnings_about(caplog, locked)
    assert len(said) == 1, said
    assert said[0].startswith(f"{locked}: cannot read: Permission denied")  # one clear line

    pool.denied.clear()
    append(locked, line(3))
    assert tailer.open(locked) is not None
    got = settle(tailer, clock)
    assert numbers(got) == [1, 2, 3]
    assert [r.line for r in got] == [1, 2, 3]
    assert len(warnings_about(caplog, locked)) == 1  # readable: nothing more said

    # Unreadable again after it was read: that is news, said once again.
    pool.denied.add(locked)
    for _ in range(2):
        tailer.open(locked)
    assert len(warnings_about(caplog, locked)) == 2


def test_each_new_reason_a_file_cannot_be_read_is_said(
    tmp_path: Path, make: Callable[[Pool], Tailer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="logwatch")
    tailer = make(Pool())
    gone = tmp_path / "gone.log"
    assert tailer.open(gone) is None  # not there
    assert tailer.open(gone) is None
    gone.mkdir()  # now a directory under that name
    assert tailer.open(gone) is None
    assert tailer.open(gone) is None
    said = warnings_about(caplog, gone)
    assert len(said) == 2, said
    assert "No such file" in said[0] and "directory" in said[1]


def test_a_file_followed_without_a_descriptor_that_turns_unreadable_is_said_once(
    tmp_path: Path,
    make: Callable[[Pool], Tailer],
    clock: FakeMonotonic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Opened only when it changes: a change it cannot be opened for is said once, and
    its lines are read, exactly once, once it can be; a later failure is said again."""
    caplog.set_level(logging.WARNING, logger="logwatch")
    pool = Pool(hold=False)
    tailer = make(pool)
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log, hold=False)
    assert all(tf.fh is None for tf in tailer.files.values())
    got = settle(tailer, clock)
    pool.denied.add(log)
    for n in (2, 3, 4):
        append(log, line(n))
        got += settle(tailer, clock)
    assert warnings_about(caplog, log) == [f"{log}: cannot read: Permission denied"]
    pool.denied.clear()
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2, 3, 4]
    assert [r.line for r in got] == [1, 2, 3, 4]
    pool.denied.add(log)
    append(log, line(5))
    got += settle(tailer, clock)
    assert len(warnings_about(caplog, log)) == 2  # read in between: news again
    pool.denied.clear()
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2, 3, 4, 5]


# -- files followed without a held descriptor ---------------------------------------------


def test_files_without_descriptors_yield_every_line_once_with_its_line_number(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """Rounds of writes to some of many files, partial lines and tracebacks split across
    writes among them: each record once, at the line it starts on in its file."""
    tailer = make(Pool(hold=False))
    logs = [tmp_path / f"svc-{k}.log" for k in range(5)]
    expected: dict[str, list[tuple[int, int]]] = {str(p): [] for p in logs}
    lines_in = dict.fromkeys(expected, 0)
    serial = 0

    def write(path: Path, text: str, record_line: int | None = None) -> None:
        nonlocal serial
        append(path, text)
        key = str(path)
        if record_line is not None:
            expected[key].append((serial, record_line))
        lines_in[key] += text.count("\n")

    for log in logs:
        log.write_text("")
        tailer.open(log, hold=False)
    got: list[Record] = []
    for round_ in range(6):
        for k, log in enumerate(logs):
            if (round_ + k) % 3 == 0:
                continue  # untouched this round: not reopened, nothing lost
            serial += 1
            key = str(log)
            if k == 0 and round_ % 2 == 0:
                first = lines_in[key] + 1
                text = traceback(serial)
                write(log, text[:60], first)  # a record split mid-line across two writes
                got += tailer.poll()
                write(log, text[60:])
            else:
                write(log, line(serial), lines_in[key] + 1)
        got += tailer.poll()
        clock.now += 1.0
        got += tailer.poll()
    clock.now += 10
    got += tailer.poll()
    assert all(tf.fh is None for tf in tailer.files.values())
    seen: dict[str, list[tuple[int, int]]] = {str(p): [] for p in logs}
    for r in got:
        seen[r.source].append((numbers([r])[0], r.line))
    assert seen == expected


def test_a_record_waiting_in_a_file_without_a_descriptor_comes_out_with_no_more_writes(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """The file is unchanged since it was read; its last record is still flushed."""
    tailer = make(Pool(hold=False))
    log = tmp_path / "app.log"
    log.write_text("")
    tailer.open(log, hold=False)
    tailer.poll()
    append(log, line(1))
    assert tailer.poll() == []  # one line: more of its record may follow
    clock.now += 1.0
    got = tailer.poll()
    assert numbers(got) == [1]
    clock.now += 1.0
    assert tailer.poll() == []  # and only once


def test_a_partial_line_in_a_file_without_a_descriptor_is_flushed_once_it_sits(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """Unchanged since it was last opened, nothing pending but a partial last line: it is
    still opened again, and the line is read once no newline has come for a while."""
    tailer = make(Pool(hold=False))
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log, hold=False)
    got = settle(tailer, clock)
    assert numbers(got) == [1]
    append(log, line(2).rstrip("\n"))  # a crashed writer: no newline is coming
    got += tailer.poll()
    clock.now += 1.0
    got += tailer.poll()
    assert numbers(got) == [1]  # held: its newline may still come
    clock.now += 10.0
    got += tailer.poll()
    clock.now += 1.0
    got += tailer.poll()
    assert numbers(got) == [1, 2]
    assert [r.line for r in got] == [1, 2]


# -- compressed files -------------------------------------------------------------------

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_a_compressed_file_is_read_from_where_reading_got_to(
    tmp_path: Path, make: Callable[[Pool], Tailer], kind: str
) -> None:
    tailer = make(Pool())
    text = line(1) + traceback(2) + line(3) + line(4).rstrip("\n")  # last line unended
    data = text.encode()
    archive = tmp_path / f"app.log.1.{kind}"
    archive.write_bytes(COMPRESSORS[kind](data))

    read = tailer.read_archive(archive, START)
    assert read is not None
    records, end = read
    assert numbers(records) == [1, 2, 3, 4]
    assert [r.line for r in records] == [1, 2, 6, 7]
    assert {r.source for r in records} == {str(archive)}
    assert end == Position(len(data), 8)

    # From the start of line 6 (what an earlier reading of the plain file got to).
    at = data.index(line(3).encode())
    read = tailer.read_archive(archive, Position(at, 6))
    assert read is not None
    later, end = read
    assert numbers(later) == [3, 4]
    assert [r.line for r in later] == [6, 7]
    assert [r.offset for r in later] == [r.offset for r in records[2:]]
    assert end == Position(len(data), 8)

    # Read to its end already: nothing, and the end stays.
    assert tailer.read_archive(archive, end) == ([], end)


def test_a_damaged_compressed_file_is_said_with_its_path_and_skipped(
    tmp_path: Path, make: Callable[[Pool], Tailer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="logwatch")
    tailer = make(Pool())
    damaged = tmp_path / "app.log.2.gz"
    damaged.write_bytes(gzip.compress(("".join(line(n) for n in range(200))).encode())[:300])
    missing = tmp_path / "app.log.3.gz"
    assert tailer.read_archive(damaged, START) is None
    assert tailer.read_archive(missing, START) is None
    for path in (damaged, missing):
        said = warnings_about(caplog, path)
        assert len(said) == 1 and said[0].startswith(f"{path}: cannot read: "), said


# -- copies -----------------------------------------------------------------------------


def test_a_copy_shorter_than_what_was_read_is_read_from_its_end(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """copytruncate with a slow copy: lines written after the copy were read in the
    original before it was truncated. The copy adds nothing; what is written to it later
    is read once, numbered after the lines the copy holds."""
    tailer = make(Pool())
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))  # more than the head digest covers
    tailer.open(log)
    got = settle(tailer, clock)
    copy = tmp_path / "app.log.1"
    copy.write_bytes(log.read_bytes())
    append(log, line(30) + line(31))
    got += settle(tailer, clock)
    with open(log, "r+") as fh:
        fh.truncate(0)
    append(log, line(40))
    got += settle(tailer, clock)
    assert tailer.open(copy) is not None
    got += settle(tailer, clock)
    assert numbers(got) == [*range(32), 40]
    append(copy, line(50))
    late = settle(tailer, clock)
    assert numbers(late) == [50]
    assert [r.line for r in late] == [31]


def test_copytruncate_into_a_copy_followed_without_a_descriptor_loses_nothing(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """The copy is seen (complete) before its source is truncated: it waits, unchanged,
    until the truncate, then is read from where the source's reading got to (whichever of
    the two holds the last lines written before the rotation, they are read once)."""
    tailer = make(Pool(hold=False))
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))
    tailer.open(log, hold=False)
    got = settle(tailer, clock)
    append(log, line(30) + line(31))  # written just before the rotation, not read yet
    copy = tmp_path / "app.log.1"
    copy.write_bytes(log.read_bytes())
    tailer.open(copy, hold=False)
    got += settle(tailer, clock)  # the source is not truncated yet: the copy waits
    with open(log, "r+") as fh:
        fh.truncate(0)
    got += settle(tailer, clock)
    append(log, line(40))
    got += settle(tailer, clock)
    clock.now += 10
    got += tailer.poll()
    assert sorted(numbers(got)) == [*range(32), 40]
    by_number = {numbers([r])[0]: r for r in got}
    assert by_number[31].line == 32  # in the source, or in the copy: the same line
    assert (by_number[40].source, by_number[40].line) == (str(log), 1)


def test_a_copy_is_settled_when_only_its_source_is_seen_to_change(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """The watcher reports the truncated source, not the copy (which did not change): the
    copy's last lines, unread in the source, are still read, once; its resume point is
    kept, not deleted at the next commit."""
    tailer = make(Pool())
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))
    source = tailer.open(log)
    assert source is not None
    got = settle(tailer, clock)
    append(log, line(30) + line(31))
    copy = tmp_path / "app.log.1"
    copy.write_bytes(log.read_bytes())
    copied = tailer.open(copy)
    assert copied is not None
    with open(log, "r+") as fh:
        fh.truncate(0)
    append(log, line(40))
    for _ in range(3):  # as the agent's loop does: the changed files, and the busy ones
        got += tailer.poll({source, *tailer.busy()})
        clock.now += 1.0
    assert sorted(numbers(got)) == [*range(32), 40]
    assert copied not in tailer.forgotten()
    # The copy's cursor carries the truncated content from now on: no other is saved for it
    # (cursors: "of every followed file, and of truncated content whose copy was not read").
    assert sorted((c.dev, c.ino) for c in tailer.cursors()) == sorted(tailer.files)


def test_a_file_renamed_while_followed_without_a_descriptor_is_read_on(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """Found again by identity under its new name: read on from where it was, lines
    numbered on, nothing read twice."""
    tailer = make(Pool(hold=False))
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))
    file = tailer.open(log, hold=False)
    got = settle(tailer, clock)
    rotated = tmp_path / "app.log.1"
    log.rename(rotated)
    assert tailer.known(rotated) == file
    append(rotated, line(30))
    got += settle(tailer, clock)
    assert numbers(got) == list(range(31))
    assert [r.line for r in got] == list(range(1, 32))


def test_a_file_without_a_descriptor_that_sat_unchanged_is_still_live(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """Looked at and found unchanged, a file read to its end stays caught up: what it holds
    next was just written (its records are live, their stamps bounded by the clock), however
    long it sat quiet."""
    tailer = make(Pool(hold=False))
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log, hold=False)
    settle(tailer, clock)
    for _ in range(4):  # two minutes of polls that find nothing new
        clock.now += 30.0
        assert tailer.read() == []
    append(log, traceback(2))  # complete at its exception line: out at this read
    batches = tailer.read()
    assert [numbers(b.records) for b in batches] == [[2]]
    assert batches[0].live


def test_a_copy_is_read_past_a_saved_cursor_only_when_a_previous_run_read_its_content(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """copytruncate: the copy's unread lines are read once, in this run or after a restart.
    Only after a restart are they 'resumed' (their stamps are bounded by the last commit,
    not by the moment they are read)."""
    log, copy = tmp_path / "app.log", tmp_path / "app.log.1"

    def rotate() -> None:
        # Written just before the rotation, not read yet; complete records (a traceback
        # ends at its exception line), so they come out at the copy's first read.
        append(log, traceback(30) + traceback(31))
        copy.write_bytes(log.read_bytes())
        with open(log, "r+") as fh:
            fh.truncate(0)

    # In this run: the truncation is seen first, then the copy.
    tailer = make(Pool())
    log.write_text("".join(line(n) for n in range(30)))
    tailer.open(log)
    settle(tailer, clock)
    rotate()
    assert tailer.poll() == []
    tailer.open(copy)
    batches = tailer.read()
    assert [(numbers(b.records), b.resumed) for b in batches] == [([30, 31], False)]

    # Stopped before the rotation, started after it.
    copy.unlink()
    log.write_text("".join(line(n) for n in range(30)))
    first = make(Pool())
    first.open(log)
    settle(first, clock)
    saved = first.cursors()
    first.close()
    rotate()
    second = make(Pool())
    second.remember(saved)
    second.open(copy)
    batches = second.read()
    assert [(numbers(b.records), b.resumed) for b in batches] == [([30, 31], True)]


def test_an_unchanged_file_without_a_descriptor_is_not_opened(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """Followed by identity, opened when it changes (sources/descriptors.py): polling
    10,000 quiet files costs a stat each, not an open each."""
    opened: list[Path] = []

    class Counting(Pool):
        def open(self, path: Path) -> BinaryIO:
            opened.append(path)
            return super().open(path)

    tailer = make(Counting(hold=False))
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log, hold=False)
    got = settle(tailer, clock)
    clock.now += 10
    got += tailer.poll()  # read to its end, nothing waiting
    opened.clear()
    for _ in range(5):
        clock.now += 1.0
        got += tailer.poll()
    assert opened == []
    append(log, line(2))
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2]
    assert opened and set(opened) == {log}


def test_resumed_tells_whether_a_saved_cursor_is_followed(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    log, other = tmp_path / "app.log", tmp_path / "other.log"
    log.write_text("".join(line(n) for n in range(30)))
    other.write_text(line(1))
    first = make(Pool())
    first.open(log)
    first.open(other)
    settle(first, clock)
    saved = {c.path: c for c in first.cursors()}
    first.close()
    second = make(Pool())
    assert second.resume(log, saved[str(log)]) is not None
    assert second.resumed(saved[str(log)])
    assert not second.resumed(saved[str(other)])  # not followed (yet): its content is lost
    other.write_text(line(2))  # rewritten in place while stopped: same inode, new content
    assert second.resume(other, saved[str(other)]) is None
    assert second.open(other) is not None  # followed as the new file it is
    assert not second.resumed(saved[str(other)])  # the cursor's content is not


def test_a_compressed_file_keeps_the_tailers_line_bound(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    """A huge line in a compressed file is cut like one in a plain file: memory stays
    bounded, and the lines after it are read."""
    tailer = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=1000,
                    monotonic=clock, descriptors=Pool())  # fmt: skip
    try:
        archive = tmp_path / "app.log.1.gz"
        huge = line(1, "ERROR " + "x" * 100_000)
        archive.write_bytes(gzip.compress((huge + line(2)).encode()))
        read = tailer.read_archive(archive, START)
        assert read is not None
        records, end = read
    finally:
        tailer.close()
    assert len(records) == 2
    assert len(records[0].text) <= 2000 and records[0].truncated
    assert numbers(records[1:]) == [2] and records[1].line == 2
    assert end.line == 3


def test_a_compressed_container_log_is_unwrapped(
    tmp_path: Path, make: Callable[[Pool], Tailer]
) -> None:
    """Docker's json-file logs, rotated and compressed: their messages, not the JSON, and a
    traceback the runtime wrapped line by line is one record again."""
    tailer = make(Pool())
    messages = [
        line(1).rstrip(),
        "2026-03-01 12:00:02,000 ERROR [app] failed n=2",
        "Traceback (most recent call last):",
        "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379.",
    ]
    entries = "".join(
        f'{{"log":"{m}\\n","stream":"stderr","time":"2026-03-01T12:00:0{k}.000000000Z"}}\n'
        for k, m in enumerate(messages, 1)
    )
    archive = tmp_path / "abc-json.log.1.gz"
    archive.write_bytes(gzip.compress(entries.encode()))
    read = tailer.read_archive(archive, START)
    assert read is not None
    records, _ = read
    assert [r.text for r in records] == [messages[0], "\n".join(messages[1:])]
    assert [r.line for r in records] == [1, 2]


# -- what a read reports ---------------------------------------------------------------


def test_bytes_read_are_counted_per_path_through_a_truncation(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """take_bytes_read() (the read-rate metric): the bytes read per path since the last
    call, counted from 0 again after a truncation, never negative."""
    tailer = make(Pool())
    log, other = tmp_path / "app.log", tmp_path / "other.log"
    first = "".join(line(n) for n in range(10))
    log.write_text(first)
    other.write_text(line(1))
    tailer.open(log)
    tailer.open(other)
    settle(tailer, clock)
    assert tailer.take_bytes_read() == {str(log): len(first), str(other): len(line(1))}
    assert tailer.take_bytes_read() == {}
    settle(tailer, clock)
    assert tailer.take_bytes_read() == {}  # nothing new: nothing counted
    append(log, line(10))
    settle(tailer, clock)
    assert tailer.take_bytes_read() == {str(log): len(line(10))}
    with open(log, "r+") as fh:
        fh.truncate(0)
    append(log, line(11) + line(12))
    settle(tailer, clock)
    assert tailer.take_bytes_read() == {str(log): len(line(11) + line(12))}


def test_files_are_read_oldest_followed_first(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """Whatever their device and inode numbers: the order they were followed in."""
    tailer = make(Pool())
    logs = [tmp_path / f"svc-{k}.log" for k in range(4)]
    for k, log in enumerate(logs):
        log.write_text(traceback(k))  # complete records: out at the first read
    order = sorted(logs, key=lambda p: -p.stat().st_ino)  # newest inode followed first
    keys = [tailer.open(p) for p in order]
    batches = tailer.read([k for k in reversed(keys) if k is not None])
    assert [b.path for b in batches] == order


def test_a_file_of_one_tiny_line_renamed_without_a_descriptor_is_read_on(
    tmp_path: Path, make: Callable[[Pool], Tailer], clock: FakeMonotonic
) -> None:
    """Its head is too short to tell content apart, but it was read and begins as it did:
    the same file under its new name, not a new one on a reused inode (read again)."""
    tailer = make(Pool(hold=False))
    log = tmp_path / "app.log"
    log.write_text("ok\n")  # one tiny line
    file = tailer.open(log, hold=False)
    clock.now += 10
    got = settle(tailer, clock)
    rotated = tmp_path / "app.log.1"
    log.rename(rotated)
    assert tailer.known(rotated) == file
    append(rotated, line(2))
    got += settle(tailer, clock)
    clock.now += 10
    got += tailer.poll()
    assert [(r.text, r.line) for r in got] == [("ok", 1), (line(2).rstrip("\n"), 2)]
