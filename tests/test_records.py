"""Lines -> records: tracebacks, chains, JSON lines, inferred dates, bounds, the corpus."""

from __future__ import annotations

import io
import itertools
import json
import re
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from benchmarks.make_corpus import write_corpus
from logwatch.model import LogLine, Record
from logwatch.records import RecordAssembler, assemble, starts_dated_record
from logwatch.sources.reader import open_log, read_lines
from logwatch.stampshape import StampShape
from logwatch.timestamps import parse_line_start

FILE_TIME = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
PATTERNS = Path(__file__).resolve().parents[1] / "benchmarks" / "redis-patterns.txt"


def _lines(text: str) -> list[LogLine]:
    return list(read_lines(io.BytesIO(text.encode())))


def _records(text: str, **kw: object) -> list[Record]:
    options: dict[str, object] = {"source": "app.log", "file_time": FILE_TIME, **kw}
    return list(assemble(_lines(text), **options))  # type: ignore[arg-type]


def _utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


FRAMES = (
    '  File "/app/morningai/views/feed.py", line 57, in get_feed\n'
    '    cached = cache.get(f"feed:{user_id}:v3")\n'
    '  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 369, in connect\n'
    "    raise ConnectionError(self._error_message(e))\n"
)
REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."
)
DNS = (
    "redis.exceptions.ConnectionError: "
    "Error -2 connecting to redis:6379. Name or service not known."
)


def test_traceback_joins_the_timestamped_line() -> None:
    text = (
        "2026-03-01 12:00:00,001 INFO [api] 200 GET /healthz\n"
        "2026-03-01 12:00:01,500 ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n" + FRAMES + REFUSED + "\n"
        "2026-03-01 12:00:02,000 INFO [api] 200 GET /healthz\n"
    )
    records = _records(text)
    assert len(records) == 3
    error = records[1]
    assert error.text.startswith("2026-03-01 12:00:01,500 ERROR")
    assert error.text.endswith(REFUSED)
    assert error.lines == 7 and error.line == 2
    assert error.time == _utc(2026, 3, 1, 12, 0, 1, 500000) and error.timed
    assert error.offset == len(text.split("\n")[0]) + 1
    assert error.end == records[2].offset
    assert records[2].end == len(text.encode())


def test_chained_traceback_is_one_record() -> None:
    text = (
        "2026-03-01 12:00:01,500 ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        + FRAMES
        + "socket.gaierror: [Errno -2] Name or service not known\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "Traceback (most recent call last):\n" + FRAMES + DNS + "\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        + FRAMES
        + "morningai.errors.CacheUnavailable: redis GET feed:1:v3 failed\n"
        "\n"
        "2026-03-01 12:00:02,000 INFO next\n"
    )
    records = _records(text)
    assert len(records) == 2
    chain = records[0].text.split("\n")
    assert chain[-1] == "morningai.errors.CacheUnavailable: redis GET feed:1:v3 failed"
    assert "socket.gaierror: [Errno -2] Name or service not known" in chain
    assert chain.count("") == 4  # the blank lines between the chained tracebacks
    assert records[0].lines == len(chain)  # the trailing blank line is not part of it


def test_json_line_with_traceback_field() -> None:
    fields = {
        "ts": "2026-03-01T00:02:21.167Z",
        "level": "error",
        "event": "redis_error",
        "error_type": "ConnectionError",
        "error": "Error -2 connecting to redis:6379. Name or service not known.",
        "attempt": 3,
        "ok": False,
        "ctx": {"op": "GET", "key": "feed:1:v3"},
        "exception": "Traceback (most recent call last):\n" + FRAMES + DNS,
    }
    records = _records(
        json.dumps(fields) + "\n" + json.dumps({"ts": 1709294400, "msg": "x"}) + "\n"
    )
    assert len(records) == 2
    first = records[0]
    head, *traceback = first.text.split("\n")
    assert head == (
        "2026-03-01T00:02:21.167Z error redis_error ConnectionError "
        "Error -2 connecting to redis:6379. Name or service not known. 3 GET feed:1:v3"
    )
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-1].startswith("redis.exceptions.ConnectionError: Error -2")
    assert first.time == _utc(2026, 3, 1, 0, 2, 21, 167000) and first.timed and first.lines == 1
    assert records[1].time == _utc(2024, 3, 1, 12)


@pytest.mark.parametrize(
    ("line", "time_field"),
    [
        pytest.param(
            {"time": "2026-03-01 12:00:00,123", "m": "x"},
            _utc(2026, 3, 1, 12, 0, 0, 123000),
            id="asctime",
        ),
        pytest.param(
            {"@timestamp": "2026-03-01T12:00:00Z"}, _utc(2026, 3, 1, 12), id="at-timestamp"
        ),
        pytest.param({"timestamp": 1772366400123}, _utc(2026, 3, 1, 12, 0, 0, 123000), id="millis"),
        pytest.param({"m": "no time"}, FILE_TIME, id="no-time"),
        pytest.param(
            {"error": {"stack": "Traceback\nredis.exceptions.TimeoutError: x"}},
            FILE_TIME,
            id="nested-stack",
        ),
    ],
)
def test_json_time_fields(line: dict[str, object], time_field: datetime) -> None:
    [record] = _records(json.dumps(line) + "\n")
    assert record.time == time_field
    assert record.timed == (time_field != FILE_TIME)
    if "error" in line:
        assert record.text == "Traceback\nredis.exceptions.TimeoutError: x"


