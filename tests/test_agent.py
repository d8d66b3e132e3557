"""The real agent process over a temporary log directory: rotation, restarts, kill -9."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

QUIET = "1500ms"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def refused(port: int = 6379) -> str:
    return (
        f"{stamp()} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3/site-packages/redis/connection.py", line 369, in connect\n'
        "    raise ConnectionError(self._error_message(e))\n"
        f"redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:{port}. Connection refused.\n"
    )


def healthy() -> str:
    return f"{stamp()} INFO [morningai.api] 200 GET /healthz 1.2ms\n"


def append(path: Path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


LIMITED = (
    "import os, resource, sys;"
    " resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile}));"
    " os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


class AgentProcess:
    """`logwatch watch` as a user runs it, stopped by its handle at the end of the test."""

    def __init__(self, root: Path, logs: Path, *args: str) -> None:
        self.root = root
        self.logs = logs
        self.jsonl = root / "changes.jsonl"
        self.state = root / "state.db"
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *extra: str, nofile: int | None = None) -> None:
        """Start the agent; `nofile`: its RLIMIT_NOFILE (soft and hard), as a small host's."""
        cmd = [
            sys.executable,
            "-m",
            "logwatch",
            "-v",
            "watch",
            str(self.logs),
            "--state",
            str(self.state),
            "--jsonl",
            str(self.jsonl),
            "--quiet-period",
            QUIET,
            *self.args,
            *extra,
        ]
        self.starts += 1
        stderr = open(self.root / f"agent-{self.starts}.log", "wb")  # noqa: SIM115
        if nofile is not None:  # the limit set by a small launcher that then execs the agent
            cmd[1:1] = ["-c", LIMITED.format(nofile=nofile)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.close()
        self.wait_until(lambda: "agent started" in self.log(), timeout=60, what="startup")

    def log(self) -> str:
        return (self.root / f"agent-{self.starts}.log").read_text(errors="replace")

    def changes(self) -> list[dict[str, Any]]:
        if not self.jsonl.exists():
            return []
        return [json.loads(x) for x in self.jsonl.read_text().splitlines() if x.strip()]

    def wait_until(
        self, ready: Callable[[], bool], *, timeout: float = 15.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited {self.proc.returncode}: {self.log()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.changes()} {self.log()[-2000:]}")

    def kinds(self) -> list[str]:
        return [c["type"] for c in self.changes()]

    def stored(self) -> list[dict[str, Any]]:
        """The incidents as the state store holds them (`logwatch incidents`): an error read
        late is counted there without a notification of its own."""
        done = subprocess.run(
            [sys.executable, "-m", "logwatch", "incidents", "--state", str(self.state),
             "--format", "json"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        data = json.loads(done.stdout)
        return list(data["incidents"] if isinstance(data, dict) else data)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        # 20 s: an agent following 10,000 files on a loaded machine takes seconds to close
        # them and commit its state (systemd allows 90 s).
        code = self.proc.wait(timeout=20)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    made: list[AgentProcess] = []

    def make(*args: str) -> AgentProcess:
        logs = tmp_path / "morningai" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        proc = AgentProcess(tmp_path, logs, *args)
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.kill()


@pytest.mark.slow
def test_outage_opens_once_resolves_after_quiet_and_sigterm_exits_zero(
    agent: Callable[..., AgentProcess],
) -> None:
    a = agent()
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    for _ in range(5):
        append(log, refused())
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    kinds = a.kinds()
    assert kinds[0] == "incident.opened"
    assert kinds.count("incident.opened") == 1 and kinds[-1] == "incident.resolved"
    final = a.changes()[-1]["incident"]
    assert final["events"] == 5 and final["category"] == "connection"
    assert final["target"] == "10.0.0.5:6379" and final["status"] == "resolved"
    started = time.monotonic()
    assert a.stop() == 0
    assert time.monotonic() - started < 15  # no wait for the quiet period (or anything)


def rotate_rename(log: Path) -> None:
    log.rename(log.with_name(log.name + ".1"))
    log.write_text("")


def rotate_copytruncate(log: Path) -> None:
    (log.with_name(log.name + ".1")).write_bytes(log.read_bytes())
    with open(log, "r+") as fh:
        fh.truncate(0)


def rotate_gzip(log: Path) -> None:
    rotated = log.with_name(log.name + ".1")
    log.rename(rotated)
    log.write_text("")
    time.sleep(0.3)  # logrotate's delaycompress: the old file is compressed later
    (log.with_name(log.name + ".1.gz")).write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()


def rotate_delete(log: Path) -> None:
    log.unlink()
    log.write_text("")


@pytest.mark.parametrize(
    "rotate",
    [
        pytest.param(rotate_rename, id="rename-create"),
        pytest.param(rotate_copytruncate, id="copytruncate"),
        pytest.param(rotate_gzip, id="gzip-old"),
        pytest.param(rotate_delete, id="delete-create"),
    ],
)
@pytest.mark.slow
def test_rotation_mid_outage_loses_and_repeats_nothing(
    agent: Callable[..., AgentProcess], rotate: Callable[[Path], None]
) -> None:
    a = agent()
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    for _ in range(3):
        append(log, refused())
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="open")
    if rotate is not rotate_delete:
        append(log, refused())  # written just before the rotation
    rotate(log)
    for _ in range(3):
        append(log, refused())
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    assert a.kinds().count("incident.opened") == 1
    expected = 6 if rotate is rotate_delete else 7
    assert a.changes()[-1]["incident"]["events"] == expected
    assert a.stop() == 0


@pytest.mark.slow
def test_restart_resumes_where_it_stopped(agent: Callable[..., AgentProcess]) -> None:
    a = agent("--quiet-period", "6s")  # longer than a stop and a start
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() + refused())
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="open")
    assert a.stop() == 0
    append(log, refused())  # written while the agent is stopped
    a.start()
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    assert a.kinds().count("incident.opened") == 1
    assert a.changes()[-1]["incident"]["events"] == 3
    assert a.stop() == 0


@pytest.mark.slow
def test_a_restart_reads_the_backlog_before_the_clock_resolves_anything(
    agent: Callable[..., AgentProcess],
) -> None:
    """Found by the kill -9 test under load: a restarted agent ticked the clock before it
    read the unread end of its files, so an incident whose last errors were in that end
    resolved on the clock with the errors before the stop (the resolved message said 2 of
    6), and the backlog, read at the next rescan, was counted silently as late."""
    a = agent("--quiet-period", "6s")
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() + refused())
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="open")
    assert a.stop() == 0
    time.sleep(1)
    append(log, refused() * 4)  # written while stopped, within the quiet period
    time.sleep(6.5)  # the clock now says quiet since the first two, not since these four
    a.start()
    a.wait_until(lambda: "incident.resolved" in a.kinds(), timeout=20, what="resolve")
    assert a.kinds() == ["incident.opened", "incident.resolved"]
    assert a.changes()[-1]["incident"]["events"] == 6
    assert a.stop() == 0


