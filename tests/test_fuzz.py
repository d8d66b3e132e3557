"""Property-based and fuzz tests of the pure stages: reader, records, timestamps, grouping,
redaction, matching. Hostile input (random bytes, invalid UTF-8, NULs, lines of megabytes,
a million lines without a timestamp) never raises and never grows memory without bound."""

from __future__ import annotations

import io
import itertools
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from logwatch.grouping import Grouper, GroupingPolicy
from logwatch.matching import Matcher
from logwatch.model import Event, LogLine, Record, Severity
from logwatch.records import RecordAssembler, assemble
from logwatch.redact import MASK, Redactor
from logwatch.rules import load_rule_pack
from logwatch.sources.reader import read_lines
from logwatch.timestamps import parse_line_start, parse_value

FILE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- a log-shaped byte stream ----------------------------------------------------------

PIECES = [
    b"2026-03-01 12:00:00,123 INFO [app] 200 GET /feed\n",
    b"2026-03-01 12:00:01,5 ERROR [morningai.app] Exception on /api/v1/feed [GET]\n",
    b"Traceback (most recent call last):\n",
    b'  File "/usr/lib/python3/site-packages/redis/connection.py", line 369, in connect\n',
    b"    raise ConnectionError(self._error_message(e))\n",
    b"redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused.\n",
    b"\n",
    b"During handling of the above exception, another exception occurred:\n",
    b"[2026-03-01 12:00:02 +0000] [42] [ERROR] Worker timeout\n",
    b"12:00:03 Worker abc: could not connect to Redis instance: Error 111 connecting to"
    b" redis:6379. Connection refused. retrying in 4 seconds...\n",
    b'{"timestamp": "2026-03-01T12:00:04Z", "level": "error", "exc_info": "Traceback\\nx"}\n',
    b"1234:M 01 Mar 2026 12:00:05.123 # Can't save in background: fork: Cannot allocate memory\n",
    b"Mar  1 12:00:06 host app[1]: OOM command not allowed when used memory > 'maxmemory'.\n",
    b"\r\n",
    b"\xc3\xa9\xe2\x82",  # a UTF-8 sequence cut short
    b"\xac\xff\xfe",
    b"\x00\x00NUL\x00",
    b"no timestamp at all, a continuation\n",
]

log_bytes = st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=30)), max_size=40).map(
    b"".join
)


def records_of(data: bytes, *, limit: int, max_lines: int, max_bytes: int) -> list[Record]:
    lines = read_lines(io.BytesIO(data), max_line_bytes=limit, final=True)
    return list(
        assemble(
            lines, source="app.log", file_time=FILE_TIME, max_lines=max_lines, max_bytes=max_bytes
        )
    )


def records_in_pieces(
    data: bytes, cuts: list[int], *, limit: int, max_lines: int, max_bytes: int
) -> list[Record]:
    """The stream as a live tail sees it: the file grows at each cut, read each time."""
    assembler = RecordAssembler(
        source="app.log", file_time=FILE_TIME, max_lines=max_lines, max_bytes=max_bytes
    )
    out: list[Record] = []
    offset, number = 0, 1
    for cut in [*sorted(cuts), len(data)]:
        final = cut == len(data)
        for line in read_lines(
            io.BytesIO(data[:cut]),
            start_offset=offset,
            start_line=number,
            max_line_bytes=limit,
            final=final,
        ):
            out += assembler.feed(line)
            offset, number = line.end, line.number + 1
    return out + assembler.flush()


@FAST
@given(
    data=log_bytes,
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
    limit=st.sampled_from([16, 80, 65536]),
    max_lines=st.integers(min_value=2, max_value=12),
    max_bytes=st.sampled_from([64, 300, 65536]),
)
def test_any_split_of_the_byte_stream_gives_the_same_records(
    data: bytes, cuts: list[int], limit: int, max_lines: int, max_bytes: int
) -> None:
    cuts = [c for c in cuts if c <= len(data)]
    whole = records_of(data, limit=limit, max_lines=max_lines, max_bytes=max_bytes)
    pieces = records_in_pieces(data, cuts, limit=limit, max_lines=max_lines, max_bytes=max_bytes)
    assert pieces == whole


