"""The fast scan against the reference: the same events, the same report, on any corpus."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.make_corpus import write_corpus
from logwatch import fastrange, fastscan, filebytes, report
from logwatch.config import load_config
from logwatch.model import Event
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.rules import load_rule_pack
from logwatch.scan import scan
from logwatch.sources.container import wrapped_by_runtime
from logwatch.sources.history import expand_paths

CONFIG = load_config(None, {})
PACK = load_rule_pack()

REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused."
)
FRAMES = [
    '  File "/app/views.py", line 57, in get_feed',
    '    cached = cache.get(f"feed:{user_id}:v3")',
    '  File "/usr/lib/python3.11/site-packages/redis/connection.py", line 369, in connect',
    "    raise ConnectionError(self._error_message(e))",
]


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks and ranges and a real pool, so that every boundary is crossed."""
    monkeypatch.setattr(fastrange, "BLOCK", 4096)
    monkeypatch.setattr(fastscan, "RANGE", 16384)
    monkeypatch.setattr(filebytes, "WINDOW", 1024)
    monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", 0)


def reference_events(path: Path) -> list[Event]:
    engine = Engine(CONFIG, PACK)
    found = (engine.match(r) for r in read_records(path, CONFIG, Stats()))
    return [e for e in found if e is not None]


def fast_events(path: Path, jobs: int = 2) -> list[Event]:
    (found,) = fastscan.scan_files([[path]], CONFIG, PACK, jobs=jobs)
    return found.events


def reports(paths: list[Path], **kwargs: object) -> tuple[dict[str, object], dict[str, object]]:
    """The JSON reports of the fast and the reference scan (without the timing)."""
    families = expand_paths([str(p) for p in paths])
    out = []
    for reference in (False, True):
        result = scan(families, CONFIG, PACK, reference=reference, jobs=2, **kwargs)  # type: ignore[arg-type]
        stats = result.stats.as_dict()
        # records: those the rules ran on; filter: what found them (none: all were read)
        del stats["seconds"], stats["records"], stats["filter"]
        out.append(json.loads(report.render_json(result.incidents, stats)))
    return out[0], out[1]


def assert_same(paths: list[Path], **kwargs: object) -> dict[str, object]:
    for path in paths:
        for file in sorted(path.iterdir()) if path.is_dir() else [path]:
            assert fast_events(file) == reference_events(file), file
    fast, ref = reports(paths, **kwargs)
    assert fast == ref
    return fast


def make_corpus(
    out: Path, size_kib: int, seed: int, bursts: int, isolated: int, *, rotate: bool = True
) -> Path:
    """benchmarks/make_corpus.py's log directory: rotated, gzipped, JSON, RQ, redis-server."""
    write_corpus(
        out, size_bytes=size_kib << 10, seed=seed, bursts=bursts, isolated=isolated, rotate=rotate
    )
    return out / "logs"


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(min_value=1, max_value=10_000),
    bursts=st.integers(min_value=1, max_value=4),
    isolated=st.integers(min_value=0, max_value=3),
)
@pytest.mark.slow
def test_make_corpus_gives_identical_reports(
    tmp_path_factory: pytest.TempPathFactory,
    small_pieces: None,
    seed: int,
    bursts: int,
    isolated: int,
) -> None:
    logs = make_corpus(tmp_path_factory.mktemp("corpus"), 1024, seed, bursts, isolated)
    fast = assert_same([logs])
    assert fast["stats"]["events"] > 0  # type: ignore[index]
    assert len(fast["incidents"]) == bursts  # type: ignore[arg-type]


def test_make_corpus_split_into_many_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastscan, "RANGE", 1 << 20)
    monkeypatch.setattr(fastrange, "BLOCK", 256 << 10)
    monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", 0)
    logs = make_corpus(tmp_path, 6 * 1024, 7, 3, 2, rotate=False)  # one app.log of ~2.4 MB
    assert max(p.stat().st_size for p in logs.iterdir()) > 2 << 20  # 3 ranges or more
    assert_same([logs])


def write(path: Path, lines: list[str], *, mtime: datetime | None = None) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def filler(n: int, stamp: str = "2026-03-01 10:00:00,000") -> Iterator[str]:
    for i in range(n):
        yield f"{stamp} INFO [morningai.api] 200 GET /api/v1/feed user={i} req={i:016x}"


