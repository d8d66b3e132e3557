"""Where a scanned record's time comes from: own stamps, a sibling's date, --date, the mtime.

Copied logs (scp, kubectl cp, a git clone) carry the copy's mtime; a scan must report the
same incidents whatever the files' mtimes, and say how it dated each file.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DAY = datetime(2026, 3, 1, tzinfo=UTC)
REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."
)


def scan(*args: str, stdin: bytes | None = None) -> dict[str, object]:
    result = CliRunner().invoke(main, ["scan", "--format", "json", *args], input=stdin, env={})
    assert result.exit_code in (0, 1), result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def both_paths(*args: str) -> dict[str, object]:
    """The fast path's report, checked equal to the reference path's (timing aside)."""
    fast = scan(*args)
    reference = scan("--reference", *args)
    assert fast["incidents"] == reference["incidents"]
    assert fast["dating"] == reference["dating"]
    assert fast["undated"] == reference["undated"]
    return fast


def spans(report: dict[str, object]) -> list[tuple[str, str, str, int]]:
    incidents = report["incidents"]
    assert isinstance(incidents, list)
    return [(i["category"], i["first_seen"], i["last_seen"], i["events"]) for i in incidents]


def set_mtime(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def copy_tree(src: Path, dst: Path, mtime: datetime | None) -> Path:
    shutil.copytree(src, dst)
    for p in dst.rglob("*"):
        if p.is_file():
            set_mtime(p, mtime or datetime.now(UTC))
    return dst


# -- the committed examples whatever their mtimes -------------------------------------------


EXAMPLE_DIRS = [EXAMPLES / "morningai" / "logs", *sorted((EXAMPLES / "outages").iterdir())]


@pytest.mark.parametrize("example", EXAMPLE_DIRS, ids=[p.name for p in EXAMPLE_DIRS])
def test_examples_scan_the_same_whatever_the_files_mtimes(tmp_path: Path, example: Path) -> None:
    """A clone, a copy, a restore: mtimes of now, of a year later, or of their own day."""
    reports = []
    for n, mtime in enumerate([None, datetime(2027, 11, 26, 3, tzinfo=UTC), None]):
        copy = copy_tree(example, tmp_path / str(n), mtime)
        if n == 2:  # the mtimes the files had on the server: their last record's time
            for p in copy.iterdir():
                set_mtime(p, datetime(2026, 11, 26, 23, 59, tzinfo=UTC))
        reports.append(both_paths("--quiet-period", "5s", str(copy)))
    first = spans(reports[0])
    assert first, "the example holds outages"
    assert all(spans(r) == first for r in reports[1:])
    for _cat, first_seen, _last, _n in first:
        assert first_seen.startswith("2026-11-26"), first_seen
    worker = [how for name, how in reports[0]["dating"].items() if name.endswith("worker.log")]  # type: ignore[union-attr]
    assert worker and all("dated from" in how and "app.log" in how for how in worker)


def test_morningai_example_is_its_three_outages() -> None:
    report = both_paths("--quiet-period", "5s", str(EXAMPLES / "morningai" / "logs"))
    incidents = report["incidents"]
    assert isinstance(incidents, list)
    assert [(i["category"], i["status"]) for i in incidents] == [
        ("connection", "resolved"),
        ("oom", "resolved"),
        ("auth", "resolved"),
    ]


# -- time-only files ---------------------------------------------------------------------------


def app_log(path: Path, start: datetime, minutes: int) -> None:
    """A dated app log: a request line a minute for `minutes` minutes."""
    lines = [
        f"{(start + timedelta(minutes=m)):%Y-%m-%d %H:%M:%S},000 INFO [app] GET /feed 200"
        for m in range(minutes)
    ]
    path.write_text("\n".join(lines) + "\n")


def worker_log(path: Path, start: datetime, errors: int = 5) -> None:
    """An RQ worker log: time-only stamps, a refused-connection burst at `start`."""
    lines = [f"{start - timedelta(minutes=5):%H:%M:%S} Worker w1: started, version 1.16.2"]
    lines += [
        f"{start + timedelta(seconds=s):%H:%M:%S} Worker w1: could not connect to Redis instance:"
        f" Error 111 connecting to redis:6379. Connection refused. retrying in {s + 1} seconds..."
        for s in range(errors)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_time_only_file_takes_its_date_from_the_dated_file_beside_it(tmp_path: Path) -> None:
    app_log(tmp_path / "app.log", DAY + timedelta(hours=9), 240)
    worker_log(tmp_path / "worker.log", DAY + timedelta(hours=11))
    set_mtime(tmp_path / "worker.log", DAY + timedelta(days=4, hours=13))  # copied later
    report = both_paths(str(tmp_path))
    ((category, first_seen, _, events),) = spans(report)
    assert (category, events) == ("connection", 5)
    assert first_seen == "2026-03-01T11:00:00+00:00"
    assert report["dating"] == {
        str(tmp_path / "app.log"): "own timestamps",
        str(tmp_path / "worker.log"): "time-only stamps dated from app.log",
    }


def test_time_only_date_nearest_in_time_of_day_not_the_mtime_day(tmp_path: Path) -> None:
    """The app log ran 22:00 to 02:00; a worker error at 23:30 is on the first day, one at
    01:30 on the next, whatever day the copy's mtime says."""
    app_log(tmp_path / "app.log", DAY + timedelta(hours=22), 240)
    for name, hour in (("late.log", 23.5), ("early.log", 25.5)):
        worker_log(tmp_path / name, DAY + timedelta(hours=hour))
        set_mtime(tmp_path / name, DAY + timedelta(days=30))
    report = both_paths(str(tmp_path))
    firsts = sorted(first for _, first, _, _ in spans(report))
    assert firsts == ["2026-03-01T23:30:00+00:00", "2026-03-02T01:30:00+00:00"]


