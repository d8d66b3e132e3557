"""Time-only stamps (RQ's `08:23:06 Worker ...`): the date comes from the records around
them, or from the file's time, across midnight, in the configured zone.

README ("Records"): "RQ's time-only `12:00:00` (date from the surrounding records or the
file's time, midnight rollover handled)". The property: render real times as the lines
an app and its RQ worker write, assemble them, and get the real times back, whatever the
mix of dated and time-only lines, as long as consecutive lines are less than half a day
apart (beyond that no reader could tell which day a bare `08:23:06` is).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.model import Record
from logwatch.records import assemble
from logwatch.sources.reader import read_lines

PARIS = ZoneInfo("Europe/Paris")


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, ms: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=UTC)


def records(text: str, *, file_time: datetime, tz: tzinfo = UTC) -> list[Record]:
    lines = read_lines(io.BytesIO(text.encode()), final=True)
    return list(assemble(lines, source="worker.log", file_time=file_time, tz=tz))


def dated(when: datetime, tz: tzinfo = UTC, text: str = "INFO [app] dated") -> str:
    """Python logging's line: local wall-clock time with milliseconds, no zone."""
    local = when.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M:%S},{local.microsecond // 1000:03d} {text}\n"


def rq(when: datetime, tz: tzinfo = UTC, text: str = "Worker rq:worker:abc: started") -> str:
    """RQ's line: local wall-clock time, to the second, no date."""
    return f"{when.astimezone(tz):%H:%M:%S} {text}\n"


FILE_TIME = utc(2026, 3, 2, 6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "2026-03-01 23:59:59,900 INFO dated\n23:59:59 Worker: job failed\n",
            [utc(2026, 3, 1, 23, 59, 59, 900), utc(2026, 3, 1, 23, 59, 59)],
            id="same-second-after-milliseconds-before-midnight",
        ),
        pytest.param(
            "2026-03-02 00:00:00,500 INFO dated\n00:00:00 Worker: job failed\n",
            [utc(2026, 3, 2, 0, 0, 0, 500), utc(2026, 3, 2)],
            id="same-second-after-milliseconds-at-midnight",
        ),
        pytest.param(
            "2026-03-01 12:00:05,000 INFO dated\n12:00:01 Worker: slightly late\n",
            [utc(2026, 3, 1, 12, 0, 5), utc(2026, 3, 1, 12, 0, 1)],
            id="a-few-seconds-out-of-order",
        ),
        pytest.param(
            "2026-03-02 00:00:02,000 INFO dated\n23:59:58 Worker: written before midnight\n",
            [utc(2026, 3, 2, 0, 0, 2), utc(2026, 3, 1, 23, 59, 58)],
            id="out-of-order-across-midnight",
        ),
        pytest.param(
            "2026-03-01 23:59:58,000 INFO dated\n00:00:01 Worker: after midnight\n",
            [utc(2026, 3, 1, 23, 59, 58), utc(2026, 3, 2, 0, 0, 1)],
            id="midnight-rollover",
        ),
        pytest.param(
            "2026-03-01 08:00:00,000 INFO dated\n19:59:59 Worker: same day\n",
            [utc(2026, 3, 1, 8), utc(2026, 3, 1, 19, 59, 59)],
            id="almost-half-a-day-later-is-the-same-day",
        ),
        pytest.param(
            "2026-03-01 20:00:00,000 INFO dated\n07:59:59 Worker: next morning\n",
            [utc(2026, 3, 1, 20), utc(2026, 3, 2, 7, 59, 59)],
            id="over-half-a-day-earlier-is-the-next-day",
        ),
        pytest.param(
            "2026-03-02 07:00:00,000 INFO dated\n19:00:01 Worker: last evening\n",
            [utc(2026, 3, 2, 7), utc(2026, 3, 1, 19, 0, 1)],
            id="over-half-a-day-later-is-the-day-before",
        ),
        pytest.param(
            "2026-12-31 23:59:30,000 INFO dated\n00:00:30 Worker: new year\n",
            [utc(2026, 12, 31, 23, 59, 30), utc(2027, 1, 1, 0, 0, 30)],
            id="new-year",
        ),
        pytest.param(
            "23:00:00 Worker: a\n01:00:00 Worker: b\n13:00:00 Worker: c\n",
            [utc(2026, 3, 1, 23), utc(2026, 3, 2, 1), utc(2026, 3, 2, 13)],
            id="time-only-lines-date-each-other",
        ),
        pytest.param(
            '{"time": "2026-03-05T10:00:00Z", "msg": "json"}\n10:00:02 Worker: after json\n',
            [utc(2026, 3, 5, 10), utc(2026, 3, 5, 10, 0, 2)],
            id="a-json-line-dates-it-too",
        ),
        pytest.param(
            "2026-02-20 10:00:00,000 INFO old\n10:00:01 Worker: a\n"
            "2026-03-05 09:00:00,000 INFO new\n09:00:01 Worker: b\n",
            [
                utc(2026, 2, 20, 10),
                utc(2026, 2, 20, 10, 0, 1),
                utc(2026, 3, 5, 9),
                utc(2026, 3, 5, 9, 0, 1),
            ],
            id="the-latest-dated-line-wins",
        ),
    ],
)
def test_time_only_lines_take_the_date_of_the_records_around_them(
    text: str, expected: list[datetime]
) -> None:
    got = records(text, file_time=FILE_TIME)
    assert [r.time for r in got] == expected
    assert all(r.timed for r in got)


