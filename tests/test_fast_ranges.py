"""The fast scan of any log, cut anywhere, is the reference scan (fastscan, fastrange, filebytes).

A random log (dated lines, tracebacks, JSON, time-only and undated lines, blank and indented
continuations, "\\r\\n", NUL holes, invalid UTF-8, lines past max_line_bytes, records past
their bounds, with or without a last newline, plain or gzipped) is scanned with random
range, block, window and read-ahead sizes. What the scan promises is held to the reference
path (read_records and the same Engine), one file at a time:

- the same events, with the same times and line numbers;
- the same count of lines and of bytes, and the time of the file's last record;
- `records`: each record that holds one of the searched literals, counted once, whichever
  range holds it (an independent count: the reference's records whose bytes hold a needle);
- `side`: what `look` returns for exactly those records, in file order.

LOGWATCH_RANGES_EXAMPLES (default 150) sets the number of logs the first property draws.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch import fastrange, fastscan, filebytes
from logwatch.config import Config, load_config
from logwatch.dating import Dating, plan_dating
from logwatch.errors import SourceError
from logwatch.model import Event, LogLine, Record
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.prefilter import AHO_CORASICK, make_finder, needles
from logwatch.rules import load_rule_pack
from logwatch.sources.reader import open_log

PACK = load_rule_pack()
NEEDLES = needles(PACK)
# Small bounds, so that truncated lines and records are common in small files.
CONFIG = replace(
    load_config(None, {}), max_line_bytes=160, max_record_lines=12, max_record_bytes=900
)
REFUSED = "Error 111 connecting to redis:6379. Connection refused."
FILE_TIME = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # not the files' mtime
EXAMPLES = int(os.environ.get("LOGWATCH_RANGES_EXAMPLES", "150"))


def _stamp(n: int) -> str:
    return f"2026-03-01 23:{n // 60 % 60:02d}:{n % 60:02d},{n % 1000:03d}"


# Each piece: one or more lines, by the number n of its place in the log.
PIECES = {
    "info": lambda n: [f"{_stamp(n)} INFO [api] 200 GET /feed user={n}"],
    "refused": lambda n: [f"{_stamp(n)} WARNING redis GET failed ({REFUSED})"],
    "look-alike": lambda n: [f"{_stamp(n)} WARNING [auth] 401 Authentication required for /x"],
    "traceback": lambda n: [
        f"{_stamp(n)} ERROR [app] Exception on /feed [GET]",
        "Traceback (most recent call last):",
        *['  File "/app/views.py", line 57, in get_feed', "    cache.get(key)"] * (n % 9),
        f"redis.exceptions.ConnectionError: {REFUSED}",
    ],
    "blank": lambda n: [""],
    "indented": lambda n: [f"  detail {n}" if n % 2 else f"\tconnecting to redis:{n}"],
    "json": lambda n: [
        json.dumps({"ts": f"2026-03-01T23:00:{n % 60:02d}Z", "level": "info", "msg": "ok"})
    ],
    "json-refused": lambda n: [
        json.dumps({"ts": f"2026-03-01T23:01:{n % 60:02d}Z", "error": REFUSED}).replace(
            "connecting", "\\u0063onnecting" if n % 2 else "connecting"
        )
    ],
    "time-only": lambda n: [f"23:{n % 60:02d}:00 default: Job OK ({n:08x})"],
    "time-only-refused": lambda n: [
        f"23:{n % 60:02d}:30 Could not connect to Redis instance: {REFUSED}"
    ],
    "undated-refused": lambda n: [f"ERROR:root:{REFUSED}"],
    "long": lambda n: [f"{_stamp(n)} WARNING " + "x" * (40 * (n % 7)) + f" {REFUSED}"],
    "latin-1": lambda n: [f"{_stamp(n)} ERROR caf\udce9 {REFUSED}"],  # \xe9 alone
    "nul-hole": lambda n: ["\x00" * (1 + n % 50) + f"{_stamp(n)} WARNING ({REFUSED})"],
    "needle-first": lambda n: ["MISCONF Redis is configured to save RDB snapshots"],
    "django": lambda n: [f"ERROR {_stamp(n)} log 7 8 Internal Server Error: {REFUSED}"],
    "undated-look-alike": lambda n: ["api: connecting to the search backend"],
    "controls": lambda n: [f"{_stamp(n)} INFO \x01\x02\x03\x04\x05\x06 \x00 {n}"],
}
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(1, 32)) * 4  # a binary file's head


class Log(NamedTuple):
    """A drawn log file and the sizes to scan it with."""

    lines: list[str]
    crlf: list[bool]  # per line: ends with "\r\n"
    final_newline: bool
    head: bytes  # before the lines: an ELF's head, a few random bytes, or none
    gz: bool
    range_size: int
    block: int
    window: int
    chunk: int
    zone: str  # the config's timezone (stamps carry none)
    file_time: datetime | None  # the dating's, when not the one plan_dating gives


@st.composite
def logs(draw: st.DrawFn) -> Log:
    kinds = draw(st.lists(st.sampled_from(sorted(PIECES)), min_size=0, max_size=60))
    lines = [line for n, kind in enumerate(kinds) for line in PIECES[kind](n)]
    return Log(
        lines=lines,
        crlf=draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines))),
        final_newline=draw(st.booleans()),
        head=draw(
            st.sampled_from([b"", b"", b"", ELF]) | st.binary(max_size=6).map(b"\x00".__add__)
        ),
        gz=draw(st.booleans()),
        range_size=draw(st.integers(8, 3000)),
        block=draw(st.integers(64, 2048)),  # over the longest needle
        window=draw(st.integers(1, 1024)),
        chunk=draw(st.integers(1, 600)),
        zone=draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York"])),
        file_time=draw(st.sampled_from([None, FILE_TIME])),
    )


def write(folder: Path, log: Log) -> Path:
    data = b"".join(
        line.encode("utf-8", "surrogateescape") + (b"\r\n" if crlf else b"\n")
        for line, crlf in zip(log.lines, log.crlf, strict=True)
    )
    if data and not log.final_newline:
        data = data[:-2] if data.endswith(b"\r\n") else data[:-1]
    data = log.head + data
    path = folder / ("app.log.1.gz" if log.gz else "app.log")
    path.write_bytes(gzip.compress(data) if log.gz else data)
    return path


class Seen(NamedTuple):
    """What a test's `look` keeps of a record: all of it but its line number (which, in a
    worker, counts from its range's start; no look uses it)."""

    record: Record
    rule: str | None


