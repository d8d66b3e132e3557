"""Container logs: a real redis-py outage written as Docker's json-file and CRI files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.cli import main
from logwatch.config import Config
from logwatch.model import LogLine, Record
from logwatch.pipeline import Stats, read_records
from logwatch.records import assemble
from logwatch.sources.container import (
    ContainerAssembler,
    ContainerFormat,
    container_format,
    parse_entry,
    parse_time,
)
from logwatch.sources.history import expand_paths
from logwatch.sources.tail import Tailer
from tests.container_rig import docker_dir, entry, pod_log, wrap

REPO = Path(__file__).resolve().parent.parent
APP_LOG = REPO / "examples" / "outages" / "connection" / "app.log"
APP_LINES = APP_LOG.read_text().splitlines()
FORMATS = [pytest.param("docker", id="docker-json-file"), pytest.param("cri", id="cri")]


def scan_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["scan", "--format", "json", *args], env={})
    assert result.exit_code in (0, 1), result.output
    out: dict[str, object] = json.loads(result.stdout)
    return out


def incidents(report: dict[str, object]) -> list[tuple[object, ...]]:
    found = report["incidents"]
    assert isinstance(found, list)
    return [
        (i["category"], i["target"], i["first_seen"], i["last_seen"], i["events"]) for i in found
    ]


def plain_records() -> list[Record]:
    return list(read_records(APP_LOG, Config(), Stats()))


def _write(fmt: str, tmp_path: Path) -> Path:
    path = docker_dir(tmp_path / "containers") if fmt == "docker" else pod_log(tmp_path / "pods")
    path.write_text(wrap(APP_LINES, fmt))
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrapped_outage_is_the_same_incident_as_the_plain_log(fmt: str, tmp_path: Path) -> None:
    path = _write(fmt, tmp_path)
    plain = incidents(scan_json(str(APP_LOG)))
    assert len(plain) == 1
    wrapped = scan_json(str(tmp_path))
    assert incidents(wrapped) == plain
    (incident,) = wrapped["incidents"]  # type: ignore[misc]
    name = "docker/morningai-api" if fmt == "docker" else "k8s/prod/morningai-web-7c9f/api"
    assert incident["sources"] == {f"{name}:stderr": incident["events"]}
    assert path.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_tracebacks_are_whole_records_with_the_runtime_time(fmt: str, tmp_path: Path) -> None:
    path = _write(fmt, tmp_path)
    records = list(read_records(path, Config(), Stats()))
    errors = [r for r in records if r.source.endswith(":stderr")]
    health = [r for r in records if r.source.endswith(":stdout")]
    plain = plain_records()
    assert [r.text for r in errors] == [r.text for r in plain]  # unwrapped, pieces joined
    assert [r.time for r in errors] == [r.time for r in plain]
    assert all(r.timed for r in errors)
    assert health and all(r.text.startswith("10.0.0.7 - - GET /healthz") for r in health)
    # A health line has no stamp of its own: it gets the runtime's, to the microsecond.
    assert health[0].time == plain[0].time


@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_any_split_into_pieces_gives_the_same_records(data: st.DataObject) -> None:
    """However the runtime cut the lines (and interleaved the other stream), the records
    of a stream are those of the app's plain lines."""
    lines = APP_LINES[:40]
    fmt = data.draw(st.sampled_from(["docker", "cri"]))
    seed = data.draw(st.integers(0, 10_000))
    split_over = data.draw(st.integers(1, 120))
    text = wrap(lines, fmt, seed=seed, split_over=split_over)
    got = _assemble(text, ContainerFormat(fmt))
    want = list(assemble(_lines("\n".join(lines) + "\n"), source="x", file_time=_T0))
    assert [r.text for r in got if r.source == "x:stderr"] == [r.text for r in want]


_T0 = datetime(2026, 11, 26, tzinfo=UTC)


def _lines(text: str) -> list[LogLine]:
    out, offset = [], 0
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        out.append(LogLine(text=line.rstrip("\n"), number=n, offset=offset, end=offset + len(line)))
        offset += len(line)
    return out