@pytest.mark.slow
def test_kill_9_at_random_points_loses_and_repeats_nothing(
    agent: Callable[..., AgentProcess],
) -> None:
    rnd = random.Random(7)
    # Longer than a kill and a restart, even on a loaded machine: a burst whose restart
    # took longer than the quiet period really was quiet that long, and resolves.
    a = agent("--quiet-period", "8s")
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    written = []
    for burst in range(3):
        port = 7000 + burst  # each burst its own target: its own incident
        count = rnd.randint(3, 6)
        for _ in range(count):
            append(log, refused(port))
            if rnd.random() < 0.3:
                a.kill()
                a.start()
        written.append((f"10.0.0.5:{port}", count))
        time.sleep(8.5)  # quiet: the burst resolves
        append(log, healthy())
    a.wait_until(lambda: a.kinds().count("incident.resolved") == 3, timeout=20, what="3 resolved")
    assert a.stop() == 0
    opened = [c["incident"]["target"] for c in a.changes() if c["type"] == "incident.opened"]
    resolved = {
        c["incident"]["target"]: c["incident"]["events"]
        for c in a.changes()
        if c["type"] == "incident.resolved"
    }
    assert sorted(opened) == sorted(t for t, _ in written)  # each exactly once
    assert resolved == dict(written)


@pytest.mark.slow
def test_missing_directory_is_waited_for(
    tmp_path: Path, agent: Callable[..., AgentProcess]
) -> None:
    a = agent()
    a.logs.rmdir()
    a.start()
    assert "does not exist yet" in a.log()
    a.logs.mkdir()
    log = a.logs / "app.log"
    log.write_text("")
    for _ in range(3):
        append(log, refused())
    # Found at the next rescan; by then the burst may be over: one change says so.
    a.wait_until(lambda: any(c["incident"]["events"] == 3 for c in a.changes()), what="incident")
    assert a.stop() == 0


