"""A real PostgreSQL for the fleet tests (scripts/postgres_server.py: initdb + pg_ctl on a
free loopback port in a temporary directory), stopped by the test; never a shared server."""

from __future__ import annotations

import importlib.util
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
    return str(postgres_server.create_database())


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of the test's own, which it may stop and start."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
