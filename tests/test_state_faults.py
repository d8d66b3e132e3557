"""The state database mistreated under a running agent: deleted, corrupted, made read-only.

Each case drives the real `logwatch watch` process and then reads the state it left:

- deleted while running (the file alone, with its WAL and index, or its whole directory):
  said once, the whole state rewritten at the path, so a restart loses nothing;
- random bytes in a page: refused at start with one line, exit 2, the file byte for byte
  as it was;
- read-only (chmod 0400, for a process that cannot override it) or immutable (chattr +i)
  while running: no SIGBUS, one line, the batch kept in memory and committed once the
  files are writable again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_agent import append, healthy, refused

from logwatch.model import Change, Incident, Severity
from logwatch.store import Cursor, StateStore

REPO = Path(__file__).resolve().parent.parent
SIDE = ("", "-wal", "-shm")
DELETED = "was deleted while the agent ran"
READ_ONLY = "read-only or immutable"


class Agent:
    """`logwatch watch` on one log directory, stopped by its handle at the end of the test."""

    def __init__(self, root: Path, state: Path, *, prefix: tuple[str, ...] = ()) -> None:
        self.root, self.state, self.prefix = root, state, prefix
        self.logs = root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.log_file = self.logs / "app.log"
        self.jsonl = root / "changes.jsonl"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        # A webhook nobody answers: its rows stay pending in the outbox.
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))
        }
        self.env.update(PYTHONPATH=str(REPO), SLACK_WEBHOOK_URL="http://127.0.0.1:9/hook")

    def start(self) -> None:
        cmd = [*self.prefix, sys.executable, "-m", "logwatch", "-v", "watch", str(self.logs),
               "--state", str(self.state), "--jsonl", str(self.jsonl), "--quiet-period", "10m"]  # fmt: skip
        self.starts += 1
        with open(self.root / f"agent-{self.starts}.log", "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=self.env)
        self.wait_until(lambda: "agent started" in self.log(), what="startup")

    def log(self) -> str:
        return (self.root / f"agent-{self.starts}.log").read_text(errors="replace")

    def wait_until(self, ready: Callable[[], bool], *, timeout: float = 20.0, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited {self.proc.returncode}: {self.log()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.log()[-3000:]}")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None

    def errors(self, n: int) -> None:
        append(self.log_file, refused() * n)


def committed_events(state: Path) -> int:
    """Events of the open incident in the state as committed (0 if none or unreadable)."""
    try:
        db = sqlite3.connect(f"{state.absolute().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            rows = db.execute(
                "SELECT json_extract(body, '$.events') FROM incidents WHERE status = 'open'"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return 0
    return int(rows[0][0]) if rows else 0


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    made: list[Agent] = []

    def make(state: Path, **kw: tuple[str, ...]) -> Agent:
        agent = Agent(tmp_path, state, **kw)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.kill()


def delete_file(state: Path) -> None:
    state.unlink()


def delete_with_wal(state: Path) -> None:
    for suffix in SIDE:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{state}{suffix}")


def delete_directory(state: Path) -> None:
    shutil.rmtree(state.parent)


@pytest.mark.parametrize(
    "delete",
    [
        pytest.param(delete_file, id="rm-state.db"),
        pytest.param(delete_with_wal, id="rm-state.db-wal-shm"),
        pytest.param(delete_directory, id="rm-r-state-dir"),
    ],
)
def test_state_deleted_while_running_loses_nothing_after_restart(
    tmp_path: Path, agents: Callable[..., Agent], delete: Callable[[Path], None]
) -> None:
    state = tmp_path / "state" / "state.db"
    a = agents(state)
    a.log_file.write_text(healthy())
    a.start()
    a.errors(100)
    a.wait_until(lambda: committed_events(state) == 100, what="100 events committed")
    delete(state)
    a.errors(300)
    a.wait_until(lambda: committed_events(state) == 400, what="the state rebuilt at its path")
    assert a.stop() == 0
    assert a.log().count(DELETED) == 1, a.log()

    store = StateStore(state)
    try:
        [incident] = store.incidents(status="open")
        assert incident.events == 400
        assert incident.id in json.dumps(store.grouper_state())  # the grouper remembers it
        [cursor] = store.cursors()
        assert cursor.offset == a.log_file.stat().st_size
        assert [r.kind for r in store.pending("webhook", now=datetime(2100, 1, 1, tzinfo=UTC))] == [
            "opened"
        ]
    finally:
        store.close()

    a.start()  # the restart continues the same incident: no second "opened"
    a.errors(100)
    a.wait_until(lambda: committed_events(state) == 500, what="500 events after the restart")
    assert a.stop() == 0
    kinds = [json.loads(line)["type"] for line in a.jsonl.read_text().splitlines()]
    assert kinds.count("incident.opened") == 1, kinds


def test_state_deleted_while_idle_is_rebuilt_before_a_kill(
    tmp_path: Path, agents: Callable[..., Agent]
) -> None:
    """Nothing to commit after the deletion: the agent still rebuilds the file within a
    rescan, so a `kill -9` before its next commit loses nothing."""
    state = tmp_path / "state.db"
    a = agents(state)
    a.log_file.write_text(healthy())
    a.start()
    a.errors(100)
    a.wait_until(lambda: committed_events(state) == 100, what="100 events committed")
    delete_with_wal(state)
    a.wait_until(lambda: committed_events(state) == 100, what="the state rebuilt while idle")
    assert a.log().count(DELETED) == 1
    a.kill()  # SIGKILL: no drain, no last commit

    a.start()
    a.errors(1)
    a.wait_until(lambda: committed_events(state) == 101, what="the restart continues it")
    assert a.stop() == 0
    kinds = [json.loads(line)["type"] for line in a.jsonl.read_text().splitlines()]
    assert kinds.count("incident.opened") == 1, kinds


def make_state(path: Path) -> None:
    """A state database with every table in use."""
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    store = StateStore(path)
    try:
        for n in range(40):
            incident = Incident(
                id=f"inc-{n}", category="connection", target=f"10.0.0.{n}:6379",
                severity=Severity.CRITICAL, status="open", first_seen=t0, last_seen=t0,
                events=n + 2, signatures={"s": n + 2}, sources={"app.log": n + 2},
                rules={"connection-refused": n + 2}, samples=("x" * 200,), hint="restart",
            )  # fmt: skip
            store.commit_batch(
                cursors=[
                    Cursor(dev=1, ino=n, head_len=4, head="h", path=f"{n}.log", offset=n, line=n)
                ],
                changes=[Change(kind="opened", at=t0, incident=incident)],
                incidents=[incident],
                grouper_state=None,
                notifiers=["slack", "jsonl"],
                now=t0,
            )
            store.save_thread(incident.id, "slack", "C123", f"1700000000.{n:06d}")
    finally:
        store.close()


def root_pages(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'"))
    finally:
        db.close()


@pytest.mark.parametrize(
    "table", ["schema", "cursors", "incidents", "outbox", "deliveries", "threads", "meta"]
)
def test_random_bytes_in_a_page_are_refused_at_start_and_the_file_left_untouched(
    tmp_path: Path, table: str
) -> None:
    state = tmp_path / "state.db"
    make_state(state)
    page = 1 if table == "schema" else root_pages(state)[table]
    size = 4096
    data = bytearray(state.read_bytes())
    # Random bytes over the page (past the file header on page 1, which sqlite reads first
    # and refuses on its own): a seeded generator, so a failure replays.
    start = (page - 1) * size + (100 if page == 1 else 0)
    data[start : page * size] = random.Random(page).randbytes(page * size - start)
    state.write_bytes(bytes(data))
    before = hashlib.sha256(state.read_bytes()).hexdigest()
    (tmp_path / "logs").mkdir()

    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "watch", str(tmp_path / "logs"), "--state", str(state)],
        capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert str(state) in line and "corrupt" in line and "Traceback" not in done.stderr
    assert hashlib.sha256(state.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("state.db")] == ["state.db"]


def chattr(flag: str, paths: list[Path]) -> str | None:
    """Set or clear the immutable flag; the reason it cannot be done, if it cannot."""
    if shutil.which("chattr") is None:
        return "chattr is not installed"
    for path in paths:
        done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            return f"chattr {flag} {path.name} refused: {done.stderr.strip()}"
    return None


def unprivileged() -> tuple[str, ...]:
    """A command prefix under which chmod 0400 binds the agent (root ignores file modes)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: chmod 0400 cannot bind the agent")
    drop = "-dac_override,-dac_read_search"
    return (setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}")