def test_rq_time_only_lines_across_midnight(tmp_path: Path, small_pieces: None) -> None:
    lines = ["2026-03-01 23:58:00,000 INFO [rq.worker] worker started"]
    for second in range(50, 60):
        lines += [f"23:59:{second:02d} default: Job OK ({second:032x})"] * 40
        lines.append(
            f"23:59:{second:02d} Could not connect to Redis instance: {REFUSED[26:]} Retrying in 4 seconds..."
        )
    for second in range(0, 10):
        lines += [f"00:00:{second:02d} default: Job OK ({second:032x})"] * 40
        lines.append(
            f"00:00:{second:02d} Could not connect to Redis instance: {REFUSED[26:]} Retrying in 8 seconds..."
        )
    path = write(tmp_path / "worker.log", lines, mtime=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    events = fast_events(path)
    assert events == reference_events(path)
    assert events[-1].time == datetime(2026, 3, 2, 0, 0, 9, tzinfo=UTC)
    assert_same([path])


def test_time_only_lines_without_any_date_use_the_file_time(
    tmp_path: Path, small_pieces: None
) -> None:
    lines = []
    for second in range(0, 60, 3):
        lines += [f"07:15:{second:02d} default: Job OK (abc)"] * 30
        lines.append(
            f"07:15:{second:02d} ERROR Could not connect to Redis instance: {REFUSED[26:]}"
        )
    path = write(tmp_path / "worker.log", lines, mtime=datetime(2026, 3, 5, 7, 0, tzinfo=UTC))
    assert fast_events(path)[0].time == datetime(2026, 3, 4, 7, 15, tzinfo=UTC)  # yesterday's
    assert_same([path])


def test_tracebacks_straddle_blocks_and_ranges(tmp_path: Path, small_pieces: None) -> None:
    lines: list[str] = []
    for n in range(120):
        lines += list(filler(n % 7))
        lines.append(
            f"2026-03-01 10:00:{n % 60:02d},{n:03d} ERROR [morningai.app] Exception on /api/v1/feed [GET]"
        )
        lines.append("Traceback (most recent call last):")
        lines += FRAMES * (n % 5 + 1)
        lines.append(REFUSED)
        if n % 3 == 0:  # a chained traceback: blank lines and a second error line
            lines += [
                "",
                "The above exception was the direct cause of the following exception:",
                "",
            ]
            lines += ["Traceback (most recent call last):", *FRAMES, REFUSED]
    path = write(tmp_path / "app.log", lines)
    assert os.path.getsize(path) > 4 * 16384  # several ranges, many blocks
    assert len(fast_events(path)) == 120
    assert_same([path])


def test_records_longer_than_the_bounds(tmp_path: Path, small_pieces: None) -> None:
    lines = [
        "2026-03-01 10:00:00,000 ERROR [morningai.app] huge",
        "Traceback (most recent call last):",
    ]
    lines += FRAMES * 400  # past max_lines and max_bytes: head and tail kept, middle dropped
    lines.append(REFUSED)
    lines.append(
        "2026-03-01 10:00:01,000 WARNING "
        + "x" * 70_000
        + " Error 111 connecting to redis:6379. Connection refused."
    )
    lines.append("2026-03-01 10:00:02,000 WARNING redis GET failed (" + REFUSED[26:] + ")")
    lines.append("2026-03-01 10:00:03,000 WARNING redis GET failed (" + REFUSED[26:] + ")")
    path = write(tmp_path / "app.log", lines)
    assert_same([path])


def test_json_lines_with_escapes_and_embedded_tracebacks(
    tmp_path: Path, small_pieces: None
) -> None:
    lines = []
    for n in range(200):
        lines.append(
            json.dumps(
                {
                    "ts": f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}.000Z",
                    "level": "info",
                    "event": "request",
                    "user": "Zoë",
                }
            )
        )
        if n % 4 == 0:
            record = {
                "ts": f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}.500Z",
                "level": "error",
                "error": REFUSED[26:],
            }
            if n % 8 == 0:
                record["exception"] = "\n".join(
                    ["Traceback (most recent call last):", *FRAMES, REFUSED]
                )
            lines.append(json.dumps(record, ensure_ascii=n % 3 == 0))
    # A literal hidden behind \u escapes is still found.
    lines.append(
        '{"ts": "2026-03-01T11:00:00Z", "error": "Error 111 \\u0063onnecting to redis:6379. Connection refused."}'
    )
    lines.append(
        '{"ts": "2026-03-01T11:00:01Z", "error": "Error 111 \\u0063onnecting to redis:6379. Connection refused."}'
    )
    path = write(tmp_path / "app.jsonl", lines)
    assert_same([path])