def look(record: Record, event: Event | None) -> Seen:
    return Seen(replace(record, line=0), event.rule if event else None)


class Expected(NamedTuple):
    binary: bool
    events: list[Event]
    lines: int
    size: int
    last_time: datetime | None
    needled: list[Record]  # records holding a needle, in file order


def config_of(log: Log) -> Config:
    return replace(CONFIG, timezone=ZoneInfo(log.zone))


def dating_of(path: Path, log: Log) -> Dating:
    dating = plan_dating([[path]], ZoneInfo(log.zone))[path]
    return dating if log.file_time is None else replace(dating, file_time=log.file_time)


def reference(path: Path, log: Log, extra: tuple[bytes, ...] = ()) -> Expected:
    config = config_of(log)
    stats = Stats()
    records = list(read_records(path, config, stats, dating_of(path, log)))
    engine = Engine(config, PACK)
    events = [e for e in map(engine.match, records) if e is not None]
    with open_log(path) as stream:
        data = stream.read()
    found = (*NEEDLES, *extra)
    needled = [r for r in records if any(n in data[r.offset : r.end] for n in found)]
    last = records[-1].time if records else None
    return Expected(bool(stats.skipped), events, stats.lines, stats.bytes, last, needled)


def fast(path: Path, log: Log, **kwargs: object) -> fastscan.FileScan:
    dating = {path: dating_of(path, log)}
    (found,) = fastscan.scan_files([[path]], config_of(log), PACK, jobs=1, dating=dating, **kwargs)  # type: ignore[arg-type]
    return found


