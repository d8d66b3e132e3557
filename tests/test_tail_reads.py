"""The tailer's reading: only the files asked, batches bounded and named, bytes counted,
busy and backlog told right, drained for the grace, partial lines and records flushed on
time, skimming for the rule pack's literals, reads that fail."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logwatch.prefilter import make_finder
from logwatch.sources.identity import START
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

# -- polling ---------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def make(clock: FakeMonotonic) -> Iterator[Callable[..., Tailer]]:
    yield from tailers(clock)


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
    reached read everything: none. A record read from the file as it was when opened is
    not live (its stamp stands); one written after the file was caught up is."""
    tailer = make(max_lines_per_poll=2, finder=make_finder([b"refused"]) if skimming else None)
    log = tmp_path / "app.log"
    log.write_text(line(1, "ERROR Connection refused"))
    tailer.open(log)
    assert tailer.poll() == []  # its record may go on
    assert not tailer.backlog()
    append(log, line(2, "ERROR Connection refused"))
    clock.now += 1.0
    batches = tailer.read()
    assert not tailer.backlog()
    append(log, line(3, "ERROR Connection refused"))
    clock.now += 1.0
    batches += tailer.read()
    assert [(numbers(b.records), b.live) for b in batches] == [([1], False), ([2], True)]


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


def test_only_what_was_written_while_stopped_is_resumed(
    tmp_path: Path, make: Callable[..., Tailer], clock: FakeMonotonic
) -> None:
    """Read past a previous run's cursor: resumed (stamps bounded by the last commit),
    each record by where its first line was read (line 2, held back until line 3 came, was
    written while stopped); once read to its end, what comes next is not resumed."""
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
    resumed = [(n, b.resumed) for b in batches for n in numbers(b.records)]
    assert resumed == [(1, True), (2, True), (3, False)]


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
