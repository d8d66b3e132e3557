"""Timestamps at line starts and in JSON fields: every DESIGN.md format, and junk."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logwatch import timestamps
from logwatch.timestamps import Stamp, parse_line_start, parse_value


@pytest.fixture(autouse=True)
def _parsed_afresh() -> None:
    """Each test parses with empty caches: a zone or access-log stamp cached by an earlier
    test (or run) would hide how this one is parsed."""
    timestamps._ZONES.clear()
    timestamps._CLF_CACHE.clear()


def _utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "expected", "end"),
    [
        pytest.param(
            "2026-03-01T12:00:00.123Z msg", _utc(2026, 3, 1, 12, 0, 0, 123000), 24, id="iso-z"
        ),
        pytest.param(
            "2026-03-01T12:00:00+00:00 msg", _utc(2026, 3, 1, 12), 25, id="iso-offset-colon"
        ),
        pytest.param(
            "2026-03-01T12:00:00+0000 msg", _utc(2026, 3, 1, 12), 24, id="iso-offset-compact"
        ),
        pytest.param("2026-03-01T14:00:00+02:00 msg", _utc(2026, 3, 1, 12), 25, id="iso-plus-two"),
        pytest.param(
            "2026-03-01T07:00:00.5-05:00 x",
            _utc(2026, 3, 1, 12, 0, 0, 500000),
            27,
            id="iso-minus-five",
        ),
        pytest.param(
            "2026-03-01 12:00:00.123456789Z x",
            _utc(2026, 3, 1, 12, 0, 0, 123456),
            30,
            id="iso-nanos",
        ),
        pytest.param(
            "2026-03-01 12:00:00,123 ERROR [app] x",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            23,
            id="python-logging",
        ),
        pytest.param(
            "2026-03-01 12:00:00 - app - ERROR - x", _utc(2026, 3, 1, 12), 19, id="python-no-millis"
        ),
        pytest.param("2026/03/01 12:00:00 x", _utc(2026, 3, 1, 12), 19, id="slashes"),
        pytest.param("2026-03-01 12:00:00 +0000 x", _utc(2026, 3, 1, 12), 25, id="spaced-offset"),
        pytest.param(
            "[2026-03-01 12:00:00 +0000] [123] [ERROR] Worker (pid:9) was sent SIGKILL",
            _utc(2026, 3, 1, 12),
            27,
            id="gunicorn-error",
        ),
        pytest.param(
            "[2026-03-01 12:00:00,123] ERROR in app: x",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            25,
            id="flask-default",
        ),
        pytest.param(
            '10.0.2.130 - - [01/Mar/2026:00:00:00 +0000] "GET / HTTP/1.1" 200',
            _utc(2026, 3, 1),
            43,
            id="access-log-ip",
        ),
        pytest.param(
            'web-1.internal - alice [01/Mar/2026:01:00:00 +0100] "GET /"',
            _utc(2026, 3, 1),
            51,
            id="access-log-host-offset",
        ),
        pytest.param(
            "[01/Mar/2026:00:00:00 +0000] x", _utc(2026, 3, 1), 28, id="clf-bracket-start"
        ),
        pytest.param(
            "1234:M 01 Mar 2026 12:00:00.123 # Background saving error",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            31,
            id="redis-server",
        ),
        pytest.param(
            "7:C 26 Nov 2026 08:13:06.811 * Ready",
            _utc(2026, 11, 26, 8, 13, 6, 811000),
            28,
            id="redis-child",
        ),
        pytest.param(
            "99:S 01 Mar 2026 12:00:00.123 - x",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            29,
            id="redis-replica",
        ),
        pytest.param(
            "1:X 01 Mar 2026 12:00:00.123 # sentinel",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            28,
            id="redis-sentinel",
        ),
        pytest.param(
            "1709294400.123 worker started",
            _utc(2024, 3, 1, 12, 0, 0, 123000),
            14,
            id="epoch-fraction",
        ),
        pytest.param("1709294400 worker started", _utc(2024, 3, 1, 12), 10, id="epoch"),
        pytest.param(
            "[2026-03-01 12:00:00,123: ERROR/MainProcess] consumer: Cannot connect to redis",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            44,
            id="celery",
        ),
        pytest.param(
            "web-1  | 2026-03-01 12:00:00,123 ERROR [app] x",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            32,
            id="compose-v2",
        ),
        pytest.param(
            "morningai_worker_1 | [2026-03-01 12:00:00 +0000] [7] [ERROR] x",
            _utc(2026, 3, 1, 12),
            48,
            id="compose-v1-gunicorn",
        ),
        pytest.param(
            "Redis-1  | 1:M 01 Mar 2026 12:00:00.123 # Server initialized",
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            39,
            id="compose-redis-server",
        ),
    ],
)
def test_full_timestamps(line: str, expected: datetime, end: int) -> None:
    stamp = parse_line_start(line)
    assert stamp is not None
    assert stamp.when is not None and stamp.clock is None
    when = stamp.when if stamp.when.tzinfo else stamp.when.replace(tzinfo=UTC)
    assert when == expected
    assert stamp.end == end


@pytest.mark.parametrize(
    ("line", "clock", "month", "day", "end"),
    [
        pytest.param("08:23:06 Worker rq:worker:abc: started", time(8, 23, 6), 0, 0, 8, id="rq"),
        pytest.param(
            "12:00:00,123 default: Job OK", time(12, 0, 0, 123000), 0, 0, 12, id="rq-millis"
        ),
        pytest.param("Mar  1 12:00:00 host app[12]: msg", time(12), 3, 1, 15, id="syslog"),
        pytest.param(
            "Nov 26 08:13:06 host redis[7]: x", time(8, 13, 6), 11, 26, 15, id="syslog-2digit"
        ),
        pytest.param(
            "[1234] 01 Mar 12:00:00.123 # old redis",
            time(12, 0, 0, 123000),
            3,
            1,
            26,
            id="redis-2x",
        ),
    ],
)
def test_partial_timestamps(line: str, clock: time, month: int, day: int, end: int) -> None:
    assert parse_line_start(line) == Stamp(None, clock, end, month, day)


def test_naive_times_take_the_given_zone() -> None:
    paris = timezone(timedelta(hours=1))
    stamp = parse_line_start("2026-03-01 12:00:00,123 x", paris)
    assert stamp is not None and stamp.when == datetime(2026, 3, 1, 11, 0, 0, 123000, tzinfo=UTC)
    utc = parse_line_start("2026-03-01 12:00:00 x", UTC)
    assert utc is not None and utc.when is not None and utc.when.tzinfo is UTC
    offset = parse_line_start("2026-03-01 12:00:00+05:00 x", UTC)
    assert offset is not None and offset.when == datetime(2026, 3, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("2026-13-01 12:00:00 month 13", id="month-13"),
        pytest.param("2026-02-30 12:00:00 feb 30", id="feb-30"),
        pytest.param("2026-03-01 24:00:00 hour 24", id="hour-24"),
        pytest.param("2026-03-01T12:00:00+25:00 offset", id="offset-25h"),
        pytest.param("25:00:00 not a time", id="clock-25"),
        pytest.param("Mar 32 12:00:00 host x", id="syslog-day-32"),
        pytest.param('  File "/app/x.py", line 3, in f', id="frame"),
        pytest.param("Traceback (most recent call last):", id="traceback"),
        pytest.param(
            "redis.exceptions.ConnectionError: Error 111 connecting to r:6379.", id="exception"
        ),
        pytest.param("socket.gaierror: [Errno -2] Name or service not known", id="gaierror"),
        pytest.param("12345 items", id="short-number"),
        pytest.param("12:00:00:00 not a clock", id="four-part-clock"),
        pytest.param("", id="empty"),
        pytest.param('{"ts": 1}', id="json"),
        pytest.param("Exception in thread Thread-1:", id="thread"),
    ],
)
def test_not_a_record_start(line: str) -> None:
    assert parse_line_start(line) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-03-01T12:00:00.123Z", _utc(2026, 3, 1, 12, 0, 0, 123000), id="iso-z"),
        pytest.param("2026-03-01T13:00:00+01:00", _utc(2026, 3, 1, 12), id="iso-offset"),
        pytest.param(
            "2026-03-01 12:00:00,123", datetime(2026, 3, 1, 12, 0, 0, 123000), id="asctime"
        ),
        pytest.param(1709294400, _utc(2024, 3, 1, 12), id="epoch-int"),
        pytest.param(1709294400.5, _utc(2024, 3, 1, 12, 0, 0, 500000), id="epoch-float"),
        pytest.param(1709294400123, _utc(2024, 3, 1, 12, 0, 0, 123000), id="epoch-millis"),
        pytest.param(1709294400123456, _utc(2024, 3, 1, 12, 0, 0, 123456), id="epoch-micros"),
        pytest.param("1709294400", _utc(2024, 3, 1, 12), id="epoch-string"),
        pytest.param("1709294400.25", _utc(2024, 3, 1, 12, 0, 0, 250000), id="epoch-string-float"),
        pytest.param("2026-03-01", datetime(2026, 3, 1), id="date-only"),
        pytest.param(True, None, id="bool"),
        pytest.param("yesterday", None, id="words"),
        pytest.param("", None, id="empty"),
        pytest.param(float("nan"), None, id="nan"),
        pytest.param(1e300, None, id="huge"),
    ],
)
def test_parse_value(value: str | int | float, expected: datetime | None) -> None:
    assert parse_value(value) == expected


@given(st.text(max_size=80))
def test_parse_line_start_never_raises(line: str) -> None:
    stamp = parse_line_start(line)
    if stamp is not None:
        assert (stamp.when is None) != (stamp.clock is None)
        assert 0 < stamp.end <= len(line)


@given(
    st.from_regex(
        r"\A(\d{1,4}[-/:]\d\d[-/:]\d\d[T ]\d\d:\d\d:\d\d([.,]\d{1,12})?( ?[+-Z]\d{0,4})?|"
        r"\d{1,6}:[MCSXZ] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d(\.\d+)? .|"
        r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{10}(\.\d*)?|"
        r"\S+ \S+ \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]).{0,10}\Z"
    )
)
def test_near_miss_timestamps_never_raise(line: str) -> None:
    parse_line_start(line)
    parse_line_start(line, UTC)


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats()))
def test_parse_value_never_raises(value: str | int | float) -> None:
    parse_value(value)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("web-1  | Traceback (most recent call last):", id="compose-no-stamp"),
        pytest.param("web-1  | web-2  | 2026-03-01 12:00:00 x", id="compose-twice"),
        pytest.param("error | 2026 was a year", id="bar-not-a-stamp"),
        pytest.param("[2026-03-01 12:00:00,123: no closing bracket", id="celery-unclosed"),
    ],
)
def test_prefixed_lines_without_a_stamp_after_the_prefix(line: str) -> None:
    assert parse_line_start(line) is None


# -- offsets, prefixes and epochs the cases above do not reach ------------------------------


@pytest.mark.parametrize(
    ("line", "expected", "end"),
    [
        ("[01/Mar/2026:12:00:00 +0000] x", _utc(2026, 3, 1, 12), 28),
        ("[01/Mar/2026:17:30:00 +0530] x", _utc(2026, 3, 1, 12), 28),
        ("[01/Mar/2026:05:00:00 -0700] x", _utc(2026, 3, 1, 12), 28),
        ("[01/Mar/2026:22:00:00 +1000] x", _utc(2026, 3, 1, 12), 28),
        ("[01/Mar/2026:00:30:00 -1130] x", _utc(2026, 3, 1, 12), 28),
        ("[02/Mar/2026:11:00:00 +2300] x", _utc(2026, 3, 1, 12), 28),
        ("[01/Mar/2026:12:01:00 +0001] x", _utc(2026, 3, 1, 12), 28),
        (
            '10.0.0.5 - - [01/Mar/2026:17:30:00 +0530] "GET / HTTP/1.1" 200',
            _utc(2026, 3, 1, 12),
            41,
        ),
        (
            '1.23.4.5 - - [01/Mar/2026:12:00:00 +0000] "GET / HTTP/1.1" 200',
            _utc(2026, 3, 1, 12),
            41,
        ),
    ],
)
def test_access_log_offsets(line: str, expected: datetime, end: int) -> None:
    """Each offset is read whole (hours and minutes, either sign); +0000 is UTC itself."""
    stamp = parse_line_start(line)
    assert stamp == Stamp(expected, None, end)
    assert stamp.when is not None and stamp.when.utcoffset() is not None
    again = parse_line_start(line)  # from the cache now: the same answer
    assert again == stamp
    if "+0000" in line:
        assert stamp.when.tzinfo is UTC


@pytest.mark.parametrize(
    "line",
    [
        "[01/Mar/2026:12:00:00 +2400] hour 24",
        "[01/Mar/2026:12:00:00 +9900] hour 99",
        "[MainThread] no stamp",
        "[1234] not redis",
        "[2026-03-01 12:00:00,123: ERROR/" + "x" * 64 + "] too far",
        "[2026-03-01 12:00:00,123: no closing bracket",
    ],
)
def test_bracketed_lines_without_a_stamp(line: str) -> None:
    assert parse_line_start(line) is None


def test_celery_stamp_ends_at_its_bracket() -> None:
    line = "[2026-03-01 12:00:00,123: ERROR/MainProcess] Task t[abc] raised: x"
    stamp = parse_line_start(line)
    assert stamp == Stamp(datetime(2026, 3, 1, 12, 0, 0, 123000), None, line.index("]") + 1)
    # The bracket closes within 64 characters of the stamp, not further.
    near = "[2026-03-01 12:00:00,123: " + "w" * 61 + "] x"
    assert parse_line_start(near) == Stamp(datetime(2026, 3, 1, 12, 0, 0, 123000), None, 88)
    assert parse_line_start("[2026-03-01 12:00:00,123: " + "w" * 62 + "] x") is None


def test_bracketed_and_prefixed_stamps_take_the_given_zone() -> None:
    plus2 = timezone(timedelta(hours=2))
    flask = parse_line_start("[2026-03-01 14:00:00,123] ERROR in app: x", plus2)
    assert flask is not None and flask.when == _utc(2026, 3, 1, 12, 0, 0, 123000)
    assert flask.when.utcoffset() == timedelta(hours=2)
    compose = parse_line_start("web-1  | 2026-03-01 14:00:00,123 ERROR x", plus2)
    assert compose is not None and compose.when == _utc(2026, 3, 1, 12, 0, 0, 123000)
    assert compose.when.utcoffset() == timedelta(hours=2) and compose.end == 32


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # docker compose logs: the service's name, a bar, then any stamp of ours.
        ("worker-1  | 08:23:06 default: Job OK (id)", Stamp(None, time(8, 23, 6), 20)),
        (
            'nginx-1  | 93.184.216.34 - - [01/Mar/2026:12:00:00 +0000] "GET / HTTP/1.1" 200',
            Stamp(_utc(2026, 3, 1, 12), None, 57),
        ),
        ("web-1  | Api | 2026-03-01 12:00:00 x", None),  # a second prefix is not looked into
        ("web-1  | hello", None),
    ],
)
def test_compose_prefixed_lines(line: str, expected: Stamp | None) -> None:
    assert parse_line_start(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1709294400 ERROR x", Stamp(_utc(2024, 3, 1, 12), None, 10)),
        ("1709294400.5 ERROR x", Stamp(_utc(2024, 3, 1, 12, 0, 0, 500000), None, 12)),
        ("08:23:06.123456789 job", Stamp(None, time(8, 23, 6, 123456), 18)),
        ("Mar 31 23:59:59 host x", Stamp(None, time(23, 59, 59), 15, 3, 31)),
        ("[1234] 31 Mar 12:00:00.5 # x", Stamp(None, time(12, 0, 0, 500000), 24, 3, 31)),
    ],
)
def test_epochs_fractions_and_the_last_day(line: str, expected: Stamp) -> None:
    assert parse_line_start(line) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # At each unit's threshold, 1e8 s counted in that unit: 1973-03-03 09:46:40.
        (10**17, _utc(1973, 3, 3, 9, 46, 40)),
        (10**14, _utc(1973, 3, 3, 9, 46, 40)),
        (10**11, _utc(1973, 3, 3, 9, 46, 40)),
        (10**11 - 1, _utc(5138, 11, 16, 9, 46, 39)),
        (1709294400999, _utc(2024, 3, 1, 12, 0, 0, 999000)),
        (1709294400123456789, _utc(2024, 3, 1, 12, 0, 0, 123457)),
        (1709294400123.0, _utc(2024, 3, 1, 12, 0, 0, 123000)),
        # Nanoseconds as text are counted exactly, not through a float.
        ("1466859447131272381", _utc(2016, 6, 25, 12, 57, 27, 131272)),
        ("2026/03/01 12:00:00", datetime(2026, 3, 1, 12)),
        ("[01/Mar/2026:12:00:00 +0000]", _utc(2026, 3, 1, 12)),
        ("Mar  1 12:00:00", None),  # no year: not a full time
    ],
)
def test_parse_value_units_and_forms(value: str | int | float, expected: datetime | None) -> None:
    assert parse_value(value) == expected


def test_access_log_time_is_the_fourth_field_only() -> None:
    request = '"GET /a?q=[1] HTTP/1.1" 200 0 "-" "curl [x]"'
    line = f"10.0.0.5 - - [01/Mar/2026:12:00:00 +0000] {request}"
    assert parse_line_start(line) == Stamp(_utc(2026, 3, 1, 12), None, 41)
    # A bracket after a fourth field, or one found past the first 300 characters: no stamp.
    assert parse_line_start("web 10.0.0.5 - - [01/Mar/2026:12:00:00 +0000] x") is None
    host = "h" * 294
    assert parse_line_start(f"{host} - - [01/Mar/2026:12:00:00 +0000] x") is not None
    assert parse_line_start(f"{host}h - - [01/Mar/2026:12:00:00 +0000] x") is None


@pytest.mark.parametrize(
    "line",
    [
        "1234:M 01 Mar 2026 14:00:00.000 # Server initialized",
        "Web-1  | 2026-03-01 14:00:00 x",
        "api-1  | 2026-03-01 14:00:00 x",
        "zookeeper-1  | 2026-03-01 14:00:00 x",
        "Zookeeper-1  | 2026-03-01 14:00:00 x",
    ],
)
def test_every_start_takes_the_given_zone(line: str) -> None:
    stamp = parse_line_start(line, timezone(timedelta(hours=2)))
    assert stamp is not None and stamp.when == _utc(2026, 3, 1, 12)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Apr 30 12:00:00 host x", Stamp(None, time(12), 15, 4, 30)),
        ("Aug  1 12:00:00 host x", Stamp(None, time(12), 15, 8, 1)),
        (
            "__REALTIME_TIMESTAMP=1709294400000000",
            Stamp(_utc(2024, 3, 1, 12), None, len("__REALTIME_TIMESTAMP=1709294400000000")),
        ),
    ],
)
def test_syslog_months_and_journal_export(line: str, expected: Stamp) -> None:
    assert parse_line_start(line) == expected


def test_ansi_colours_before_a_stamp() -> None:
    line = "\x1b[32m\x1b[1m2026-03-01 14:00:00,123\x1b[0m ERROR x"
    stamp = parse_line_start(line, timezone(timedelta(hours=2)))
    assert stamp == Stamp(_utc(2026, 3, 1, 12, 0, 0, 123000), None, 9 + 23)
    assert parse_line_start("\x1b[32mERROR\x1b[0m no stamp") is None
    assert parse_line_start("\x1b(B2026-03-01 12:00:00 x") is None  # not a colour


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Twenty digits at most: 1.1e19 ns is in 2322; 21 digits are not a journal time.
        ("__REALTIME_TIMESTAMP=" + "1" * 20, _utc(2322, 2, 5, 19, 45, 11, 111111)),
        ("__REALTIME_TIMESTAMP=" + "1" * 21, None),
        ("__REALTIME_TIMESTAMP=abc", None),
        ("__REALTIME_TIMESTAMP=", None),
        ("_" + "x" * 20 + "1709294400", None),
        ("_SYSTEMD_UNIT=app.service", None),
    ],
)
def test_journal_export_field(line: str, expected: datetime | None) -> None:
    stamp = parse_line_start(line)
    assert (stamp.when if stamp else None) == expected
    if stamp is not None:
        assert stamp.end == len(line)


# -- Django runserver and werkzeug: the access log's date, a space, no zone --------------


@pytest.mark.parametrize(
    ("line", "end"),
    [
        ('[26/Nov/2026 14:50:01] "GET /healthz HTTP/1.1" 200 2', 22),  # Django runserver
        ('[26/Nov/2026 14:50:01] "POST /api/enqueue/ HTTP/1.1" 500 145', 22),
        ('127.0.0.1 - - [26/Nov/2026 14:50:01] "GET / HTTP/1.1" 500 -', 36),  # werkzeug
        ('192.168.65.1 - - [26/Nov/2026 14:50:01] "GET /x HTTP/1.1" 200 -', 39),
        # The client as a host name or an IPv6 address: the 4th field all the same.
        ('localhost - - [26/Nov/2026 14:50:01] "GET / HTTP/1.1" 500 -', 36),
        ('WEB01 - - [26/Nov/2026 14:50:01] "GET / HTTP/1.1" 500 -', 32),
        ('2001:db8::5 - - [26/Nov/2026 14:50:01] "GET / HTTP/1.1" 200 -', 38),
    ],
)
def test_runserver_and_werkzeug_stamps_are_local_times(line: str, end: int) -> None:
    plus2 = timezone(timedelta(hours=2))
    assert parse_line_start(line) == Stamp(datetime(2026, 11, 26, 14, 50, 1), None, end)
    assert parse_line_start(line, UTC) == Stamp(_utc(2026, 11, 26, 14, 50, 1), None, end)
    stamp = parse_line_start(line, plus2)  # from the cache now: the zone still applies
    assert stamp == Stamp(_utc(2026, 11, 26, 12, 50, 1), None, end)
    assert stamp.when is not None and stamp.when.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "line",
    [
        '[26/Nov/2026:14:50:01 +0000] "GET /"',  # Apache/nginx, with the zone: as before
        '10.0.0.5 - - [26/Nov/2026:14:50:01 +0000] "GET / HTTP/1.1" 200',
    ],
)
def test_access_logs_keep_their_zone_beside_runserver_stamps(line: str) -> None:
    parse_line_start('[26/Nov/2026 14:50:01] "GET / HTTP/1.1" 200 2', timezone(timedelta(hours=2)))
    stamp = parse_line_start(line, timezone(timedelta(hours=2)))
    assert stamp is not None and stamp.when == _utc(2026, 11, 26, 14, 50, 1)
    assert stamp.when.tzinfo is UTC


@pytest.mark.parametrize(
    "line",
    [
        "[26/Nov/2026 14:50:01 +0000] a zone after a space",
        "[26/Nov/2026:14:50:01] no zone after a colon",
        "[26/Nov/2026 24:50:01] hour 24",
        "[31/Nov/2026 14:50:01] 31 November",
        "[26/Nov/2026 14:50:01 missing bracket",
    ],
)
def test_near_runserver_stamps_are_none(line: str) -> None:
    assert parse_line_start(line) is None
