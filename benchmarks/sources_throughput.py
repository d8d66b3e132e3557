"""Agent throughput by source: a file, the journal (journalctl child), a syslog stream.

The same log text (copies of the real connection outage of examples/, each copy 10 s
later) goes through each source's reader and record assembly and then the rule match,
as the agent does it, and the wall time, MB/s of log text and CPU (this process plus
its children: journalctl) are printed, median of `--repeat` runs, side by side.

    .venv/bin/python benchmarks/sources_throughput.py --mb 16 --repeat 3

The journal is written beforehand by systemd-journal-remote (not timed); the syslog
sender is a child process sending octet-counted RFC 5424 frames over loopback TCP (its
CPU is the sender's, not counted). Needs journalctl and systemd-journal-remote.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from logwatch.config import Config  # noqa: E402
from logwatch.model import Record  # noqa: E402
from logwatch.pipeline import Engine  # noqa: E402
from logwatch.rules import load_rule_pack  # noqa: E402
from logwatch.sources.journalctl import JournalFollower, JournalSpec  # noqa: E402
from logwatch.sources.syslog_server import SyslogReceiver, SyslogSpec  # noqa: E402
from logwatch.sources.tail import Tailer  # noqa: E402

APP = (REPO / "examples" / "outages" / "connection" / "app.log").read_text().splitlines()
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}")
JOURNAL_REMOTE = "/usr/lib/systemd/systemd-journal-remote"


class Lines(NamedTuple):
    """The benchmark's log: its lines and their times."""

    texts: list[str]
    times: list[datetime]
    bytes: int


class Figure(NamedTuple):
    """One run of one source."""

    seconds: float
    cpu_s: float
    records: int


def make_lines(mb: float) -> Lines:
    """Copies of the outage's lines, each copy 10 s after the one before."""
    texts: list[str] = []
    times: list[datetime] = []
    size, copy = 0, 0
    start = datetime(2026, 11, 26, 14, 50, tzinfo=UTC)
    when = start
    while size < mb * 1e6:
        shift = timedelta(seconds=10 * copy)
        for line in APP:
            m = STAMP.match(line)
            if m is not None:
                base = datetime.strptime(m[0], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
                when = base + shift
                line = (
                    when.strftime("%Y-%m-%d %H:%M:%S,")
                    + f"{when.microsecond // 1000:03d}"
                    + line[m.end() :]
                )
            texts.append(line)
            times.append(when)
            size += len(line) + 1
        copy += 1
    return Lines(texts, times, size)


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(run: Callable[[Engine], int], engine: Engine) -> Figure:
    started, cpu0 = time.perf_counter(), cpu()
    records = run(engine)
    return Figure(time.perf_counter() - started, cpu() - cpu0, records)


def match_all(engine: Engine, records: list[Record]) -> int:
    for record in records:
        engine.match(record)
    return len(records)


def run_file(path: Path) -> Callable[[Engine], int]:
    def run(engine: Engine) -> int:
        clock = [0.0]
        tailer = Tailer(
            tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536,
            monotonic=lambda: clock[0],
        )  # fmt: skip
        tailer.open(path, start="start")
        n = 0
        while True:
            records = tailer.poll()
            n += match_all(engine, records)
            if not records and not tailer.backlog():
                clock[0] += 10.0  # let the last record's wait pass
                records = tailer.poll()
                n += match_all(engine, records)
                if not records:
                    break
        tailer.close()
        return n

    return run


def run_journal(journal: Path, want: int) -> Callable[[Engine], int]:
    def run(engine: Engine) -> int:
        follower = JournalFollower(
            JournalSpec(files=(str(journal),)), tz=UTC, max_lines=200, max_bytes=65536,
            start="start",
        )  # fmt: skip
        follower.start([])
        n = 0
        deadline = time.monotonic() + 600
        while n < want and time.monotonic() < deadline:
            for batch in follower.take():
                n += match_all(engine, batch.records)
            time.sleep(0.01)
        follower.stop()
        return n

    return run


SENDER = r"""
import socket, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "rb") as fh, socket.create_connection((host, port)) as s:
    while chunk := fh.read(1 << 20):
        s.sendall(chunk)
"""


def syslog_stream(lines: Lines, path: Path) -> None:
    """The lines as octet-counted RFC 5424 frames, one line per message."""
    with open(path, "wb") as out:
        for text, when in zip(lines.texts, lines.times, strict=True):
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            body = f"<11>1 {stamp} web-1 morningai 7 - - {text}".encode()
            out.write(b"%d %s" % (len(body), body))


def run_syslog(stream: Path, want: int) -> Callable[[Engine], int]:
    def run(engine: Engine) -> int:
        receiver = SyslogReceiver(
            SyslogSpec(host="127.0.0.1", port=0), tz=UTC, max_lines=200, max_bytes=65536
        )
        receiver.start([])
        assert receiver.address is not None
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, "127.0.0.1", str(receiver.address[1]), str(stream)]
        )
        n = 0
        deadline = time.monotonic() + 600
        while n < want and time.monotonic() < deadline:
            for batch in receiver.take():
                n += match_all(engine, batch.records)
            time.sleep(0.01)
        sender.wait(timeout=60)
        receiver.stop()
        for batch in receiver.take():
            n += match_all(engine, batch.records)
        return n

    return run


