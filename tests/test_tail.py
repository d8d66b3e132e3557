"""The tailer through everything a log directory does: rotation, truncation, rewrites."""

from __future__ import annotations

import gzip
import itertools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logwatch.model import Record
from logwatch.sources.descriptors import Descriptors
from logwatch.sources.seek import seek_to_time
from logwatch.sources.tail import Tailer


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def line(n: int, text: str = "INFO ok") -> str:
    return f"2026-03-01 12:00:{n:02d},000 {text} n={n}\n"


TRACEBACK = (
    "2026-03-01 12:01:00,000 ERROR [app] Exception on /feed [GET]\n"
    "Traceback (most recent call last):\n"
    '  File "/app/redis/connection.py", line 369, in connect\n'
    "    raise ConnectionError(self._error_message(e))\n"
    "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.\n"
)


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def tailer(clock: FakeMonotonic):  # type: ignore[no-untyped-def]
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    yield t
    t.close()


def numbers(records: list[Record]) -> list[str]:
    return [r.text.rsplit("n=", 1)[-1] for r in records if "n=" in r.text]


def settle(tailer: Tailer, clock: FakeMonotonic) -> list[Record]:
    """Poll, then let the record wait pass and poll again (flushes the last record)."""
    records = tailer.poll()
    clock.now += 1.0
    return records + tailer.poll()