def test_broken_json_is_a_plain_line() -> None:
    records = _records('2026-03-01 12:00:00 a\n{"ts": "2026-03-01T13:00:00Z", broken}\n[1, 2]\n')
    assert [r.text for r in records] == [
        "2026-03-01 12:00:00 a",
        '{"ts": "2026-03-01T13:00:00Z", broken}',
        "[1, 2]",
    ]
    assert records[1].time == records[0].time and not records[1].timed


def test_time_only_takes_the_date_of_surrounding_records() -> None:
    text = (
        "2026-02-27 23:59:58,000 INFO [app] dated\n"
        "23:59:59 Worker abc: could not connect to Redis instance: Connection closed by server.\n"
        "00:00:01 Worker abc: could not connect to Redis instance: Error 111 connecting\n"
        "00:00:03 Worker abc: still down\n"
    )
    times = [r.time for r in _records(text)]
    assert times == [
        _utc(2026, 2, 27, 23, 59, 58),
        _utc(2026, 2, 27, 23, 59, 59),
        _utc(2026, 2, 28, 0, 0, 1),  # midnight rollover
        _utc(2026, 2, 28, 0, 0, 3),
    ]


def test_late_line_from_before_midnight_stays_on_the_day_before() -> None:
    text = "2026-03-01 00:00:05,000 a\n23:59:59 late\n"
    assert [r.time for r in _records(text)] == [
        _utc(2026, 3, 1, 0, 0, 5),
        _utc(2026, 2, 28, 23, 59, 59),
    ]


@pytest.mark.parametrize(
    ("file_time", "clock", "expected"),
    [
        pytest.param(_utc(2026, 3, 2, 6), "05:00:00", _utc(2026, 3, 2, 5), id="earlier-same-day"),
        pytest.param(
            _utc(2026, 3, 2, 6), "06:00:30", _utc(2026, 3, 2, 6, 0, 30), id="within-a-minute"
        ),
        pytest.param(
            _utc(2026, 3, 2, 6), "22:00:00", _utc(2026, 3, 1, 22), id="later-is-yesterday"
        ),
    ],
)
def test_time_only_without_dates_uses_file_time(
    file_time: datetime, clock: str, expected: datetime
) -> None:
    [record] = _records(f"{clock} Worker x: started\n", file_time=file_time)
    assert record.time == expected and record.timed


def test_time_only_file_crossing_midnight() -> None:
    text = "22:00:00 first\n23:59:59 second\n00:00:10 third\n"
    times = [r.time for r in _records(text, file_time=_utc(2026, 3, 2, 0, 5))]
    assert times == [_utc(2026, 3, 1, 22), _utc(2026, 3, 1, 23, 59, 59), _utc(2026, 3, 2, 0, 0, 10)]


def test_time_only_in_a_configured_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    text = "2026-03-01 12:00:00 dated, naive, in Paris\n13:00:00 time only\n"
    times = [r.time for r in _records(text, tz=paris)]
    assert times == [_utc(2026, 3, 1, 11), _utc(2026, 3, 1, 12)]


@pytest.mark.parametrize(
    ("file_time", "line", "expected"),
    [
        pytest.param(
            _utc(2026, 3, 2),
            "Mar  1 12:00:00 host app[1]: x",
            _utc(2026, 3, 1, 12),
            id="syslog-this-year",
        ),
        pytest.param(
            _utc(2026, 1, 2),
            "Dec 31 23:00:00 host app[1]: x",
            _utc(2025, 12, 31, 23),
            id="syslog-last-year",
        ),
        pytest.param(
            _utc(2026, 3, 2),
            "[12] 01 Mar 12:00:00.250 # x",
            _utc(2026, 3, 1, 12, 0, 0, 250000),
            id="redis-2x",
        ),
        pytest.param(
            _utc(2026, 3, 2), "Feb 29 12:00:00 host x", FILE_TIME, id="feb-29-common-year"
        ),
    ],
)
def test_yearless_stamps(file_time: datetime, line: str, expected: datetime) -> None:
    [record] = _records(line + "\n", file_time=file_time)
    assert record.time == (file_time if expected == FILE_TIME else expected)
    assert record.timed == (expected != FILE_TIME)


def test_yearless_new_year_rollover() -> None:
    text = "Dec 31 23:59:59 h a\nJan  1 00:00:01 h b\n"
    times = [r.time for r in _records(text, file_time=_utc(2026, 1, 1, 1))]
    assert times == [_utc(2025, 12, 31, 23, 59, 59), _utc(2026, 1, 1, 0, 0, 1)]


def test_file_without_timestamps() -> None:
    records = _records("worker starting\nlistening on default\n\nJob OK\n")
    assert [r.text for r in records] == ["worker starting", "listening on default", "Job OK"]
    assert all(r.time == FILE_TIME and not r.timed for r in records)
    assert [r.line for r in records] == [1, 2, 4]


