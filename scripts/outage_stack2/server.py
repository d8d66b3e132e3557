"""The app's redis-server: a free loopback port, its own directory, run as `nobody`.

Running it unprivileged is what lets a directory with its write bits removed make BGSAVE
fail (root ignores file modes). Only the process started here is ever signalled, by its
handle.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

USER = "nobody"


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answer(port: int) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64)
    except OSError:
        return b""


class RedisPrimary:
    """One redis-server child, restartable on the same port with the same arguments."""

    def __init__(self, workdir: Path, logfile: Path, password: str) -> None:
        self.dir = workdir / "redis-data"
        self.logfile = logfile
        self.password = password
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        user = pwd.getpwnam(USER)
        self.uid, self.gid = user.pw_uid, user.pw_gid
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.dir, self.uid, self.gid)
        logfile.touch()
        os.chown(logfile, self.uid, self.gid)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def args(self) -> list[str]:
        return [
            "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
            "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--logfile", str(self.logfile), "--daemonize", "no",
            "--save", "", "--appendonly", "no", "--dbfilename", "dump.rdb",
            "--requirepass", self.password,
            "--enable-debug-command", "local",
            "--enable-protected-configs", "local",
        ]  # fmt: skip

    def start(self, *, wait_loaded: bool = True, timeout: float = 30.0) -> None:
        """Start and wait until it answers (NOAUTH counts; LOADING too unless wait_loaded)."""
        self.proc = subprocess.Popen(
            self.args(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        ready = (b"+PONG", b"-NOAUTH") if wait_loaded else (b"+PONG", b"-NOAUTH", b"-LOADING")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"redis-server exited {code}: see {self.logfile}")
            if _answer(self.port).startswith(ready):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} not ready in {timeout:g}s")

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer would."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGCONT (a stopped server sits on SIGTERM), SIGTERM, SIGKILL after timeout."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def place_rdb(self, rdb: Path) -> None:
        """Make `rdb` the dump this server loads at its next start."""
        target = self.dir / "dump.rdb"
        shutil.copyfile(rdb, target)
        os.chown(target, self.uid, self.gid)

    def cleanup(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            os.chmod(self.dir, 0o755)
        shutil.rmtree(self.dir, ignore_errors=True)


def build_big_rdb(workdir: Path, keys: int) -> Path:
    """A dump of `keys` keys (DEBUG POPULATE in db 9) written by a throw-away redis-server."""
    data = workdir / "big-rdb"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
         "--enable-debug-command", "local"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        import redis

        deadline = time.monotonic() + 10
        while not _answer(port).startswith(b"+PONG"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the throw-away redis-server for the big RDB did not start")
            time.sleep(0.02)
        client = redis.Redis(port=port, db=9, socket_timeout=600)
        client.execute_command("DEBUG", "POPULATE", keys, "bulk", 100)
        client.save()
        client.close()
    finally:
        proc.terminate()
        proc.wait(30)
    return data / "dump.rdb"
