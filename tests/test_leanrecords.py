"""The lean record path against RecordAssembler: the same records, times and line numbers.

Hypothesis writes (LOGWATCH_LEAN_EXAMPLES, default 400) mixed logs (dated, time-only, year-less and prefixed stamps, JSON lines
with and without times and tracebacks, chained tracebacks, blank lines, "\\r", invalid
UTF-8, over-long lines, small record budgets); for every line, the record LeanRecords
builds from the bytes (from the file's start, and from a block cut out of its middle) is
either None or exactly the record the assembler, fed the whole file, gives that line.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from logwatch.leanrecords import LeanRecords
from logwatch.model import LogLine, Record
from logwatch.records import RecordAssembler
from logwatch.sources.reader import make_line
from logwatch.stampshape import START, StampShape

FILE_TIME = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("LOGWATCH_LEAN_EXAMPLES", "400"))
REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."
)

_TIMES = st.builds(
    lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}",
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
_DAYS = st.sampled_from(["2026-03-01", "2026-03-02", "2026-02-28", "0001-01-01"])
_TEXT = st.sampled_from(
    [REFUSED, "INFO [api] 200 GET /feed", "job done é", "Connection closed by server.", ""]
)


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 17))
    text = draw(_TEXT)
    if kind <= 2:
        return f"{draw(_DAYS)} {draw(_TIMES)},123 ERROR [app] {text}".encode()
    if kind == 3:
        return f"{draw(_TIMES)} default: {text}".encode()  # RQ, time-only
    if kind == 4:
        return f"Mar  1 {draw(_TIMES)} host app[1]: {text}".encode()  # syslog, year-less
    if kind == 5:
        return f"ERROR {draw(_DAYS)} {draw(_TIMES)},5 {text}".encode()  # Django's prefix
    if kind == 6:
        fields: dict[str, object] = {"message": text}
        if draw(st.booleans()):
            fields["asctime"] = f"{draw(_DAYS)} {draw(_TIMES)},000"
        if draw(st.booleans()):
            fields["exc_info"] = f"Traceback (most recent call last):\n  File x\n{REFUSED}"
        return json.dumps(fields).encode()
    if kind == 7:
        return b'{"message": "not json' + text.encode() + b"}"
    if kind == 8:
        return draw(
            st.sampled_from(
                [
                    b"Traceback (most recent call last):",
                    b"During handling of the above exception, another exception occurred:",
                    b"The above exception was the direct cause of the following exception:",
                ]
            )
        )
    if kind in (9, 10):
        return draw(
            st.sampled_from([b'  File "/app/x.py", line 3, in f', b"    raise err", b"\tx"])
        )
    if kind == 11:
        return REFUSED.encode()
    if kind == 12:
        return b""
    if kind == 13:
        return draw(st.sampled_from([b"\r", b"x\r", b"\xe2\x82", b"\xff\xfe bad", b"\x00"]))
    if kind == 14:
        return b"2026-03-01 10:00:00 " + b"y" * draw(st.integers(20, 200))  # over max_line
    if kind == 15:
        return text.encode()  # untimed
    if kind == 16:
        return f"{draw(_DAYS)}T{draw(_TIMES)}Z {text}".encode()
    return draw(st.binary(max_size=12))


@st.composite
def _log(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(_line(), min_size=1, max_size=40))
    end = draw(st.sampled_from([b"\n", b""]))
    return b"\n".join(line.replace(b"\n", b" ") for line in lines) + end


def _assembled(
    data: bytes, shape: StampShape, max_lines: int, max_bytes: int, max_line: int
) -> list[Record]:
    """The records of the whole file, as the reference path builds them (0-based lines)."""
    assembler = RecordAssembler(
        source="log",
        file_time=FILE_TIME,
        max_lines=max_lines,
        max_bytes=max_bytes,
        shape=shape,
    )
    records: list[Record] = []
    pos = 0
    for number, raw in enumerate(data.split(b"\n")):
        if pos >= len(data):
            break
        end = min(pos + len(raw) + 1, len(data))
        line: LogLine = make_line(raw, number, pos, end, max_line)
        records += assembler.feed(line)
        pos = end
    return records + assembler.flush()


def _lean(shape: StampShape, max_lines: int, max_bytes: int, max_line: int) -> LeanRecords:
    return LeanRecords(
        source="log",
        file_time=lambda: FILE_TIME,
        tz=UTC,
        shape=shape,
        max_lines=max_lines,
        max_bytes=max_bytes,
        max_line=max_line,
    )


def _starts(data: bytes) -> list[int]:
    starts = [0]
    at = data.find(b"\n")
    while 0 <= at < len(data) - 1:
        starts.append(at + 1)
        at = data.find(b"\n", at + 1)
    return starts


def _json_opener(data: bytes, record: Record) -> bool:
    """Whether the record's first line looks like a JSON object (the lean path leaves a
    JSON line with continuation lines to the assembler)."""
    first = data[record.offset : record.end].split(b"\n")[0]
    return first[:1] == b"{" and first[-1:] == b"}"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=_log(),
    prefixed=st.booleans(),
    max_lines=st.sampled_from([3, 6, 200]),
    max_bytes=st.sampled_from([60, 200, 64 * 1024]),
    cut=st.integers(0, 39),
)
# A hole of NULs before a traceback's header, and before a frame (found by the fast scan's
# look property: the lean path kept the NULs in a record of several lines).
@example(
    data=b"\0\x002026-03-01 10:00:00 ERROR x\nTraceback (most recent call last):\n"
    b'  File "/app/x.py", line 3, in f\nValueError: x\n2026-03-01 10:00:01 INFO y\n',
    prefixed=False, max_lines=200, max_bytes=64 * 1024, cut=0,
)  # fmt: skip
@example(
    data=b"2026-03-01 10:00:00 ERROR x\nTraceback (most recent call last):\n"
    b'\0\0  File "/app/x.py", line 3, in f\nValueError: x\n2026-03-01 10:00:01 INFO y\n',
    prefixed=False, max_lines=200, max_bytes=64 * 1024, cut=0,
)  # fmt: skip
def test_lean_records_are_the_assemblers(
    data: bytes, prefixed: bool, max_lines: int, max_bytes: int, cut: int
) -> None:
    max_line = 120
    shape = StampShape(1) if prefixed else START
    records = _assembled(data, shape, max_lines, max_bytes, max_line)
    lean = _lean(shape, max_lines, max_bytes, max_line)
    starts = _starts(data)
    # What the lean path hands back to the assembler: a "\r", an over-long line, a walk
    # over more than 32 unindented lines, a blank first line, a line with NULs before its
    # text (a hole). Short of those, a record of
    # the whole file within the assembler's head budget is built lean.
    budget = RecordAssembler(
        source="log", file_time=FILE_TIME, max_lines=max_lines, max_bytes=max_bytes, shape=shape
    )
    plain = (
        b"\r" not in data
        and data[:1] != b"\n"
        and data.count(b"\n") < 30
        and not re.search(rb"(?:^|\n)\0+[^\0\n]", data)
        and all(len(raw) < max_line for raw in data.split(b"\n"))
        and not any(r.lines > 1 and _json_opener(data, r) for r in records)
    )
    # A block cut out of the middle: from a line start to the end of a later line.
    lo = starts[min(cut, len(starts) - 1)]
    hi_line = min(len(starts) - 1, cut + 1 + cut % 7)
    hi = len(data) if hi_line == len(starts) - 1 else starts[hi_line + 1]
    for line in starts:
        if data[line : line + 1] in (b"\n", b""):
            continue  # a blank line holds no needle: never a candidate
        holding = [r for r in records if r.offset <= line < r.end]
        for base, limit, eof in ((0, len(data), True), (lo, hi - lo, hi == len(data))):
            if not base <= line < base + limit:
                continue
            got = lean.record(
                data[base:],
                base,
                limit,
                line,
                eof=eof,
                number=lambda offset: data.count(b"\n", 0, offset),
            )
            if got is not None:
                assert holding == [got], (line, base, limit)
            elif base == 0 and limit == len(data) and plain and len(holding) == 1:
                r = holding[0]
                within = (
                    not r.truncated
                    and r.lines <= budget._head_lines
                    and len(r.text) < budget._head_chars
                )
                assert not within, ("not built lean", line, r)


def _app_log() -> bytes:
    lines = [
        "2026-03-01 12:00:00,000 INFO [api] 200 GET /feed",
        f"2026-03-01 12:00:01,000 ERROR [api] {REFUSED}",
        "2026-03-01 12:00:02,000 ERROR [app] Exception on /feed [GET]",
        "Traceback (most recent call last):",
        '  File "/app/views.py", line 57, in get_feed',
        "    raise ConnectionError(self._error_message(e))",
        REFUSED,
        "12:00:03 default: Job OK (abc)",
        f"12:00:04 Could not connect to Redis instance: {REFUSED}",
        json.dumps({"asctime": "2026-03-01 12:00:05,000", "message": REFUSED}),
        "2026-03-01 12:00:06,000 INFO [api] 200 GET /feed",
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("index", [1, 6, 8, 9], ids=["dated", "traceback", "time-only", "json"])
def test_common_shapes_take_the_lean_path(index: int) -> None:
    """The shapes the fast scan meets most are built lean (not handed back), and right."""
    data = _app_log()
    line = _starts(data)[index]
    records = _assembled(data, START, 200, 64 * 1024, 64 * 1024)
    got = _lean(START, 200, 64 * 1024, 64 * 1024).record(
        data, 0, len(data), line, eof=True, number=lambda offset: data.count(b"\n", 0, offset)
    )
    assert got is not None
    assert [r for r in records if r.offset <= line < r.end] == [got]


def test_stamps_without_an_offset_are_read_in_the_log_s_zone() -> None:
    """A log written in New York: the lean records' times are the assembler's, in that zone
    (not the machine's)."""
    zone = ZoneInfo("America/New_York")
    data = _app_log()
    assembler = RecordAssembler(source="log", file_time=FILE_TIME, tz=zone)
    records: list[Record] = []
    pos = 0
    for number, raw in enumerate(data.split(b"\n")[:-1]):
        end = pos + len(raw) + 1
        records += assembler.feed(make_line(raw, number, pos, end, 64 * 1024))
        pos = end
    records += assembler.flush()
    lean = LeanRecords(source="log", file_time=lambda: FILE_TIME, tz=zone, shape=START,
                       max_lines=200, max_bytes=64 * 1024, max_line=64 * 1024)  # fmt: skip
    for index in (1, 6, 8, 9):
        line = _starts(data)[index]
        got = lean.record(
            data, 0, len(data), line, eof=True, number=lambda o: data.count(b"\n", 0, o)
        )
        assert got is not None and [r for r in records if r.offset <= line < r.end] == [got]
    assert records[1].time == datetime(2026, 3, 1, 17, 0, 1, tzinfo=UTC)  # 12:00:01 EST


_DATED = "2026-03-01 12:00:0{},000 ERROR [app] job failed"
_FRAME = '  File "/app/x.py", line 3, in f'
_TB = "Traceback (most recent call last):"


@pytest.mark.parametrize(
    ("lines", "prefixed", "sizes"),
    [
        ([_DATED.format(1), _TB, _FRAME, '{"message": "m"}', REFUSED], False, [3, 1, 1]),
        ([_DATED.format(1), _TB, _FRAME, '{"message": "not json}', _DATED.format(2)], False, [4, 1]),
        ([_DATED.format(1), _TB, _FRAME, _DATED.format(2), REFUSED], False, [3, 1, 1]),
        ([_TB, _FRAME, REFUSED, _DATED.format(2), REFUSED], False, [3, 1, 1]),
        (
            [
                "ERROR 2026-03-01 12:00:00,5 failed", _TB, _FRAME,
                "ERROR 2026-03-01 12:00:01,5 failed", _TB, _FRAME, REFUSED,
                "ERROR 2026-03-01 12:00:02,5 done",
            ],
            True,
            [3, 4, 1],
        ),
        (
            [
                "ERROR 2026-03-01 12:00:00,5 failed", _TB, _FRAME,
                "ERROR [app] 2026-03-01 12:00:01,5 x", "ERROR 2026-03-01 12:00:02,5 done",
            ],
            True,
            [4, 1],
        ),
        (
            [
                _DATED.format(1), _TB, _FRAME, "ValueError: x", "", "",
                "During handling of the above exception, another exception occurred:", "",
                _TB, _FRAME, REFUSED, _DATED.format(2),
            ],
            False,
            [11, 1],
        ),
        ([_DATED.format(1), _TB, "  " + "y" * 1022, REFUSED, _DATED.format(2)], False, [4, 1]),
    ],
    ids=["json-ends-frames", "not-json-is-the-exception", "stamp-ends-frames",
         "file-starts-in-a-traceback", "prefixed-stamps", "two-prefix-tokens-are-the-exception",
         "chained-with-blank-lines", "a-line-of-max-line-bytes"],
)  # fmt: skip
def test_what_ends_a_traceback_is_the_assemblers_choice(
    lines: list[str], prefixed: bool, sizes: list[int]
) -> None:
    """A line after a traceback's frames: a JSON object or a stamp opens the next record,
    anything else is the traceback's exception line; every line is built lean, and right."""
    data = ("\n".join(lines) + "\n").encode()
    shape = StampShape(1) if prefixed else START
    records = _assembled(data, shape, 200, 64 * 1024, 1024)
    assert [r.lines for r in records] == sizes
    lean = _lean(shape, 200, 64 * 1024, 1024)
    for line in _starts(data):
        got = lean.record(
            data, 0, len(data), line, eof=True, number=lambda o: data.count(b"\n", 0, o)
        )
        assert got is not None, line
        assert [r for r in records if r.offset <= line < r.end] == [got]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        _line().filter(lambda raw: b"\r" not in raw and len(raw) < 120), min_size=1, max_size=25
    ),
    end=st.sampled_from([b"\n", b""]),
    prefixed=st.booleans(),
    max_lines=st.sampled_from([2, 3, 6, 200]),
    max_bytes=st.sampled_from([60, 200, 64 * 1024]),
)
def test_plain_logs_are_built_lean(
    lines: list[bytes], end: bytes, prefixed: bool, max_lines: int, max_bytes: int
) -> None:
    """No "\\r", no over-long line, no JSON line with continuations, no hole of NULs
    before a line's text, a short file: every record within the assembler's head budget is
    built lean, and is the assembler's."""
    data = b"\n".join(line.replace(b"\n", b" ") for line in lines) + end
    assume(data[:1] not in (b"\n", b""))
    assume(not re.search(rb"(?:^|\n)\0+[^\0\n]", data))
    shape = StampShape(1) if prefixed else START
    records = _assembled(data, shape, max_lines, max_bytes, 120)
    assume(not any(r.lines > 1 and _json_opener(data, r) for r in records))
    budget = RecordAssembler(
        source="log", file_time=FILE_TIME, max_lines=max_lines, max_bytes=max_bytes, shape=shape
    )
    lean = _lean(shape, max_lines, max_bytes, 120)
    for line in _starts(data):
        if data[line : line + 1] in (b"\n", b""):
            continue
        got = lean.record(
            data, 0, len(data), line, eof=True, number=lambda o: data.count(b"\n", 0, o)
        )
        [r] = [r for r in records if r.offset <= line < r.end]
        if r.truncated or r.lines > budget._head_lines or len(r.text) >= budget._head_chars:
            assert got is None or got == r
        else:
            assert got == r, line