def test_bare_traceback_at_top_of_file() -> None:
    text = (
        "Traceback (most recent call last):\n" + FRAMES + REFUSED + "\n"
        "Exception in thread Thread-1:\n"
        "Traceback (most recent call last):\n"
        + FRAMES
        + "redis.exceptions.ConnectionError: Connection closed by server.\n"
        "2026-03-01 12:00:00,000 INFO back\n"
        "orphan line\n"
    )
    records = _records(text)
    assert len(records) == 4
    assert (
        records[0].text.endswith(REFUSED) and records[0].time == FILE_TIME and not records[0].timed
    )
    assert records[1].text.startswith("Exception in thread Thread-1:\nTraceback")
    assert records[1].text.endswith("Connection closed by server.")
    assert records[3].text == "orphan line"
    assert records[3].time == _utc(2026, 3, 1, 12) and not records[3].timed


def test_blank_lines_outside_tracebacks_are_dropped() -> None:
    records = _records("2026-03-01 12:00:00 a\n\n\n2026-03-01 12:00:01 b\n\n")
    assert [r.text for r in records] == ["2026-03-01 12:00:00 a", "2026-03-01 12:00:01 b"]
    assert records[0].end == len("2026-03-01 12:00:00 a\n")


def test_huge_traceback_is_bounded_and_keeps_its_exception_line() -> None:
    frames = "".join(f'  File "/app/r.py", line {i}, in f\n' for i in range(10_000))
    text = "2026-03-01 12:00:00,000 ERROR deep recursion\nTraceback (most recent call last):\n"
    text += frames + REFUSED + "\n2026-03-01 12:00:01,000 INFO next\n"
    records = _records(text, max_lines=200)
    assert len(records) == 2
    big = records[0]
    kept = big.text.split("\n")
    assert len(kept) == 200 and big.truncated
    assert kept[0] == "2026-03-01 12:00:00,000 ERROR deep recursion"
    assert kept[-1] == REFUSED
    assert big.lines == 10_003
    assert big.end == records[1].offset


def test_huge_record_is_bounded_in_bytes() -> None:
    lines = "".join("  " + "z" * 998 + "\n" for _ in range(300))
    text = (
        "2026-03-01 12:00:00 start\nTraceback (most recent call last):\n" + lines + REFUSED + "\n"
    )
    [record] = _records(text, max_bytes=16 * 1024)
    assert len(record.text) <= 16 * 1024
    assert record.text.endswith(REFUSED) and record.truncated and record.lines == 303


def test_huge_single_line_is_cut() -> None:
    [record] = _records("2026-03-01 12:00:00 " + "q" * 50_000 + "\n", max_bytes=4096)
    assert len(record.text) <= 4096 and record.truncated


def test_truncated_input_line_marks_the_record() -> None:
    lines = [
        LogLine(text="2026-03-01 12:00:00 x", number=1, offset=0, end=22),
        LogLine(text="  yyyy", number=2, offset=22, end=10_000, truncated=True),
    ]
    [record] = assemble(lines, source="s", file_time=FILE_TIME)
    assert record.truncated and record.end == 10_000


def test_pending_complete_and_start() -> None:
    assembler = RecordAssembler(source="app.log", file_time=FILE_TIME)
    lines = _lines(
        "2026-03-01 12:00:00,000 ERROR boom\nTraceback (most recent call last):\n"
        + FRAMES
        + REFUSED
        + "\n"
    )
    for line in lines[:-1]:
        assert assembler.feed(line) == []
        assert not assembler.pending_complete()
    assert assembler.pending_start() == (0, 1)
    assembler.feed(lines[-1])
    assert assembler.pending_complete()
    [record] = assembler.flush()
    assert record.text.endswith(REFUSED)
    assert assembler.flush() == [] and assembler.pending_start() is None
    assembler.feed(_lines('{"ts": 1709294400, "m": "x"}\n')[0])
    assert assembler.pending_complete()


def test_continuation_after_flush_starts_a_record() -> None:
    assembler = RecordAssembler(source="app.log", file_time=FILE_TIME)
    assembler.feed(LogLine(text="2026-03-01 12:00:00 a", number=1, offset=0, end=22))
    [first] = assembler.flush()
    assembler.feed(LogLine(text="  more", number=2, offset=22, end=29))
    [second] = assembler.flush()
    assert second.text == "  more" and second.time == first.time and not second.timed


_LINE_KINDS = st.sampled_from(
    [
        "2026-03-01 12:00:00,000 INFO a",
        "2026-03-01 12:00:01,000 ERROR b",
        "12:00:02 Worker c",
        "Traceback (most recent call last):",
        '  File "/x.py", line 1, in f',
        "    raise X",
        REFUSED,
        "",
        "During handling of the above exception, another exception occurred:",
        '{"ts": "2026-03-01T12:00:03Z", "m": "j"}',
        "plain",
        "Mar  1 12:00:04 h p: s",
    ]
)


@given(st.lists(_LINE_KINDS, max_size=60), st.integers(min_value=2, max_value=12))
def test_records_are_deterministic_and_cover_every_line(texts: list[str], max_lines: int) -> None:
    text = "".join(t + "\n" for t in texts)
    first = _records(text, max_lines=max_lines)
    assert first == _records(text, max_lines=max_lines)
    # Records are in order, do not overlap, and cover every non-blank line.
    covered = sum(r.lines for r in first)
    assert covered <= len(texts)
    assert all(a.end <= b.offset for a, b in itertools.pairwise(first))
    assert all(len(r.text.split("\n")) <= max_lines for r in first)
    assert len(texts) - covered <= texts.count("")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """benchmarks/make_corpus.py's logs, one file per log: app, JSON lines, RQ, redis-server."""
    out = tmp_path_factory.mktemp("corpus")
    write_corpus(out, size_bytes=3 << 20, seed=2, bursts=8, isolated=3, rotate=False)
    return out