def test_a_file_with_no_timestamps(tmp_path: Path, small_pieces: None) -> None:
    lines = []
    for n in range(300):
        lines.append(f"plain line {n} with nothing to see")
        if n % 10 == 0:
            lines += ["Traceback (most recent call last):", *FRAMES, REFUSED]
    path = write(tmp_path / "untimed.log", lines, mtime=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert_same([path])


@pytest.mark.parametrize(
    "opener",
    [
        pytest.param(gzip.open, id="gz"),
        pytest.param(bz2.open, id="bz2"),
        pytest.param(lzma.open, id="xz"),
    ],
)
def test_compressed_rotated_siblings(tmp_path: Path, small_pieces: None, opener: object) -> None:
    older: list[str] = []
    for n in range(100):
        older += list(filler(3, f"2026-03-01 09:{n // 60:02d}:{n % 60:02d},000"))
        older.append(
            f"2026-03-01 09:{n // 60:02d}:{n % 60:02d},500 WARNING redis GET failed ({REFUSED[26:]})"
        )
    with opener(tmp_path / "app.log.1.gz", "wt") as fh:  # type: ignore[operator]
        fh.write("\n".join(older) + "\n")
    write(
        tmp_path / "app.log",
        [*filler(50), f"2026-03-01 10:00:01,000 WARNING redis GET failed ({REFUSED[26:]})"],
    )
    fast = assert_same([tmp_path])
    assert fast["stats"]["files"] == 2  # type: ignore[index]


def test_since_until_and_no_trailing_newline(tmp_path: Path, small_pieces: None) -> None:
    lines = []
    for n in range(200):
        lines += list(filler(2, f"2026-03-01 10:{n // 60:02d}:{n % 60:02d},000"))
        lines.append(
            f"2026-03-01 10:{n // 60:02d}:{n % 60:02d},500 WARNING redis GET failed ({REFUSED[26:]})"
        )
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines), encoding="utf-8")  # no newline at the end
    assert_same([path])
    assert_same(
        [path],
        since=datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC),
        until=datetime(2026, 3, 1, 10, 1, 40, tzinfo=UTC),
    )


def test_binary_and_empty_files(tmp_path: Path, small_pieces: None) -> None:
    (tmp_path / "core.log").write_bytes(b"\x7fELF\x00\x00" * 100)
    (tmp_path / "empty.log").write_bytes(b"")
    write(
        tmp_path / "app.log",
        [f"2026-03-01 10:00:0{n},000 WARNING redis GET failed ({REFUSED[26:]})" for n in range(5)],
    )
    fast = assert_same([tmp_path])
    assert fast["stats"]["files"] == 2  # type: ignore[index]


def test_needles_come_from_the_pack() -> None:
    found = fastscan.needles(PACK)
    assert b"connecting to" in found and b"\\u" in found
    assert b"Timeout connecting to" not in found  # found through "connecting to"


def test_several_families_merge_by_time(tmp_path: Path, small_pieces: None) -> None:
    for name, offset in (("app.log", 0), ("worker.log", 1), ("web.log", 2)):
        write(
            tmp_path / name,
            [
                f"2026-03-01 10:00:{n:02d},00{offset} WARNING redis GET failed ({REFUSED[26:]})"
                for n in range(0, 60, 2)
            ],
        )
    fast = assert_same([tmp_path])
    assert fast["stats"]["events"] == 90  # type: ignore[index]


def test_docker_compose_logs_keep_their_times(tmp_path: Path, small_pieces: None) -> None:
    """`docker compose logs` output: each line behind its service's name and a bar. Its
    records are assembled per service (sources/compose.py), so a scan reads it by the
    reference path, as it reads a container runtime's files: the fast path reads raw lines
    and would take each prefixed traceback line for a record of its own. Its exception line
    is the one event, at the time of the request line above it, in its service."""
    lines = []
    for n in range(12):
        lines.append(
            f"web-1    | 2026-03-01 12:00:{n:02d},000 ERROR [app] Exception on /feed [GET]"
        )
        lines.append("web-1    | Traceback (most recent call last):")
        lines += [f"web-1    | {frame}" for frame in FRAMES]
        lines.append(f"web-1    | {REFUSED}")
        lines.append(f"worker-1 | 12:00:{n:02d} default: tasks.refresh() (job {n})")
        lines.append(f"redis-1  | 1:M 01 Mar 2026 12:00:{n:02d}.000 * DB saved on disk")
    log = tmp_path / "compose.log"
    log.write_text("\n".join(lines) + "\n")
    reference = reference_events(log)
    assert wrapped_by_runtime(log)  # the scan's path for it: record by record
    assert [(e.time, e.line) for e in reference] == [
        (datetime(2026, 3, 1, 12, 0, n, tzinfo=UTC), 1 + n * (len(FRAMES) + 5)) for n in range(12)
    ]
    assert {e.rule for e in reference} == {"connection-refused"}


