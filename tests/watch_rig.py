"""A real `logwatch watch` process with a config of its own, for the self-monitoring tests
(test_watching_agent.py, test_prometheus.py): started and stopped by its handle."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class WatchedAgent:
    """`logwatch --config CONFIG watch LOGS` as a user runs it."""

    def __init__(self, root: Path, config: str, *, prefix: Sequence[str] = ()) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.config = root / "logwatch.toml"
        self.config.write_text(config)
        self.state = root / "state.db"
        self.jsonl = root / "changes.jsonl"
        self.prefix = tuple(prefix)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *extra: str) -> None:
        self.starts += 1
        cmd = [
            *self.prefix,
            sys.executable, "-m", "logwatch", "-v", "--config", str(self.config),
            "watch", str(self.logs), "--state", str(self.state), "--jsonl", str(self.jsonl),
            *extra,
        ]  # fmt: skip
        with open(self.root / f"agent-{self.starts}.log", "wb") as stderr:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        self.wait_until(lambda: "agent started" in self.log(), timeout=60, what="startup")

    def log(self) -> str:
        path = self.root / f"agent-{self.starts}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def metrics_url(self) -> str:
        found = re.search(r"metrics listening on (http://\S+)/metrics", self.log())
        assert found, self.log()[-2000:]
        return found.group(1)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.metrics_url + path, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def changes(self) -> list[dict[str, Any]]:
        if not self.jsonl.exists():
            return []
        return [json.loads(x) for x in self.jsonl.read_text().splitlines() if x.strip()]

    def wait_until(
        self, ready: Callable[[], bool], *, timeout: float = 20.0, what: str = ""
    ) -> float:
        """Seconds it took; fails with the agent's log when it does not happen in time."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if ready():
                return time.monotonic() - started
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited {self.proc.returncode}: {self.log()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.changes()} {self.log()[-3000:]}")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=10)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
