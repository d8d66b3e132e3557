"""The tailer's skim (healthy stretches passed over) against a line-by-line tail.

Two tailers follow the same file as it is written in arbitrary pieces; one searches for
the rule pack's literals and assembles records only around them, the other assembles
every line. They must find the same events, at the same lines and times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.config import load_config
from logwatch.impact import classify
from logwatch.model import Event, Record
from logwatch.pipeline import Engine
from logwatch.prefilter import literal_finder
from logwatch.regexfilter import RuleFilter, make_rule_filter
from logwatch.rules import load_rule_pack
from logwatch.sources import skim
from logwatch.sources.tail import Tailer

CONFIG = load_config(None, {})
PACK = load_rule_pack()
FINDER = literal_finder(PACK)

REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused."
)


def stamp(n: int) -> str:
    return f"2026-03-01 {12 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d},{n % 1000:03d}"


PIECES: list[Callable[[int], str]] = [
    lambda n: f"{stamp(n)} INFO [morningai.api] 200 GET /api/v1/feed {n}ms\n",
    lambda n: f"{stamp(n)} INFO [morningai.api] 200 GET /api/v1/feed {n}ms\n" * 5,
    lambda n: f"{stamp(n)} ERROR [morningai.cache] cache get failed: {REFUSED}\n",
    lambda n: (
        f"{stamp(n)} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3/site-packages/redis/connection.py", line 369, in connect\n'
        "    raise ConnectionError(self._error_message(e))\n"
        f"{REFUSED}\n"
    ),
    lambda n: (
        f"{stamp(n)} ERROR [morningai.worker] job failed\n"
        "Traceback (most recent call last):\n"
        '  File "/app/tasks.py", line 12, in run\n'
        "ValueError: bad input\n"
    ),
    lambda n: f"12:00:{n % 60:02d} default: tasks.refresh() (job {n})\n",
    lambda n: (
        f"12:00:{n % 60:02d} could not connect to Redis instance: Error 111 connecting to "
        "localhost:6379. Connection refused. retrying in 1 seconds\n"
    ),
    lambda n: (
        f'{{"time": "2026-03-01T12:00:{n % 60:02d}Z", "level": "error", "message": '
        f'"redis.exceptions.TimeoutError: Timeout reading from socket"}}\n'
    ),
    lambda n: f"{stamp(n)} INFO [morningai.redis_cleanup] job ok, redis keys {n}\n",
    lambda n: "untimed line without a stamp\n",
    lambda n: "\n",
    lambda n: "    continued detail\n",
    lambda n: f"{stamp(n)} INFO [morningai.api] {'x' * 300}\n",  # over max_line_bytes
    lambda n: f"{stamp(n)} WARN [morningai.api] bad bytes \xff\xfe\r\n",
    lambda n: f"{stamp(n)} ERROR [morningai.app] {'y' * 250} {REFUSED}\n",  # literal cut off
    lambda n: "MISCONF Redis is configured to save RDB snapshots, but it's currently unable\n",
    lambda n: f"web-1  | {stamp(n)} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n",
    lambda n: f"web-1  | Traceback (most recent call last):\nweb-1  | {REFUSED}\n",
    lambda n: f"[{stamp(n)}: ERROR/MainProcess] consumer: Cannot connect to redis: {REFUSED}\n",
    # Look-alikes: a literal, no rule (logwatch.passover passes over the first two).
    lambda n: f"{stamp(n)} WARNING [morningai.auth] 401 Authentication required for /api\n",
    lambda n: f"{stamp(n)} INFO [morningai.search] connecting to the search backend\n",
    lambda n: f"{stamp(n)} ERROR [morningai.cache] Error 111 connecting to\n",  # goes on:
    lambda n: "  10.0.0.5:6379. Connection refused.\n",
    lambda n: (  # a job signal (a 500)
        f'{stamp(n)} INFO [morningai.api] "POST /api/v1/feed HTTP/1.1" 500 12 connecting to x\n'
    ),
]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def events(engine: Engine, records: list[Record]) -> list[tuple[object, ...]]:
    found = [engine.match(r) for r in records]
    return [_key(e) for e in found if e is not None]


def signals(records: list[Record]) -> list[object]:
    """The job signals the agent counts (impact.classify), in order."""
    found = (classify(r.text, r.time, redis_error=False) for r in records)
    return [s for s in found if s is not None]


def _key(e: Event) -> tuple[object, ...]:
    return (e.line, e.time, e.rule, e.target, e.signature, e.text)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(skim, "BLOCK", 700)
    monkeypatch.setattr(skim, "WALK_LINES", 6)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.integers(min_value=0, max_value=len(PIECES) - 1), max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=12),
    waits=st.lists(st.sampled_from([0.0, 0.1, 0.5, 5.0]), min_size=1, max_size=12),
)
def test_skimming_finds_what_reading_every_line_finds(
    tmp_path_factory: pytest.TempPathFactory,
    small_blocks: None,
    kinds: list[int],
    cuts: list[int],
    waits: list[float],
) -> None:
    _same_as_every_line(tmp_path_factory, kinds, cuts, waits, rules=None)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.integers(min_value=0, max_value=len(PIECES) - 1), max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=12),
    waits=st.lists(st.sampled_from([0.0, 0.1, 0.5, 5.0]), min_size=1, max_size=12),
)
def test_skimming_with_the_rules_regexes_finds_what_reading_every_line_finds(
    tmp_path_factory: pytest.TempPathFactory,
    small_blocks: None,
    kinds: list[int],
    cuts: list[int],
    waits: list[float],
) -> None:
    """Look-alike lines passed over (logwatch.passover): the same events and job signals."""
    rules = make_rule_filter(PACK)
    assert rules is not None
    _same_as_every_line(tmp_path_factory, kinds, cuts, waits, rules=rules)


def _same_as_every_line(
    tmp_path_factory: pytest.TempPathFactory,
    kinds: list[int],
    cuts: list[int],
    waits: list[float],
    *,
    rules: RuleFilter | None,
) -> None:
    assert FINDER is not None
    data = "".join(PIECES[k](n) for n, k in enumerate(kinds)).encode("utf-8", "surrogateescape")
    data = data.replace("\xff\xfe".encode(), b"\xff\xfe")  # invalid UTF-8 in the file
    log = tmp_path_factory.mktemp("skim") / "app.log"
    log.write_bytes(b"")
    clock = FakeMonotonic()

    def tailer(finder: object) -> Tailer:
        t = Tailer(tz=UTC, max_lines=20, max_bytes=4096, max_line_bytes=200,
                   finder=finder, monotonic=clock,  # type: ignore[arg-type]
                   rules=rules if finder is not None else None)  # fmt: skip
        t.open(log)
        return t

    fast, slow = tailer(FINDER), tailer(None)
    got: dict[Tailer, list[Record]] = {fast: [], slow: []}
    points = sorted({min(c, len(data)) for c in cuts} | {len(data)})
    written = 0
    try:
        for i, point in enumerate(points):
            with open(log, "ab") as fh:
                fh.write(data[written:point])
            written = point
            clock.now += waits[i % len(waits)]
            for t in (fast, slow):
                while True:
                    got[t] += t.poll()
                    if not t.backlog():
                        break
        for _ in range(2):
            clock.now += 10  # a partial last line sits long enough to be flushed
            for t in (fast, slow):
                got[t] += t.poll()
        engine = Engine(CONFIG, PACK)
        assert events(engine, got[fast]) == events(engine, got[slow])
        assert signals(got[fast]) == signals(got[slow])
        assert [t.cursors()[0].offset for t in (fast, slow)] == [len(data)] * 2
    finally:
        fast.close()
        slow.close()


def test_a_long_healthy_backlog_is_passed_over_in_few_records(tmp_path: Path) -> None:
    """The point of skimming: 20,000 healthy lines around one error give a handful of
    records (the error's and one per step for log time), not 20,000."""
    log = tmp_path / "app.log"
    before = "".join(PIECES[0](n) for n in range(10_000))
    after = "".join(PIECES[0](n) for n in range(10_001, 20_001))
    log.write_text(before + PIECES[3](10_000) + after)
    clock = FakeMonotonic()
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, finder=FINDER,
               monotonic=clock)  # fmt: skip
    try:
        t.open(log)
        records = t.poll()
        clock.now += 1
        records += t.poll()
    finally:
        t.close()
    assert len(records) < 20
    engine = Engine(CONFIG, PACK)
    (event,) = [e for e in map(engine.match, records) if e is not None]
    assert event.line == 10_001 and event.category == "connection"
    # Log time still moves on to the end of the backlog.
    assert max(r.time for r in records).strftime("%H:%M:%S") == "17:33:20"


