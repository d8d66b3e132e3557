"""What a file's first bytes tell: where its stamps sit (Django's level first), a
container runtime's wrapping (Docker, the kubelet's name), the zone of zoneless stamps;
and whether a file opened is caught up (what it holds next is live)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest

from logwatch.sources.tail import Tailer
from tests.tail_rig import (
    FakeMonotonic,
    append,
    line,
    numbers,
    settle,
    tailers,
)

# -- a young file: its first lines show how to read it -----------------------------------


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def make(clock: FakeMonotonic) -> Iterator[Callable[..., Tailer]]:
    yield from tailers(clock)


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