def test_a_block_cut_from_the_middle_is_walked_back_to_its_stamp() -> None:
    """A block that starts at a dated line: a traceback's last line is built lean from it."""
    data = _app_log()
    starts = _starts(data)
    records = _assembled(data, START, 200, 64 * 1024, 1024)
    base = starts[1]
    lean = _lean(START, 200, 64 * 1024, 1024)
    for index in (1, 2, 6, 8):
        line = starts[index]
        got = lean.record(
            data[base:], base, len(data) - base, line, eof=True,
            number=lambda o: data.count(b"\n", 0, o),
        )  # fmt: skip
        assert got is not None and [r for r in records if r.offset <= line < r.end] == [got]


def test_the_walk_back_decodes_at_most_32_lines() -> None:
    """A candidate 31 plain lines below its stamp is built lean; one 32 below is handed
    back (the walk's cost per candidate is bounded)."""
    lines = ["x", "2026-03-01 12:00:00,000 ERROR [app] start"]
    lines += [f"plain line {n}" for n in range(40)]
    data = ("\n".join(lines) + "\n").encode()
    starts = _starts(data)
    records = _assembled(data, START, 200, 64 * 1024, 1024)
    base = starts[1]
    lean = _lean(START, 200, 64 * 1024, 1024)

    def at(index: int) -> Record | None:
        return lean.record(
            data[base:], base, len(data) - base, starts[index], eof=True,
            number=lambda o: data.count(b"\n", 0, o),
        )  # fmt: skip

    got = at(1 + 31)
    assert got is not None and got == records[1 + 31]
    assert at(1 + 32) is None


