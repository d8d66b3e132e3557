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
from datetime import UTC, datetime
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

    def start(self, *extra: str) -> None:
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
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.close()
        self.wait_until(lambda: "agent started" in self.log(), what="startup")

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

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=5)
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
    assert time.monotonic() - started < 5


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
def test_kill_9_at_random_points_loses_and_repeats_nothing(
    agent: Callable[..., AgentProcess],
) -> None:
    rnd = random.Random(7)
    a = agent("--quiet-period", "4s")  # longer than a kill and a restart
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
        time.sleep(4.5)  # quiet: the burst resolves
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
        lambda: any("recovery confirmed" in c["incident"]["diagnosis"] for c in a.changes()),
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