def test_time_only_date_prefers_its_own_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    app_log(tmp_path / "a" / "app.log", DAY + timedelta(hours=10), 120)
    app_log(tmp_path / "b" / "app.log", DAY + timedelta(days=1, hours=10), 120)
    worker_log(tmp_path / "b" / "worker.log", DAY + timedelta(hours=11))
    report = both_paths(str(tmp_path))
    ((_, first_seen, _, _),) = spans(report)
    assert first_seen == "2026-03-02T11:00:00+00:00"


def test_date_option_fixes_the_date_of_time_only_files(tmp_path: Path) -> None:
    app_log(tmp_path / "app.log", DAY + timedelta(hours=9), 240)
    worker_log(tmp_path / "worker.log", DAY + timedelta(hours=11))
    report = both_paths("--date", "2026-02-14", str(tmp_path))
    ((_, first_seen, _, _),) = spans(report)
    assert first_seen == "2026-02-14T11:00:00+00:00"
    assert report["dating"][str(tmp_path / "worker.log")] == "time-only stamps dated by --date"  # type: ignore[index]


def test_time_only_file_alone_falls_back_on_its_mtime_and_says_so(tmp_path: Path) -> None:
    worker_log(tmp_path / "worker.log", DAY + timedelta(hours=11))
    set_mtime(tmp_path / "worker.log", DAY + timedelta(hours=12))
    report = both_paths(str(tmp_path))
    ((_, first_seen, _, _),) = spans(report)
    assert first_seen == "2026-03-01T11:00:00+00:00"
    assert "modification time" in report["dating"][str(tmp_path / "worker.log")]  # type: ignore[index]
    table = CliRunner().invoke(main, ["scan", str(tmp_path)], env={})
    assert "worker.log: time-only stamps dated by the file's modification time" in table.stdout


def test_bad_date_option_is_one_line() -> None:
    result = CliRunner().invoke(main, ["scan", "--date", "yesterday", "."], env={})
    assert result.exit_code == 2
    assert "--date" in result.output and "Traceback" not in result.output


# -- files with no stamps at all ---------------------------------------------------------


