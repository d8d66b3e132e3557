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