@FAST
@given(data=log_bytes)
def test_records_cover_the_stream_in_order_without_overlap(data: bytes) -> None:
    records = records_of(data, limit=65536, max_lines=200, max_bytes=65536)
    ends = [(r.offset, r.end) for r in records]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))
    assert all(r.end <= len(data) for r in records)
    assert all(r.time.tzinfo is not None for r in records)


# -- timestamps ------------------------------------------------------------------------

STAMPS = [
    "2026-03-01 12:00:00,123",
    "2026-03-01T12:00:00.123456+05:30",
    "[2026-03-01 12:00:00 +0000]",
    "[01/Mar/2026:12:00:00 +0000]",
    "12:00:00",
    "1234:M 01 Mar 2026 12:00:00.123",
    "Mar  1 12:00:00",
    "1772366400",
    "1772366400123",
    "0001-01-01 00:00:00,000",
    "9999-12-31 23:59:59,999",
    "[9999-12-31 23:59:59 -1200]",
    "[01/Jan/0001:00:00:00 +1400]",
]


@st.composite
def mangled_stamps(draw: st.DrawFn) -> str:
    """A real stamp with characters replaced by digits, signs and junk: 99:99, month 13."""
    text = list(draw(st.sampled_from(STAMPS)))
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        i = draw(st.integers(min_value=0, max_value=len(text) - 1))
        text[i] = draw(st.sampled_from(list("0123456789+-:.,TZ []/\x00é9")))
    return "".join(text) + draw(st.text(max_size=20))


@settings(max_examples=400, deadline=None)
@given(line=st.one_of(st.text(max_size=60), mangled_stamps()))
@pytest.mark.slow
def test_timestamp_parser_never_raises(line: str) -> None:
    for tz in (None, UTC):
        stamp = parse_line_start(line, tz)
        if stamp is not None and stamp.when is not None and tz is not None:
            assert stamp.when.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=40),
        mangled_stamps(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_timestamp_values_never_raise(value: str | int | float) -> None:
    when = parse_value(value)  # naive when the value names no zone: the reader's zone applies
    assert when is None or isinstance(when, datetime)


ZONES = [UTC, ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")]


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.one_of(mangled_stamps(), st.text(max_size=40)), max_size=30),
    tz=st.sampled_from(ZONES),
)
def test_record_assembly_of_mangled_stamps_never_raises(lines: list[str], tz: tzinfo) -> None:
    text = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    stream = read_lines(io.BytesIO(text), final=True)
    for record in assemble(stream, source="app.log", file_time=FILE_TIME, tz=tz):
        assert record.time.tzinfo is not None


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize(
    "line",
    [
        pytest.param("0001-01-01 00:00:00,000 ERROR x", id="year-1"),
        pytest.param("9999-12-31 23:59:59,000 ERROR x", id="year-9999"),
        pytest.param("[9999-12-31 23:59:59 -1200] [1] [ERROR] x", id="gunicorn-9999-west"),
        pytest.param("[01/Jan/0001:00:00:00 +1400] GET /", id="access-year-1-east"),
        pytest.param('{"time": "0001-01-01 00:00:00", "msg": "x"}', id="json-year-1"),
        pytest.param('{"time": "9999-12-31T23:59:59", "msg": "x"}', id="json-year-9999"),
    ],
)
def test_stamp_in_year_1_or_9999_does_not_overflow(line: str, tz: tzinfo) -> None:
    """Found by fuzzing: converting such a stamp to UTC raised OverflowError, which stalled
    the agent on that line (re-read at every poll) and ended a scan."""
    lines = [LogLine(text=line, number=1, offset=0, end=len(line) + 1)]
    (record,) = assemble(lines, source="app.log", file_time=FILE_TIME, tz=tz)
    assert not record.timed and record.time == FILE_TIME


# -- grouping --------------------------------------------------------------------------


class Rule:
    def __init__(self, threshold: int, hint: str = "hint") -> None:
        self.threshold = threshold
        self.window_s = 60.0
        self.hint = hint


RULES = {"refused": Rule(2), "timeout": Rule(3), "misconf": Rule(1)}
CATEGORY = {"refused": "connection", "timeout": "timeout", "misconf": "misconf"}
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = GroupingPolicy(quiet_period_s=120, reopen_window_s=600, update_interval_s=300)


