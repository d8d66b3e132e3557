"""Shared fixtures: a real redis-server per test, and a guard against leaked threads.

Safe under pytest-xdist (`pytest -n auto`): every server's port is reserved, for as long as
the test runs, in a file every test process reads under a lock, so another worker is
never handed it, not even while a test has the server down for a restart on the same
port; a port where nothing may listen is held bound (not listening) for the test.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent
# benchmarks/mutation.py runs the tests with --hypothesis-profile=mutation: on a machine
# loaded by a mutation run, a per-example deadline fails whatever the mutant.
settings.register_profile("mutation", deadline=None)
SKIP_ENV = "LOGWATCH_SKIP_REDIS_TESTS"
INSTALL = (
    "redis-server is not on PATH; these tests start a real one. Install it (Debian/Ubuntu:"
    " `apt-get install redis-server`; macOS: `brew install redis`), or set"
    f" {SKIP_ENV}=1 to skip them (CI never does)."
)
#: Longest a test's own threads get to finish after it, before it counts as a leak.
THREAD_JOIN_S = 5.0
#: Ports reserved by test processes for their servers, one "port pid" a line: between
#: free_port() releasing a port and redis-server binding it, or while a test has its server
#: down, another test process must not be handed the same port (its server would fail to
#: bind, or worse, its PING would reach ours). Lines of dead processes are dropped.
PORT_FILE = Path(tempfile.gettempdir()) / "logwatch-tests-ports"


def _load_redis_server_module() -> ModuleType:
    # scripts/ is not a package; scripts/make_examples.py imports the same file.
    path = REPO / "scripts" / "redis_server.py"
    spec = importlib.util.spec_from_file_location("logwatch_tests_redis_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


redis_server_module = _load_redis_server_module()
RedisServer: Any = redis_server_module.RedisServer
free_port: Callable[[], int] = redis_server_module.free_port


def require_redis_server(env: dict[str, str] | None = None, which: Any = shutil.which) -> str:
    """Path of redis-server; fails the test (or skips it, if opted out) when it is missing."""
    env = dict(os.environ) if env is None else env
    path = which("redis-server")
    if path is None:
        if env.get(SKIP_ENV) == "1":
            pytest.skip(f"redis-server not on PATH and {SKIP_ENV}=1")
        pytest.fail(INSTALL, pytrace=False)
    return str(path)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Factory: `redis_server(*extra_args, wait_loaded=True)` starts a real redis-server.

    Each one runs on a free loopback port (never 6379), with its own temporary data dir and
    its arguments as its whole config (no redis.conf is read), logging to
    `tmp_path/redis-N.log`. At teardown every server started is resumed (if a test left it
    SIGSTOPped), stopped by its own process handle and its directory removed.
    """
    executable = require_redis_server()
    started: list[Any] = []
    reserved: list[int] = []

    def start(*extra_args: str, wait_loaded: bool = True) -> Any:
        server = RedisServer(
            executable=executable,
            logfile=tmp_path / f"redis-{len(started) + 1}.log",
            extra_args=extra_args,
        )
        started.append(server)
        port = reserve_port()
        reserved.append(port)
        server.start(port, wait_loaded=wait_loaded)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.resume()
            server.cleanup()
        release_ports(reserved)


@contextlib.contextmanager
def _reservations() -> Iterator[dict[int, int]]:
    """The reserved ports (port -> pid) of live processes, under an exclusive lock; what
    the block leaves in the dict is written back."""
    with open(PORT_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            held: dict[int, int] = {}
            for row in fh.read().split("\n"):
                port, _, pid = row.partition(" ")
                if port.isdigit() and pid.isdigit() and _alive(int(pid)):
                    held[int(port)] = int(pid)
            yield held
            fh.seek(0)
            fh.truncate()
            fh.write("".join(f"{port} {pid}\n" for port, pid in held.items()))
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reserve_port() -> int:
    """A free loopback port that no other test process has reserved; reserved for us."""
    with _reservations() as held:
        port = free_port()
        while port == 6379 or port in held:  # 6379: the shared Redis, never ours
            port = free_port()
        held[port] = os.getpid()
    return port


def release_ports(ports: list[int]) -> None:
    """Give back ports reserved by reserve_port()."""
    with _reservations() as held:
        for port in ports:
            held.pop(port, None)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port where nothing listens, for the whole test: bound, never listening,
    so connections to it are refused and no other test process can take it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(autouse=True, scope="session")
def rule_database_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The scan's compiled rule database is cached in the session's temporary directory,
    not the user's (logwatch.regexfilter; agents and scans the tests start inherit it)."""
    before = os.environ.get("LOGWATCH_CACHE_DIR")
    os.environ["LOGWATCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("logwatch-cache"))
    yield
    if before is None:
        os.environ.pop("LOGWATCH_CACHE_DIR", None)
    else:
        os.environ["LOGWATCH_CACHE_DIR"] = before


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    """Fail a test that leaves a thread running (after a bounded wait for it to finish)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_JOIN_S
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leaked:
        thread.join(max(deadline - time.monotonic(), 0.0))
    alive = [t for t in leaked if t.is_alive()]
    if alive:
        names = ", ".join(f"{t.name} (daemon={t.daemon})" for t in alive)
        pytest.fail(f"test leaked {len(alive)} thread(s): {names}", pytrace=False)


# The fleet tests' PostgreSQL (initdb + pg_ctl on a free port): its fixtures, shared.
from pg_rig import database_url, own_postgres, postgres_server  # noqa: E402, F401