def _assemble(text: str, fmt: ContainerFormat) -> list[Record]:
    assembler = ContainerAssembler(fmt=fmt, source="x", file_time=_T0)
    records: list[Record] = []
    for line in _lines(text):
        records += assembler.feed(line)
    return records + assembler.flush()


@pytest.mark.parametrize(
    ("line", "fmt", "stream", "text", "partial"),
    [
        pytest.param(
            '{"log":"a\\n","stream":"stderr","time":"2026-03-01T12:00:00.1Z"}',
            ContainerFormat.DOCKER,
            "stderr",
            "a",
            False,
            id="docker-full",
        ),
        pytest.param(
            '{"log":"a","stream":"stdout","time":"2026-03-01T12:00:00.123456789Z"}',
            ContainerFormat.DOCKER,
            "stdout",
            "a",
            True,
            id="docker-partial",
        ),
        pytest.param(
            "2026-03-01T12:00:00.123456789+01:00 stderr P  indented",
            ContainerFormat.CRI,
            "stderr",
            " indented",
            True,
            id="cri-partial",
        ),
        pytest.param(
            "2026-03-01T12:00:00Z stdout F",
            ContainerFormat.CRI,
            "stdout",
            "",
            False,
            id="cri-empty-line",
        ),
    ],
)
def test_entries_parse(
    line: str, fmt: ContainerFormat, stream: str, text: str, partial: bool
) -> None:
    parsed = parse_entry(line, fmt)
    assert parsed is not None
    assert (parsed.stream, parsed.text, parsed.partial) == (stream, text, partial)
    assert parsed.time is not None and parsed.time.tzinfo is UTC


def test_runtime_time_keeps_microseconds_and_offset() -> None:
    assert parse_time("2026-03-01T12:00:00.123456789+01:00") == datetime(
        2026, 3, 1, 11, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_time("2026-03-01 12:00:00Z") is None


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"2026-03-01 12:00:00,000 INFO [app] ok\n", id="python-logging"),
        pytest.param(b'{"time": "2026-03-01T12:00:00Z", "message": "ok"}\n', id="json-lines"),
        pytest.param(b'{"log":"ok\\n","stream":"stdout"', id="no-complete-line"),
        pytest.param(b"2026-03-01T12:00:00Z INFO F ok\n", id="iso-then-words"),
    ],
)
def test_other_logs_are_not_taken_for_a_runtime(head: bytes) -> None:
    assert container_format(head) is None


def test_a_split_line_is_bounded(tmp_path: Path) -> None:
    """A line that never ends keeps its head up to max_bytes, marked truncated."""
    assembler = ContainerAssembler(
        fmt=ContainerFormat.CRI, source="x", file_time=_T0, max_bytes=1000
    )
    text = "".join(
        entry("cri", "stderr", _T0, "y" * 100, partial=True) for _ in range(1000)
    ) + entry("cri", "stderr", _T0, "end", partial=False)
    records: list[Record] = []
    for line in _lines(text):
        records += assembler.feed(line)
    records += assembler.flush()
    (record,) = records
    assert record.truncated and len(record.text) <= 1000


def test_watching_docker_containers_reads_only_the_logs_in_rotation_order(
    tmp_path: Path,
) -> None:
    log = docker_dir(tmp_path / "containers")
    log.write_text("x\n")
    rotated = log.with_name(log.name + ".1")
    rotated.write_text("x\n")
    (family,) = expand_paths([str(tmp_path / "containers")])
    assert family.files == (rotated, log)


def test_pod_logs_with_kubelet_rotation_are_one_family(tmp_path: Path) -> None:
    log = pod_log(tmp_path / "pods")
    log.write_text("x\n")
    older = log.with_name("0.log.20260301-110000.gz")
    old = log.with_name("0.log.20260301-120000")
    older.write_bytes(b"")
    old.write_text("x\n")
    (family,) = expand_paths([str(tmp_path / "pods")])
    assert family.files == (older, old, log)