def _corpus_records(path: Path) -> list[Record]:
    with open_log(path) as stream:
        return list(assemble(read_lines(stream), source=path.name, file_time=FILE_TIME))


@pytest.mark.parametrize("name", ["app.log", "worker.log", "redis.log"])
def test_corpus_tracebacks_are_whole_timestamped_records(corpus: Path, name: str) -> None:
    records = _corpus_records(corpus / "logs" / name)
    raw = (corpus / "logs" / name).read_text(encoding="utf-8").split("\n")
    starts = sum(1 for line in raw if parse_line_start(line) is not None)
    assert len(records) == starts  # every record begins at a timestamped line
    redis_lines = sum(1 for line in raw if line.startswith("redis.exceptions."))
    seen = 0
    for record in records:
        lines = record.text.split("\n")
        assert record.timed and parse_line_start(lines[0]) is not None
        assert lines[-1] != ""
        if "Traceback (most recent call last):" in lines:
            assert not lines[-1].startswith((" ", "Traceback", "During", "The above"))
        seen += sum(1 for line in lines if line.startswith("redis.exceptions."))
    assert seen == redis_lines
    assert name == "redis.log" or redis_lines > 0


def test_corpus_error_events_are_records(corpus: Path) -> None:
    """Each error event of the ground truth starts exactly one record (a traceback, a line,
    a JSON line), and no other record carries a Redis error signature."""
    truth = json.loads((corpus / "truth.json").read_text())
    patterns = [p for p in PATTERNS.read_text().splitlines() if p.strip()]
    signature = re.compile("|".join(f"(?:{p})" for p in patterns))
    for name, written in truth["files"].items():
        records = _corpus_records(corpus / "logs" / name)
        found = [r.line for r in records if signature.search(r.text)]
        assert found == written["error_events"], name
        if name.endswith(".jsonl"):
            assert len(records) == written["lines"]  # one record per JSON line


def test_zoneinfo_utc_is_utc() -> None:
    [record] = _records("2026-03-01 12:00:00 a\n", tz=ZoneInfo("UTC"))
    assert record.time == _utc(2026, 3, 1, 12) and record.time.tzinfo is UTC


def test_json_without_text_fields_keeps_the_raw_line() -> None:
    [record] = _records('{"tags": ["a", "b"], "ok": true}\n')
    assert record.text == '{"tags": ["a", "b"], "ok": true}'


def test_zone_and_file_time_defaults() -> None:
    naive_file_time = datetime(2026, 3, 2, 7, 0)
    zone: tzinfo = ZoneInfo("Europe/Paris")
    [record] = assemble(_lines("no stamp\n"), source="s", file_time=naive_file_time, tz=zone)
    assert record.time == naive_file_time.replace(tzinfo=zone).astimezone(UTC)
    assert record.time.utcoffset() == timedelta(0)


# -- starts_dated_record: what the fast scan and the skimmer restart assembly at ----------

_DATED_LINES = [
    "2026-03-01 12:00:00,123 ERROR x",
    "2026-03-01T12:00:00Z x",
    "0001-01-01 00:00:00 year one",
    "9999-12-31 23:59:59 year 9999",
    "1899-12-31 23:59:59 too early",
    "08:23:06 default: Job OK",
    "Mar  1 12:00:00 host app[1]: x",
    "[01/Mar/2026:12:00:00 +0000] x",
    "1234:M 01 Mar 2026 12:00:00.123 # x",
    "ERROR 2026-03-01 12:00:00,123 django.request x",
    "ERROR job for 2026-03-01 12:00:00 failed",
    "DEBUG 2026-03-01 12:00:00,000 app x",
    "TRACE 2026-03-01 12:00:00,000 app x",
    "1900-01-01 00:00:00 first year",
    "9000-12-31 00:00:00 last year",
    '{"time": "1900-01-01T00:00:00Z", "msg": "x"}',
    '{"time": "9000-06-01T00:00:00Z", "msg": "x"}',
    '{"time": "2026-03-01T12:00:00Z", "msg": "x"}',
    '{"time": "9999-12-31T23:59:59", "msg": "x"}',
    '{"time": "0001-01-01T00:00:00Z", "msg": "x"}',
    '{"time": "soon", "ts": 1709294400, "msg": "x"}',
    '{"time": "soon", "msg": "x"}',
    '{"ts": true, "msg": "x"}',
    '{"msg": "no time"}',
    "[1, 2]",
    "{not json}",
    "Traceback (most recent call last):",
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
    '  File "app.py", line 3',
    "\tat Foo.bar",
    "redis.exceptions.ConnectionError: x",
    "plain words",
]


def _dated_by_feeding(text: str, tz: tzinfo, shape: StampShape) -> bool:
    """The promise's oracle: a line starts a record with a full date of its own when the
    record it starts is timed and its time owes nothing to the file's time."""
    times = []
    for year in (2001, 2031):
        assembler = RecordAssembler(source="x", file_time=datetime(year, 6, 1, tzinfo=UTC),
                                    tz=tz, shape=shape)  # fmt: skip
        records = assembler.feed(LogLine(text=text, number=1, offset=0, end=len(text) + 1))
        records += assembler.flush()
        if len(records) != 1 or not records[0].timed:
            return False
        times.append(records[0].time)
    return times[0] == times[1]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kolkata"])
