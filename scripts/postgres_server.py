"""A throwaway PostgreSQL cluster: initdb + pg_ctl on a loopback port in a temporary
directory, for the fleet tests (tests/pg_rig.py) and benchmarks/fleet.py. Never the
machine's own server.

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
from pathlib import Path

INSTALL = (
    "PostgreSQL's initdb/pg_ctl are not installed; the fleet tests start a real server."
    " Install it (Debian/Ubuntu: `apt-get install postgresql`)."
)
SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"
    " -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
    " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
)


def pg_bin(name: str) -> str | None:
    """The path of a PostgreSQL server program (PATH first, then Debian's directory)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _bin(name: str) -> str:
    found = pg_bin(name)
    if found is None:
        raise RuntimeError(INSTALL)
    return found


def _as_owner() -> list[str]:
    """The prefix that runs a command as the cluster's owner (nobody when we are root)."""
    return ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []


class PostgresServer:
    """One cluster on `port`: start(), url(db), stop(), start() again, cleanup()."""

    def __init__(self, port: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="logwatch-pg-"))
        self.data = self.root / "data"
        self.port = port
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.root, 0o700)
        subprocess.run(
            [*_as_owner(), _bin("initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def start(self) -> None:
        """Start (or restart) the server and wait until it takes connections."""
        subprocess.run(
            [*_as_owner(), _bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
             "-w", "-t", "60", "-o", f"-p {self.port} -k {self.root} {SETTINGS}", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop it (`immediate`: as a crash would)."""
        subprocess.run(
            [*_as_owner(), _bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        """A connection URL (trust authentication: no password)."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def create_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def wait_down(self, timeout: float = 10.0) -> None:
        """Until nothing answers on the port."""
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.url(), connect_timeout=1).close()
            except psycopg.OperationalError:
                return
            time.sleep(0.1)

    def cleanup(self) -> None:
        """Stop it and remove its directory."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