def sizes(monkeypatch: pytest.MonkeyPatch, log: Log) -> None:
    monkeypatch.setattr(fastscan, "RANGE", log.range_size)
    monkeypatch.setattr(fastrange, "BLOCK", log.block)
    monkeypatch.setattr(filebytes, "WINDOW", log.window)
    monkeypatch.setattr(fastrange, "_CHUNK", log.chunk)
    monkeypatch.setattr(fastrange, "_MAX_CHUNK", log.chunk * 4)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(log=logs(), filter_=st.sampled_from([None, AHO_CORASICK]))
def test_any_log_cut_anywhere_scans_as_the_reference(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    log: Log,
    filter_: str | None,
) -> None:
    path = write(tmp_path_factory.mktemp("log"), log)
    want = reference(path, log)
    sizes(monkeypatch, log)
    if filter_ is None:
        monkeypatch.delenv("LOGWATCH_FILTER", raising=False)
    else:
        monkeypatch.setenv("LOGWATCH_FILTER", filter_)
    got = fast(path, log)
    assert got.binary == want.binary
    assert got.events == want.events
    assert (got.lines, got.size, got.last_time) == (want.lines, want.size, want.last_time)
    assert got.records == len(want.needled)
    assert got.side == []
    assert got.filter == make_finder(NEEDLES).name  # the engine that searched


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(log=logs(), extra=st.sampled_from([(), (b"Job OK",)]))
def test_look_sees_every_record_holding_a_literal_once_in_order(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    log: Log,
    extra: tuple[bytes, ...],
) -> None:
    """A report's `look`, with or without its extra literal ("Job OK", on lines no rule
    needs): it sees each record holding a literal, look-alikes too."""
    path = write(tmp_path_factory.mktemp("log"), log)
    want = reference(path, log, extra)
    sizes(monkeypatch, log)
    got = fast(path, log, extra=list(extra), look=look)
    engine = Engine(config_of(log), PACK)
    assert got.side == [look(r, engine.match(r)) for r in want.needled]
    assert got.events == want.events
    assert got.records == len(want.needled)