def _ask(lean: LeanRecords, data: bytes, base: int, line: int) -> Record | None:
    return lean.record(
        data[base:], base, len(data) - base, line, eof=True,
        number=lambda o: data.count(b"\n", 0, o),
    )  # fmt: skip


def test_the_answer_does_not_depend_on_the_lines_asked_before() -> None:
    """Asked out of file order (a later record first, then the file's undated first
    line), every record is still the assembler's: the first line's time is the file's,
    not the date of a record asked before."""
    lines = [
        "12:00:03 default: Job OK (a)",
        "2026-02-20 12:00:05,000 INFO [api] x",
        "12:00:07 default: y",
    ]
    data = ("\n".join(lines) + "\n").encode()
    starts = _starts(data)
    records = _assembled(data, START, 200, 64 * 1024, 1024)
    lean = _lean(START, 200, 64 * 1024, 1024)
    for index in (1, 2, 0, 1, 0):
        got = _ask(lean, data, 0, starts[index])
        assert got is not None and got == records[index], index


def test_a_cr_below_the_next_record_does_not_hand_the_record_back() -> None:
    """Only a "\\r" in the record or in the line after it (which may be a blank line to
    the reader) sends the record to the assembler; one further down does not."""
    lines = [
        _DATED.format(1),
        _TB,
        _FRAME,
        REFUSED,
        _DATED.format(2),
        _DATED.format(3) + "\r",
        "x\r",
    ]
    data = ("\n".join(lines) + "\n").encode()
    starts = _starts(data)
    records = _assembled(data, START, 200, 64 * 1024, 1024)
    for index in (0, 3):
        got = _ask(_lean(START, 200, 64 * 1024, 1024), data, 0, starts[index])
        assert got is not None and got == records[0], index