def test_starts_dated_record_agrees_with_feeding_the_line(zone: str) -> None:
    """Every line of the list, in both shapes (all of them: a sample missed the years at
    the edges)."""
    for text, tokens in itertools.product(_DATED_LINES, [0, 1]):
        tz, shape = ZoneInfo(zone), StampShape(tokens)
        got = starts_dated_record(text, tz, shape=shape)
        assert got == _dated_by_feeding(text, tz, shape), (text, tokens)


def test_starts_dated_record_reads_the_given_time_fields() -> None:
    line = '{"when": "2026-03-01T12:00:00Z", "msg": "x"}'
    assert not starts_dated_record(line, UTC)
    assert starts_dated_record(line, UTC, time_fields=("when",))
    assert not starts_dated_record("", UTC)


# -- a huge record: its first lines and the tail that fits, as many as fit -----------------


@example(sizes=[5] * 30, max_lines=20, max_bytes=400)  # ten 10-byte lines fill the tail's 100
@example(sizes=[96] * 5, max_lines=20, max_bytes=400)  # the last line is the tail's 100: cut
@example(sizes=[97] * 5, max_lines=20, max_bytes=400)  # 101: cut
@example(sizes=[95] * 5, max_lines=20, max_bytes=400)  # 99 and its newline fit
@example(sizes=[95, 94, 94, 5, 5], max_lines=20, max_bytes=400)  # the head's 300 exactly
@example(sizes=[95, 94, 95, 5, 5], max_lines=20, max_bytes=400)  # 301: the third goes to the tail
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=40),
    max_lines=st.integers(min_value=2, max_value=24),
    max_bytes=st.integers(min_value=4, max_value=600),
)
def test_a_huge_record_keeps_its_head_and_as_much_tail_as_fits(
    sizes: list[int], max_lines: int, max_bytes: int
) -> None:
    """The bounds as the docstrings give them: the first lines within max_lines - tail
    lines and three quarters of max_bytes, then the last lines (ten at most, half of
    max_lines) within the last quarter, as many as fit, the very last always (cut to fit);
    truncated exactly when something was left out."""
    first = "E"  # starts the record (untimed), shorter than any head budget
    lines = [first] + [f"  {n:02d}" + "x" * size for n, size in enumerate(sizes)]
    [record] = _records("\n".join(lines) + "\n", max_lines=max_lines, max_bytes=max_bytes)
    kept = record.text.split("\n")
    tail_n = min(10, max_lines // 2)
    head_n, tail_chars = max(1, max_lines - tail_n), max_bytes // 4
    head_chars = max(1, max_bytes - tail_chars)

    h = 0  # the head: the longest prefix of the lines that the record starts with
    while h < min(len(kept), len(lines)) and kept[h] == lines[h]:
        h += 1
    assert h >= 1
    tail = kept[h:]
    if not tail and h == len(lines):
        assert not record.truncated  # whole (its head and tail meet)
        return
    # The head is as long as the line and character budgets allow.
    assert h <= head_n and sum(len(x) + 1 for x in lines[:h]) <= head_chars
    assert h == head_n or sum(len(x) + 1 for x in lines[: h + 1]) > head_chars
    assert record.truncated == (h + len(tail) < len(lines) or tail[-1] != lines[-1])
    if tail[-1] != lines[-1]:  # the last line alone is longer than the tail's share
        assert tail == [lines[-1][: max(0, tail_chars - 1)]]
        assert len(lines[-1]) + 1 > tail_chars
        return
    # The tail: the last lines, as many as fit in its share and its line count.
    k = len(tail)
    assert tail == lines[len(lines) - k :] and k <= tail_n
    assert sum(len(x) + 1 for x in tail) <= tail_chars
    earlier = len(lines) - k - 1
    assert k == tail_n or earlier < h or sum(len(x) + 1 for x in lines[earlier:]) > tail_chars


def test_a_json_message_is_bounded_line_by_line_and_kept_whole_when_it_fits() -> None:
    message = "\n".join(f"line {n:02d}" for n in range(30))
    [record] = _records(json.dumps({"ts": 1709294400, "msg": message}) + "\n", max_lines=20)
    kept, sent = record.text.split("\n"), message.split("\n")
    assert kept[:10] == ["1709294400 line 00", *sent[1:10]] and kept[-10:] == sent[-10:]
    assert record.truncated and len(kept) == 20
    # 150 + 148 characters and their newlines fill the head's 300 exactly: kept whole.
    fits = "a" * 150 + "\n" + "b" * 148
    [whole] = _records(json.dumps({"msg": fits}) + "\n", max_bytes=400)
    assert whole.text == fits and not whole.truncated


@pytest.mark.parametrize(
    ("value", "lines"),
    [
        ("Traceback (most recent call last):\n  File 'a.py'\nValueError: x  \n",
         ["Traceback (most recent call last):", "  File 'a.py'", "ValueError: x  "]),
        ("\nValueError: x", ["", "ValueError: x"]),
        (["Traceback (most recent call last):\n", "  File 'a.py'\nValueError: x \n"],
         ["Traceback (most recent call last):", "  File 'a.py'", "ValueError: x "]),
        (["\nKeyError: k", 3], ["", "KeyError: k"]),
    ],
)  # fmt: skip
def test_json_traceback_fields_keep_their_lines(value: object, lines: list[str]) -> None:
    [record] = _records(json.dumps({"msg": "failed", "exc_info": value}) + "\n")
    assert record.text.split("\n") == ["failed", *lines]


@pytest.mark.parametrize(
    ("stamp", "zone", "expected"),
    [
        ("2026-03-01T13:00:00", "Europe/Paris", _utc(2026, 3, 1, 12)),
        ("2026-03-01T12:00:00", "UTC", _utc(2026, 3, 1, 12)),
        ("2026-03-01T13:00:00+01:00", "UTC", _utc(2026, 3, 1, 12)),
        ("2026-03-01T17:30:00+05:30", "Europe/Paris", _utc(2026, 3, 1, 12)),
    ],
)
def test_json_times_naive_in_the_configured_zone_aware_as_written(
    stamp: str, zone: str, expected: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the machine's own zone (here Asia/Kolkata): only the configured one counts."""
    import time as systime

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    systime.tzset()
    try:
        [record] = _records(json.dumps({"time": stamp, "msg": "x"}) + "\n", tz=ZoneInfo(zone))
    finally:
        monkeypatch.undo()
        systime.tzset()
    assert record.time == expected and record.timed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The year of the dated record above, not the file's (2026).
        ("2024-06-01 12:00:00 a\nJun  2 12:00:00 host b\n", _utc(2024, 6, 2, 12)),
        # Past new year, and a late line from before it.
        ("2026-12-31 23:00:00 a\nJan  1 00:10:00 host b\n", _utc(2027, 1, 1, 0, 10)),
        ("2026-01-01 00:10:00 a\nDec 31 23:50:00 host b\n", _utc(2025, 12, 31, 23, 50)),
    ],
)
def test_yearless_stamps_take_the_year_nearest_the_record_above(
    text: str, expected: datetime
) -> None:
    assert _records(text)[-1].time == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # FILE_TIME is 2026-03-02 06:00 UTC: up to a minute after it is this year's.
        ("Mar  2 06:00:00 host x", _utc(2026, 3, 2, 6)),
        ("Mar  2 06:01:00 host x", _utc(2026, 3, 2, 6, 1)),
        ("Mar  2 06:01:01 host x", _utc(2025, 3, 2, 6, 1, 1)),
    ],
)
def test_yearless_stamp_after_the_file_time_is_last_years(line: str, expected: datetime) -> None:
    assert _records(line + "\n")[0].time == expected