@pytest.mark.parametrize("how", ["chmod-0400", "chattr+i"])
def test_state_made_read_only_while_running_is_said_and_the_batch_kept(
    tmp_path: Path, agents: Callable[..., Agent], how: str
) -> None:
    state = tmp_path / "state.db"
    a = agents(state, prefix=unprivileged() if how == "chmod-0400" else ())
    a.log_file.write_text(healthy())
    a.start()
    a.errors(100)
    a.wait_until(lambda: committed_events(state) == 100, what="100 events committed")
    files = [Path(f"{state}{s}") for s in SIDE if os.path.exists(f"{state}{s}")]
    assert len(files) == 3  # the WAL and its mapped index are the files that matter
    if how == "chattr+i":
        refused_why = chattr("+i", files)
        if refused_why is not None:
            chattr("-i", files)
            pytest.skip(f"this filesystem or user cannot set the immutable flag: {refused_why}")
    else:
        for f in files:
            f.chmod(0o400)
    try:
        a.errors(300)
        a.wait_until(lambda: READ_ONLY in a.log(), what="the read-only state said")
        a.wait_until(lambda: a.log().count(READ_ONLY) >= 2, what="a retry")  # still alive
    finally:
        if how == "chattr+i":
            chattr("-i", files)
        for f in files:
            f.chmod(0o600)
    a.wait_until(lambda: committed_events(state) == 400, what="the kept batch committed")
    assert a.stop() == 0
    log = a.log()
    assert "Traceback" not in log
    said = [line for line in log.splitlines() if READ_ONLY in line]
    assert all(line.startswith("logwatch: ERROR: ") and str(state) in line for line in said)


