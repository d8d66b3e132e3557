"""Command hook: run an operator's program for each change (maintenance mode, paging).

The program is an argv list run without a shell, so nothing from a log line can become
an argument or a shell word: the incident travels only as JSON on stdin and as a few
`LOGWATCH_*` environment variables. A run ends when the program exits (a child it leaves
behind, `curl ... &`, is its own business). It runs in its own process group, killed whole
on timeout and when the agent stops while it runs, so a hook cannot outlive either.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

from logwatch.notify import KINDS, Delivered, Failed, Notification, NotificationKind, Outcome, Retry
from logwatch.redact import redact
from logwatch.report import incident_dict

logger = logging.getLogger(__name__)

RETRY_HINT_S = 5.0
KILL_GRACE_S = 1.0  # SIGTERM, then SIGKILL: a hook stopped with the agent may clean up first
# The hook gets the agent's environment minus what only logwatch should hold.
WITHHELD_ENV = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")


class CommandNotifier:
    """Runs a configured program with the incident as JSON on stdin."""

    def __init__(
        self,
        *,
        argv: Sequence[str],
        timeout_s: float = 10.0,
        events: Iterable[NotificationKind] = KINDS,
        retries: int = 3,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        name: str = "command",
    ) -> None:
        if not argv:
            raise ValueError("command: argv is empty")
        self.name = name
        self.argv = tuple(argv)
        self.timeout_s = timeout_s
        self.events = frozenset(events) | {"test"}
        self.retries = retries
        self.cwd = cwd
        base = dict(os.environ if env is None else env)
        self._env = {k: v for k, v in base.items() if k not in WITHHELD_ENV}
        self._attempts: dict[int, int] = {}  # failed runs per notification id, this process
        self._running: set[subprocess.Popen[bytes]] = set()  # hooks in flight, for close()
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"CommandNotifier(argv={list(self.argv)!r}, timeout_s={self.timeout_s:g})"

    def send(self, n: Notification) -> Outcome:
        """Run the program once; exit 0 is Delivered, anything else Retry (limited) or Failed."""
        if n.kind not in self.events:
            return Delivered()
        inc = n.incident
        payload = incident_dict(inc) | {
            "kind": n.kind,
            "at": n.at.isoformat(),
            "notification": n.id,
        }
        env = self._env | {
            "LOGWATCH_EVENT": n.kind,
            "LOGWATCH_INCIDENT_ID": inc.id,
            "LOGWATCH_CATEGORY": inc.category,
            "LOGWATCH_SEVERITY": inc.severity.label,
            "LOGWATCH_TARGET": inc.target,
            "LOGWATCH_STATUS": inc.status,
            "LOGWATCH_NOTIFICATION_ID": str(n.id),
        }
        env = {k: v.replace("\0", "") for k, v in env.items()}  # a NUL cannot reach execve
        what = f"command {self.argv[0]}"
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n"
        # Files, not pipes: a hook that leaves a child behind (`curl ... &`) hands it its
        # stdout and stderr, and waiting for a pipe's EOF would wait for that child. The
        # run ends when the hook exits. (The input is a file too: a hook that never reads
        # it cannot block the agent on a full pipe.)
        with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
            stdin.write(data)
            stdin.seek(0)
            try:
                proc = subprocess.Popen(
                    self.argv,
                    stdin=stdin,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    env=env,
                    cwd=self.cwd,
                    close_fds=True,
                    start_new_session=True,  # its own process group, killed whole on timeout
                )
            except OSError as exc:
                return Failed(reason=f"{what}: cannot run: {exc.strerror or exc}")
            with self._lock:
                self._running.add(proc)
            try:
                proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return self._failed_run(n, f"{what}: timed out after {self.timeout_s:g}s (killed)")
            finally:
                with self._lock:
                    self._running.discard(proc)
            if self._closed and proc.returncode != 0:  # close() ended it
                return Retry(after_s=RETRY_HINT_S, reason=f"{what}: stopped with the agent")
            if proc.returncode == 0:
                self._attempts.pop(n.id, None)
                return Delivered()
            last = _last_line(stderr)
        if proc.returncode < 0:
            status = f"killed by signal {-proc.returncode}"
        else:
            status = f"exit status {proc.returncode}"
        return self._failed_run(n, f"{what}: {status}" + (f": {last}" if last else ""))

    def close(self) -> None:
        """The agent stops: end every hook still running, its whole process group.

        Otherwise it would go on with PPID 1, and its run would be retried after the
        restart anyway (it was never recorded as done).
        """
        self._closed = True
        with self._lock:
            running = list(self._running)
        for proc in running:
            _kill_group(proc, first=signal.SIGTERM)

    def _failed_run(self, n: Notification, reason: str) -> Retry | Failed:
        attempts = self._attempts.get(n.id, 0) + 1
        if attempts <= self.retries:
            self._attempts[n.id] = attempts
            return Retry(after_s=RETRY_HINT_S * attempts, reason=reason)
        self._attempts.pop(n.id, None)
        suffix = f" (after {attempts} runs)" if attempts > 1 else ""
        return Failed(reason=reason + suffix)


def _kill_group(proc: subprocess.Popen[bytes], *, first: int = signal.SIGKILL) -> None:
    """Signal the hook's whole process group; SIGKILL it if `first` did not end the hook."""
    with contextlib.suppress(ProcessLookupError):  # it may have exited just now
        os.killpg(proc.pid, first)
    if first != signal.SIGKILL:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=KILL_GRACE_S)
        with contextlib.suppress(ProcessLookupError):  # the children, whether it left or not
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _last_line(err: IO[bytes]) -> str:
    """The last line the hook wrote on stderr (read from the end: it may have written a lot)."""
    size = err.seek(0, os.SEEK_END)
    err.seek(max(0, size - 4096))
    lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return redact(lines[-1].strip())[:200] if lines else ""