def test_yearless_year_is_the_configured_zones_not_the_machines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time as systime

    monkeypatch.setenv("TZ", "America/New_York")
    systime.tzset()
    try:
        [record] = _records("Jan  1 00:10:00 host x\n", file_time=_utc(2027, 1, 1, 0, 30))
    finally:
        monkeypatch.undo()
        systime.tzset()
    assert record.time == _utc(2027, 1, 1, 0, 10)


def _in_machine_zone(
    zone: str, monkeypatch: pytest.MonkeyPatch, text: str, **kw: object
) -> list[Record]:
    """Records assembled while the machine's own zone is `zone` (it must not matter)."""
    import time as systime

    monkeypatch.setenv("TZ", zone)
    systime.tzset()
    try:
        return _records(text, **kw)
    finally:
        monkeypatch.undo()
        systime.tzset()


def test_record_times_are_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "plain first line\n2026-03-01T13:00:00+01:00 x\n08:00:00 rq line\n"
    for tz in (UTC, ZoneInfo("UTC"), ZoneInfo("Etc/UTC")):
        records = _in_machine_zone("Asia/Kolkata", monkeypatch, text, tz=tz)
        assert [r.time for r in records] == [FILE_TIME, _utc(2026, 3, 1, 12), _utc(2026, 3, 1, 8)]
        assert all(r.time.utcoffset() == timedelta(0) for r in records)
        assert [r.source for r in records] == ["app.log"] * 3


@pytest.mark.parametrize(
    ("stamp", "timed"),
    [("1900-01-01 00:00:00", True), ("1899-12-31 23:59:59", False),
     ("9000-12-31 12:00:00", True), ("9001-01-01 00:00:00", False)],
)  # fmt: skip
def test_years_a_log_can_hold(stamp: str, timed: bool) -> None:
    [record] = _records(f"{stamp} x\n")
    assert record.timed == timed


def test_json_nested_values_numbers_in_booleans_and_lists_out() -> None:
    line = json.dumps({"msg": "m", "ctx": {"attempt": 3, "ratio": 0.5, "ok": True, "ids": [1]}})
    [record] = _records(line + "\n")
    assert record.text == "m 3 0.5"


def test_assemble_passes_on_its_options() -> None:
    text = (
        '{"when": "2026-03-01T12:00:00Z", "msg": "m", "trace": "Traceback\\nKeyError: k"}\n'
        "ERROR 2026-03-01 12:00:05,000 django.request x\n"
    )
    records = list(assemble(_lines(text), source="s", file_time=FILE_TIME, time_fields=("when",),
                            traceback_fields=("trace",), shape=StampShape(1)))  # fmt: skip
    assert (
        records[0].time == _utc(2026, 3, 1, 12)
        and records[0].text == "2026-03-01T12:00:00Z m\nTraceback\nKeyError: k"
    )
    assert records[1].time == _utc(2026, 3, 1, 12, 0, 5) and records[1].timed