def test_stampless_file_is_undated_evidence_and_never_stretches_an_incident(
    tmp_path: Path,
) -> None:
    """supervisor-captured stderr: Python's default `ERROR:root:msg`, no time at all."""
    lines = [
        f"{DAY + timedelta(hours=9, seconds=s):%Y-%m-%d %H:%M:%S},000 ERROR [app] {REFUSED}"
        for s in range(5)
    ]
    lines.append(f"{DAY + timedelta(hours=10):%Y-%m-%d %H:%M:%S},000 INFO [app] all good")
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")
    stderr = tmp_path / "worker-stderr.log"
    stderr.write_text(
        "INFO:rq.worker:Worker started\n" + f"ERROR:root:{REFUSED.split(': ', 1)[1]}\n" * 7
    )
    set_mtime(stderr, DAY + timedelta(days=2))
    report = both_paths(str(tmp_path))
    ((category, first_seen, last_seen, events),) = spans(report)
    assert (category, events) == ("connection", 5)
    assert (first_seen, last_seen) == ("2026-03-01T09:00:00+00:00", "2026-03-01T09:00:04+00:00")
    (undated,) = report["undated"]  # type: ignore[misc]
    assert undated["events"] == 7
    assert undated["sources"] == {str(stderr): 7}
    assert undated["category"] == "connection"
    assert report["dating"][str(stderr)].startswith("no timestamps")  # type: ignore[index]
    table = CliRunner().invoke(main, ["scan", str(tmp_path)], env={})
    assert "Undated evidence: 7 matches" in table.stdout


def test_stampless_file_alone_opens_nothing(tmp_path: Path) -> None:
    (tmp_path / "stderr.log").write_text(f"ERROR:root:{REFUSED}\n" * 50)
    result = CliRunner().invoke(main, ["scan", "--format", "json", str(tmp_path)], env={})
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["incidents"] == []
    assert report["undated"][0]["events"] == 50


# -- pipes and standard input ----------------------------------------------------------


def outage_log(path: Path) -> bytes:
    lines = [
        f"{DAY + timedelta(seconds=s):%Y-%m-%d %H:%M:%S},000 ERROR [app] {REFUSED}"
        for s in range(0, 60, 2)
    ]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
def test_scan_of_gzipped_stdin_equals_scan_of_the_file(tmp_path: Path, reference: bool) -> None:
    data = outage_log(tmp_path / "app.log")
    flag = ["--reference"] if reference else []
    from_file = scan(*flag, str(tmp_path / "app.log"))
    piped = scan(*flag, "-", stdin=gzip.compress(data))
    assert spans(piped) == spans(from_file)
    (incident,) = piped["incidents"]  # type: ignore[misc]
    assert incident["sources"] == {"<stdin>": 30}


def test_scan_of_a_named_fifo_reads_it(tmp_path: Path) -> None:
    data = outage_log(tmp_path / "app.log")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the writer, as a shell's process substitution would be
        try:
            with open(fifo, "wb") as fh:
                fh.write(data)
        finally:
            os._exit(0)
    try:
        report = scan(str(fifo))
    finally:
        os.waitpid(pid, 0)
    (incident,) = report["incidents"]  # type: ignore[misc]
    assert incident["events"] == 30
    assert incident["sources"] == {str(fifo): 30}


def test_scan_of_a_directory_holding_a_fifo_finishes(tmp_path: Path) -> None:
    outage_log(tmp_path / "app.log")
    os.mkfifo(tmp_path / "app.log.fifo")
    result = CliRunner().invoke(main, ["scan", "--format", "json", str(tmp_path)], env={})
    assert result.exit_code == 1
    assert json.loads(result.stdout)["incidents"][0]["events"] == 30
    assert "not a regular file (FIFO), skipped" in result.stderr


def test_binary_stdin_is_an_error_not_no_redis_errors() -> None:
    result = CliRunner().invoke(main, ["scan", "-"], input=b"\x00\x01\x02" * 2000, env={})
    assert result.exit_code == 2
    assert "nothing could be read" in result.stderr


