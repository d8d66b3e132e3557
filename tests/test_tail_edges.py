"""The tailer's edges around identity: inode reuse, races with a reopen, which file holds
the descriptors, copies (two at once, of a file done, seen after a restart), and cursors
(a tiny file's, one under a long banner). Every line once, none lost."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from logwatch.sources.identity import FileId
from logwatch.sources.tail import Tailer
from tests.tail_rig import (
    FakeMonotonic,
    Pool,
    append,
    line,
    numbers,
    settle,
    tailers,
)

# -- the batch a resumed file's last record comes out in ---------------------------------


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def make(clock: FakeMonotonic) -> Iterator[Callable[..., Tailer]]:
    yield from tailers(clock)


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