def test_frames_and_headers_cost_the_walk_back_nothing() -> None:
    """A traceback of 40 chained frames (a header and an indented line each): its last
    line is built lean, the walk back decoding only its unindented lines."""
    lines = [_DATED.format(1)] + [_TB, _FRAME] * 40 + [REFUSED, _DATED.format(2)]
    data = ("\n".join(lines) + "\n").encode()
    starts = _starts(data)
    records = _assembled(data, START, 200, 64 * 1024, 1024)
    assert records[0].lines == 82
    for base in (0, starts[0]):
        got = _ask(_lean(START, 200, 64 * 1024, 1024), data, base, starts[81])
        assert got is not None and got == records[0]


@pytest.mark.parametrize(
    ("lines", "prefixed", "base", "asked"),
    [
        (["x", "2026-03-01 12:00:00,000 ERROR [app] start", *[f"plain {n}" for n in range(31)]], False, 0, [32]),
        ([_TB, _FRAME, REFUSED, json.dumps({"asctime": "2026-03-01 12:00:05,000", "message": "m"}), _DATED.format(6)], False, 3, [3, 4]),
        (["ERROR 2026-03-01 12:00:00,5 failed", _TB, _FRAME, "ERROR 2026-03-01 12:00:01,5 failed", _TB, _FRAME, REFUSED], True, 3, [3, 5, 6]),
        (["x", "", _DATED.format(1), _TB, _FRAME, REFUSED], False, 1, [2, 5]),
    ],
    ids=["31-plain-lines-below-the-file-start", "block-starts-at-a-json-line", "block-starts-at-a-prefixed-stamp", "block-starts-with-a-blank-line"],
)  # fmt: skip
def test_the_walk_back_stops_at_the_stamp_line(
    lines: list[str], prefixed: bool, base: int, asked: list[int]
) -> None:
    """The walk back stops at the nearest line that opens a dated record (JSON, prefixed
    stamps too), within its budget: those records are built lean, and are the assembler's,
    from a block that starts there or from the file's start."""
    data = ("\n".join(lines) + "\n").encode()
    shape = StampShape(1) if prefixed else START
    starts = _starts(data)
    records = _assembled(data, shape, 200, 64 * 1024, 1024)
    for index in asked:
        got = _ask(_lean(shape, 200, 64 * 1024, 1024), data, starts[base], starts[index])
        assert got is not None, index
        assert [r for r in records if r.offset <= starts[index] < r.end] == [got]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(widths=st.lists(st.integers(0, 70), min_size=1, max_size=8))