def test_a_first_line_longer_than_the_head_is_kept_to_max_bytes_and_the_record_goes_on() -> None:
    first = "2026-03-01 12:00:00 E " + "y" * 500
    [record] = _records(first + "\n  a\n  b\n", max_bytes=400)
    assert record.text == first[:400] + "\n  a\n  b" and record.truncated


@pytest.mark.parametrize("as_list", [False, True])
def test_a_long_json_traceback_is_bounded_line_by_line(as_list: bool) -> None:
    frames = [f"  frame {n:02d}" for n in range(30)] + ["ValueError: MAX"]
    value: object = (
        ["\n".join(frames[:15]) + "\n", "\n".join(frames[15:]) + "\n"]
        if as_list
        else "\n".join(frames) + "\n"
    )
    [record] = _records(json.dumps({"msg": "m", "exc_info": value}) + "\n", max_lines=20)
    kept = record.text.split("\n")
    assert len(kept) == 20 and record.truncated
    assert kept[:10] == ["m", *frames[:9]] and kept[-10:] == frames[-10:]


def test_assembler_state_does_not_leak_into_the_next_record() -> None:
    """After a JSON record, a plain one is not taken for complete; after a huge record that
    dropped lines, a large one that dropped nothing is not truncated."""
    assembler = RecordAssembler(source="a", file_time=FILE_TIME, max_lines=20, max_bytes=400)
    lines = _lines('{"msg": "json"}\n2026-03-01 12:00:00 plain\n')
    assert assembler.feed(lines[0]) == []
    assert assembler.pending_complete()
    [json_record] = assembler.feed(lines[1])
    assert json_record.text == "json" and not assembler.pending_complete()
    huge = "E\n" + "".join(f"  {n:02d} {'x' * 20}\n" for n in range(60))
    large = "F\n" + "".join(f"  {n:02d} {'y' * 40}\n" for n in range(8))  # 8 lines: head and tail
    records = _records(huge + large, max_lines=20, max_bytes=400)
    assert [r.truncated for r in records] == [True, False]
    assert records[1].text == large.rstrip("\n")


def test_tab_indented_lines_and_blank_lines_stay_in_the_record() -> None:
    text = "2026-03-01 12:00:00 E boom\n\tat Foo.bar(Foo.java:1)\n\n\n  more\n"
    [record] = _records(text)
    assert record.text == text.rstrip("\n") and record.truncated is False


def test_prefixed_naive_stamps_take_the_configured_zone() -> None:
    records = _records("ERROR 2026-03-01 13:00:00,000 app x\n", tz=ZoneInfo("Europe/Paris"),
                       shape=StampShape(1))  # fmt: skip
    assert records[0].time == _utc(2026, 3, 1, 12)
    assembler = RecordAssembler(source="a", file_time=FILE_TIME, shape=StampShape(2))
    assert assembler.shape == StampShape(2)  # the tailer reads it to learn a young file's shape


# -- NUL holes, a traceback still waiting, a shape learned late ------------------------------


def _said(records: list[Record]) -> list[tuple[object, ...]]:
    """What a record tells, its position in the file aside."""
    return [(r.text, r.time, r.timed, r.lines, r.truncated) for r in records]


@example(texts=["2026-03-01 12:00:00,000 INFO a", '  File "/x.py", line 1, in f'], holes=[(1, 3)])
@example(texts=["2026-03-01 12:00:00,000 INFO a", "XADD stream failed"], holes=[(1, 1)])
@given(
    texts=st.lists(st.one_of(_LINE_KINDS, st.just("XADD stream failed")), max_size=30),
    holes=st.lists(st.tuples(st.integers(0, 29), st.integers(1, 5)), max_size=5),
)
def test_nuls_before_a_line_are_a_hole_not_part_of_the_line(
    texts: list[str], holes: list[tuple[int, int]]
) -> None:
    """copytruncate under a writer without O_APPEND leaves NULs before the next line: the
    records are those of the lines without them, and a line of NULs alone stays a line."""
    holed = list(texts)
    for at, count in holes:
        if at < len(holed):
            holed[at] = "\0" * count + holed[at]
    clean = [t.lstrip("\0") or t for t in holed]
    got = _records("".join(t + "\n" for t in holed))
    assert _said(got) == _said(_records("".join(t + "\n" for t in clean)))


def test_a_line_of_nuls_alone_is_a_record_of_its_own() -> None:
    records = _records("2026-03-01 12:00:00,000 ERROR a\n\0\0\0\n\0" + REFUSED + "\n")
    assert [r.text for r in records] == ["2026-03-01 12:00:00,000 ERROR a", "\0\0\0", REFUSED]
    assert [r.line for r in records] == [1, 2, 3]


def _unfinished_by_model(fed: list[str]) -> bool:
    """A traceback waits for its exception line from its header until the next line that
    is neither indented nor blank (that line ends it, or starts another record)."""
    headers = ("Traceback (most recent", "During handling of", "The above exception")
    ends = [t for t in fed if t and t[0] not in " \t"]
    return bool(ends) and ends[-1].startswith(headers)


