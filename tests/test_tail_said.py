"""What the tailer tells the operator, and the edges of following a file that the other
tail tests pass by.

The tailer's info lines are how an operator sees a rotation happen: each event is said
once, as its name then key=value words (`renamed old=... new=...`), naming the file and
where reading stands; the benchmarks wait for `following path=`. The tests read them as
an operator's grep does: the event's words, then the values of its keys.
"""

from __future__ import annotations

import errno
import gzip
import io
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from logwatch.model import Record
from logwatch.prefilter import Finder, make_finder
from logwatch.sources.descriptors import Descriptors, Holder
from logwatch.sources.identity import START, FileId
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


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def make(clock: FakeMonotonic) -> Iterator[Callable[..., Tailer]]:
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


@pytest.fixture
def info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="logwatch")
    return caplog


# -- what is said ----------------------------------------------------------------------


def test_following_names_the_file_and_where_reading_starts(
    tmp_path: Path, make: Callable[..., Tailer], info: pytest.LogCaptureFixture
) -> None:
    tailer = make()
    log, other = tmp_path / "app.log", tmp_path / "other.log"
    log.write_text(line(1) + line(2))
    other.write_text(line(1))
    tailer.open(log)
    tailer.open(other, start="end")
    tailer.open(log)  # already followed: nothing new to say
    assert [s.values for s in said(info, "following")] == [
        {"path": str(log), "offset": "0"},
        {"path": str(other), "offset": str(len(line(1)))},
    ]


def test_a_resume_names_the_file_and_its_offset(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    info: pytest.LogCaptureFixture,
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    first = make()
    first.open(log)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    info.clear()
    second = make()
    assert second.resume(log, cursor) is not None
    assert [s.values for s in said(info, "resume")] == [
        {"path": str(log), "offset": str(log.stat().st_size)}
    ]


def test_a_rename_is_said_once_with_both_names(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    info: pytest.LogCaptureFixture,
) -> None:
    tailer = make()
    log, rotated = tmp_path / "app.log", tmp_path / "app.log.1"
    log.write_text(line(1))
    file = tailer.open(log)
    settle(tailer, clock)
    log.rename(rotated)
    assert tailer.known(rotated) == file
    assert tailer.known(rotated) == file  # found again under the same name: no news
    assert [s.values for s in said(info, "renamed")] == [{"old": str(log), "new": str(rotated)}]


def test_a_truncation_is_said_once_with_the_size_and_the_offset_read_to(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    info: pytest.LogCaptureFixture,
) -> None:
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    tailer.open(log)
    settle(tailer, clock)
    with open(log, "r+") as fh:
        fh.truncate(0)
    append(log, line(3))
    assert numbers(settle(tailer, clock) + settle(tailer, clock)) == [3]
    assert [s.values for s in said(info, "truncation detected")] == [
        {"path": str(log), "size": str(len(line(3))), "offset": str(len(line(1) + line(2)))}
    ]


def test_a_copy_is_said_with_where_its_reading_starts(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    info: pytest.LogCaptureFixture,
) -> None:
    """copytruncate seen in both orders: truncate first (the copy is known at its open),
    and copy first (it waits, and is settled once its source is truncated)."""
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(20)))
    tailer.open(log)
    settle(tailer, clock)
    read_to = log.stat().st_size
    append(log, line(20))
    first = tmp_path / "app.log.1"
    first.write_bytes(log.read_bytes())
    with open(log, "r+") as fh:
        fh.truncate(0)
    assert settle(tailer, clock) == []
    tailer.open(first)
    assert numbers(settle(tailer, clock)) == [20]

    append(log, "".join(line(n) for n in range(30, 50)))
    settle(tailer, clock)
    read_again = log.stat().st_size
    append(log, line(50))
    second = tmp_path / "app.log.2"
    second.write_bytes(log.read_bytes())
    tailer.open(second)  # its source is not truncated yet: it waits
    assert len(said(info, "copy of a followed file")) == 1
    with open(log, "r+") as fh:
        fh.truncate(0)
    got = settle(tailer, clock) + settle(tailer, clock)
    assert sorted(numbers(got)) == [50]
    assert [s.values for s in said(info, "copy of a followed file")] == [
        {"path": str(first), "offset": str(read_to)},
        {"path": str(second), "offset": str(read_again)},
    ]


def test_a_deleted_file_is_said_gone_then_done_once_each(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    info: pytest.LogCaptureFixture,
) -> None:
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1))
    file = tailer.open(log)
    settle(tailer, clock)
    append(log, line(2))  # written just before the delete
    log.unlink()
    tailer.vanished(set())
    assert tailer.busy() == [file]  # drained within its grace: polled soon
    tailer.vanished(set())  # still gone: no news
    assert [s.message for s in said(info, "file gone")] == [f"file gone path={log} (draining)"]
    got = settle(tailer, clock)
    clock.now += 10.0
    got += tailer.poll() + tailer.poll()
    assert numbers(got) == [2]
    assert [s.values for s in said(info, "file done")] == [{"path": str(log)}]