def test_stdin_twice_is_refused() -> None:
    result = CliRunner().invoke(main, ["scan", "-", "-"], input=b"x\n", env={})
    assert result.exit_code == 2
    assert "only once" in result.stderr


# -- plan_dating directly: references past the head, the report's names ---------------------


def _reference_past_its_head(path: Path, prefix: str = "ERROR ") -> None:
    """A dated file longer than the head read (64 KB), from 03-01 00:00 to 03-03 12:00,
    its last stamp only in its tail and on a last line without a newline."""
    start, step = datetime(2026, 3, 1), timedelta(seconds=60)
    rows = [
        f"{prefix}{(start + n * step):%Y-%m-%d %H:%M:%S},000 app: {'x' * 40}" for n in range(1500)
    ]
    rows.append(f"{prefix}2026-03-03 12:00:00,000 app: the last")
    path.write_text("\n".join(rows))
    assert path.stat().st_size > 64 << 10


@pytest.mark.parametrize("prefix", ["", "ERROR "])
def test_a_reference_longer_than_its_head_spans_to_its_last_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    """10:00 falls inside app.log's span on 03-01, 03-02 and 03-03 (its last stamp, past
    the head): the worker's mtime picks 03-03. Read in the configured zone, whatever the
    machine's (here UTC+14)."""
    import time as systime

    from logwatch.dating import plan_dating

    _reference_past_its_head(tmp_path / "app.log", prefix)
    worker = tmp_path / "worker.log"
    worker.write_text("10:00:00 default: Job failed\n")
    set_mtime(worker, datetime(2026, 3, 3, 11, tzinfo=UTC))
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    systime.tzset()
    try:
        plan = plan_dating([[tmp_path / "app.log"], [worker]], UTC)
    finally:
        monkeypatch.undo()
        systime.tzset()
    assert plan[worker].file_time == datetime(2026, 3, 3, 10, tzinfo=UTC)
    assert plan[worker].how == "time-only stamps dated from app.log"


@pytest.mark.parametrize(
    ("count", "named"),
    [
        (3, "a0.log, a1.log, a2.log"),
        (4, "a0.log, a1.log, a2.log and 1 more"),
        (5, "a0.log, a1.log, a2.log and 2 more"),
    ],
)
def test_the_report_names_three_reference_files_at_most(
    tmp_path: Path, count: int, named: str
) -> None:
    from logwatch.dating import plan_dating

    for n in range(count):
        (tmp_path / f"a{n}.log").write_text(f"2026-03-01 0{n}:00:00 x\n")
    worker = tmp_path / "worker.log"
    worker.write_text("10:00:00 job\n")
    families = [[tmp_path / f"a{n}.log"] for n in range(count)] + [[worker]]
    plan = plan_dating(families, UTC)
    assert plan[worker].how == f"time-only stamps dated from {named}"


def test_a_family_member_without_a_full_stamp_is_passed_over(tmp_path: Path) -> None:
    """The rotation family answers first, past a member that has no full stamp of its own."""
    from logwatch.dating import plan_dating

    old = tmp_path / "old"
    old.mkdir()
    (tmp_path / "w.log").write_text("10:00:00 job\n")
    (tmp_path / "w.log.1").write_text("09:00:00 job\n")
    (old / "w.log.2").write_text("2026-01-10 08:00:00 x\n")
    (tmp_path / "other.log").write_text("2026-03-01 08:00:00 x\n")
    families = [
        [tmp_path / "w.log", tmp_path / "w.log.1", old / "w.log.2"],
        [tmp_path / "other.log"],
    ]
    plan = plan_dating(families, UTC)
    assert plan[tmp_path / "w.log"].file_time == datetime(2026, 1, 10, 10, tzinfo=UTC)
    assert plan[tmp_path / "w.log.1"].file_time == datetime(2026, 1, 10, 9, tzinfo=UTC)


