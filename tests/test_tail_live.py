"""Which records the tailer says were written live (their stamps are then checked against
the clock) or past a saved cursor: decided per record, by where its first line was read.

A file read from its start holds its last record back until the next poll (it may go on);
by then the file is caught up, and that record was said to be live: the agent moved the
last line of every old file read with --from-start to "now" (a redis-server log stamped
5 days back opened a second incident today for its last line)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from logwatch.sources.followed import FileRecords
from logwatch.sources.tail import Tailer


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# redis-server 7's own log, as written to /var/log/redis/redis-server.log
REDIS = (
    "1:M 26 Nov 2026 14:50:{s:02d}.002 * 1 changes in 3600 seconds. Saving...\n"
    "1:M 26 Nov 2026 14:50:{s:02d}.003 # Can't save in background: fork: Cannot allocate memory\n"
)


def redis_lines(*seconds: int) -> str:
    return "".join(REDIS.format(s=s) for s in seconds)


def django_traceback(second: int) -> tuple[str, str]:
    """A Django error record in two writes: its head, then the rest of its traceback."""
    head = (
        f"ERROR 2026-11-26 14:51:{second:02d},120 log 7 140 Internal Server Error: /api/feed\n"
        "Traceback (most recent call last):\n"
    )
    rest = (
        '  File "/usr/local/lib/python3.12/site-packages/redis/connection.py", line 357,'
        " in connect\n"
        "    sock = self.retry.call_with_retry(\n"
        "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379."
        " Connection refused.\n"
    )
    return head, rest


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def tailer(clock: FakeMonotonic) -> Iterator[Tailer]:
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    yield t
    t.close()


def read_until_quiet(tailer: Tailer, clock: FakeMonotonic, polls: int = 4) -> list[FileRecords]:
    """Poll as the agent does, a second apart: the held last record comes out."""
    batches: list[FileRecords] = []
    for _ in range(polls):
        batches += tailer.read()
        clock.now += 1.0
    return batches


def by_line(batches: list[FileRecords]) -> dict[int, tuple[bool, bool]]:
    return {r.line: (b.live, b.resumed) for b in batches for r in b.records}


def test_a_file_read_from_its_start_has_no_live_record_not_even_its_last(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "redis-server.log"
    log.write_text(redis_lines(1, 3, 5, 7, 9, 11))
    tailer.open(log, start="start")
    got = by_line(read_until_quiet(tailer, clock))
    assert sorted(got) == list(range(1, 13))
    assert [n for n, (live, _) in got.items() if live] == []


def test_records_written_after_the_catch_up_are_live_a_split_traceback_too(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    """The held record of the catch-up read is not live; one whose first line was written
    after it is, even when its last lines come a poll later."""
    log = tmp_path / "django.log"
    head, rest = django_traceback(1)
    log.write_text(head + rest + head)  # the second traceback's rest is not written yet
    tailer.open(log, start="start")
    got = by_line(read_until_quiet(tailer, clock, polls=1))
    with open(log, "a") as fh:
        fh.write(rest)
    got |= by_line(read_until_quiet(tailer, clock))
    second, rest2 = django_traceback(2)
    with open(log, "a") as fh:
        fh.write(second)
    got |= by_line(read_until_quiet(tailer, clock, polls=1))
    with open(log, "a") as fh:
        fh.write(rest2)
    got |= by_line(read_until_quiet(tailer, clock))
    assert {n: live for n, (live, _) in got.items()} == {1: False, 6: False, 11: True}


def test_a_live_file_truncated_and_written_again_is_live(
    tmp_path: Path, tailer: Tailer, clock: FakeMonotonic
) -> None:
    log = tmp_path / "redis-server.log"
    log.write_text(redis_lines(1, 3))
    tailer.open(log, start="start")
    read_until_quiet(tailer, clock)
    with open(log, "r+") as fh:
        fh.truncate(0)
    log.write_text(redis_lines(5))
    got = by_line(read_until_quiet(tailer, clock))
    assert got == {1: (True, False), 2: (True, False)}


def test_every_record_past_a_saved_cursor_is_resumed_its_last_too(
    tmp_path: Path, clock: FakeMonotonic
) -> None:
    """Written while the agent was stopped: the last of them, held a poll, is no less so."""
    log = tmp_path / "redis-server.log"
    log.write_text(redis_lines(1))
    first = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    first.open(log)
    read_until_quiet(first, clock)
    (cursor,) = first.cursors()
    first.close()
    with open(log, "a") as fh:
        fh.write(redis_lines(3, 5))
    second = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    try:
        assert second.resume(log, cursor) is not None
        got = by_line(read_until_quiet(second, clock))
    finally:
        second.close()
    assert got == {n: (False, True) for n in range(3, 7)}
