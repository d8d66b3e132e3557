"""Log time bounded by the agent's clock (sources/logtime.py): the rules, case by case."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logwatch.model import Record
from logwatch.sources.followed import FileRecords
from logwatch.sources.identity import FileId
from logwatch.sources.logtime import LogClock

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def batch(*times: datetime, live: bool, path: str = "app.log", timed: bool = True) -> FileRecords:
    records = [
        Record(source=path, line=n, offset=0, end=1, time=t, text=f"r{n}", timed=timed)
        for n, t in enumerate(times)
    ]
    return FileRecords(FileId(1, 2), Path(path), live, records)


@pytest.mark.parametrize(
    ("stamp", "live", "expected"),
    [
        pytest.param(NOW + timedelta(days=365 * 73), False, NOW, id="2099-backlog-takes-now"),
        pytest.param(NOW + timedelta(hours=5), True, NOW, id="5h-ahead-live-takes-now"),
        pytest.param(NOW + timedelta(seconds=2), True, NOW, id="slightly-ahead-takes-now"),
        pytest.param(NOW - timedelta(days=9000), True, NOW, id="2001-live-takes-now"),
        pytest.param(
            NOW - timedelta(seconds=30), True, NOW - timedelta(seconds=30), id="live-30s-late-kept"
        ),
        pytest.param(
            NOW - timedelta(days=9000), False, NOW - timedelta(days=9000), id="old-backlog-kept"
        ),
        pytest.param(
            NOW - timedelta(hours=5), False, NOW - timedelta(hours=5), id="restart-backlog-kept"
        ),
    ],
)
def test_a_record_time_is_bounded_by_the_clock(
    stamp: datetime, live: bool, expected: datetime
) -> None:
    (record,) = LogClock().retime(batch(stamp, live=live), NOW)
    assert record.time == expected


def test_each_file_whose_clock_disagrees_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = LogClock()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            clock.retime(batch(NOW + timedelta(hours=5), live=True), NOW)
            clock.retime(batch(NOW - timedelta(hours=5), live=True), NOW)
            clock.retime(batch(NOW + timedelta(hours=5), live=True, path="worker.log"), NOW)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 3
    assert sum("app.log: log time ahead of the clock by 5h00m" in s for s in said) == 1
    assert sum("app.log: log time behind the clock by 5h00m" in s for s in said) == 1
    assert sum("worker.log: log time ahead" in s for s in said) == 1


def test_untimed_records_read_live_take_the_read_time_without_a_word(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unstamped line inherits the file's time (its mtime when first read): that is
    no clock disagreement to report."""
    with caplog.at_level(logging.WARNING):
        (record,) = LogClock().retime(batch(NOW - timedelta(hours=3), live=True, timed=False), NOW)
    assert record.time == NOW and not caplog.records


def test_a_backlog_read_past_a_cursor_is_not_older_than_the_last_commit() -> None:
    """After a restart, what follows a saved cursor was written after the last commit: a
    file 5 h behind gave two incidents for one outage (its backlog 5 h in the past)."""
    last_commit = NOW - timedelta(seconds=3)
    skewed = batch(NOW - timedelta(hours=5), live=False)
    resumed = FileRecords(skewed.file, skewed.path, False, skewed.records, resumed=True)
    (record,) = LogClock().retime(resumed, NOW, last_commit=last_commit)
    assert record.time == NOW
    legit = FileRecords(
        skewed.file,
        skewed.path,
        False,
        [replace(skewed.records[0], time=NOW - timedelta(seconds=2))],
        resumed=True,
    )
    (record,) = LogClock().retime(legit, NOW, last_commit=last_commit)
    assert record.time == NOW - timedelta(seconds=2)  # written during the downtime: kept


@pytest.mark.parametrize("hours", [5, -5], ids=["ahead", "behind"])
def test_a_skewed_file_keeps_its_records_spacing_however_late_they_are_read(hours: int) -> None:
    """Found by the soak under load: records of a file 5 h off, written 1 s apart, took the
    moments they were read; an agent stalled 4 s between two reads put them past the quiet
    period, and the outage's third record fell out of its incident (3 written, 2 counted)."""
    clock = LogClock()
    off = timedelta(hours=hours)
    written = [NOW + timedelta(seconds=s) for s in (0, 1, 2)]
    reads = [NOW + timedelta(seconds=s) for s in (0.2, 1.2, 6.5)]  # a stall before the third
    times = []
    for w, r in zip(written, reads, strict=True):
        (record,) = clock.retime(batch(w + off, live=True), r)
        times.append(record.time)
    assert [t - times[0] for t in times] == [
        timedelta(0),
        timedelta(seconds=1),
        timedelta(seconds=2),
    ]
    assert all(t <= r for t, r in zip(times, reads, strict=True))  # never ahead of the clock
    assert times[0] <= written[0] + timedelta(seconds=0.2)


def test_a_one_off_line_stamped_2099_does_not_move_the_correct_lines_after_it() -> None:
    clock = LogClock()
    (odd,) = clock.retime(batch(NOW + timedelta(days=365 * 73), live=True), NOW)
    assert odd.time == NOW
    later = NOW + timedelta(seconds=10)
    (normal,) = clock.retime(batch(later - timedelta(seconds=1), live=True), later)
    assert normal.time == later - timedelta(seconds=1)


