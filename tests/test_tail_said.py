"""What the tailer tells the operator: each event once, as its name then key=value words
(`renamed old=... new=...`), naming the file and where reading stands (the benchmarks wait
for `following path=`); read as an operator's grep does. And warnings: said once, with the
path and why, and reading goes on once it can."""

from __future__ import annotations

import errno
import gzip
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logwatch.sources.identity import START
from logwatch.sources.tail import Tailer
from tests.tail_rig import (
    FakeMonotonic,
    Pool,
    append,
    line,
    numbers,
    said,
    settle,
    tailers,
)

# -- what is said ----------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def make(clock: FakeMonotonic) -> Iterator[Callable[..., Tailer]]:
    yield from tailers(clock)


@pytest.fixture
def info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="logwatch")
    return caplog


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


def test_a_utf16_log_is_said_not_silently_passed_over(
    tmp_path: Path, make: Callable[..., Tailer], caplog: pytest.LogCaptureFixture
) -> None:
    """The agent reads UTF-8: a UTF-16 log (PowerShell's `>`) followed without a word
    would hide its outage; it is said once, with what to do, and a UTF-8 log is not."""
    caplog.set_level(logging.WARNING, logger="logwatch")
    tailer = make()
    u16, u8 = tmp_path / "win.log", tmp_path / "app.log"
    u16.write_bytes("\ufeff".encode("utf-16-le") + line(1).encode("utf-16-le"))
    u8.write_text(line(1))
    tailer.open(u16)
    tailer.open(u8)
    tailer.open(u16)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [
        f"{u16}: UTF-16 text: the agent reads UTF-8 only, so its errors are not seen"
        " (write the log in UTF-8; `logwatch scan` reads it)"
    ]