def write_journal(lines: Lines, path: Path) -> None:
    with subprocess.Popen(
        [JOURNAL_REMOTE, f"--output={path}", "-"], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as proc:  # fmt: skip
        assert proc.stdin is not None
        for text, when in zip(lines.texts, lines.times, strict=True):
            micros = int(when.timestamp() * 1e6)
            proc.stdin.write(
                f"__REALTIME_TIMESTAMP={micros}\n__MONOTONIC_TIMESTAMP={micros}\n"
                f"_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=web-1\n"
                f"_SYSTEMD_UNIT=morningai-web.service\nMESSAGE={text}\n\n".encode()
            )
    if proc.returncode:
        raise SystemExit(f"systemd-journal-remote failed: {proc.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=16.0, help="MB of log text")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    lines = make_lines(args.mb)
    pack = load_rule_pack([], include_builtin=True)
    config = Config()
    with tempfile.TemporaryDirectory(prefix="logwatch-sources-bench-") as tmp:
        root = Path(tmp)
        log = root / "app.log"
        log.write_text("\n".join(lines.texts) + "\n")
        journal = root / "system.journal"
        write_journal(lines, journal)
        stream = root / "syslog.bin"
        syslog_stream(lines, stream)
        want = run_file(log)(Engine(config, pack, jobs=False))
        sources = {
            "file": run_file(log),
            "journal": run_journal(journal, want),
            "syslog": run_syslog(stream, want),
        }
        results: dict[str, list[Figure]] = {name: [] for name in sources}
        for _ in range(args.repeat):
            for name, run in sources.items():  # side by side in each round
                results[name].append(measure(run, Engine(config, pack, jobs=False)))
    mb = lines.bytes / 1e6
    print(f"{mb:.1f} MB of log text, {len(lines.texts)} lines, {want} records per run;"
          f" median of {args.repeat} runs (shared machine: compare ratios)")  # fmt: skip
    print(f"{'source':8} {'records':>8} {'seconds':>8} {'MB/s':>7} {'CPU s':>7} {'CPU %':>6}")
    base = statistics.median(f.seconds for f in results["file"])
    for name, figures in results.items():
        seconds = statistics.median(f.seconds for f in figures)
        cpu_s = statistics.median(f.cpu_s for f in figures)
        records = figures[-1].records
        print(
            f"{name:8} {records:8d} {seconds:8.2f} {mb / seconds:7.1f} {cpu_s:7.2f}"
            f" {100 * cpu_s / seconds:5.0f}%  ({seconds / base:.1f}x the file's time)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