def test_an_inode_reused_by_another_file_is_said_and_the_old_files_record_comes_out(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    info: pytest.LogCaptureFixture,
) -> None:
    """A file followed without a descriptor is deleted, and its inode given to a new file
    under another name (here the same inode rewritten and renamed, which the tailer cannot
    tell from a reuse). The old file's unfinished record comes out, in a batch of its own
    that names it; the new file is not taken for a rename of the old one."""
    tailer = make(Pool(hold=False))
    log, other = tmp_path / "app.log", tmp_path / "worker.log"
    log.write_text("".join(line(n) for n in range(3)))
    file = tailer.open(log, hold=False)
    assert numbers(tailer.poll()) == [0, 1]  # the last record waits for what may follow
    with open(log, "r+") as fh:
        fh.truncate(0)
        fh.write("another file entirely, of its own content\n")
    log.rename(other)
    assert tailer.known(other) is None
    assert file not in tailer.files
    batches = tailer.read()
    assert [(b.file, b.path, b.live, numbers(b.records), b.resumed) for b in batches] == [
        (file, log, False, [2], False)
    ]
    assert [s.message for s in said(info, "inode reused")] == [
        f"inode reused path={other} (was {log})"
    ]


def test_a_file_readable_again_is_said_once(
    tmp_path: Path, make: Callable[..., Tailer], info: pytest.LogCaptureFixture
) -> None:
    pool = Pool()
    tailer = make(pool)
    log = tmp_path / "app.log"
    log.write_text(line(1))

    def deny(path: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    pool.before_open = deny
    assert tailer.open(log) is None
    pool.before_open = None
    assert tailer.open(log) is not None
    messages = [r.getMessage() for r in info.records if r.levelno == logging.INFO]
    assert messages.count(f"{log}: readable again") == 1


# -- the batch a resumed file's last record comes out in ---------------------------------


def test_a_resumed_files_record_cut_off_by_an_inode_reuse_is_still_marked_resumed(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Read past a previous run's cursor, in batches of one line: the record still
    assembling when its inode is taken by another file was written while we were stopped
    (its stamp is checked against the last commit, not the clock)."""
    log, other = tmp_path / "app.log", tmp_path / "worker.log"
    log.write_text(line(0))
    first = make()
    first.open(log)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    append(log, "".join(line(n) for n in range(1, 4)))  # written while stopped
    tailer = make(Pool(hold=False), max_lines_per_poll=1)
    file = tailer.resume(log, cursor)
    got = tailer.poll()
    assert numbers(got) == []  # line 1 read, its record may go on
    with open(log, "r+") as fh:
        fh.truncate(0)
        fh.write("another file entirely, of its own content\n")
    log.rename(other)
    assert tailer.known(other) is None
    batches = tailer.read()
    assert [(b.file, numbers(b.records), b.resumed) for b in batches] == [(file, [1], True)]


# -- descriptors -----------------------------------------------------------------------


def test_a_resumed_file_does_not_take_the_descriptor_of_a_followed_one(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """At a start, files resumed from their cursors are followed without a descriptor when
    none is left: a file already followed keeps its own, so its last lines, written just
    before it is deleted, are still read through it."""
    log, old = tmp_path / "app.log", tmp_path / "old.log"
    old.write_text(line(0))
    first = make()
    first.open(old)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    tailer = make(Pool(budget=1))
    log.write_text(line(1))
    tailer.open(log)
    got = settle(tailer, clock)
    assert tailer.resume(old, cursor) is not None
    append(log, line(2))
    log.unlink()
    tailer.vanished({FileId(old.stat().st_dev, old.stat().st_ino)})
    got += settle(tailer, clock)
    clock.now += 10.0
    got += tailer.poll()
    assert numbers(got) == [1, 2]


def test_a_file_without_a_descriptor_replaced_under_its_name_is_not_read_as_itself(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Renamed away, a new file under its name: until the rescan finds it again, polling
    reads nothing from either (the new file is not the followed one), and fails nothing."""
    tailer = make(Pool(hold=False))
    log, rotated = tmp_path / "app.log", tmp_path / "app.log.1"
    log.write_text(line(1))
    file = tailer.open(log, hold=False)
    got = settle(tailer, clock)
    log.rename(rotated)
    append(rotated, line(2))
    log.write_text(line(3))
    got += settle(tailer, clock)
    assert numbers(got) == [1]
    assert tailer.known(rotated) == file
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2]


def test_a_file_replaced_between_its_stat_and_its_open_is_not_read_as_itself(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """A rotation racing the reopen of a file followed without a descriptor: the name
    holds the followed file at the stat and a new one at the open. Nothing is read from
    the new file as the old one's; the old one is found again under its new name."""
    pool = Pool(hold=False)
    tailer = make(pool)
    log, rotated = tmp_path / "app.log", tmp_path / "app.log.1"
    log.write_text(line(1))
    file = tailer.open(log, hold=False)
    got = settle(tailer, clock)
    append(log, line(2))

    def rotate(path: Path) -> None:
        pool.before_open = None
        log.rename(rotated)
        log.write_text(line(3))

    pool.before_open = rotate
    got += settle(tailer, clock)
    assert numbers(got) == [1]
    assert tailer.known(rotated) == file
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2]


# -- polling ---------------------------------------------------------------------------


def test_poll_reads_only_the_files_it_is_given(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    tailer = make()
    log, other = tmp_path / "app.log", tmp_path / "other.log"
    log.write_text(line(1))
    other.write_text(line(2))
    a = tailer.open(log)
    b = tailer.open(other)
    assert a is not None and b is not None
    got = tailer.poll([a])
    clock.now += 1.0
    got += tailer.poll([a])
    assert numbers(got) == [1]
    got = tailer.poll([b])
    clock.now += 1.0
    got += tailer.poll([b])
    assert numbers(got) == [2]


# -- a file done leaves its content's cursor ---------------------------------------------


def test_a_copy_of_a_file_done_made_while_stopped_is_read_from_where_reading_got_to(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """A file deleted and done: what was read of it is saved with the cursors (under its
    name), so a copy of it seen after a restart adds only what was not read."""
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(20)))
    tailer = make()
    tailer.open(log)
    settle(tailer, clock)
    kept = log.read_bytes()
    log.unlink()
    tailer.vanished(set())
    settle(tailer, clock)
    clock.now += 10.0
    tailer.poll()
    assert tailer.files == {}
    saved = tailer.cursors()
    assert [(c.path, c.offset, c.line) for c in saved] == [(str(log), len(kept), 21)]
    tailer.close()

    copy = tmp_path / "app.log.1"
    copy.write_bytes(kept + line(20).encode())
    after = make()
    after.remember(saved)
    after.open(copy)
    assert numbers(settle(after, clock)) == [20]


# -- compressed files ------------------------------------------------------------------


def test_a_damaged_compressed_file_is_said_with_why(
    tmp_path: Path, make: Callable[..., Tailer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="logwatch")
    tailer = make()
    damaged = tmp_path / "app.log.2.gz"
    damaged.write_bytes(gzip.compress("".join(line(n) for n in range(200)).encode())[:300])
    assert tailer.read_archive(damaged, START) is None
    (message,) = [r.getMessage() for r in caplog.records if str(damaged) in r.getMessage()]
    assert message.startswith(f"{damaged}: cannot read: ")
    assert "corrupt gzip data" in message  # why: cut short


def test_a_compressed_file_gives_the_records_its_plain_file_gave(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Django's `ERROR 2026-...` lines below a head of long start-stamped lines: the
    shape is learned from the same head live and compressed, so the records agree."""
    head = "".join(line(n, "INFO " + "x" * 100) for n in range(50))  # > 4,096 bytes
    assert len(head) > 4096
    django = "".join(f"ERROR 2026-03-01 12:05:{n:02d},000 django n={n}\n" for n in range(50, 53))
    log = tmp_path / "app.log"
    log.write_text(head + django)
    tailer = make()
    tailer.open(log)
    live = settle(tailer, clock)
    archive = tmp_path / "app.log.1.gz"
    archive.write_bytes(gzip.compress((head + django).encode()))
    os.utime(archive, (log.stat().st_atime, log.stat().st_mtime))
    read = tailer.read_archive(archive, START)
    assert read is not None
    assert [(r.time, r.text) for r in read[0]] == [(r.time, r.text) for r in live]


def test_a_file_whose_head_cannot_be_read_under_a_new_name_is_not_taken_for_a_rename(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Followed without a descriptor, its inode found under another name whose head cannot
    be read: nothing says it is the same file, so it is not read on from the old offset
    (the new name is opened as a new file, read from its start once it can be read)."""
    import logwatch.sources.tail as tail

    tailer = make(Pool(hold=False))
    log, other = tmp_path / "app.log", tmp_path / "worker.log"
    log.write_text("".join(line(n) for n in range(3)))
    file = tailer.open(log, hold=False)
    settle(tailer, clock)
    log.rename(other)

    def unreadable(path: Path, mode: str = "r") -> BinaryIO:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(tail, "open", unreadable, raising=False)
    assert tailer.known(other) is None
    assert file not in tailer.files


# -- two copies at once ----------------------------------------------------------------


def test_two_copies_of_one_file_made_before_its_truncate_are_read_once(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Two copies (logrotate's, and a backup job's) made before the truncate: both wait
    for their source; once it is truncated, one reads the lines its source had not, and
    the other waits on that one (a copy waits only on a file followed before it: no two
    wait on each other for ever)."""
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))
    tailer.open(log)
    got = settle(tailer, clock)
    append(log, line(30) + line(31))  # written just before the rotation, not read yet
    copies = [tmp_path / "app.log.1", tmp_path / "backup.log"]
    for copy in copies:
        copy.write_bytes(log.read_bytes())
    for copy in copies:
        tailer.open(copy)
    with open(log, "r+") as fh:
        fh.truncate(0)
    for _ in range(3):
        got += settle(tailer, clock)
    assert sorted(numbers(got)) == list(range(32))


# -- busy, drained, counted ------------------------------------------------------------


def test_a_file_read_to_its_end_is_not_busy_and_a_draining_one_is(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """busy(): poll these again soon. A file read to its end, its last record out, is not
    (the agent then waits for news, not a busy tick); one draining after its delete is,
    until it is done."""
    tailer = make()
    log, quiet = tmp_path / "app.log", tmp_path / "quiet.log"
    log.write_text(line(1))
    quiet.write_text(line(2))
    file = tailer.open(log)
    tailer.open(quiet)
    settle(tailer, clock)
    settle(tailer, clock)
    assert tailer.busy() == []
    log.unlink()
    tailer.vanished({q for q in tailer.files if q != file})
    settle(tailer, clock)
    assert tailer.busy() == [file]
    clock.now += 10.0
    tailer.poll()
    assert tailer.busy() == []


def test_a_deleted_file_is_drained_for_its_grace_then_done(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Its writer may not have reopened yet: what it writes through its open descriptor
    within the grace (five seconds) is read; at the grace the file is done."""
    from logwatch.sources.tail import DRAIN_GRACE_S

    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1))
    file = tailer.open(log)
    got = settle(tailer, clock)
    with open(log, "a") as writer:
        log.unlink()
        tailer.vanished(set())
        gone_at = clock.now
        got += tailer.poll()
        writer.write(line(2))
        writer.flush()
        clock.now = gone_at + 2.0
        got += tailer.poll()
        writer.write(line(3))
        writer.flush()
        clock.now = gone_at + DRAIN_GRACE_S
        got += tailer.poll()  # read to its end and done in the same poll
    assert numbers(got) == [1, 2, 3]
    assert file not in tailer.files and tailer.gone == [file]


def test_each_batch_names_its_file(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    tailer = make()
    log, other = tmp_path / "app.log", tmp_path / "other.log"
    log.write_text(line(1))
    other.write_text(line(2))
    a, b = tailer.open(log), tailer.open(other)
    tailer.read()
    clock.now += 1.0
    assert [(x.file, x.path, numbers(x.records)) for x in tailer.read()] == [
        (a, log, [1]),
        (b, other, [2]),
    ]


def test_bytes_read_add_up_over_polls_until_taken(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log)
    settle(tailer, clock)
    append(log, line(2))
    settle(tailer, clock)
    assert tailer.take_bytes_read() == {str(log): len(line(1) + line(2))}
    assert tailer.take_bytes_read() == {}


def test_records_are_live_for_a_minute_after_the_file_was_caught_up(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Read to its end within LIVE_WINDOW_S (a minute, included): what the file holds next
    was just written, its stamps checked against the clock; later, not so."""
    from logwatch.sources.tail import LIVE_WINDOW_S

    tailer = make(Pool(hold=False))
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log, hold=False)
    settle(tailer, clock)
    caught_up = clock.now
    append(log, line(2) + line(3))
    clock.now = caught_up + LIVE_WINDOW_S
    batches = tailer.read()
    assert [(numbers(b.records), b.live) for b in batches] == [([2], True)]


def test_a_done_file_gives_its_descriptor_back(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """One descriptor to hold: a file deleted and done gives it back, so the next file
    holds it, and its last lines, written just before its own delete, are read."""
    tailer = make(Pool(budget=1))
    old, log = tmp_path / "old.log", tmp_path / "app.log"
    old.write_text(line(0))
    log.write_text(line(1))  # made now: it does not get the inode of the file deleted
    tailer.open(old)
    settle(tailer, clock)
    old.unlink()
    tailer.vanished(set())
    clock.now += 10.0
    tailer.poll()
    assert tailer.files == {}
    tailer.open(log)
    got = settle(tailer, clock)
    append(log, line(2))
    log.unlink()
    tailer.vanished(set())
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2]


def test_a_file_rewritten_while_stopped_under_the_same_banner_is_read_from_its_start(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """A log that begins with a header line (W3C's `#Software:`) is truncated and written
    anew while the agent is stopped: its cursor no longer describes it (shorter than the
    offset read), and its own old cursor is not a source it copies: every new line is read.
    """
    banner = "#Software: logwatch test server 1.2\n"
    log = tmp_path / "app.log"
    log.write_text(banner + "".join(line(n) for n in range(30)))
    first = make()
    first.open(log)
    settle(first, clock)
    saved = first.cursors()
    first.close()
    log.write_text(banner + line(40) + line(41))  # same inode, same first line, shorter
    second = make()
    second.remember(saved)
    (cursor,) = saved
    assert second.resume(log, cursor) is None
    second.open(log, start="start", hold=False)
    assert numbers(settle(second, clock)) == [40, 41]


# -- which files hold the descriptors ----------------------------------------------------


def test_a_file_that_changes_takes_the_descriptor_of_an_idle_one(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """One descriptor to hold, two files: the one that changed last holds it (so its last
    lines, written just before its delete, are read through it)."""
    tailer = make(Pool(budget=1))
    idle, log = tmp_path / "idle.log", tmp_path / "app.log"
    idle.write_text(line(0))
    log.write_text(line(1))
    tailer.open(idle)
    tailer.open(log, hold=False)  # none left: followed without one
    got = settle(tailer, clock)
    append(log, line(2))  # it changes: reopened, and it keeps the descriptor
    got += settle(tailer, clock)
    append(log, line(3))
    log.unlink()
    tailer.vanished({f for f, t in tailer.files.items() if t.path == idle})
    got += settle(tailer, clock)
    assert numbers(got) == [0, 1, 2, 3]


def test_the_file_that_changed_last_is_the_last_to_give_up_its_descriptor(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Two descriptors, three files: a new file takes the descriptor of the file idle the
    longest, not of the one that just changed."""
    tailer = make(Pool(budget=2))
    a, b, c = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"
    a.write_text(line(1))
    b.write_text(line(2))
    c.write_text(line(3))
    tailer.open(a)
    tailer.open(b)
    got = settle(tailer, clock)
    append(a, line(4))
    got += settle(tailer, clock)  # a changed after b
    tailer.open(c)  # takes b's descriptor
    got += settle(tailer, clock)
    append(a, line(5))
    a.unlink()
    tailer.vanished({f for f, t in tailer.files.items() if t.path != a})
    got += settle(tailer, clock)
    assert sorted(numbers(got)) == [1, 2, 3, 4, 5]


# -- a file that cannot be looked at -----------------------------------------------------


def test_a_file_that_cannot_be_stated_is_said_once_and_read_when_it_can(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """NFS's stale handle: fstat of the held descriptor fails. Said once, with the path and
    why; nothing read meanwhile, nothing lost: read on once it can be looked at again."""
    caplog.set_level(logging.WARNING, logger="logwatch")
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1))
    file = tailer.open(log)
    assert file is not None
    got = settle(tailer, clock)
    fd = tailer.files[file].fd
    real = os.fstat

    def stale(n: int) -> os.stat_result:
        if n == fd:
            raise OSError(errno.ESTALE, "Stale file handle")
        return real(n)

    monkeypatch.setattr(os, "fstat", stale)
    append(log, line(2))
    got += settle(tailer, clock) + settle(tailer, clock)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [f"{log}: cannot stat: Stale file handle"]
    monkeypatch.setattr(os, "fstat", real)
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2]


# -- truncated content is saved until its copy is read -----------------------------------


def test_a_copy_seen_only_after_a_restart_is_read_from_where_the_truncated_file_was_read(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """copytruncate: the truncate is seen, then the agent stops before the copy is: what
    was read of the truncated content is saved with the cursors, under the file's name,
    so the copy seen after the restart adds only its unread lines."""
    log, copy = tmp_path / "app.log", tmp_path / "app.log.1"
    log.write_text("".join(line(n) for n in range(30)))
    first = make()
    first.open(log)
    settle(first, clock)
    read_to = log.stat().st_size
    append(log, line(30) + line(31))  # written just before the rotation, not read yet
    copy.write_bytes(log.read_bytes())
    with open(log, "r+") as fh:
        fh.truncate(0)
    assert settle(first, clock) == []
    saved = first.cursors()
    assert sorted((c.path, c.offset) for c in saved) == [(str(log), 0), (str(log), read_to)]
    first.close()
    second = make()
    second.remember(saved)
    second.open(copy)
    assert numbers(settle(second, clock)) == [30, 31]


def test_a_partial_line_is_flushed_once_it_has_sat_for_the_partial_wait(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """A crashed writer's unended last line: out once it sat unchanged partial_wait_s
    (three seconds, included), not before."""
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2).rstrip("\n"))
    tailer.open(log)
    written = clock.now
    got = tailer.poll()
    clock.now = written + 1.0
    got += tailer.poll()
    clock.now = written + 2.5
    got += tailer.poll()
    assert numbers(got) == [1]
    clock.now = written + 3.0
    assert numbers(tailer.poll()) == [2]


# -- a young file: its first lines show how to read it -----------------------------------


def test_a_container_log_created_empty_is_unwrapped_once_its_lines_come(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Docker makes a container's json-file log empty and writes to it later: the first
    lines show the runtime's wrapping, and the messages come out, not the JSON."""
    tailer = make()
    log = tmp_path / "abc-json.log"
    log.write_text("")
    tailer.open(log)
    assert settle(tailer, clock) == []
    messages = [line(1).rstrip(), line(2).rstrip()]
    append(
        log,
        "".join(
            f'{{"log":"{m}\\n","stream":"stdout","time":"2026-03-01T12:00:0{k}.000000000Z"}}\n'
            for k, m in enumerate(messages, 1)
        ),
    )
    assert [r.text for r in settle(tailer, clock)] == messages


def test_a_file_created_empty_learns_where_its_stamps_sit_from_its_first_lines(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Django's `ERROR 2026-...` first line, in a file made empty: the stamp after the
    level is the record's time, as it is for a file opened with that line in it."""
    tailer = make()
    log = tmp_path / "django.log"
    log.write_text("")
    tailer.open(log)
    assert settle(tailer, clock) == []
    append(log, "ERROR 2026-03-01 12:05:00,000 django failed n=50\n" + line(51))
    got = settle(tailer, clock)
    assert [(numbers([r]), r.timed, r.time.isoformat()) for r in got] == [
        ([50], True, "2026-03-01T12:05:00+00:00"),
        ([51], True, "2026-03-01T12:00:51+00:00"),
    ]


@pytest.mark.parametrize("skimming", [False, True])
def test_polling_a_file_read_to_its_end_reads_no_bytes(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    monkeypatch: pytest.MonkeyPatch,
    skimming: bool,
) -> None:
    """Polling thousands of quiet files costs one fstat each: no byte of a file read to
    its end (a young one too, whose stamps' place is still being learned) is read again,
    whether its lines are read one by one or skimmed for the rule pack's literals."""
    pool = Pool()
    tailer = make(pool, finder=make_finder([b"refused"]) if skimming else None)
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2, "ERROR Connection refused"))
    tailer.open(log)
    assert numbers(settle(tailer, clock)) == [1, 2]
    preads: list[int] = []
    real = os.pread

    def counted(fd: int, n: int, offset: int) -> bytes:
        preads.append(n)
        return real(fd, n, offset)

    monkeypatch.setattr(os, "pread", counted)
    pool.reads.clear()
    for _ in range(3):
        clock.now += 1.0
        assert tailer.poll() == []
    assert (preads, pool.reads) == ([], [])


# -- skimming for the rule pack's literals -----------------------------------------------


def test_a_container_log_is_unwrapped_when_the_rest_is_skimmed(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """With a literal search on, a runtime's wrapped lines are still read one by one and
    unwrapped (skimming judges raw bytes: the JSON is not the message); a plain file
    beside it is skimmed: its lines without the literal are passed over."""
    tailer = make(finder=make_finder([b"refused"]))
    docker, plain = tmp_path / "abc-json.log", tmp_path / "app.log"
    messages = [line(n).rstrip() for n in range(20)] + [
        line(20, "ERROR Connection refused").rstrip()
    ]
    docker.write_text(
        "".join(
            f'{{"log":"{m}\\n","stream":"stdout","time":"2026-03-01T12:00:00.000000000Z"}}\n'
            for m in messages
        )
    )
    plain.write_text("".join(m + "\n" for m in messages))
    tailer.open(docker)
    tailer.open(plain)
    got = settle(tailer, clock)
    assert [r.text for r in got if "json" in r.source] == messages
    skimmed = [r.text for r in got if r.source == str(plain)]
    assert skimmed[-1] == messages[-1] and len(skimmed) < len(messages)


def test_a_skimmed_backlog_is_read_in_bounded_batches_each_line_once(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Skimming, a poll reads at most max_lines_per_poll lines; the tailer says it has a
    backlog until it has read it all (the agent polls again at once), every record once."""
    tailer = make(max_lines_per_poll=5, finder=make_finder([b"refused"]))
    log = tmp_path / "app.log"
    log.write_text("".join(line(n, "ERROR Connection refused") for n in range(12)))
    tailer.open(log)
    got = tailer.poll()
    assert tailer.backlog()
    assert tailer.take_bytes_read() == {str(log): 5 * len(line(0, "ERROR Connection refused"))}
    for _ in range(5):
        got += tailer.poll()
    clock.now += 1.0
    got += tailer.poll()
    assert not tailer.backlog()
    assert numbers(got) == list(range(12))


@pytest.mark.parametrize("skimming", [False, True])
def test_a_poll_that_reads_a_file_to_its_end_leaves_no_backlog(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic, skimming: bool
) -> None:
    """backlog(): some file has bytes not read yet. A poll whose bound (two lines) was not
    reached read everything: none, and its records are live."""
    tailer = make(max_lines_per_poll=2, finder=make_finder([b"refused"]) if skimming else None)
    log = tmp_path / "app.log"
    log.write_text(line(1, "ERROR Connection refused"))
    tailer.open(log)
    assert tailer.poll() == []  # its record may go on
    assert not tailer.backlog()
    append(log, line(2, "ERROR Connection refused"))
    clock.now += 1.0
    batches = tailer.read()
    assert [(numbers(b.records), b.live) for b in batches] == [([1], True)]


def test_a_backlog_is_read_in_bounded_batches_and_is_not_live(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Line by line: at most max_lines_per_poll lines a poll; a file not read to its end
    is not caught up, so what comes of it next is not live (its stamps are old)."""
    tailer = make(max_lines_per_poll=5)
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(12)))
    tailer.open(log)
    got = tailer.poll()
    assert tailer.take_bytes_read() == {str(log): 5 * len(line(0))}
    assert tailer.backlog()
    batches = tailer.read()
    assert [b.live for b in batches] == [False]
    got += [r for b in batches for r in b.records]
    clock.now += 1.0
    got += tailer.poll() + tailer.poll()
    assert numbers(got) == list(range(12))


def test_a_line_longer_than_the_bound_is_cut_to_it(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    tailer = make(max_line_bytes=200)
    log = tmp_path / "app.log"
    log.write_text(line(1, "ERROR " + "x" * 1000) + line(2))
    tailer.open(log)
    got = settle(tailer, clock)
    assert numbers(got)[-1:] == [2]
    assert got[0].truncated and len(got[0].text) <= 200


def test_a_record_comes_out_once_it_waited_the_record_wait(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """No more lines for record_wait_s (included): the last record is complete."""
    tailer = make(record_wait_s=0.5)
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log)
    start = clock.now
    assert tailer.poll() == []
    clock.now = start + 0.25
    assert tailer.poll() == []
    clock.now = start + 0.5
    assert numbers(tailer.poll()) == [1]


def test_a_file_opened_at_its_end_is_live_at_once(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Opened with nothing complete left to read: its next lines were just written."""
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log, start="end")
    append(log, line(2) + line(3))
    batches = tailer.read()
    assert [(numbers(b.records), b.live) for b in batches] == [([2], True)]


def test_a_read_that_fails_is_said_once_and_the_lines_are_read_when_it_works(
    tmp_path: Path,
    make: Callable[..., Tailer],
    clock: FakeMonotonic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """EIO mid-read (a failing disk, a network filesystem): said once, with the path and
    why; nothing lost: the lines are read once reading works again."""
    caplog.set_level(logging.WARNING, logger="logwatch")
    pool = Pool()
    tailer = make(pool)
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log)
    got = settle(tailer, clock)
    pool.failing = OSError(errno.EIO, "Input/output error")
    append(log, line(2))
    got += settle(tailer, clock) + settle(tailer, clock)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [f"{log}: cannot read: [Errno 5] Input/output error"]
    pool.failing = None
    got += settle(tailer, clock)
    assert numbers(got) == [1, 2]


def test_only_what_was_written_while_stopped_is_resumed(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Read past a previous run's cursor: resumed (stamps bounded by the last commit);
    once read to its end, what the file holds next was written live, not resumed."""
    log = tmp_path / "app.log"
    log.write_text(line(0))
    first = make()
    first.open(log)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    append(log, line(1) + line(2))  # written while stopped
    tailer = make()
    tailer.resume(log, cursor)
    batches = tailer.read()
    append(log, line(3) + line(4))
    clock.now += 1.0
    batches += tailer.read()
    assert [(numbers(b.records), b.resumed) for b in batches] == [([1], True), ([2, 3], False)]


# -- caught up at open: what comes next is live --------------------------------------------


def test_a_file_opened_with_complete_lines_to_read_is_not_live_until_read(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Its first lines were written before: not live, however few (or many: past the 64
    KiB looked at, it is taken for a backlog at once)."""
    tailer = make()
    small, big = tmp_path / "small.log", tmp_path / "big.log"
    small.write_text(line(1) + line(2))
    big.write_text("".join(line(n) for n in range(3, 3000)))
    assert big.stat().st_size > 1 << 16
    tailer.open(small)
    tailer.open(big)
    assert [b.live for b in tailer.read()] == [False, False]


def test_a_file_with_only_a_partial_line_left_is_caught_up(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Opened at its end, or resumed, with only an unended line (up to 64 KiB of it)
    left: caught up; that line, once ended, and the next were written live."""
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text(line(1) + "2026-03-01 12:00:02,000 INFO ok n=2")
    tailer.open(log, start="end")
    append(log, "\n" + line(3))
    assert [(numbers(b.records), b.live) for b in tailer.read()] == [([2], True)]

    big = tmp_path / "big.log"
    big.write_text("".join(line(n) for n in range(2000)))
    first = make()
    first.open(big)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    append(big, "2026-03-01 12:00:10,000 INFO ok n=2000 " + "x" * ((1 << 16) - 39))
    assert big.stat().st_size - cursor.offset == 1 << 16
    resumed = make()
    resumed.resume(big, cursor)
    append(big, "\n" + line(2001))
    assert [(numbers(b.records), b.live) for b in resumed.read()] == [([2000], True)]


def test_opening_a_file_with_a_long_unread_end_reads_at_most_64_kib_of_it(
    tmp_path: Path, make: Callable[..., Tailer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a file opened is caught up is judged from at most 64 KiB: opening 10,000
    files with long unread ends does not read them all."""
    log = tmp_path / "app.log"
    log.write_text(line(1) + "x" * 100_000)  # a long unended last line
    tailer = make()
    sizes: list[int] = []
    real = os.pread

    def counted(fd: int, n: int, offset: int) -> bytes:
        sizes.append(n)
        return real(fd, n, offset)

    monkeypatch.setattr(os, "pread", counted)
    tailer.open(log)
    assert sizes and max(sizes) <= 1 << 16


def test_a_file_opened_since_a_time_is_read_from_there(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    tailer = make()
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(10)))
    since = datetime(2026, 3, 1, 12, 0, 6, tzinfo=UTC)
    tailer.open(log, start="since", since=since)
    assert numbers(settle(tailer, clock)) == [6, 7, 8, 9]
    other = tmp_path / "other.log"  # `start` decides: a time is read only with "since"
    other.write_text("".join(line(n, "INFO other") for n in range(10)))
    tailer.open(other, start="start", since=since)
    assert numbers(settle(tailer, clock)) == list(range(10))


def test_a_draining_file_is_read_to_the_size_seen_not_into_a_line_still_being_written(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """A deleted file's writer goes on writing while it drains: a read goes as far as the
    size its look saw; a line begun after that look is read once its writer ends it, whole,
    not cut at the bytes that happened to be there."""
    pool = Pool()
    tailer = make(pool)
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log)
    got = settle(tailer, clock)
    with open(log, "a") as writer:
        log.unlink()
        tailer.vanished(set())
        writer.write(line(2))
        writer.flush()

        def begin_a_line() -> None:
            writer.write("2026-03-01 12:00:03,000 INFO ok n=3 part")
            writer.flush()

        pool.before_read = begin_a_line
        got += tailer.poll()
        writer.write("ial\n")
        writer.flush()
        clock.now += 1.0
        got += tailer.poll()
    clock.now += 10.0
    got += tailer.poll()
    assert [r.text.rsplit(" ", 1)[-1] for r in got] == ["n=1", "n=2", "partial"]


# -- resuming from a cursor ------------------------------------------------------------------


def test_a_tiny_file_resumes_from_its_cursor_under_its_own_name(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """A head too short to tell files apart ("ok"): its cursor is trusted under the same
    name (and the same inode), so a restart reads on, not from the start again."""
    log = tmp_path / "tiny.log"
    log.write_text("ok\n")
    first = make()
    first.open(log)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    append(log, line(1))
    second = make()
    assert second.resume(log, cursor) is not None
    assert numbers(settle(second, clock)) == [1]


def test_a_file_rewritten_shorter_under_the_same_long_banner_is_not_resumed(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """A startup banner longer than the head the digest covers (Spring's, a config dump),
    then the log truncated and the app restarted while we were stopped: same head, but
    shorter than the cursor's offset. Not the content the cursor read: every new line is
    read from the start."""
    banner = "".join(f"#  banner line {n:02d} " + "=" * 40 + "\n" for n in range(20))
    assert len(banner) > 1024
    log = tmp_path / "app.log"
    log.write_text(banner + "".join(line(n) for n in range(30)))
    first = make()
    first.open(log)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    log.write_text(banner + line(40) + line(41))
    second = make()
    assert second.resume(log, cursor) is None
    second.open(log, start="start", hold=False)
    assert numbers(settle(second, clock))[-2:] == [40, 41]


def test_a_container_log_opened_at_its_end_is_unwrapped(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Started with start=end on a running container's json-file log: what it writes next
    comes out as its messages, not as JSON."""
    tailer = make()
    log = tmp_path / "abc-json.log"

    def entry(n: int) -> str:
        return (
            f'{{"log":"{line(n).rstrip()}\\n","stream":"stdout","time":"2026-03-01T12:00:00Z"}}\n'
        )

    log.write_text(entry(1))
    tailer.open(log, start="end")
    append(log, entry(2))
    assert [r.text for r in settle(tailer, clock)] == [line(2).rstrip()]


def test_a_kubelet_log_is_named_by_its_pod_and_container(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    tailer = make()
    pod = tmp_path / "pods" / "shop_web-1_0b5e2c1a-7f3d-4c2e-9a1b-2f6d8e4c1a3b" / "app"
    pod.mkdir(parents=True)
    log = pod / "0.log"
    log.write_text(f"2026-03-01T12:00:01.000000000Z stdout F {line(1).rstrip()}\n")
    tailer.open(log)
    assert [(r.source, numbers([r])) for r in settle(tailer, clock)] == [
        ("k8s/shop/web-1/app:stdout", [1])
    ]


def test_a_stamp_without_a_zone_is_read_in_the_configured_zone(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    from zoneinfo import ZoneInfo

    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer = Tailer(tz=ZoneInfo("Asia/Tokyo"), max_lines=200, max_bytes=65536,
                    max_line_bytes=65536, monotonic=clock)  # fmt: skip
    try:
        tailer.open(log)
        (record,) = settle(tailer, clock)
        assert record.time.astimezone(UTC).isoformat() == "2026-03-01T03:00:01+00:00"
    finally:
        tailer.close()