def append(path: Path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


def test_new_lines_become_records_once(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    tailer.open(log)
    assert numbers(settle(tailer, clock)) == ["1", "2"]
    append(log, line(3))
    assert numbers(settle(tailer, clock)) == ["3"]
    assert settle(tailer, clock) == []


def test_start_at_end_skips_existing_lines(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    tailer.open(log, start="end")
    append(log, line(3))
    assert numbers(settle(tailer, clock)) == ["3"]


def test_rename_and_create_drains_old_file_first(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log)
    settle(tailer, clock)
    append(log, line(2))  # written just before the rotation, not yet read
    log.rename(tmp_path / "app.log.1")
    log.write_text(line(3))
    assert tailer.known(tmp_path / "app.log.1") is not None  # same identity, new name
    tailer.open(log)  # the new file under the old name
    assert numbers(settle(tailer, clock)) == ["2", "3"]


def test_copytruncate_restarts_at_zero(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    tailer.open(log)
    settle(tailer, clock)
    with open(log, "r+") as fh:
        fh.truncate(0)
    append(log, line(3))
    assert numbers(settle(tailer, clock)) == ["3"]


def test_rewrite_in_place_is_detected_by_head_digest(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    tailer.open(log)
    settle(tailer, clock)
    with open(log, "r+") as fh:  # same inode, same size or larger, different content
        fh.write(line(7) + line(8) + line(9))
    assert numbers(settle(tailer, clock)) == ["7", "8", "9"]


def test_partial_line_is_held_until_newline(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + "2026-03-01 12:00:05,000 INFO half")
    tailer.open(log)
    assert numbers(settle(tailer, clock)) == ["1"]
    append(log, " done n=5\n")
    assert numbers(settle(tailer, clock)) == ["5"]


def test_partial_line_is_flushed_after_it_sits_unchanged(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text("2026-03-01 12:00:05,000 INFO never finished n=5")
    tailer.open(log)
    assert settle(tailer, clock) == []
    clock.now += 5
    assert numbers(tailer.poll()) == ["5"]


def test_traceback_split_across_two_writes_is_one_record(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    tailer.open(log)
    head, tail = TRACEBACK[:120], TRACEBACK[120:]
    append(log, head)
    assert tailer.poll() == []
    append(log, tail)
    records = tailer.poll()  # complete at the exception line: no wait needed
    assert len(records) == 1
    assert records[0].text.endswith("Connection refused.")
    assert records[0].lines == 5


def test_deleted_file_is_drained_then_forgotten(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1))
    key = tailer.open(log)
    settle(tailer, clock)
    append(log, line(2))
    log.unlink()
    tailer.vanished(set())
    assert numbers(tailer.poll()) == ["2"]
    clock.now += 10
    tailer.poll()
    assert key in tailer.gone and key not in tailer.files


def test_cursor_resumes_under_a_new_name(tmp_path: Path, clock: FakeMonotonic) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    first = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    first.open(log)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    append(log, line(3))
    log.rename(tmp_path / "app.log.1")  # rotated while we were stopped
    second = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    try:
        assert second.resume(tmp_path / "app.log.1", cursor) is not None
        assert numbers(settle(second, clock)) == ["3"]
    finally:
        second.close()


def test_cursor_of_a_file_truncated_and_regrown_while_stopped_is_not_trusted(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + line(2))
    first = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    first.open(log)
    settle(first, clock)
    (cursor,) = first.cursors()
    first.close()
    log.write_text(line(11) + line(12) + line(13) + line(14))  # same inode, grown past offset
    second = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    try:
        assert second.resume(log, cursor) is None  # not the file it describes
        second.open(log)
        assert numbers(settle(second, clock)) == ["11", "12", "13", "14"]
    finally:
        second.close()


def test_cursor_points_at_the_unfinished_record(tmp_path: Path, tailer: Tailer) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1) + TRACEBACK[:120])
    tailer.open(log)
    tailer.poll()
    (cursor,) = tailer.cursors()
    assert cursor.offset == len(line(1))  # a restart re-reads the whole traceback


def test_seek_to_time_finds_first_record_in_window(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-03-01 12:{m:02d}:00,000 INFO m={m}\n" for m in range(60)) * 1)
    with open(log, "rb") as fh:
        offset, number = seek_to_time(
            fh.fileno(), os.path.getsize(log), datetime(2026, 3, 1, 12, 50, tzinfo=UTC), UTC
        )
    assert log.read_bytes()[offset:].startswith(b"2026-03-01 12:50:00")
    assert number == 51


def test_gzipped_rotation_does_not_matter_once_drained(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    log.write_text(line(1))
    tailer.open(log)
    settle(tailer, clock)
    append(log, line(2))
    log.rename(tmp_path / "app.log.1")
    log.write_text(line(3))
    tailer.open(log)
    got = numbers(settle(tailer, clock))
    (tmp_path / "app.log.1.gz").write_bytes(gzip.compress((tmp_path / "app.log.1").read_bytes()))
    (tmp_path / "app.log.1").unlink()
    tailer.vanished({k for k in tailer.files if tailer.files[k].path == log})
    clock.now += 10
    got += numbers(tailer.poll())
    assert got == ["2", "3"]


# -- regressions found by the chaos soak (benchmarks/soak.py) ---------------------------


def test_copytruncate_copy_seen_while_still_being_written_is_not_read_twice(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    """logrotate creates the copy, then fills it: an agent that opened it empty read it all."""
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))  # more than the head digest covers
    tailer.open(log)
    assert len(numbers(settle(tailer, clock))) == 30
    append(log, line(30))  # written just before the rotation
    copy = tmp_path / "app.log.1"
    copy.write_bytes(b"")
    tailer.open(copy)  # the watcher saw it created, still empty
    got = numbers(settle(tailer, clock))
    data = log.read_bytes()
    copy.write_bytes(data[:500])  # half copied
    got += numbers(settle(tailer, clock))
    copy.write_bytes(data)
    with open(log, "r+") as fh:
        fh.truncate(0)
    append(log, line(40))
    got += numbers(settle(tailer, clock))
    assert sorted(got, key=int) == ["30", "40"]


def test_copy_of_a_file_still_followed_is_not_read(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    """`cp app.log app.log.bak`: its lines are read once, in the original."""
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))
    tailer.open(log)
    settle(tailer, clock)
    (tmp_path / "app.log.bak").write_bytes(log.read_bytes())
    tailer.open(tmp_path / "app.log.bak")
    append(log, line(31))
    assert numbers(settle(tailer, clock)) == ["31"]


def test_new_file_after_rename_is_read_from_its_start(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    """An empty new file may be anything; its first lines decide, and are not lost."""
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))
    tailer.open(log)
    settle(tailer, clock)
    log.rename(tmp_path / "app.log.1")
    log.write_text("")
    tailer.open(log)
    assert settle(tailer, clock) == []
    append(log, TRACEBACK)
    assert [r.text.splitlines()[-1][-20:] for r in settle(tailer, clock)] == [
        "). Connection refused."[-20:]
    ]


def test_copytruncate_while_stopped_does_not_reread_the_copy(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    """The copy made while the agent was down is known by the saved cursor's head digest."""
    log = tmp_path / "app.log"
    log.write_text("".join(line(n) for n in range(30)))
    first = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    first.open(log)
    settle(first, clock)
    cursors = first.cursors()
    first.close()
    append(log, line(30))  # written after the last commit
    (tmp_path / "app.log.1").write_bytes(log.read_bytes())
    with open(log, "r+") as fh:
        fh.truncate(0)
    append(log, line(40))
    second = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    try:
        second.remember(cursors)
        (cursor,) = cursors
        assert second.resume(log, cursor) is None  # truncated: not the file it describes
        second.open(log, start="start")
        second.open(tmp_path / "app.log.1", start="start")
        assert sorted(numbers(settle(second, clock)), key=int) == ["30", "40"]
    finally:
        second.close()


def test_a_backlog_is_read_in_bounded_batches(tmp_path: Path, clock: FakeMonotonic) -> None:
    """Memory stays flat and the loop stays responsive through a large backlog."""
    log = tmp_path / "app.log"
    log.write_text("".join(line(n % 60) for n in range(2500)))
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536,
               max_lines_per_poll=1000, monotonic=clock)  # fmt: skip
    try:
        t.open(log)
        sizes = []
        while True:
            sizes.append(len(t.poll()))
            if not t.backlog():
                break
        clock.now += 1
        sizes.append(len(t.poll()))
        assert max(sizes) <= 1000
        assert sum(sizes) == 2500
    finally:
        t.close()


# -- every interleaving of the agent's polls with a rotation ----------------------------


def numbered_traceback(n: int) -> str:
    return TRACEBACK.replace("12:01:00", f"12:01:{n:02d}").replace(
        "refused.\n", f"refused. n={n}\n"
    )


def _copytruncate_steps(log: Path, rotated: Path) -> list[Callable[[], object]]:
    return [
        lambda: append(log, numbered_traceback(3)),  # written just before the rotation
        lambda: rotated.write_bytes(b""),  # logrotate creates the copy...
        lambda: rotated.write_bytes(log.read_bytes()),  # ...then fills it
        lambda: os.truncate(log, 0),
        *[lambda n=n: append(log, numbered_traceback(n)) for n in (4, 5, 6)],
    ]


def _rename_steps(log: Path, rotated: Path) -> list[Callable[[], object]]:
    return [
        lambda: append(log, numbered_traceback(3)),
        lambda: log.rename(rotated),
        lambda: log.write_text(""),
        *[lambda n=n: append(log, numbered_traceback(n)) for n in (4, 5, 6)],
    ]


@pytest.mark.parametrize(
    "steps", [_copytruncate_steps, _rename_steps], ids=["copytruncate", "rename"]
)
def test_rotation_reads_every_record_once_whenever_the_agent_looks(
    tmp_path: Path, steps: Callable[[Path, Path], list[Callable[[], object]]]
) -> None:
    """Regression (CI, copytruncate): the copy's head was longer than the head last read of
    its source, so it passed for a new file and three records were read twice."""
    failures = []
    for case, (polls, noticed) in enumerate(
        itertools.product(itertools.product([False, True], repeat=6), range(1, 6))
    ):
        root = tmp_path / str(case)
        root.mkdir()
        log, rotated = root / "app.log", root / "app.log.1"
        log.write_text(line(0))  # short: the head digest then covers less than the copy's
        clock = FakeMonotonic()
        tailer = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536,
                        monotonic=clock)  # fmt: skip
        try:
            tailer.open(log, start="end")
            for n in range(3):
                append(log, numbered_traceback(n))
            got = settle(tailer, clock)
            for i, step in enumerate(steps(log, rotated)):
                step()
                if i == noticed:  # the watcher's event for the new name arrives
                    for path in (rotated, log):
                        if path.exists() and tailer.known(path) is None:
                            tailer.open(path, start="start")
                if i < len(polls) and polls[i]:
                    got += settle(tailer, clock)
            for path in (rotated, log):
                if tailer.known(path) is None:
                    tailer.open(path, start="start")
            for _ in range(3):
                clock.now += 5
                got += tailer.poll()
        finally:
            tailer.close()
        seen = sorted(int(n) for n in numbers(got))
        if seen != list(range(7)):
            failures.append((polls, noticed, seen))
    assert failures == []


# -- regressions from issue 11 (adversarial pass) ----------------------------------------


def test_copytruncate_copy_made_before_the_truncate_is_not_read_from_the_device_number(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    """logrotate copies, then truncates a moment later: the copy, seen while its source was
    still followed, was read from an offset equal to the device number (1,000 written,
    1,500 counted): a (dev, ino) key taken for an (offset, line) pair."""
    log = tmp_path / "app.log"
    dev = os.stat(tmp_path).st_dev
    count = max(1000, min(dev // 40 + 200, 400_000))  # the file outgrows the device number
    log.write_text("".join(line(n % 60, f"INFO ok i={n}") for n in range(count)))
    tailer.open(log)
    got = settle(tailer, clock)
    append(log, line(1, f"INFO ok i={count}"))  # written just before the rotation
    copy = tmp_path / "app.log.1"
    copy.write_bytes(log.read_bytes())
    tailer.open(copy)  # the watcher saw the copy before the truncate
    got += settle(tailer, clock)
    append(log, line(2, f"INFO ok i={count + 1}"))  # between the copy and the truncate
    got += settle(tailer, clock)
    os.truncate(log, 0)
    append(log, line(3, f"INFO ok i={count + 2}"))
    got += settle(tailer, clock)
    clock.now += 10
    got += tailer.poll()
    seen = sorted(int(r.text.split("i=")[1].split()[0]) for r in got if "i=" in r.text)
    assert seen == list(range(count + 3))


def test_files_beyond_the_descriptor_budget_are_read_when_they_change(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    """More files than descriptors: each is still read, renamed ones found by identity,
    and no more than the budget is ever held."""
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536,
               monotonic=clock, descriptors=Descriptors(2))  # fmt: skip
    logs = [tmp_path / f"svc-{n}.log" for n in range(6)]
    try:
        for n, log in enumerate(logs):
            log.write_text(line(n, f"INFO ok i={n}"))
            t.open(log, hold=False)
        assert sum(tf.fh is not None for tf in t.files.values()) == 2
        got = settle(t, clock)
        for n, log in enumerate(logs):
            append(log, line(n, f"INFO ok i={10 + n}"))
        logs[5].rename(tmp_path / "svc-5.log.1")  # renamed while followed without one
        assert t.known(tmp_path / "svc-5.log.1") is not None
        got += settle(t, clock)
        append(tmp_path / "svc-5.log.1", line(9, "INFO ok i=99"))
        got += settle(t, clock)
        assert sum(tf.fh is not None for tf in t.files.values()) <= 2
    finally:
        t.close()
    seen = sorted(int(r.text.split("i=")[1].split()[0]) for r in got)
    assert seen == [*range(6), *range(10, 16), 99]


def test_a_new_file_takes_the_descriptor_of_an_idle_one(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536,
               monotonic=clock, descriptors=Descriptors(1))  # fmt: skip
    try:
        idle, new = tmp_path / "idle.log", tmp_path / "new.log"
        idle.write_text(line(1))
        t.open(idle, hold=False)
        settle(t, clock)  # read to its end: nothing is lost by closing it
        new.write_text("")
        t.open(new)  # created while we run: a writer is about to use it
        assert [tf.path.name for tf in t.files.values() if tf.fh is not None] == ["new.log"]
    finally:
        t.close()


def test_a_time_only_line_is_dated_by_the_files_latest_time_not_the_time_it_was_opened(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    """Found by the soak under load: a worker log opened empty had its first RQ `HH:MM:SS`
    line, written minutes later, dated yesterday (its clock was later than the file time the
    assembler was made with)."""
    import time as _time
    from datetime import datetime as _dt

    log = tmp_path / "worker.log"
    log.write_text("")
    old = _time.time() - 600
    os.utime(log, (old, old))
    tailer = Tailer(tz=UTC, max_lines=20, max_bytes=4096, max_line_bytes=400,
                    finder=None, monotonic=clock)  # fmt: skip
    try:
        tailer.open(log)
        tailer.poll()
        now = _dt.now(UTC)
        with open(log, "a") as fh:
            fh.write(f"{now:%H:%M:%S} Worker w1: could not connect to Redis instance: x\n")
        records = tailer.poll()
        clock.now += 10  # the line is a record once nothing more came for a moment
        records += tailer.poll()
        assert records, "the line was read"
        assert abs((records[0].time - now).total_seconds()) < 5
    finally:
        tailer.close()


def test_a_pause_inside_a_traceback_does_not_cut_it_in_two(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    """A writer that pauses after the frames (longer than the record wait) and then writes
    the exception line: one record, one event, not a header record and a stray exception."""
    log = tmp_path / "app.log"
    head, raised = TRACEBACK.rsplit("\n", 2)[0] + "\n", TRACEBACK.rsplit("\n", 2)[1] + "\n"
    log.write_text(head)
    tailer.open(log)
    assert settle(tailer, clock) == []  # 1 s idle: more than the record wait
    clock.now += 1.0
    assert tailer.poll() == []
    append(log, raised)
    records = settle(tailer, clock)
    assert [r.text for r in records] == [TRACEBACK.rstrip("\n")]


def test_a_pause_inside_a_traceback_after_a_json_line_does_not_cut_it_in_two(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    """An app logging JSON lines, then the interpreter's plain traceback on the same
    stream: the traceback joins the JSON record, as a scan reads it. The JSON line made
    the record 'surely whole' even once a traceback's header had joined it: flushed at
    the writer's pause, the frames and the exception line were records of their own."""
    log = tmp_path / "app.log"
    frames = TRACEBACK.split("\n", 1)[1]
    head, raised = frames.rsplit("\n", 2)[0] + "\n", frames.rsplit("\n", 2)[1] + "\n"
    json_line = '{"ts": "2026-03-01T12:01:00Z", "msg": "job failed"}\n'
    log.write_text(json_line + head)
    tailer.open(log)
    assert settle(tailer, clock) == []
    append(log, raised)
    records = settle(tailer, clock)
    assert [r.text for r in records] == ["2026-03-01T12:01:00Z job failed\n" + frames.rstrip("\n")]


def test_a_traceback_whose_exception_line_never_comes_is_not_held_for_ever(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "app.log"
    cut = TRACEBACK.rsplit("\n", 2)[0] + "\n"
    log.write_text(cut)
    tailer.open(log)
    assert settle(tailer, clock) == []
    clock.now += 3.0  # as long as a partial line waits for its newline
    records = tailer.poll()
    assert [r.text for r in records] == [cut.rstrip("\n")]