def test_files_come_in_order_under_their_labels_and_an_error_after_the_files_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two families of plain, gzipped, empty and binary files, one cut into ranges, in a
    pool of workers: each file's scan comes in the order given, in its family, under its
    label, as the reference reads it. A corrupt gzip's SourceError, naming it, comes after
    the scans of the files before it, as the reference raises it when it gets there."""
    monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(fastscan, "RANGE", 700)
    monkeypatch.setattr(fastrange, "BLOCK", 256)
    lines = [line for n in range(40) for line in PIECES["traceback" if n % 3 else "info"](n)]
    crlf = [n % 5 == 0 for n in range(len(lines))]
    plain = Log(lines, crlf, True, b"", False, 0, 0, 0, 0, zone="UTC", file_time=None)
    logs = [
        plain,
        plain._replace(gz=True),
        plain._replace(head=ELF),
        plain._replace(lines=[], crlf=[]),
    ]
    paths = []
    for n, log in enumerate(logs):
        folder = tmp_path / str(n)
        folder.mkdir()
        paths.append(write(folder, log))
    families = [paths[:2], paths[2:]]
    labels = {p: f"file {n}" for n, p in enumerate(paths)}
    got = list(fastscan.scan_files(families, CONFIG, PACK, jobs=2, labels=labels))
    assert [(g.family, g.label) for g in got] == [
        (0, "file 0"),
        (0, "file 1"),
        (1, "file 2"),
        (1, "file 3"),
    ]
    assert os.path.getsize(paths[0]) > 3 * 700  # cut into ranges
    for path, scanned in zip(paths, got, strict=True):
        dating = plan_dating([[path]], CONFIG.timezone)[path]
        stats = Stats()
        engine = Engine(CONFIG, PACK)
        records = list(read_records(path, CONFIG, stats, dating, label=labels[path]))
        events = [e for e in map(engine.match, records) if e is not None]
        assert (scanned.binary, scanned.events, scanned.lines, scanned.size) == (
            bool(stats.skipped),
            events,
            stats.lines,
            stats.bytes,
        )
    assert all(e.source == "file 0" for e in got[0].events) and got[0].events

    corrupt = tmp_path / "app.log.2.gz"
    corrupt.write_bytes(gzip.compress(b"x" * 5000)[:30])  # cut short
    with pytest.raises(SourceError) as reference_error:
        list(read_records(corrupt, CONFIG, Stats()))
    for jobs in (1, 2):  # in this process, and from a worker
        scans = fastscan.scan_files([[paths[0], corrupt, paths[1]]], CONFIG, PACK, jobs=jobs)
        assert next(scans).label == str(paths[0])
        with pytest.raises(SourceError) as fast_error:
            next(scans)
        assert str(fast_error.value) == str(reference_error.value)
        assert str(corrupt) in str(fast_error.value)


LONGEST = max(NEEDLES, key=len).decode()


@pytest.mark.parametrize("case", ["dated-at-the-cut", "longest-needle-across", "event-across"])
def test_a_line_longer_than_a_block_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """A line longer than the search block (8 MiB in a scan; 4 KiB here) is read as one
    line. Its text where a block was cut is no record of its own: the fast scan once took a
    dated error there for a record (an event the reference has not: the line is cut at
    max_line_bytes). A needle across the cut is found: the longest needle with one byte
    past it, and, within a max_line_bytes longer than the block, a rule's match."""
    monkeypatch.setattr(fastrange, "BLOCK", 4096)
    head = f"{_stamp(0)} INFO [api] "
    if case == "dated-at-the-cut":
        tail, at = f"{_stamp(1)} ERROR [app] {REFUSED}", 4096
    elif case == "longest-needle-across":
        tail, at = f"{LONGEST} now", 4096 - (len(LONGEST) - 1)
    else:
        tail = f"ERROR [app] {REFUSED}"
        at = 4096 - 6 - tail.index("connecting to")
    line = head + "x" * (at - len(head)) + tail
    path = tmp_path / "app.log"
    path.write_text(f"{line}\n{_stamp(2)} INFO ok\n", encoding="utf-8")
    wide = replace(CONFIG, max_line_bytes=8192, max_record_bytes=16384)
    for config in (CONFIG, wide):
        stats = Stats()
        engine = Engine(config, PACK)
        records = list(read_records(path, config, stats))
        want = [e for e in map(engine.match, records) if e]
        (got,) = fastscan.scan_files([[path]], config, PACK, jobs=1)
        assert got.events == want
        assert got.records == 1  # the long line's record holds a needle
    if case != "longest-needle-across":
        assert len(want) == 1  # whole, the line matches a rule


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_binary_is_told_from_the_first_4096_bytes_as_the_reference_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gz: bool
) -> None:
    """Control bytes throughout and one NUL: at byte 0 or 4095 (in the head: binary) or at
    4096 (past it: text with a hole, scanned). Both paths say the same of each file."""
    monkeypatch.setattr(fastscan, "RANGE", 2048)  # a plain file is cut into ranges
    text = f"{_stamp(1)} WARNING \x01\x02 ({REFUSED})\n".encode() * 60
    told = []
    for at in (0, 4095, 4096):
        data = text[:at] + b"\x00" + text[at:]
        path = tmp_path / f"{at}.log{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(data) if gz else data)
        log = Log([], [], True, b"", gz, 2048, 4096, 1024, 512, "UTC", None)
        want = reference(path, log)
        got = fast(path, log)
        assert (got.binary, got.events, got.lines) == (want.binary, want.events, want.lines)
        told.append(got.binary)
    assert told == [True, True, False]