class _Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_tailed_runtime_file_is_unwrapped_through_rotation(fmt: str, tmp_path: Path) -> None:
    """The agent's tail: a file that starts empty, grows in bursts cut mid-piece, and is
    rotated the way dockerd rotates `-json.log` (rename to .1, a new file)."""
    log = docker_dir(tmp_path) if fmt == "docker" else pod_log(tmp_path)
    # dockerd rotates between entries; here between two of the app's records (a record
    # split across a rotation is two records, as in a plain file).
    middle = next(n for n in range(len(APP_LINES) // 2, len(APP_LINES)) if APP_LINES[n][:2] == "20")
    head, rest = wrap(APP_LINES[:middle], fmt), wrap(APP_LINES[middle:], fmt)
    clock = _Clock()
    tailer = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    try:
        log.write_text("")
        tailer.open(log)
        records = tailer.poll()
        with open(log, "a") as fh:  # a burst that ends inside a line
            fh.write(head[: len(head) - 7])
        records += tailer.poll()
        with open(log, "a") as fh:
            fh.write(head[len(head) - 7 :])
        records += tailer.poll()
        log.rename(log.with_name(log.name + ".1"))
        log.write_text(rest)
        tailer.open(log)
        for _ in range(3):
            clock.now += 5.0
            records += tailer.poll()
    finally:
        tailer.close()
    errors = [r for r in records if r.source.endswith(":stderr")]
    assert [r.text for r in errors] == [r.text for r in plain_records()]
    assert [r.time for r in errors] == [r.time for r in plain_records()]


def test_the_agent_follows_only_the_logs_of_a_docker_container_directory(tmp_path: Path) -> None:
    from logwatch.sources.follow import LogFiles

    log = docker_dir(tmp_path / "containers")
    log.write_text("x\n")
    rotated = log.with_name(log.name + ".1")
    rotated.write_text("x\n")
    tailer = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536)
    try:
        assert LogFiles([str(tmp_path / "containers")], tailer).targets() == [log, rotated]
    finally:
        tailer.close()


def test_a_traceback_waiting_for_its_exception_line_is_unfinished_on_any_stream() -> None:
    """The tailer waits longer before cutting such a record (a pause mid-traceback)."""
    assembler = ContainerAssembler(fmt=ContainerFormat.DOCKER, source="x", file_time=_T0)
    lines = [
        ("stdout", "2026-03-01 12:00:00,000 INFO ok"),
        ("stderr", "2026-03-01 12:00:00,000 ERROR boom"),
        ("stderr", "Traceback (most recent call last):"),
    ]
    text = "".join(
        json.dumps({"log": t + "\n", "stream": s, "time": "2026-03-01T12:00:00.1Z"}) + "\n"
        for s, t in lines
    )
    for line in _lines(text):
        assembler.feed(line)
    assert assembler.pending_unfinished() and not assembler.pending_complete()
    exc = {"log": "ValueError: x\n", "stream": "stderr", "time": "2026-03-01T12:00:00.2Z"}
    assembler.feed(LogLine(text=json.dumps(exc), number=4, offset=len(text), end=len(text) + 1))
    assert not assembler.pending_unfinished()


@pytest.mark.parametrize("fmt", ["docker", "cri"])
def test_a_runtime_stamp_past_datetimes_range_in_utc_is_no_time(tmp_path: Path, fmt: str) -> None:
    """`0001-01-01T00:00:00+14:00` raised OverflowError converting to UTC: scan ended in a
    traceback. Such an entry has no time; the scan goes on."""
    assert parse_time("0001-01-01T00:00:00+14:00") is None
    assert parse_time("9999-12-31T23:59:59.999999999-14:00") is None
    err = "redis.exceptions.ConnectionError: Error 111 connecting to r:6379. Connection refused."
    stamps = ["2026-12-01T10:00:01Z", "0001-01-01T00:00:00+14:00", "2026-12-01T10:00:02Z"]
    if fmt == "docker":
        lines = [json.dumps({"log": err + "\n", "stream": "stderr", "time": t}) for t in stamps]
    else:
        lines = [f"{t} stderr F {err}" for t in stamps]
    log = tmp_path / "0.log"
    log.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["scan", "--format", "json", str(log)])
    assert result.exit_code == 1, result.output
    [incident] = json.loads(result.stdout)["incidents"]
    assert incident["last_seen"] == "2026-12-01T10:00:02+00:00"