@given(st.lists(_LINE_KINDS, max_size=40))
def test_pending_unfinished_while_a_traceback_waits_for_its_exception_line(
    texts: list[str],
) -> None:
    """A live reader waits longer for such a record: a writer's pause mid-traceback must
    not cut it in two. It is never said of a whole record, and not after a flush."""
    assembler = RecordAssembler(source="app.log", file_time=FILE_TIME)
    for n, line in enumerate(_lines("".join(t + "\n" for t in texts))):
        assembler.feed(line)
        unfinished = assembler.pending_unfinished()
        assert unfinished == _unfinished_by_model(texts[: n + 1]), texts[: n + 1]
        assert not (unfinished and assembler.pending_complete())
    assembler.flush()
    assert not assembler.pending_unfinished()


# A level word in colour codes, its stamp past the 300th character.
_COLOURED = "\x1b[1;31m" * 45 + "ERROR\x1b[0m 2026-03-01 12:00:12,000 coloured"
_LATE_LINES = st.sampled_from(
    [
        'INFO:     172.18.0.1:40000 - "GET /api/v1/feed HTTP/1.1" 200 OK',
        "INFO:rq.worker:Job OK (took 00:00:12)",
        "plain",
        "Traceback (most recent call last):",
        '  File "/x.py", line 1, in f',
        REFUSED,
        "ERROR 2026-03-01 12:00:05,000 log 7 Internal Server Error",
        "WARNING app 2026-03-01 12:00:06,000 slow",
        "ERROR app.x 17 2026-03-01 12:00:07,000 x",
        "ERROR 12:00:08 worker failed",
        "2026-03-01 12:00:09,000 INFO a",
        "12:00:10 Worker c",
        '{"ts": "2026-03-01T12:00:11Z", "m": "j"}',
        _COLOURED,
    ]
)


_PREFIXED = "ERROR 2026-03-01 12:00:05,000 log 7 Internal Server Error"


@example(texts=["2026-03-01 12:00:09,000 INFO a", _PREFIXED], given_tokens=0, zone="UTC")
@example(texts=["plain", _PREFIXED, "ERROR 12:00:08 worker failed"], given_tokens=0,
         zone="Europe/Paris")  # fmt: skip
@example(texts=["plain", _COLOURED, "plain"], given_tokens=0, zone="UTC")
@given(
    texts=st.lists(_LATE_LINES, max_size=30),
    given_tokens=st.sampled_from([0, 1, 2]),
    zone=st.sampled_from(["UTC", "Europe/Paris"]),
)
def test_a_shape_learned_late_gives_the_records_of_the_shape_known_from_the_start(
    texts: list[str], given_tokens: int, zone: str
) -> None:
    """A live file whose head showed no stamp learns where its stamps sit from its first
    stamped line (as a scan learns it from the file's head): its records are those of an
    assembler told that line's shape from the start. A shape already known with a prefix
    is kept; a stamp at the start of a line ends the learning."""
    from logwatch.stampshape import START, line_shape

    tz = ZoneInfo(zone)
    shape = StampShape(given_tokens)
    if not given_tokens:
        shapes = [s for s in (line_shape(t, tz) for t in texts if t[:1] != "{") if s]
        shape = shapes[0] if shapes else START
    lines = _lines("".join(t + "\n" for t in texts))
    learning = RecordAssembler(source="a", file_time=FILE_TIME, tz=tz, learn_shape=True,
                               shape=StampShape(given_tokens))  # fmt: skip
    knowing = RecordAssembler(source="a", file_time=FILE_TIME, tz=tz, shape=shape)
    for line in lines:
        assert learning.feed(line) == knowing.feed(line)
    assert learning.flush() == knowing.flush()
    assert learning.shape == shape


def test_a_shape_told_late_ends_the_learning() -> None:
    """The tailer tells a young file's shape once its first lines arrive: learned no more."""
    assembler = RecordAssembler(source="a", file_time=FILE_TIME, learn_shape=True)
    assembler.use_shape(StampShape(1))
    records = [
        *assembler.feed(_lines("WARNING app 2026-03-01 12:00:06,000 slow\n")[0]),
        *assembler.flush(),
    ]
    assert assembler.shape == StampShape(1) and not records[0].timed


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (datetime(2026, 3, 5, 6, 0), _utc(2026, 3, 5, 5, 0)),  # naive: the configured zone's
        (datetime(2026, 3, 5, 6, 0, tzinfo=UTC), _utc(2026, 3, 5, 6, 0)),  # aware: as it is
    ],
)
def test_a_file_written_again_dates_what_follows_by_its_new_time(
    written: datetime, expected: datetime
) -> None:
    """A live tail tells the assembler the file's latest time: an untimed record takes it,
    a time-only one its date (in the configured zone), not the time it was opened with."""
    paris = ZoneInfo("Europe/Paris")
    assembler = RecordAssembler(source="a", file_time=FILE_TIME, tz=paris)
    assembler.use_file_time(written)
    lines = _lines("plain words\n")
    records = [*assembler.feed(lines[0]), *assembler.flush()]
    assert [(r.time, r.timed) for r in records] == [(expected, False)]
    assembler.use_file_time(written)
    records = [*assembler.feed(_lines("04:00:00 job failed\n")[0]), *assembler.flush()]
    assert records[0].time == datetime(2026, 3, 5, 4, 0, tzinfo=paris)


@pytest.mark.parametrize("max_bytes", [1, 2, 3, 5])
def test_a_first_line_longer_than_max_bytes_is_kept_to_max_bytes(max_bytes: int) -> None:
    [record] = _records("E" + "x" * 20 + "\n", max_bytes=max_bytes)
    assert record.text == ("E" + "x" * 20)[:max_bytes] and record.truncated