def test_records_are_assembled_only_around_the_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes the scan fast: a file of healthy lines with a few tracebacks (cut by
    blocks and ranges, so that some go to runs of the assembler) has only the lines of the
    records around those hits assembled, plus a few to walk back and to find the file's
    last record: not the rest of the file. Counted in lines fed, not timed."""
    fed = [0]

    class Counting(fastrange.RecordAssembler):
        def feed(self, line: LogLine) -> list[Record]:
            fed[0] += 1
            return super().feed(line)

    monkeypatch.setattr(fastrange, "RecordAssembler", Counting)
    monkeypatch.setattr(fastrange, "BLOCK", 2048)
    monkeypatch.setattr(fastscan, "RANGE", 16384)
    lines: list[str] = []
    hits = 0
    for n in range(1500):
        lines += PIECES["info"](n)
        if n % 150 == 75:  # past the record bounds (12 lines, 900 bytes) every other time
            lines += PIECES["traceback"](n + n % 2 * 3)
            hits += len(PIECES["traceback"](n + n % 2 * 3))
    log = Log(lines, [False] * len(lines), True, b"", False, 0, 0, 0, 0, "UTC", None)
    path = write(tmp_path, log)
    got = fast(path, log, look=look)
    want = reference(path, log)
    assert got.events == want.events and len(got.events) == 10
    assert 0 < fed[0] <= 2 * hits + 40, (fed[0], hits)
    engine = Engine(config_of(log), PACK)
    assert got.side == [look(r, engine.match(r)) for r in want.needled]  # bounded alike
    assert 0 < sum(s.record.truncated for s in got.side) < 10  # some past the bounds
    # Lines that are records alone are built from the block's bytes (the lean path) or
    # passed over: only the file's last record is assembled.
    fed[0] = 0
    lines = [line for n in range(1500) for line in PIECES["info" if n % 150 else "refused"](n)]
    log = log._replace(lines=lines, crlf=[False] * len(lines))
    path = write(tmp_path, log)
    for engine in (None, AHO_CORASICK):
        if engine is None:
            monkeypatch.delenv("LOGWATCH_FILTER", raising=False)
        else:
            monkeypatch.setenv("LOGWATCH_FILTER", engine)
        got = fast(path, log)
        assert got.events == reference(path, log).events and len(got.events) == 10
    assert fed[0] == 2, fed[0]  # the file's last record, once per scan


def test_one_job_starts_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--jobs 1` scans in the scan's own process, however large the files: no pool."""

    def no_pool(method: str) -> None:
        raise AssertionError(f"a pool was started ({method})")

    monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(fastscan, "RANGE", 512)
    monkeypatch.setattr(fastscan.multiprocessing, "get_context", no_pool)
    lines = [line for n in range(60) for line in PIECES["refused" if n % 7 else "info"](n)]
    log = Log(lines, [False] * len(lines), True, b"", False, 512, 0, 0, 0, "UTC", None)
    path = write(tmp_path, log)
    assert fast(path, log).events == reference(path, log).events


def test_without_jobs_the_scan_has_a_worker_per_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs not given: one worker per CPU; one CPU (or a count the system cannot tell), or
    files smaller in all than _IN_PROCESS_BELOW, scan in the scan's own process. The same
    events whichever."""
    pools: list[str] = []
    get_context = fastscan.multiprocessing.get_context

    def counted(method: str) -> object:
        pools.append(method)
        return get_context(method)

    monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(fastscan, "RANGE", 512)
    monkeypatch.setattr(fastscan.multiprocessing, "get_context", counted)
    lines = [line for n in range(60) for line in PIECES["refused" if n % 7 else "info"](n)]
    log = Log(lines, [False] * len(lines), True, b"", False, 512, 0, 0, 0, "UTC", None)
    path = write(tmp_path, log)
    want = reference(path, log).events
    size = path.stat().st_size
    # (CPUs, the size below which no pool is worth starting, whether one is)
    for cpus, below, pooled in (
        (None, 0, False),
        (1, 0, False),
        (2, size, True),
        (2, size + 1, False),
    ):
        monkeypatch.setattr(fastscan.os, "cpu_count", lambda n=cpus: n)
        monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", below)
        pools.clear()
        (found,) = fastscan.scan_files([[path]], config_of(log), PACK)
        assert found.events == want
        assert bool(pools) == pooled, (cpus, below)