def test_records_at_the_edge_of_the_head_budget(widths: list[int]) -> None:
    """A dated line and its indented lines, under every line budget from 1 up and every
    byte budget around the record's length: built lean exactly when the assembler keeps
    the record whole within its head budget, and then the assembler's."""
    lines = [_DATED.format(1)] + ["  " + "y" * w for w in widths] + [_DATED.format(2)]
    data = ("\n".join(lines) + "\n").encode()
    length = len("\n".join(lines[:-1]))
    low = (length - 3) * 4 // 3
    for max_lines, max_bytes in itertools.product(range(1, len(lines) + 4), range(low, low + 12)):
        [record, _] = _assembled(data, START, max_lines, max_bytes, 1024)
        budget = RecordAssembler(
            source="log", file_time=FILE_TIME, max_lines=max_lines, max_bytes=max_bytes
        )
        within = (
            not record.truncated
            and record.lines <= budget._head_lines
            and len(record.text) < budget._head_chars
        )
        got = _ask(_lean(START, max_lines, max_bytes, 1024), data, 0, _starts(data)[len(widths)])
        if within:
            assert got == record, (max_lines, max_bytes)
        else:
            assert got is None or got == record, (max_lines, max_bytes)


def test_a_json_line_with_continuation_lines_is_the_assemblers() -> None:
    """A JSON line followed by traceback lines is left to the assembler (its text is its
    fields, then the lines); a stamped line that merely ends with "}" is not JSON: its
    traceback is built lean."""
    json_line = json.dumps({"asctime": "2026-03-01 12:00:00,000", "message": "m"})
    lines = [json_line, _TB, _FRAME, REFUSED, _DATED.format(1) + " {id}", _TB, _FRAME, REFUSED]
    lines += ["{not json", _FRAME, _DATED.format(2)]
    data = ("\n".join(lines) + "\n").encode()
    starts = _starts(data)
    records = _assembled(data, START, 200, 64 * 1024, 1024)
    assert [r.lines for r in records] == [4, 4, 2, 1]
    lean = _lean(START, 200, 64 * 1024, 1024)
    for index, line in enumerate(starts):
        got = _ask(lean, data, 0, line)
        if got is not None or 4 <= index < 8:
            assert [r for r in records if r.offset <= line < r.end] == [got], index


def test_a_continuation_line_over_max_line_is_the_assemblers() -> None:
    """A continuation line over max_line bytes (the reader cuts it) is left to the
    assembler: a record built lean is never one the reader would have cut."""
    lines = [_DATED.format(1), _TB, "  " + "y" * 61, REFUSED, _DATED.format(2)]
    data = ("\n".join(lines) + "\n").encode()
    records = _assembled(data, START, 200, 64 * 1024, 60)
    assert records[0].truncated
    lean = _lean(START, 200, 64 * 1024, 60)
    for line in _starts(data)[:4]:
        got = _ask(lean, data, 0, line)
        assert got is None or got == records[0]