def test_corrupt_state_database_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    state.write_bytes(b"this is not a database" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "watch", str(tmp_path), "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 2
    assert "state.db" in done.stderr and "Traceback" not in done.stderr
    assert state.read_bytes().startswith(b"this is not a database")  # nothing overwritten


def test_state_file_is_private(agent: Callable[..., AgentProcess]) -> None:
    a = agent()
    a.start()
    assert a.stop() == 0
    assert os.stat(a.state).st_mode & 0o077 == 0


@pytest.mark.slow
def test_probe_confirms_the_outage_and_the_recovery(
    agent: Callable[..., AgentProcess],
    redis_server: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With REDIS_URL known, the agent asks Redis itself and says what it found."""
    server = redis_server()
    port = server.port
    monkeypatch.setenv("REDIS_URL", f"redis://:{'pw-not-shown'}@127.0.0.1:{port}/0")
    a = agent("--quiet-period", "3s")
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    server.kill()
    append(log, refused(port).replace("10.0.0.5", "127.0.0.1") * 2)
    a.wait_until(
        lambda: any(
            "confirmed: connection refused" in c["incident"]["diagnosis"] for c in a.changes()
        ),
        what="probe confirmation",
    )
    server.restart()
    a.wait_until(
        lambda: any("recovery confirmed" in c["incident"]["recovery"] for c in a.changes()),
        what="recovery confirmation",
    )
    assert a.stop() == 0
    assert "pw-not-shown" not in a.jsonl.read_text() + a.log()


@pytest.mark.slow
def test_file_rotated_and_compressed_while_stopped_is_read_to_its_end(
    agent: Callable[..., AgentProcess],
) -> None:
    """The unread end of a log that logrotate gzipped while the agent was down is not lost."""
    a = agent("--quiet-period", "6s")
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() + refused())
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="open")
    assert a.stop() == 0
    append(log, refused())  # written after the stop, then rotated away and compressed
    (a.logs / "app.log.1.gz").write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    log.write_text(healthy())
    a.start()
    a.wait_until(lambda: "incident.resolved" in a.kinds(), timeout=20, what="resolve")
    assert a.kinds().count("incident.opened") == 1
    assert a.changes()[-1]["incident"]["events"] == 3
    assert a.stop() == 0


# -- regressions from issue 11 (adversarial pass) ----------------------------------------


def events_of(a: AgentProcess, target: str) -> int:
    """The last reported event count of the incident on `target` (0: none)."""
    counts = [c["incident"]["events"] for c in a.changes() if c["incident"]["target"] == target]
    return counts[-1] if counts else 0


def test_copytruncate_while_stopped_then_kill_9_before_any_new_record_counts_once(
    agent: Callable[..., AgentProcess],
) -> None:
    """The copy found at restart had its cursor committed at offset 0: killed before it
    was settled, the next start read the whole copy again (1,000 written, 2,000 counted)."""
    a = agent("--quiet-period", "10s")  # longer than the stops and starts
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() * 3)
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="open")
    assert a.stop() == 0
    append(log, refused())  # written while stopped, before the rotation
    rotate_copytruncate(log)
    a.start()
    a.kill()  # right after the start's commit, before the loop looks at anything
    a.start()
    a.wait_until(lambda: "incident.resolved" in a.kinds(), timeout=30, what="resolve")
    assert a.stop() == 0
    assert a.changes()[-1]["incident"]["events"] == 4


def test_file_created_rotated_and_compressed_while_stopped_is_read(
    agent: Callable[..., AgentProcess],
) -> None:
    """app.log -> app.log.1 -> app.log.2.gz while the agent was down: its records were
    never counted, with no warning."""
    a = agent("--quiet-period", "3s")
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    assert a.stop() == 0
    rotate_rename(log)  # the followed file becomes app.log.1; a new app.log...
    append(log, refused(7001) * 100)  # ...is written...
    (a.logs / "app.log.2.gz").write_bytes(gzip.compress((a.logs / "app.log.1").read_bytes()))
    (a.logs / "app.log.1").unlink()
    log.rename(a.logs / "app.log.1")  # ...rotated...
    log.write_text(healthy())
    (a.logs / "app.log.3.gz").write_bytes((a.logs / "app.log.2.gz").read_bytes())
    (a.logs / "app.log.2.gz").write_bytes(gzip.compress((a.logs / "app.log.1").read_bytes()))
    (a.logs / "app.log.1").unlink()  # ...and compressed
    log.rename(a.logs / "app.log.1")
    log.write_text(healthy())
    a.start()
    a.wait_until(lambda: "incident.resolved" in a.kinds(), timeout=20, what="resolve")
    assert a.stop() == 0
    assert events_of(a, "10.0.0.5:7001") == 100


def stamped(when: datetime, text: str) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S},000 {text}\n"


REFUSED_LINE = (
    "ERROR redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:{port}."
    " Connection refused."
)


def test_errors_stamped_in_2099_open_an_incident_that_resolves(
    agent: Callable[..., AgentProcess],
) -> None:
    """Log time far ahead of the clock held the incident open forever."""
    a = agent()
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    future = datetime(2099, 1, 1, 12, tzinfo=UTC)
    append(log, stamped(future, REFUSED_LINE.format(port=7002)) * 3)
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    assert a.kinds() == ["incident.opened", "incident.resolved"]
    assert a.stop() == 0
    assert a.log().count("ahead of the clock") == 1


def test_errors_stamped_in_2001_written_live_open_once_and_resolve_once(
    agent: Callable[..., AgentProcess],
) -> None:
    """Live records stamped 25 years back gave 10 'resolved' and no 'opened'."""
    a = agent()
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    for n in range(10):
        append(
            log, stamped(datetime(2001, 1, 1, 12, 0, n, tzinfo=UTC), REFUSED_LINE.format(port=7003))
        )
        time.sleep(0.4)  # live: each read (and time ticked) as it is written
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    assert a.kinds() == ["incident.opened", "incident.resolved"]
    final = a.changes()[-1]["incident"]
    assert final["events"] == 10
    assert final["first_seen"][:4] == str(datetime.now(UTC).year)  # the time it was read
    assert a.stop() == 0
    assert a.log().count("behind the clock") == 1


def test_old_logs_read_from_the_start_give_the_incidents_scan_gives(
    agent: Callable[..., AgentProcess],
) -> None:
    """The last record of a file read from its start is held a poll; it came out 'live' and
    was moved to now: 5 of 6 events in the old incident, and a second one opened today."""
    a = agent("--from-start")
    log = a.logs / "redis-server.log"
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5, hours=3)
    lines = []
    for n in range(6):
        at = (start + timedelta(seconds=2 * n)).strftime("%d %b %Y %H:%M:%S")
        lines += [
            f"1:M {at}.002 * 1 changes in 3600 seconds. Saving...\n",
            f"1:M {at}.003 # Can't save in background: fork: Cannot allocate memory\n",
        ]
    log.write_text("".join(lines))
    a.start()
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    time.sleep(2.0)  # the held last record, and a quiet period, had they opened another
    assert a.stop() == 0
    scan = subprocess.run(
        [sys.executable, "-m", "logwatch", "scan", "--format", "json", "--quiet-period", QUIET,
         str(log)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    scanned = json.loads(scan.stdout)["incidents"]
    first = (start + timedelta(milliseconds=3)).isoformat()
    assert (
        [(i["category"], i["events"], i["first_seen"]) for i in a.stored()]
        == [(i["category"], i["events"], i["first_seen"]) for i in scanned]
        == [("misconf", 6, first)]
    )
    assert "behind the clock" not in a.log()


def test_a_file_stamped_5h_ahead_does_not_resolve_an_outage_in_another_file(
    agent: Callable[..., AgentProcess],
) -> None:
    """Naive stamps 5 h ahead in one file moved log time past another file's outage: it
    'resolved' without ever opening."""
    a = agent("--quiet-period", "3s")
    log, other = a.logs / "app.log", a.logs / "worker.log"
    log.write_text(healthy())
    other.write_text(healthy())
    a.start()
    for _ in range(3):
        append(other, stamped(datetime.now(UTC) + timedelta(hours=5), "INFO worker ok"))
        append(log, refused(7004))
        time.sleep(0.2)
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    assert a.kinds() == ["incident.opened", "incident.resolved"]
    assert a.changes()[-1]["incident"]["events"] == 3
    assert a.stop() == 0


def test_one_2099_info_line_in_an_unrelated_file_does_not_resolve_an_ongoing_incident(
    agent: Callable[..., AgentProcess],
) -> None:
    a = agent("--quiet-period", "3s")
    log, other = a.logs / "app.log", a.logs / "worker.log"
    log.write_text(healthy())
    other.write_text(healthy())
    a.start()
    append(log, refused(7005) * 2)
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="open")
    append(other, stamped(datetime(2099, 1, 1, tzinfo=UTC), "INFO worker ok"))
    time.sleep(0.5)
    append(log, refused(7005))
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    assert a.stop() == 0
    final = a.changes()[-1]["incident"]
    assert final["events"] == 3 and final["reopened"] == 0
    assert a.kinds().count("incident.resolved") == 1


@pytest.mark.slow
def test_10000_files_under_a_1024_descriptor_limit_are_all_followed(
    agent: Callable[..., AgentProcess],
) -> None:
    """Files beyond about 1,010 were never read, errors in them or in a new file went
    undetected, and 'Too many open files' was warned 17,975 times."""
    a = agent("--quiet-period", "2s")
    for n in range(10_000):
        (a.logs / f"svc-{n:05d}.log").write_text(healthy())
    a.start(nofile=1024)
    append(a.logs / "svc-09999.log", refused(7006) * 2)
    a.wait_until(lambda: events_of(a, "10.0.0.5:7006") == 2, timeout=30, what="last file")
    (a.logs / "svc-new.log").write_text(refused(7007) * 2)
    a.wait_until(lambda: events_of(a, "10.0.0.5:7007") == 2, timeout=30, what="new file")
    assert a.stop() == 0
    assert a.log().count("Too many open files") <= 1