def django(n: int) -> str:
    """Django's documented verbose format: the level before the stamp."""
    return (
        f"ERROR {stamp(n)} log 23222 140245936695104 Internal Server Error: /api/v1/feed\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app/feed/views.py", line 12, in feed\n'
        f"{REFUSED}\n"
        f"INFO {stamp(n)} log 23222 140245936695104 GET /health 200\n"
    )


@pytest.mark.parametrize("first_write", [0, 10, 2000], ids=["empty", "partial", "lines"])
def test_a_live_django_log_is_dated_by_the_stamps_after_its_levels(
    tmp_path: Path, small_blocks: None, first_write: int
) -> None:
    """The agent learns where a file's stamps sit from its head, also when the file is
    created empty and its first lines come later; skimming and reading every line agree."""
    assert FINDER is not None
    data = "".join(django(n) for n in range(40)).encode()
    log = tmp_path / "django.log"
    log.write_bytes(data[:first_write])
    clock = FakeMonotonic()
    tailers = []
    for finder in (FINDER, None):
        t = Tailer(tz=UTC, max_lines=20, max_bytes=4096, max_line_bytes=400,
                   finder=finder, monotonic=clock)  # fmt: skip
        t.open(log)
        tailers.append(t)
    got: list[list[Record]] = [[], []]
    try:
        for t, out in zip(tailers, got, strict=True):
            out += t.poll()
        with open(log, "ab") as fh:
            fh.write(data[first_write:])
        clock.now += 10
        for t, out in zip(tailers, got, strict=True):
            for _ in range(5):
                out += t.poll()
        engine = Engine(CONFIG, PACK)
        fast, slow = (events(engine, out) for out in got)
        assert fast == slow
        assert [e[1] for e in slow] == [
            datetime.strptime(stamp(n), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
            for n in range(40)
        ]
    finally:
        for t in tailers:
            t.close()


def test_a_look_alike_that_is_a_job_signal_is_still_read(tmp_path: Path) -> None:
    """A literal's line no rule matches is passed over unless the agent counts it: a 500
    in the access log is a job signal (impact.classify) whatever rule matches."""
    rules = make_rule_filter(PACK)
    assert rules is not None
    log = tmp_path / "app.log"
    log.write_text(
        PIECES[-1](1) + PIECES[0](2) + PIECES[-5](3) + PIECES[0](4) + PIECES[2](5) + PIECES[0](6)
    )
    clock = FakeMonotonic()
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, finder=FINDER,
               rules=rules, monotonic=clock)  # fmt: skip
    try:
        t.open(log)
        records = t.poll()
        clock.now += 1
        records += t.poll()
    finally:
        t.close()
    assert [s.kind for s in signals(records)] == ["http_500"]  # type: ignore[attr-defined]
    # The 401 look-alike was passed over: neither built nor the ticker (a later line is).
    assert not any("401" in r.text for r in records)