def dated_events(path: Path, *, fast: bool) -> list[Event]:
    """The events of one file with its scan dating (shape learned from its head)."""
    from logwatch.dating import plan_dating

    dating = plan_dating([[path]], CONFIG.timezone)
    if fast:
        (found,) = fastscan.scan_files([[path]], CONFIG, PACK, jobs=2, dating=dating)
        return found.events
    engine = Engine(CONFIG, PACK)
    found_ref = (engine.match(r) for r in read_records(path, CONFIG, Stats(), dating[path]))
    return [e for e in found_ref if e is not None]


_PIECES = {
    "django": lambda n: [
        f"ERROR 2026-03-01 12:{n // 60 % 60:02d}:{n % 60:02d},000 log 7 8 Internal Server Error: /feed"
    ],
    "django-tb": lambda n: [
        f"ERROR 2026-03-01 12:{n // 60 % 60:02d}:{n % 60:02d},500 log 7 8 Internal Server Error: /feed",
        "Traceback (most recent call last):",
        *FRAMES,
        REFUSED,
    ],
    "info": lambda n: [
        f"INFO 2026-03-01 12:{n // 60 % 60:02d}:{n % 60:02d},900 log 7 8 GET /health 200"
    ],
    "quoted": lambda n: [f"Report for 2026-01-0{n % 9 + 1} 00:00:00 failed: {REFUSED}"],
    "gunicorn": lambda n: [
        f"[2026-03-01 12:{n // 60 % 60:02d}:{n % 60:02d} +0000] [9] [ERROR] {REFUSED}"
    ],
    "bare": lambda n: [f"ERROR:root:{REFUSED}"],
    "deep-date": lambda n: [f"ERROR job 1 at 2026-02-0{n % 9 + 1} 00:00:00 {REFUSED}"],
    "two-tokens": lambda n: [f"ERROR report 2026-02-0{n % 9 + 1} 00:00:00 {REFUSED}"],
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=st.lists(st.sampled_from(sorted(_PIECES)), min_size=1, max_size=120))
def test_stamps_after_a_prefix_give_the_same_events_on_both_paths(
    tmp_path_factory: pytest.TempPathFactory, small_pieces: None, kinds: list[str]
) -> None:
    """A Django file (stamps after the level) with gunicorn lines, messages quoting dates,
    stampless lines and tracebacks, cut into tiny blocks and ranges: the fast path finds
    exactly the reference's events, at the reference's times."""
    lines = ["INFO 2026-03-01 11:59:59,000 log 7 8 Starting"]
    for n, kind in enumerate(kinds):
        lines += _PIECES[kind](n)
    log = tmp_path_factory.mktemp("django") / "django.log"
    log.write_text("\n".join(lines) + "\n")
    reference = dated_events(log, fast=False)
    assert dated_events(log, fast=True) == reference
    assert all(e.time.year == 2026 and e.time.month == 3 for e in reference)


def test_a_long_line_full_of_literals_is_looked_back_over_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile line holding a rule's literal thousands of times: the scan looks back to
    the line's start once, not once per hit (which made a 4 MB line take 13 s, a 20 MB
    one minutes). Counted in bytes looked back over, not timed."""
    looked_back = [0]

    class Counting(bytes):
        def rfind(self, sub: object, start: object = None, end: object = None) -> int:  # type: ignore[override]
            found = super().rfind(sub, start, end)  # type: ignore[arg-type]
            looked_back[0] += (end if isinstance(end, int) else len(self)) - found
            return found

    load = filebytes.FileBytes.load
    monkeypatch.setattr(filebytes.FileBytes, "load", lambda self, a, b: Counting(load(self, a, b)))
    hit = "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. "
    line = "2026-03-01 12:00:00,000 ERROR app: " + hit * 3000
    path = write(tmp_path / "app.log", [line, "2026-03-01 12:00:01,000 INFO ok"])
    events = fast_events(path, jobs=1)
    assert len(events) == 1 and events == reference_events(path)
    assert looked_back[0] <= 4 * len(line)  # quadratic: ~3000 times the line
