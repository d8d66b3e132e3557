"""Stamps where real formats put them: after a level, a pid, a tag, behind ANSI colours."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from logwatch.cli import main
from logwatch.model import LogLine
from logwatch.records import assemble
from logwatch.stampshape import (
    START,
    StampShape,
    learn_shape,
    line_shape,
    parse_stamp,
    prefixed_stamp,
)
from logwatch.timestamps import parse_line_start

T = datetime(2026, 12, 1, 4, 54, 51, 411000, tzinfo=UTC)
DJANGO = (
    "ERROR 2026-12-01 04:54:51,411 log 23222 140245936695104 Internal Server Error: /api/orders"
)


@pytest.mark.parametrize(
    ("line", "tokens"),
    [
        pytest.param(DJANGO, 1, id="django-verbose"),
        pytest.param("ERROR    2026-12-01 04:54:51,411 app: x", 1, id="padded-level"),
        pytest.param("[ERROR] 2026-12-01 04:54:51,411 app: x", 1, id="bracketed-level"),
        pytest.param("error: 2026-12-01 04:54:51,411 x", 1, id="lower-level-colon"),
        pytest.param("django.request ERROR 2026-12-01 04:54:51,411 x", 2, id="logger-then-level"),
        pytest.param("23222 ERROR 2026-12-01 04:54:51,411 x", 2, id="pid-then-level"),
        pytest.param("[1234] 2026-12-01 04:54:51,411 x", 1, id="pid-tag"),
        pytest.param("\x1b[31mERROR\x1b[0m 2026-12-01 04:54:51,411 x", 1, id="coloured-level"),
        pytest.param("WARNING [MainThread] 2026-12-01 04:54:51,411 x", 2, id="level-thread"),
        pytest.param("<11>1 2026-12-01T04:54:51.411Z web-1 app 42 - - x", 1, id="rfc5424"),
        pytest.param("<190>12 2026-12-01T04:54:51.411+00:00 h a - - - x", 1, id="rfc5424-pri"),
        pytest.param("Xworker ERROR 2026-12-01 04:54:51,411 x", 2, id="x-logger-then-level"),
    ],
)
def test_stamp_after_a_prefix_is_found_and_learned(line: str, tokens: int) -> None:
    stamp = prefixed_stamp(line, UTC)
    assert stamp is not None and stamp.when == T
    assert learn_shape([line], UTC) == StampShape(tokens)
    assert line_shape(line, UTC) == StampShape(tokens)  # one line's say, as learning takes it
    assert parse_stamp(line, UTC, StampShape(tokens)) == stamp


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("Backup from 2026-12-01 04:54:51,411 restored", id="words-no-level"),
        pytest.param("Report for 2026-12-01 04:54:51 failed", id="message-date"),
        pytest.param("redis.exceptions.ConnectionError: 2026-12-01 04:54:51 x", id="exc-line"),
        pytest.param("ERROR job for user 7 at 2026-12-01 04:54:51 failed", id="deep-date"),
        pytest.param("password=hunter2 ERROR 2026-12-01 04:54:51 x", id="key-value-prefix"),
    ],
)
def test_a_date_quoted_in_a_message_is_not_a_stamp(line: str) -> None:
    assert prefixed_stamp(line, UTC) is None
    assert learn_shape([line], UTC) == START
    assert line_shape(line, UTC) is None


@pytest.mark.parametrize(
    ("line", "shape"),
    [
        pytest.param("2026-12-01 04:54:51,411 ERROR app: x", START, id="iso-start"),
        pytest.param("14:50:01 default: Job OK (abc)", START, id="time-only-start"),
        pytest.param("hello world", None, id="no-stamp"),
        pytest.param("", None, id="empty"),
        pytest.param('  File "/app/x.py", line 3, in f', None, id="frame"),
        pytest.param("\tat 2026-12-01 04:54:51", None, id="tab"),
        pytest.param('{"time": "2026-12-01T04:54:51Z"}', None, id="json"),
    ],
)
def test_a_lines_shape_is_where_its_stamp_sits(line: str, shape: StampShape | None) -> None:
    assert line_shape(line, UTC) == shape


def test_learned_token_count_is_the_only_one_taken() -> None:
    """In a Django file (one token before the stamp), a line with the date after three
    tokens is a message, not a record start."""
    shape = learn_shape(["INFO 2026-12-01 04:54:51,411 app 1 2 started", DJANGO], UTC)
    assert shape == StampShape(1)
    assert parse_stamp("ERROR django.request 77 2026-12-01 04:54:51 x", UTC, shape) is None
    assert parse_stamp(DJANGO, UTC, START) is None  # a file of line-start stamps


def test_mixed_gunicorn_and_django_file_keeps_both() -> None:
    lines = [
        "[2026-12-01 04:54:50 +0000] [23222] [INFO] Booting worker with pid: 23222",
        DJANGO,
    ]
    shape = learn_shape(lines, UTC)
    assert shape == StampShape(1)
    stamps = [parse_stamp(line, UTC, shape) for line in lines]
    assert all(s is not None and s.when is not None for s in stamps)


def test_ansi_coloured_start_and_journal_export() -> None:
    stamp = parse_line_start("\x1b[2m2026-12-01 04:54:51,411\x1b[0m [\x1b[31merror\x1b[0m] x")
    assert stamp is not None and stamp.when is not None
    assert stamp.when.replace(tzinfo=UTC) == T
    journal = parse_line_start("__REALTIME_TIMESTAMP=1795928091411000")
    assert journal is not None and journal.when == datetime.fromtimestamp(1795928091.411, UTC)


@given(st.text(max_size=300))
def test_prefixed_parse_never_raises(text: str) -> None:
    prefixed_stamp(text, UTC)
    parse_stamp(text, UTC, StampShape(2))
    learn_shape([text], UTC)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("ERROR " * 20000, id="levels"),
        pytest.param("\x1b[0m" * 20000 + "x", id="ansi"),
        pytest.param("[a] " * 20000, id="tags"),
        pytest.param("a" * 100000, id="one-word"),
        pytest.param("1" * 100000, id="digits"),
    ],
)
def test_long_hostile_prefixes_are_linear(line: str) -> None:
    started = time.process_time()  # CPU time: a loaded machine must not fail it
    for _ in range(20):
        prefixed_stamp(line, UTC)
        parse_stamp(line, UTC, StampShape(3))
        parse_line_start(line)
    assert time.process_time() - started < 2.0  # a quadratic scan of 100 KB takes minutes


# -- through the scan ---------------------------------------------------------------------


DJANGO_TRACEBACK = [
    "ERROR 2026-12-01 04:54:51,411 log 23222 140245936695104 Internal Server Error: /api/orders",
    "Traceback (most recent call last):",
    '  File "/srv/app/orders/views.py", line 12, in create',
    "    cache.set(key, value)",
    "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
]


def test_django_verbose_log_is_dated_by_its_stamps_on_both_paths(tmp_path: Path) -> None:
    lines = ["INFO 2026-12-01 04:50:00,000 log 23222 1 Starting"]
    for n in range(5):
        lines += [DJANGO_TRACEBACK[0].replace("51,411", f"5{n},411"), *DJANGO_TRACEBACK[1:]]
    lines.append(
        "INFO 2026-12-01 05:30:00,000 log 23222 1 still up, report for 2026-11-30 01:00:00"
    )
    log = tmp_path / "django.log"
    log.write_text("\n".join(lines) + "\n")
    reports = []
    for flag in ([], ["--reference"]):
        result = CliRunner().invoke(main, ["scan", "--format", "json", *flag, str(log)], env={})
        reports.append(json.loads(result.stdout))
    assert reports[0]["incidents"] == reports[1]["incidents"]
    (incident,) = reports[0]["incidents"]
    assert incident["events"] == 5
    assert incident["first_seen"] == "2026-12-01T04:54:50.411000+00:00"
    assert incident["last_seen"] == "2026-12-01T04:54:54.411000+00:00"
    assert incident["status"] == "resolved"


def test_an_error_at_the_end_of_a_long_line_is_seen(tmp_path: Path) -> None:
    """The line is within max_line_bytes (64 KiB): past the record's head budget (48 KiB)
    its end used to be cut off, with the error in it."""
    text = "2026-12-01 04:54:51,411 ERROR [app] " + "x" * 60000 + " " + DJANGO_TRACEBACK[-1]
    (record,) = assemble(
        [LogLine(text=text, number=1, offset=0, end=len(text) + 1)],
        source="a",
        file_time=T,
    )
    assert record.text.endswith("Connection refused.")
    log = tmp_path / "app.log"
    log.write_text((text + "\n") * 3)
    for flag in ([], ["--reference"]):
        result = CliRunner().invoke(main, ["scan", "--format", "json", *flag, str(log)], env={})
        assert json.loads(result.stdout)["stats"]["events"] == 3


def test_a_stamp_after_a_prefix_starts_with_a_digit_or_a_bracket() -> None:
    """Dates, times and bracketed stamps; words after a level are a message, not a stamp."""
    access = 'INFO 93.184.216.34 - - [01/Mar/2026:12:00:00 +0000] "GET / HTTP/1.1" 200'
    found = prefixed_stamp(access, None, 1)
    assert found is not None and found.when == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert prefixed_stamp("ERROR host - - [01/Mar/2026:12:00:00 +0000] x", None) is None
    assert prefixed_stamp("ERROR Web-1  | 2026-03-01 12:00:00 x", None) is None


def test_parse_stamp_reads_naive_stamps_in_the_given_zone() -> None:
    from datetime import timedelta, timezone

    stamp = parse_stamp("2026-03-01 13:00:00 x", timezone(timedelta(hours=1)), START)
    assert stamp is not None and stamp.when == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_the_shape_is_learned_from_the_first_400_lines() -> None:
    prefixed = "ERROR 2026-03-01 12:00:00,000 django.request x"
    assert learn_shape(["plain"] * 399 + [prefixed]) == StampShape(1)
    assert learn_shape(["plain"] * 400 + [prefixed]) == START
    # A line starting with any letter is looked at (a logger name before the level).
    assert learn_shape(["Xapp ERROR 2026-03-01 12:00:00,000 x"]) == StampShape(2)


@pytest.mark.parametrize(
    ("line", "tokens", "clock", "end"),
    [
        ("ERROR 2026-03-01 12:00:00,123 django x", None, None, 29),
        ("INFO 08:23:06 default: Job OK", None, "08:23:06", 13),
        ("ERROR [2026-03-01 12:00:00,123] x", None, None, 31),
        ("ERROR app x 2026-03-01 12:00:00 y", 3, None, 31),
    ],
)
def test_prefixed_stamps_and_where_they_end(
    line: str, tokens: int | None, clock: str | None, end: int
) -> None:
    stamp = prefixed_stamp(line, None, tokens)
    assert stamp is not None and stamp.end == end
    assert (stamp.clock.isoformat() if stamp.clock else None) == clock


def test_a_prefix_is_three_tokens_at_most_and_the_learned_count_exactly() -> None:
    assert prefixed_stamp("ERROR a b c 2026-03-01 12:00:00 x", None) is None
    assert prefixed_stamp("ERROR app x 2026-03-01 12:00:00 y", None, 2) is None
    # A line starting with any letter can hold a prefix (a logger name before the level).
    assert parse_stamp("Xapp ERROR 2026-03-01 12:00:00,000 x", None, StampShape(2)) is not None


def test_an_rfc5424_file_is_dated_by_its_stamps_on_both_paths(tmp_path: Path) -> None:
    """rsyslog's RSYSLOG_SyslogProtocol23Format writes `<PRI>1 STAMP HOST APP PID - - MSG`:
    an outage in such a file is an incident on its own times (it was undated evidence)."""
    error = "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."
    lines = [f"<11>1 2026-12-01T04:54:5{n}.411Z web-1 app 42 - - {error}" for n in range(5)]
    log = tmp_path / "syslog.log"
    log.write_text("\n".join(lines) + "\n")
    reports = []
    for flag in ([], ["--reference"]):
        result = CliRunner().invoke(main, ["scan", "--format", "json", *flag, str(log)], env={})
        reports.append(json.loads(result.stdout))
    assert reports[0]["incidents"] == reports[1]["incidents"]
    (incident,) = reports[0]["incidents"]
    assert (incident["category"], incident["target"], incident["events"]) == (
        "connection", "redis:6379", 5
    )
    assert incident["first_seen"] == "2026-12-01T04:54:50.411000+00:00"
    assert incident["last_seen"] == "2026-12-01T04:54:54.411000+00:00"
