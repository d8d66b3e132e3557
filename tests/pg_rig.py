"""A real PostgreSQL for the fleet tests (scripts/postgres_server.py: initdb + pg_ctl on a
free loopback port in a temporary directory), stopped by the test; never a shared server.

One exception: benchmarks/mutation.py runs a test session per mutant, and starting a
cluster for each would take most of a run. It starts one throwaway cluster for a module's
whole run, stops it at the end, and names its port in LOGWATCH_TEST_POSTGRES_PORT; the
sessions then borrow it (each test still gets an empty database of its own)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator

import pytest
from conftest import REPO, release_ports, reserve_port


def _load() -> object:
    # scripts/ is not a package (conftest loads scripts/redis_server.py the same way).
    path = REPO / "scripts" / "postgres_server.py"
    spec = importlib.util.spec_from_file_location("logwatch_tests_postgres_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_server = _load()
_Server = _server.PostgresServer  # type: ignore[attr-defined]


class PostgresServer(_Server):  # type: ignore[misc, valid-type]
    """The cluster, on a port reserved against the other test processes."""

    def __init__(self) -> None:
        if _server.pg_bin("initdb") is None:  # type: ignore[attr-defined]
            pytest.fail(_server.INSTALL, pytrace=False)  # type: ignore[attr-defined]
        super().__init__(reserve_port())

    def cleanup(self) -> None:
        super().cleanup()
        release_ports([self.port])


BORROWED = "LOGWATCH_TEST_POSTGRES_PORT"  # a cluster its starter stops (benchmarks/mutation.py)


class Borrowed:
    """A throwaway cluster another process started and stops; never the machine's own."""

    def __init__(self, port: int) -> None:
        self.port = port

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        return _Server.url(self, db, user)  # type: ignore[no-any-return]

    def create_database(self) -> str:
        return _Server.create_database(self)  # type: ignore[no-any-return]

    def drop_database(self, url: str) -> None:
        """Drop a database create_database() made (the cluster outlives this session)."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | Borrowed]:
    """One PostgreSQL per test process, for the tests that never stop it."""
    if os.environ.get(BORROWED):
        yield Borrowed(int(os.environ[BORROWED]))
        return
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def database_url(postgres_server: PostgresServer | Borrowed) -> Iterator[str]:
    """An empty database of its own for each test."""
    url = str(postgres_server.create_database())
    yield url
    if isinstance(postgres_server, Borrowed):  # leave the lent cluster as it was found
        postgres_server.drop_database(url)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of the test's own, which it may stop and start."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