def event(t: float, rule: str, target: str) -> Event:
    return Event(
        time=T0 + timedelta(seconds=t),
        source="app.log",
        line=int(t) + 1,
        rule=rule,
        category=CATEGORY[rule],
        severity=Severity.ERROR,
        target=target,
        signature=f"{rule}: sig",
        text=f"{rule} on {target}",
    )


event_streams = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=300),  # gap to the previous event, seconds
        st.sampled_from(sorted(RULES)),
        st.sampled_from(["10.0.0.1:6379", "10.0.0.2:6379", "redis"]),
    ),
    min_size=1,
    max_size=50,
)


def timeline(stream: list[tuple[int, str, str]]) -> list[Event]:
    t, events = 0.0, []
    for gap, rule, target in stream:
        t += gap
        events.append(event(t, rule, target))
    return events


def kinds_by_incident(changes: list[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in changes:
        out.setdefault(c.incident.id, []).append(c.kind)
    return out


@settings(max_examples=120, deadline=None)
@given(
    stream=event_streams,
    batches=st.lists(st.booleans(), min_size=50, max_size=50),
    restarts=st.lists(st.booleans(), min_size=50, max_size=50),
)
def test_grouping_is_the_same_whatever_the_batches_and_restarts(
    stream: list[tuple[int, str, str]], batches: list[bool], restarts: list[bool]
) -> None:
    """The agent's way (ticks at batch ends, a snapshot/restore at each commit, done
    incidents forgotten) gives the incidents, counts and changes of one straight pass."""
    events = timeline(stream)
    straight = Grouper(RULES, POLICY)
    changes_straight: list[Any] = []
    for e in events:
        changes_straight += straight.add(e)
    end = events[-1].time + timedelta(hours=2)
    changes_straight += straight.tick(end)

    grouper = Grouper(RULES, POLICY)
    changes: list[Any] = []
    for e, tick, restart in zip(events, batches, restarts, strict=False):
        if tick:
            changes += grouper.tick(e.time)
        changes += grouper.add(e)
        if restart:
            grouper.forget_done()
            state = json.loads(json.dumps(grouper.snapshot()))  # as the store keeps it
            grouper = Grouper(RULES, POLICY, state=state)
    changes += grouper.tick(end)

    final = {c.incident.id: c.incident for c in changes_straight}
    again = {c.incident.id: c.incident for c in changes}
    assert again == final
    assert kinds_by_incident(changes) == kinds_by_incident(changes_straight)
    assert all(i.status == "resolved" for i in again.values())


# -- redaction -------------------------------------------------------------------------

secret_words = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    min_size=12,
    max_size=32,
)
SEPARATORS = [" ", "\n", "\t", "'", '"', "(", "[", ",", ";", "="]


@st.composite
def seeded(draw: st.DrawFn) -> tuple[str, str]:
    """(a text holding a secret in one of the shapes logwatch promises to mask, the secret)"""
    secret = draw(secret_words)
    shape = draw(
        st.sampled_from(
            [
                "redis://:{s}@10.0.0.5:6379/0",
                "rediss://default:{s}@cache.internal:6380",
                "https://user:{s}@proxy.example.com/path",
                "xoxb-1111-2222-{s}",
                "xoxp-{s}",
                "xapp-1-{s}",
                "https://hooks.slack.com/services/T000/B000/{s}",
                "Authorization: Bearer {s}",
                "Bearer {s}",
                "password={s}",
                "REDIS_PASSWORD: {s}",
                '"api_key": "{s}"',
                "client_secret={s}",
                "token={s}",
                "redis-cli -h 10.0.0.5 -a {s} ping",
                "AUTH {s}",
                "CONFIG SET requirepass {s}",
            ]
        )
    )
    before = draw(st.text(max_size=30)) + draw(st.sampled_from(SEPARATORS))
    after = draw(st.sampled_from(SEPARATORS)) + draw(st.text(max_size=30))
    if shape.startswith(("AUTH", "CONFIG")):
        after = "\n" + after  # `AUTH a b` is user a, password b: the line ends at the secret
    assume(secret not in before + after)  # the secret only where it is a secret
    return before + shape.format(s=secret) + after, secret


@settings(max_examples=500, deadline=None)
@given(case=seeded())
def test_redaction_removes_every_seeded_secret_from_any_surrounding_text(
    case: tuple[str, str],
) -> None:
    text, secret = case
    out = Redactor()(text)
    assert secret not in out, (text, out)
    assert MASK in out


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_redaction_never_raises_and_is_idempotent(text: str) -> None:
    once = Redactor(["known-secret-value"])(text)
    assert Redactor(["known-secret-value"])(once) == once


# -- hostile input: no crash, bounded memory -------------------------------------------


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rule_pack(), default_target="redis", redact=Redactor())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.one_of(st.binary(max_size=3000), log_bytes))
def test_random_bytes_flow_through_reader_records_and_matching(
    data: bytes, matcher: Matcher
) -> None:
    for record in records_of(data, limit=256, max_lines=20, max_bytes=2048):
        event = matcher.match(record)
        if event is not None:
            assert event.category and event.target


