"""A throw-away ``redis-server`` on a free loopback port, for examples and tests.

Usage::

    with RedisServer(logfile=Path("redis-server.log")) as server:
        client = redis.Redis.from_url(server.url)
        server.kill()      # SIGKILL, like a crash
        server.restart()   # same port, same dir
        server.pause()     # SIGSTOP: connections are accepted, nothing answers
        server.resume()    # SIGCONT
    # stopped here, temp dir removed

It never touches an existing server: the port is chosen by binding 127.0.0.1:0, the data
directory is a fresh temp dir, persistence is off (``--save "" --appendonly no``). Only the
process it started is ever signalled, by its own handle.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["RedisServer", "RedisServerError", "free_port"]


class RedisServerError(RuntimeError):
    """redis-server could not be started or did not become ready."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` child process, bound to loopback on a free port.

    ``start()`` returns the port; ``stop()`` terminates the process (SIGTERM, then SIGKILL);
    ``kill()`` sends SIGKILL (a crash); ``restart()`` starts it again on the same port with
    the same arguments. Also a context manager (``__exit__`` always stops and cleans up).
    """

    def __init__(
        self,
        *,
        executable: str = "redis-server",
        host: str = "127.0.0.1",
        logfile: Path | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 10.0,
    ) -> None:
        self.executable = executable
        self.host = host
        self.logfile = logfile
        self.extra_args: list[str] = list(extra_args)
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    # -- properties -------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """PID of the running server, or None when it is not running."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RedisServerError("server has not been started")
        return f"redis://{self.host}:{self.port}/0"

    @property
    def directory(self) -> Path | None:
        """The server's temporary working directory (``--dir``)."""
        return self._dir

    # -- lifecycle --------------------------------------------------------------------

    def start(
        self,
        port: int | None = None,
        extra_args: Sequence[str] | None = None,
        *,
        wait_loaded: bool = True,
    ) -> int:
        """Start the server (on ``port``, or a free one) and wait until it accepts PING.

        With ``wait_loaded=False`` a server still loading its dataset (``-LOADING``) counts
        as started, so a test can observe the loading state.
        """
        if self.running:
            raise RedisServerError(f"already running (pid {self.pid})")
        if shutil.which(self.executable) is None:
            raise RedisServerError(f"{self.executable!r} not found on PATH")
        if extra_args is not None:
            self.extra_args = list(extra_args)
        self.port = port if port is not None else free_port(self.host)
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="redis-server-"))
        if self.logfile is not None:
            self.logfile.parent.mkdir(parents=True, exist_ok=True)
        args = [
            self.executable,
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self._dir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.logfile.resolve()) if self.logfile is not None else "",
            *self.extra_args,
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not its
        )
        self._wait_ready(wait_loaded)
        return self.port

    def _wait_ready(self, wait_loaded: bool = True) -> None:
        assert self._proc is not None and self.port is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RedisServerError(
                    f"redis-server exited with {self._proc.returncode} on port {self.port}: "
                    f"{err.strip() or 'see its logfile'}"
                )
            if self._ping(wait_loaded):
                return
            time.sleep(0.05)
        self.stop()
        raise RedisServerError(f"redis-server on port {self.port} not ready in time")

    def _ping(self, wait_loaded: bool = True) -> bool:
        assert self.port is not None
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
        except OSError:
            return False
        # +PONG, or -NOAUTH when a password is set: either way the server is serving.
        return reply.startswith((b"+PONG", b"-NOAUTH")) or (
            not wait_loaded and reply.startswith(b"-LOADING")
        )

    def kill(self) -> None:
        """SIGKILL the server, as a crash or the OOM killer would. Keeps port and dir."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
        self._close_pipes()

    def pause(self) -> None:
        """SIGSTOP the server: the kernel still accepts connections, nothing answers."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused server. Harmless on a running one."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server (SIGTERM, SIGKILL after ``timeout``). Idempotent."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a paused server would sit on SIGTERM
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._close_pipes()

    def restart(self, extra_args: Sequence[str] | None = None) -> int:
        """Stop (if running) and start again on the same port."""
        self.stop()
        if self.port is not None:
            deadline = time.monotonic() + self.startup_timeout
            while _port_open(self.host, self.port) and time.monotonic() < deadline:
                time.sleep(0.05)
        return self.start(port=self.port, extra_args=extra_args)

    def cleanup(self) -> None:
        """Stop the server and remove its temporary directory."""
        self.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _close_pipes(self) -> None:
        if self._proc is not None and self._proc.stderr is not None:
            with contextlib.suppress(OSError):
                self._proc.stderr.close()

    # -- context manager --------------------------------------------------------------

    def __enter__(self) -> RedisServer:
        if not self.running:
            self.start(self.port)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"RedisServer({self.host}:{self.port}, {state})"