def test_overlapping_references_cover_their_union_for_every_time_only_file(tmp_path: Path) -> None:
    """a.log 03-01 00:00-20:00 and b.log 03-01 10:00-03-03 00:00 cover 03-01 05:00 as one
    span; the mtimes (03-01 06:00) pick that day for both time-only files of the directory."""
    from logwatch.dating import plan_dating

    (tmp_path / "a.log").write_text("2026-03-01 00:00:00 x\n2026-03-01 20:00:00 y\n")
    (tmp_path / "b.log").write_text("2026-03-01 10:00:00 x\n2026-03-03 00:00:00 y\n")
    workers = [tmp_path / "w1.log", tmp_path / "w2.log"]
    for worker in workers:
        worker.write_text("05:00:00 job\n")
        set_mtime(worker, datetime(2026, 3, 1, 6, tzinfo=UTC))
    far = tmp_path / "far"  # a dated file elsewhere: the directory answers first
    far.mkdir()
    (far / "c.log").write_text("2020-01-01 00:00:00 x\n")
    families = [
        [tmp_path / "a.log"],
        [tmp_path / "b.log"],
        [far / "c.log"],
        *([w] for w in workers),
    ]
    plan = plan_dating(families, UTC)
    for worker in workers:
        assert plan[worker].file_time == datetime(2026, 3, 1, 5, tzinfo=UTC)
        assert plan[worker].how == "time-only stamps dated from a.log, b.log"


