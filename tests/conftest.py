"""Shared fixtures: a real redis-server per test, and a guard against leaked threads."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SKIP_ENV = "LOGWATCH_SKIP_REDIS_TESTS"
INSTALL = (
    "redis-server is not on PATH; these tests start a real one. Install it (Debian/Ubuntu:"
    " `apt-get install redis-server`; macOS: `brew install redis`), or set"
    f" {SKIP_ENV}=1 to skip them (CI never does)."
)
#: Longest a test's own threads get to finish after it, before it counts as a leak.
THREAD_JOIN_S = 5.0


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

    def start(*extra_args: str, wait_loaded: bool = True) -> Any:
        server = RedisServer(
            executable=executable,
            logfile=tmp_path / f"redis-{len(started) + 1}.log",
            extra_args=extra_args,
        )
        started.append(server)
        port = free_port()
        while port == 6379:  # the shared Redis; free_port never returns it, but be sure
            port = free_port()
        server.start(port, wait_loaded=wait_loaded)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.resume()
            server.cleanup()


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
