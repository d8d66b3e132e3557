"""A real RQ deployment for the RQ impact tests: workers, an enqueuing app, a ledger.

`RqRig` starts real `rq worker` processes (the installed RQ, or another venv's python)
against a test's own redis-server, runs jobs from tests/rqjobs/outage_jobs.py that write a
ledger file, enqueues from a thread like a web app (logging each failed enqueue with its
traceback, as the MorningAI app does), and restarts workers that quit, as supervisord
would. Every process is stopped by its handle in `stop()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import ConstantBackoff
from redis.retry import Retry

JOBS_DIR = Path(__file__).resolve().parent / "rqjobs"
APP_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
STOP_S = 10.0


@dataclass
class Worker:
    """One `rq worker` process and its log."""

    name: str
    queues: tuple[str, ...]
    log: Path
    proc: subprocess.Popen[bytes]


@dataclass
class Ledger:
    """What the jobs wrote: (time, what, job id, function) lines."""

    path: Path

    def rows(self) -> list[tuple[float, str, str, str]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            t, what, job, name = line.split(" ", 3)
            out.append((float(t), what, job, name))
        return out

    def count(self, what: str, name: str | None = None) -> int:
        return sum(1 for _, w, _, n in self.rows() if w == what and (name is None or n == name))


@dataclass
class Enqueuer:
    """The app: enqueues `quick` jobs every `every_s` and logs each failure's traceback."""

    url: str
    ledger: Path
    log: Path
    every_s: float = 0.1
    attempted: int = 0
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rq-rig-enqueuer")
        self._thread.start()

    def _run(self) -> None:
        from rq import Queue

        logger = logging.getLogger(f"morningai.jobs.{id(self)}")
        logger.propagate = False
        handler = logging.FileHandler(self.log)
        handler.setFormatter(logging.Formatter(APP_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        client = redis.Redis.from_url(
            self.url,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(ConstantBackoff(0.05), 1),
        )
        queue = Queue("default", connection=client)
        try:
            while not self._stop.is_set():
                self.attempted += 1
                try:
                    queue.enqueue("outage_jobs.quick", str(self.ledger))
                except redis.RedisError:
                    self.failed += 1
                    logger.exception("failed to enqueue quick() on queue 'default'")
                self._stop.wait(self.every_s)
        finally:
            client.close()
            logger.removeHandler(handler)
            handler.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_S)


class RqRig:
    """Workers and an app on one redis-server; `python` runs the workers (another venv's
    interpreter for an older RQ)."""

    def __init__(self, url: str, root: Path, *, python: str = sys.executable) -> None:
        self.url = url
        self.root = root
        self.python = python
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(root / "ledger.txt")
        self.workers: list[Worker] = []
        self.exited: list[Worker] = []
        self.enqueuer: Enqueuer | None = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def start_worker(self, name: str, *queues: str) -> Worker:
        log = self.logs / f"worker-{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
        env.update(PYTHONPATH=str(JOBS_DIR), PYTHONUNBUFFERED="1")
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [self.python, "-m", "rq.cli", "worker", "--url", self.url, "--name", name,
                 *queues],
                cwd=JOBS_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        worker = Worker(name=name, queues=queues, log=log, proc=proc)
        self.workers.append(worker)
        return worker

    def wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n"
                                     f"{self.tails()}")  # fmt: skip
            time.sleep(0.05)

    def wait_listening(self, worker: Worker, timeout: float = 20.0) -> None:
        self.wait(
            lambda: "Listening on" in worker.log.read_text(errors="replace"),
            timeout,
            f"worker {worker.name} to listen",
        )

    def supervise(self) -> list[Worker]:
        """Restart every worker that quit, under a new name; returns the new ones."""
        started = []
        for worker in list(self.workers):
            if worker.proc.poll() is not None and worker not in self.exited:
                self.exited.append(worker)
                started.append(self.start_worker(f"{worker.name}-r", *worker.queues))
        return started

    def start_app(self) -> Enqueuer:
        self.enqueuer = Enqueuer(self.url, self.ledger.path, self.logs / "app.log")
        self.enqueuer.start()
        return self.enqueuer

    def tails(self, chars: int = 1200) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            out.append(f"--- {path.name}:\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(out)

    def stop(self) -> None:
        if self.enqueuer is not None:
            self.enqueuer.stop()
        for worker in self.workers:
            stop_worker(worker.proc)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (RQ's warm shutdown), again (cold: it kills its work horse), then SIGKILL
    to the worker's own process group (its session: the worker and its horse)."""
    for _ in range(2):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(STOP_S / 2)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(STOP_S)