def peak_bytes(fn: Any) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_line_of_megabytes_is_cut_and_memory_stays_bounded(matcher: Matcher) -> None:
    """16 MB in one line, in a stream read 1 MB at a time: the line is cut to its head."""

    class Endless(io.RawIOBase):
        """A 16 MB line of refused errors, then a newline, then a normal line; never in memory."""

        def __init__(self) -> None:
            self.left = 16 << 20
            self.tail = b"\n2026-03-01 12:00:00,000 INFO after\n"

        def readable(self) -> bool:
            return True

        def readinto(self, buf: Any) -> int:
            if self.left:
                n = min(len(buf), self.left)
                chunk = b"Error 111 connecting to 10.0.0.5:6379. Connection refused. " * 1000
                buf[:n] = (chunk * (n // len(chunk) + 1))[:n]
                self.left -= n
                return n
            n = min(len(buf), len(self.tail))
            buf[:n] = self.tail[:n]
            self.tail = self.tail[n:]
            return n

    found: list[Record] = []

    def run() -> None:
        stream = io.BufferedReader(Endless(), buffer_size=1 << 20)
        lines = read_lines(stream, max_line_bytes=65536, final=True)  # type: ignore[arg-type]
        for record in assemble(lines, source="huge.log", file_time=FILE_TIME):
            matcher.match(record)
            found.append(record)

    peak = peak_bytes(run)
    assert peak < 12 << 20, f"peak {peak / 2**20:.1f} MB"
    assert found[0].truncated and len(found[0].text) <= 65536
    assert found[-1].text.endswith("INFO after")


def test_nul_bytes_and_invalid_utf8_in_lines_are_text(matcher: Matcher) -> None:
    data = (
        b"2026-03-01 12:00:00,000 ERROR \x00\x00\xff\xfe redis.exceptions.ConnectionError:"
        b" Error 111 connecting to 10.0.0.5:6379. Connection refused.\x00\n"
    ) * 3
    records = records_of(data, limit=65536, max_lines=200, max_bytes=65536)
    assert len(records) == 3
    events = [matcher.match(r) for r in records]
    assert all(e is not None and e.target == "10.0.0.5:6379" for e in events)


def untimed(count: int) -> Iterator[LogLine]:
    offset = 0
    for n in range(1, count + 1):
        text = f"    at frame {n} in module_{n % 97}.py, continuing without a stamp"
        yield LogLine(text=text, number=n, offset=offset, end=offset + len(text) + 1)
        offset += len(text) + 1


@pytest.mark.slow
def test_a_million_lines_without_timestamps_are_one_bounded_record(matcher: Matcher) -> None:
    """One endless untimed "record": kept to its head and tail, never the whole million."""
    records = list(assemble(untimed(1_000_000), source="untimed.log", file_time=FILE_TIME))
    assert sum(r.lines for r in records) == 1_000_000
    assert all(len(r.text) <= 65536 + 1024 and r.truncated for r in records)
    assert all(matcher.match(r) is None for r in records)


@pytest.mark.slow
def test_memory_for_untimed_lines_does_not_grow_with_their_number() -> None:
    def peak(count: int) -> int:
        return peak_bytes(lambda: list(assemble(untimed(count), source="u", file_time=FILE_TIME)))

    small, large = peak(20_000), peak(200_000)
    assert large < 4 << 20, f"peak {large / 2**20:.1f} MB for 200,000 lines"
    assert large < small + (256 << 10), (small, large)  # ten times the lines, not the memory