def test_stopping_while_the_state_is_immutable_exits_2_with_one_line_and_no_sigbus(
    tmp_path: Path, agents: Callable[..., Agent]
) -> None:
    state = tmp_path / "state.db"
    a = agents(state)
    a.log_file.write_text(healthy())
    a.start()
    a.errors(10)
    a.wait_until(lambda: committed_events(state) == 10, what="10 events committed")
    files = [Path(f"{state}{s}") for s in SIDE]
    refused_why = chattr("+i", files)
    try:
        if refused_why is not None:
            pytest.skip(f"this filesystem or user cannot set the immutable flag: {refused_why}")
        a.errors(5)
        a.wait_until(lambda: READ_ONLY in a.log(), what="the read-only state said")
        code = a.stop()
    finally:
        chattr("-i", files)
    assert code == 2  # not -SIGBUS: the batch could not be saved, and it says so
    assert "Traceback" not in a.log()
    assert a.log().strip().splitlines()[-1].startswith("logwatch: error: ")
    assert committed_events(state) == 10


@pytest.mark.parametrize("how", ["chmod-0400", "chattr+i"])
def test_a_read_only_state_is_refused_at_start_untouched(tmp_path: Path, how: str) -> None:
    state = tmp_path / "state.db"
    make_state(state)
    before = hashlib.sha256(state.read_bytes()).hexdigest()
    prefix: tuple[str, ...] = ()
    if how == "chattr+i":
        refused_why = chattr("+i", [state])
        if refused_why is not None:
            pytest.skip(f"this filesystem or user cannot set the immutable flag: {refused_why}")
    else:
        prefix = unprivileged()
        state.chmod(0o400)
    (tmp_path / "logs").mkdir()
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "logwatch", "watch", str(tmp_path / "logs"),
             "--state", str(state)],
            capture_output=True, text=True, timeout=30,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
    finally:
        if how == "chattr+i":
            chattr("-i", [state])
        state.chmod(0o600)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert READ_ONLY in line and str(state) in line
    assert hashlib.sha256(state.read_bytes()).hexdigest() == before
