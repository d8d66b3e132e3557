"""A real PostgreSQL for the fleet tests: initdb + pg_ctl on a free loopback port in a
temporary directory, stopped by the test (never the machine's own server on 5432).

initdb refuses to run as root: as root, the cluster belongs to `nobody` (runuser), in a
directory that user owns. Debian's binaries live in /usr/lib/postgresql/N/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import release_ports, reserve_port

INSTALL = (
    "PostgreSQL's initdb/pg_ctl are not installed; the fleet tests start a real server."
    " Install it (Debian/Ubuntu: `apt-get install postgresql`)."
)
SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"
    " -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
    " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
)


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL server program; fails the test when it is missing."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(INSTALL, pytrace=False)
    return found


def _as_owner() -> list[str]:
    """The prefix that runs a command as the cluster's owner (nobody when we are root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "nobody", "--"]


class PostgresServer:
    """One cluster: start(), url(db), stop(), start() again on the same port."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="logwatch-pg-"))
        self.data = self.root / "data"
        self.port = reserve_port()
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.root, 0o700)
        subprocess.run(
            [*_as_owner(), pg_bin("initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def start(self) -> None:
        """Start (or restart) the server and wait until it takes connections."""
        subprocess.run(
            [*_as_owner(), pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
             "-w", "-t", "60", "-o", f"-p {self.port} -k {self.root} {SETTINGS}", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop it (`immediate`: as a crash would)."""
        subprocess.run(
            [*_as_owner(), pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def create_database(self) -> str:
        """A fresh empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def wait_down(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.url(), connect_timeout=1).close()
            except psycopg.OperationalError:
                return
            time.sleep(0.1)

    def cleanup(self) -> None:
        self.stop("immediate")
        release_ports([self.port])
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL per test process, for the tests that never stop it."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    """An empty database of its own for each test."""
    return postgres_server.create_database()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of the test's own, which it may stop and start."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