@pytest.fixture(name="machine_zone")
def machine_zone_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own zone is UTC+14: dating must use the configured zone only."""
    import time as systime

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    systime.tzset()
    yield
    monkeypatch.undo()
    systime.tzset()


PARIS = ZoneInfo("Europe/Paris")  # UTC+1 in March


def test_read_head_says_what_a_files_first_and_last_lines_hold(
    tmp_path: Path, machine_zone: None
) -> None:
    from logwatch.dating import FileHead, read_head
    from logwatch.stampshape import START, StampShape

    def head_of(name: str, text: str) -> FileHead:
        path = tmp_path / name
        path.write_text(text)
        set_mtime(path, DAY)
        return read_head(path, PARIS)

    utc = partial(datetime, tzinfo=UTC)
    dated = head_of(
        "a.log", "08:00:00 a\n09:00:00 b\n2026-03-01 10:00:00 c\nmore\n2026-03-01 11:00:00 d\nend"
    )
    assert dated == FileHead(path=tmp_path / "a.log", shape=START, first=utc(2026, 3, 1, 9),
                             last=utc(2026, 3, 1, 10), clock=time(8), mtime=DAY)  # fmt: skip
    django = head_of("d.log", "ERROR 2026-03-01 10:00:00,000 x\nERROR 2026-03-01 12:00:00,000 y\n")
    assert django == FileHead(path=tmp_path / "d.log", shape=StampShape(1), first=utc(2026, 3, 1, 9),
                              last=utc(2026, 3, 1, 11), clock=None, mtime=DAY)  # fmt: skip
    syslog = head_of("s.log", "Mar  2 08:00:00 host x\n")
    assert syslog == FileHead(path=tmp_path / "s.log", shape=START, first=None, last=None,
                              clock=time(8), month=3, day=2, mtime=DAY)  # fmt: skip
    one = head_of("w.log", "08:00:00 job")  # one line, no newline
    assert one.clock == time(8) and one.first is None
    missing = read_head(tmp_path / "gone.log", PARIS)
    assert missing == FileHead(path=tmp_path / "gone.log", shape=START, first=None, last=None,
                               clock=None, mtime=None)  # fmt: skip
    unreadable = read_head(tmp_path, PARIS)  # a directory: its mtime, nothing read
    assert unreadable == FileHead(path=tmp_path, shape=START, first=None, last=None, clock=None,
                                  mtime=datetime.fromtimestamp(tmp_path.stat().st_mtime, UTC))  # fmt: skip


def test_time_only_lines_before_a_files_first_full_stamp_take_its_date(
    tmp_path: Path, machine_zone: None
) -> None:
    from logwatch.dating import OWN, plan_dating

    path = tmp_path / "w.log"
    path.write_text("23:30:00 a\n2026-03-02 00:10:00 b\n")
    plan = plan_dating([[path]], PARIS)
    assert (
        plan[path].file_time == datetime(2026, 3, 1, 22, 30, tzinfo=UTC) and plan[path].how == OWN
    )


def test_a_compressed_reference_spans_to_its_last_stamp(tmp_path: Path, machine_zone: None) -> None:
    from logwatch.dating import plan_dating

    ref = tmp_path / "app.log.1.gz"
    ref.write_bytes(gzip.compress(b"2026-03-01 00:00:00 a\n2026-03-03 12:00:00 z\n"))
    worker = tmp_path / "worker.log"
    worker.write_text("10:00:00 job\n")
    set_mtime(worker, datetime(2026, 3, 3, 11, tzinfo=UTC))
    plan = plan_dating([[ref], [worker]], UTC)
    assert plan[worker].file_time == datetime(2026, 3, 3, 10, tzinfo=UTC)


def test_a_clock_just_past_midnight_after_the_last_record_is_the_next_day(tmp_path: Path) -> None:
    from logwatch.dating import plan_dating

    (tmp_path / "app.log").write_text("2026-03-03 23:00:00 a\n2026-03-03 23:50:00 b\n")
    worker = tmp_path / "worker.log"
    worker.write_text("00:05:00 job\n")
    plan = plan_dating([[tmp_path / "app.log"], [worker]], UTC)
    assert plan[worker].file_time == datetime(2026, 3, 4, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reference", "line", "expected"),
    [
        ("2025-03-01 00:00:00 a\n2025-03-03 00:00:00 b\n", "Mar  2 08:00:00 h x",
         datetime(2025, 3, 2, 8, tzinfo=UTC)),
        # 29 Feb exists in 2024 only: the common year among the candidates is passed over.
        ("2023-12-31 23:00:00 a\n2024-01-01 01:00:00 b\n", "Feb 29 08:00:00 h x",
         datetime(2024, 2, 29, 8, tzinfo=UTC)),
        # No leap year near the references: the file's mtime dates it.
        ("2025-03-01 00:00:00 a\n", "Feb 29 08:00:00 h x", None),
    ],
)  # fmt: skip
def test_year_less_files_take_the_year_of_the_references(
    tmp_path: Path, reference: str, line: str, expected: datetime | None
) -> None:
    from logwatch.dating import MTIME, plan_dating

    (tmp_path / "app.log").write_text(reference)
    syslog = tmp_path / "syslog"
    syslog.write_text(line + "\n")
    set_mtime(syslog, DAY)
    plan = plan_dating([[tmp_path / "app.log"], [syslog]], UTC)
    if expected is None:
        assert plan[syslog].how == MTIME and plan[syslog].file_time == DAY
    else:
        assert plan[syslog].file_time == expected


def test_a_missing_file_is_undated_with_an_aware_time(tmp_path: Path) -> None:
    from logwatch.dating import NONE, plan_dating

    plan = plan_dating([[tmp_path / "gone.log"]], UTC)
    assert plan[tmp_path / "gone.log"].how == NONE and plan[tmp_path / "gone.log"].undated
    assert plan[tmp_path / "gone.log"].file_time.tzinfo is not None


def test_the_date_option_is_read_in_the_configured_zone(tmp_path: Path, machine_zone: None) -> None:
    from datetime import date

    from logwatch.dating import GIVEN, plan_dating

    worker = tmp_path / "worker.log"
    worker.write_text("10:00:00 job\n")
    plan = plan_dating([[worker]], PARIS, given=date(2026, 3, 5))
    assert plan[worker].how == GIVEN
    assert plan[worker].file_time == datetime(2026, 3, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "first"),
    [
        (b'{"ts": "2026-03-01T12:00:00Z", "msg": "x"}\n', datetime(2026, 3, 1, 12, tzinfo=UTC)),
        (b'{"ts": "2026-03-01T12:00:00Z", "msg": "x"}\r\n', datetime(2026, 3, 1, 12, tzinfo=UTC)),
        (b"2026-03-01 12:00:00 config {a: 1}\n", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        (b"\xff\xfe junk\n2026-03-01 12:00:00 \xe9t\xe9\n", datetime(2026, 3, 1, 12, tzinfo=UTC)),
    ],
    ids=["json", "json-crlf", "brace-at-end", "not-utf8"],
)
def test_files_are_dated_by_their_own_stamps(
    tmp_path: Path, content: bytes, first: datetime
) -> None:
    from logwatch.dating import OWN, plan_dating, read_head

    path = tmp_path / "app.log"
    path.write_bytes(content)
    assert read_head(path, UTC).first == first
    assert plan_dating([[path]], UTC)[path].how == OWN


def test_a_json_line_stamped_in_a_year_no_log_holds_is_no_stamp(tmp_path: Path) -> None:
    """Found by mutation testing: dating took year 9999 from a JSON field for the file's
    time, the untimed record took it, and the scan crashed with an OverflowError."""
    from logwatch.dating import read_head

    path = tmp_path / "app.log"
    path.write_text(
        '{"time": "9999-12-31T23:59:59Z", "msg": "' + REFUSED + '"}\n'
        '{"time": "0001-01-01T00:00:00Z", "msg": "x"}\n'
        f"2026-03-01 12:00:00,000 ERROR {REFUSED}\n"
    )
    assert read_head(path, UTC).first == datetime(2026, 3, 1, 12, tzinfo=UTC)
    report = both_paths(str(path))
    assert report["incidents"]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ('{"ts": "2026-03-01T13:00:00", "msg": "x"}\n', datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("1900-01-01 01:00:00 x\n", datetime(1900, 1, 1, 0, 50, 39, tzinfo=UTC)),
        ("9000-12-31 01:00:00 x\n", datetime(9000, 12, 31, tzinfo=UTC)),
        ("1899-12-31 23:00:00 x\n", None),
        ("9001-01-01 01:00:00 x\n", None),
        ('{"ts": "1900-01-01T00:00:00Z"}\n', datetime(1900, 1, 1, tzinfo=UTC)),
        ('{"ts": "9000-12-31T00:00:00Z"}\n', datetime(9000, 12, 31, tzinfo=UTC)),
        ('{"ts": "1899-12-31T00:00:00Z"}\n', None),
        ('{"ts": "9001-01-01T00:00:00Z"}\n', None),
        ("Xapp ERROR 2026-03-01 13:00:00,000 x\n", datetime(2026, 3, 1, 12, tzinfo=UTC)),
    ],
)
def test_first_stamps_in_the_configured_zone_and_the_years_a_log_can_hold(
    tmp_path: Path, machine_zone: None, text: str, first: datetime | None
) -> None:
    from logwatch.dating import read_head

    path = tmp_path / "app.log"
    path.write_text(text)
    assert read_head(path, PARIS).first == first


# -- a file's first stamp wherever it is: past its head too ------------------------------------

# Lines that hold no stamp, some with a clock inside or a JSON object without a time (what
# the byte searches for candidate lines stop at), and long ones (longer than a read).
_UNDATED = [
    'INFO:     172.18.0.1:40000 - "GET /api/v1/feed HTTP/1.1" 200 OK',
    "INFO:rq.worker:Job OK (took 00:00:12)",
    '{"level": "info", "msg": "no time 10:00:00"}',
    "1234 items took 00:00:03",
    "",
    "  at 12:00:00",
]
TIME_ONLY = "14:50:01 ERROR worker: failed"
# First stamped lines of every kind the byte searches look for: a clock (ISO, after a
# prefix, time-only, syslog), an epoch, a JSON time, journalctl's export.
_FIRST = [
    "2026-11-26 14:50:01,000 ERROR app: enqueue failed",
    "ERROR 2026-11-26 14:50:01,000 log 7 Internal Server Error: /api/v1/feed",
    TIME_ONLY,
    "Nov 26 14:50:01 host app: failed",
    "1764168601.25 ERROR app: failed",
    '{"asctime": "2026-11-26 14:50:01,000", "levelname": "ERROR"}',
    "__REALTIME_TIMESTAMP=1764168601000000",
]


def _undated_lines() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_UNDATED), st.integers(1, 1500).map(lambda n: "x" * n))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(_undated_lines(), max_size=40),
    first=st.sampled_from(_FIRST),
    after=st.lists(st.one_of(_undated_lines(), st.sampled_from(_FIRST)), max_size=6),
    stamped=st.booleans(),
    head_bytes=st.sampled_from([256, 1000]),
    chunk=st.sampled_from([100, 333, 4096]),
    newline=st.sampled_from(["\n", "\r\n"]),
    compressed=st.booleans(),
)
def test_a_files_first_stamp_is_found_wherever_it_is(
    before: list[str],
    first: str,
    after: list[str],
    stamped: bool,
    head_bytes: int,
    chunk: int,
    newline: str,
    compressed: bool,
) -> None:
    """Past a head of undated lines (the head's size and the reads' made small here), the
    file reads as if it started at its first stamped line: the same first and last
    stamps, clock and shape; with no stamped line at all, it is undated."""
    import tempfile

    from logwatch import dating

    def head_of(path: Path, text: str, gz: bool) -> dating.FileHead:
        data = text.encode()
        if gz:
            path = path.with_suffix(".log.gz")
            data = gzip.compress(data)
        path.write_bytes(data)
        return dating.read_head(path, PARIS)

    def said(h: dating.FileHead) -> tuple[object, ...]:
        return (h.first, h.last, h.clock, h.month, h.day, h.shape)

    from logwatch.stampshape import line_shape

    assert all(line_shape(line, PARIS) is None for line in before)
    undated = newline.join(before) + newline if before else ""
    rest = newline.join([first, *after]) if stamped else ""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setattr(dating, "HEAD_BYTES", head_bytes)
        mp.setattr(dating, "_CHUNK", chunk)
        got = head_of(Path(tmp) / "app.log", undated + rest, compressed)
        model = head_of(Path(tmp) / "model.log", rest, False)
    if not stamped:
        assert (got.first, got.clock) == (None, None)
    elif len(undated) + len(first) + len(newline) > head_bytes:  # no stamped line in the head
        assert said(got) == said(model)
    elif first == TIME_ONLY:
        # A time-only first line in the head: its date comes from a dated line, which the
        # model (no undated lines before) may hold in its head where this file does not.
        assert got.clock == model.clock
        assert got.first in (model.first, None)
    else:
        assert (got.first, got.clock) == (model.first, model.clock)


@pytest.mark.parametrize(
    "inside",
    [
        "2026-11-26 14:50:09,000 ERROR app: quoted in a message",
        "14:50:09 ERROR worker: quoted",
        '{"time": "2026-11-26T14:50:09Z"}',
        "1764168609 ERROR quoted",
    ],
)
def test_a_stamp_inside_a_line_longer_than_a_read_is_no_first_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    """Past the head, a line longer than a read is looked at from its start; the rest of
    it, wherever a read cuts it, starts no line: a stamp quoted inside it was taken for
    the file's first when a read began just there."""
    from logwatch import dating

    monkeypatch.setattr(dating, "HEAD_BYTES", 256)
    monkeypatch.setattr(dating, "_CHUNK", 100)
    path = tmp_path / "app.log"
    for quoted_at in range(300, 420):
        line = "y" * quoted_at + inside
        path.write_text("x" * 299 + "\n" + line + "\n2026-11-26 15:00:00,000 ERROR app: first\n")
        head = dating.read_head(path, UTC)
        assert (head.first, head.clock) == (datetime(2026, 11, 26, 15, tzinfo=UTC), None)