@pytest.mark.parametrize(
    ("file_time", "clock", "expected"),
    [
        pytest.param(utc(2026, 3, 2, 6), "05:59:59", utc(2026, 3, 2, 5, 59, 59), id="before"),
        pytest.param(utc(2026, 3, 2, 6), "06:01:00", utc(2026, 3, 2, 6, 1), id="a-minute-after"),
        pytest.param(utc(2026, 3, 2, 6), "06:01:01", utc(2026, 3, 1, 6, 1, 1), id="later"),
        pytest.param(utc(2026, 3, 2, 0, 0, 30), "00:01:00", utc(2026, 3, 2, 0, 1), id="midnight"),
        pytest.param(utc(2026, 3, 2, 0, 0, 30), "23:59:00", utc(2026, 3, 1, 23, 59), id="eve"),
    ],
)
def test_a_file_of_time_only_lines_is_dated_by_its_modification_time(
    file_time: datetime, clock: str, expected: datetime
) -> None:
    """The file was last written at file_time (a one-minute slack for clock skew): a
    later time of day than that was written the day before."""
    (record,) = records(f"{clock} Worker: started\n", file_time=file_time)
    assert record.time == expected and record.timed


def test_file_time_is_read_in_the_configured_zone() -> None:
    """00:30 in Paris on 2 March is 23:30 UTC on 1 March: the local date is what counts."""
    file_time = utc(2026, 3, 1, 23, 30)
    got = records("00:10:00 Worker: a\n", file_time=file_time, tz=PARIS)
    assert [r.time for r in got] == [utc(2026, 3, 1, 23, 10)]
    got = records("23:50:00 Worker: b\n", file_time=file_time, tz=PARIS)
    assert [r.time for r in got] == [utc(2026, 3, 1, 22, 50)]


def test_a_naive_file_time_is_in_the_configured_zone() -> None:
    naive = datetime(2026, 3, 2, 0, 30)  # 00:30 in Paris
    got = records("00:10:00 Worker: a\n", file_time=naive, tz=PARIS)
    assert [r.time for r in got] == [utc(2026, 3, 1, 23, 10)]


def test_surrounding_records_are_read_in_the_configured_zone() -> None:
    """A naive dated line at 00:30 Paris time anchors the local date 2 March."""
    text = "2026-03-02 00:30:00,000 INFO dated\n00:40:00 Worker: a\n23:59:00 Worker: late\n"
    got = records(text, file_time=FILE_TIME, tz=PARIS)
    assert [r.time for r in got] == [
        utc(2026, 3, 1, 23, 30),
        utc(2026, 3, 1, 23, 40),
        utc(2026, 3, 1, 22, 59),  # 23:59 on 1 March, Paris: a late line from before midnight
    ]


def test_lines_after_a_time_only_record_inherit_its_time() -> None:
    text = "2026-03-01 23:59:58,000 dated\n00:00:01 Worker: failed\nno stamp here\n"
    got = records(text, file_time=FILE_TIME)
    assert [(r.time, r.timed) for r in got] == [
        (utc(2026, 3, 1, 23, 59, 58), True),
        (utc(2026, 3, 2, 0, 0, 1), True),
        (utc(2026, 3, 2, 0, 0, 1), False),
    ]


# -- the round trip ------------------------------------------------------------------

ZONES = [UTC, ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York"), PARIS]
# Winter only: a wall-clock time in the hour the clocks go back names two instants.
START = utc(2025, 12, 24, 13, 17, 5)
HALF_DAY_S = 12 * 3600


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start_ms=st.integers(min_value=0, max_value=7 * 86400 * 1000),
    steps=st.lists(
        st.tuples(
            # forward by up to just under half a day, or back a few seconds (out of order)
            st.one_of(
                st.integers(min_value=0, max_value=(HALF_DAY_S - 2) * 1000),
                st.sampled_from([0, 400, 1000, 3_600_000, (HALF_DAY_S - 2) * 1000]),
                st.integers(min_value=-5000, max_value=0),
            ),
            st.booleans(),  # a time-only line (RQ) or a dated one (the app)
        ),
        min_size=1,
        max_size=40,
    ),
    first_dated=st.booleans(),
    written_after_s=st.integers(min_value=-50, max_value=HALF_DAY_S),
)
def test_rendered_times_come_back_whatever_the_mix_of_lines(
    zone: tzinfo,
    start_ms: int,
    steps: list[tuple[int, bool]],
    first_dated: bool,
    written_after_s: int,
) -> None:
    when = START + timedelta(milliseconds=start_ms)
    truth: list[datetime] = []
    text = ""
    previous: datetime | None = None
    for n, (step_ms, time_only) in enumerate(steps):
        when += timedelta(milliseconds=step_ms)
        if n == 0 and first_dated:
            time_only = False
        if time_only:
            line_time = when.replace(microsecond=0)
            if previous is not None and abs((line_time - previous).total_seconds()) >= HALF_DAY_S:
                line_time = previous  # keep consecutive lines under half a day apart
                when = line_time
            text += rq(line_time, zone)
        else:
            line_time = when.replace(microsecond=when.microsecond // 1000 * 1000)
            text += dated(line_time, zone)
        truth.append(line_time)
        previous = line_time
    file_time = truth[0] + timedelta(seconds=written_after_s)
    got = records(text, file_time=file_time, tz=zone)
    assert [r.time for r in got] == truth