def test_a_file_whose_offset_changes_starts_its_skew_over() -> None:
    """Found by the soak under load: a worker log's time-only lines were dated a day back
    (an old file time) and some 10 h back (after a line stamped 2099); moved by the largest
    skew seen, the day-old ones landed 14 h in the past, outside their outage."""
    clock = LogClock()
    times = []
    for n, behind in enumerate((timedelta(hours=24), timedelta(hours=10), timedelta(hours=24))):
        now = NOW + timedelta(seconds=n)
        (record,) = clock.retime(batch(now - behind, live=True), now)
        times.append(record.time - now)
    assert times == [timedelta(0)] * 3


# -- the skew per file and direction, the bounds' edges, what is said ----------------------

S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def times(clock: LogClock, *stamps: datetime, live: bool = True, path: str = "app.log",
          now: datetime = NOW, **kw: object) -> list[datetime]:  # fmt: skip
    return [r.time for r in clock.retime(batch(*stamps, live=live, path=path), now, **kw)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("by", "said"),
    [
        (timedelta(seconds=59), "0m59s"),
        (timedelta(seconds=60), "1m00s"),
        (timedelta(seconds=3660), "1h01m"),
        (timedelta(days=1, hours=1), "1d1h"),
        (timedelta(seconds=61), "1m01s"),
        (timedelta(seconds=3599), "59m59s"),
        (H, "1h00m"),
        (timedelta(seconds=3661), "1h01m"),
        (timedelta(seconds=86399), "23h59m"),
        (timedelta(days=1), "1d0h"),
        (timedelta(days=2, hours=3, minutes=4), "2d3h"),
    ],
)
def test_the_span_said(by: timedelta, said: str) -> None:
    from logwatch.sources.logtime import _span

    assert _span(by) == said


def test_the_line_said_and_what_is_not_said(caplog: pytest.LogCaptureFixture) -> None:
    clock = LogClock()
    with caplog.at_level(logging.WARNING):
        clock.retime(batch(NOW + 2 * H, live=True), NOW)
        clock.retime(batch(NOW + 2 * H, live=True, timed=False, path="untimed.log"), NOW)
        clock.retime(batch(NOW + 60 * S, live=True, path="drift.log"), NOW)  # 60 s: drift
    assert [r.getMessage() for r in caplog.records] == [
        "app.log: log time ahead of the clock by 2h00m; its records are moved by that much"
        " (said once)"
    ]


def test_each_file_and_direction_has_its_own_skew() -> None:
    clock = LogClock()
    assert times(clock, NOW + 2 * H, path="a.log") == [NOW]
    assert times(clock, NOW + 1 * H, path="b.log") == [NOW]
    # a.log's next record, 2 min less ahead, keeps a.log's skew (b.log's is another).
    assert times(clock, NOW + 2 * H - 2 * M, path="a.log") == [NOW - 2 * M]
    # Behind, then ahead again: the ahead skew was not replaced by the behind one.
    assert times(clock, NOW - 10 * M, path="a.log") == [NOW]
    assert times(clock, NOW + 2 * H - 2 * M, path="a.log") == [NOW - 2 * M]


def test_the_skew_grows_with_a_record_farther_ahead_and_starts_over_past_five_minutes() -> None:
    clock = LogClock()
    assert times(clock, NOW + 2 * H) == [NOW]
    assert times(clock, NOW + 2 * H + 4 * M) == [NOW]  # farther: the skew grows to 2h04m
    assert times(clock, NOW + 2 * H + 3 * M) == [NOW - M]
    # Exactly five minutes less ahead than the skew: still the same file clock.
    assert times(clock, NOW + 2 * H - M) == [NOW - 5 * M]
    # More than five minutes: its clock was reset, the skew starts over.
    assert times(clock, NOW + 1 * H) == [NOW]


def test_a_record_stamped_exactly_now_is_not_ahead_and_keeps_the_skew() -> None:
    clock = LogClock()
    assert times(clock, NOW + 2 * H, NOW, NOW + 2 * H - M) == [NOW, NOW, NOW - M]


def test_the_live_bound_is_more_than_a_minute_behind() -> None:
    clock = LogClock()
    assert times(clock, NOW - 60 * S, NOW - 61 * S) == [NOW - 60 * S, NOW]


@pytest.mark.parametrize(
    ("live", "resumed", "last_commit", "stamp", "expected"),
    [
        # Read past a cursor: one stamped more than a minute before the last commit is moved.
        (False, True, NOW - H, NOW - H - 61 * S, NOW),
        (False, True, NOW - H, NOW - H - 59 * S, NOW - H - 59 * S),
        # Not read past a cursor: the last commit says nothing about it.
        (False, False, NOW - H, NOW - 2 * H, NOW - 2 * H),
        # Live and resumed: the later of the two bounds.
        (True, True, NOW - H, NOW - 2 * M, NOW),
        (True, True, NOW + 0 * H, NOW - 30 * S, NOW - 30 * S),
    ],
)
def test_the_bound_after_a_restart(
    live: bool, resumed: bool, last_commit: datetime, stamp: datetime, expected: datetime
) -> None:
    read = replace(batch(stamp, live=live), resumed=resumed)
    [record] = LogClock().retime(read, NOW, last_commit=last_commit)
    assert record.time == expected
