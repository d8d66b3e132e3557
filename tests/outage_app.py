"""The "MorningAI" app for end-to-end outage tests: real redis-py requests and a real RQ worker.

Run as a script, this file is the app (``python tests/outage_app.py --port N --log FILE``):
a few Redis-backed requests a second, each a read and a write (a rate-limit counter, the
feed cache, a session), RQ enqueues, Python logging in the format of
``scripts/make_examples.py`` and ``logger.exception`` tracebacks on every Redis error.

Imported, `MorningAI` starts that app and a real ``rq worker`` (launched as
``scripts/make_examples.py`` launches it, running ``scripts/example_tasks.py`` jobs) as
child processes writing ``app.log`` and ``worker.log`` into a log directory, and stops
both by their own handles.

Unlike the example generator's app, every client has a ``socket_timeout`` (a hung Redis
must log ``TimeoutError``, not hang the request) and one quick retry: redis-py 8's default
of ten retries with backoff would hold a failing request for seconds, which a web app with
a request budget does not do, and would leave too few errors for a short test.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
#: Fake; the RQ queue connection and the worker use it, the cache and sessions do not.
PASSWORD = "s3cr3t-example"
APP_LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
SOCKET_TIMEOUT_S = 0.5
#: Longest a child gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0


# ======================================================================================
# The app process.
# ======================================================================================


def run_app(port: int, logfile: Path, seed: int, request_threads: int) -> int:
    """Serve pretend requests against Redis on 127.0.0.1:`port` until SIGTERM."""
    import redis
    from redis.backoff import ConstantBackoff
    from redis.retry import Retry
    from rq import Queue

    logging.basicConfig(filename=logfile, format=APP_LOG_FORMAT, level=logging.INFO)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log = logging.getLogger("morningai.app")
    api = logging.getLogger("morningai.api")
    flask_log = logging.getLogger("morningai")  # Flask's app.logger is named after the app
    jobs_log = logging.getLogger("morningai.jobs")

    def client(url: str, **kw: Any) -> redis.Redis:
        return redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(ConstantBackoff(0.05), 1),
            **kw,
        )

    base = f"127.0.0.1:{port}"
    log.info("starting MorningAI api pid=%s threads=%d", os.getpid(), request_threads)
    cache = client(f"redis://{base}/0")
    sessions = client(f"redis://{base}/1", protocol=2)
    queue = Queue("default", connection=client(f"redis://:{PASSWORD}@{base}/0"))

    def serve(handler: Callable[[random.Random], None], pause_s: float, name: str) -> None:
        rnd = random.Random(f"{seed}-{name}")
        while not stop.is_set():
            handler(rnd)
            stop.wait(pause_s * (0.75 + rnd.random() / 2))

    def feed(rnd: random.Random) -> None:
        user = rnd.randint(1, 12)
        t0 = time.monotonic()
        try:
            cache.incr(f"ratelimit:{user}")  # a write on every request, as a limiter does
            if cache.get(f"feed:{user}") is None:
                cache.set(f"feed:{user}", ("item," * 200).encode(), ex=30)
            api.info("GET /api/v1/feed?user=%s 200 %.0fms", user, (time.monotonic() - t0) * 1e3)
        except redis.RedisError:
            flask_log.exception("Exception on /api/v1/feed [GET]")
            api.info("GET /api/v1/feed?user=%s 500 %.0fms", user, (time.monotonic() - t0) * 1e3)

    def session(rnd: random.Random) -> None:
        sid = f"{rnd.getrandbits(48):012x}"
        try:
            sessions.set(f"session:{sid}", b'{"user": 7}', ex=600)
            api.info("POST /api/v1/session 201 sid=%s", sid)
        except redis.RedisError:
            flask_log.exception("Exception on /api/v1/session [POST]")

    def enqueue(rnd: random.Random) -> None:
        user = rnd.randint(1, 12)
        try:
            job = queue.enqueue("example_tasks.refresh_feed", user, result_ttl=60)
            jobs_log.info("enqueued refresh_feed(%s) job=%s queue=default", user, job.id)
        except redis.RedisError:
            jobs_log.exception("failed to enqueue refresh_feed(%s) on queue 'default'", user)

    roles = [(feed, 0.3, f"feed-{i}") for i in range(request_threads)]
    roles += [(session, 0.8, "session"), (enqueue, 1.5, "enqueue")]
    threads = [
        threading.Thread(target=serve, args=role, name=role[2], daemon=True) for role in roles
    ]
    for t in threads:
        t.start()
    stop.wait()
    log.info("received SIGTERM, shutting down")
    for t in threads:
        t.join(timeout=5)
    logging.shutdown()
    return 0


# ======================================================================================
# The test side: start and stop the app and the worker by their handles.
# ======================================================================================


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM one child we started, SIGKILL if it does not exit in time."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(STOP_TIMEOUT_S)


class MorningAI:
    """The app and its RQ worker against Redis on 127.0.0.1:`port`, logging into `logs`."""

    def __init__(self, port: int, logs: Path, *, seed: int = 1, request_threads: int = 3) -> None:
        self.port = port
        self.logs = logs
        self.seed = seed
        self.request_threads = request_threads
        self.app: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_starts = 0

    @property
    def app_log(self) -> Path:
        return self.logs / "app.log"

    @property
    def worker_log(self) -> Path:
        return self.logs / "worker.log"

    @property
    def app_stderr(self) -> Path:
        """The app's own stderr (a crash at start), beside the watched directory."""
        return self.logs.parent / "app.stderr"

    def _env(self) -> dict[str, str]:
        # Nothing of the agent's (Slack token, REDIS_URL) reaches the app or the worker.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
        env.pop("REDIS_URL", None)
        env.update(PYTHONPATH=str(SCRIPTS), PYTHONUNBUFFERED="1")
        return env

    def start(self) -> MorningAI:
        """Start the worker, then the app (both in their own sessions, stdin closed)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self.start_worker()
        cmd = [sys.executable, __file__, "--port", str(self.port), "--log", str(self.app_log),
               "--seed", str(self.seed), "--threads", str(self.request_threads)]  # fmt: skip
        with open(self.app_stderr, "ab") as err:
            self.app = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def start_worker(self) -> None:
        """`rq worker` as scripts/make_examples.py runs it; its output is worker.log."""
        url = f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"
        with open(self.worker_log, "ab") as out:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "rq.cli", "worker", "--url", url, "default"],
                cwd=SCRIPTS,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.worker_starts += 1

    def supervise(self) -> bool:
        """Like supervisord: restart the worker if it quit. True when it had to."""
        if self.worker is not None and self.worker.poll() is not None:
            self.start_worker()
            return True
        return False

    def healthy(self) -> bool:
        """The app has served requests and the worker listens on its queue."""
        app = self.app_log.read_text(errors="replace") if self.app_log.exists() else ""
        worker = self.worker_log.read_text(errors="replace") if self.worker_log.exists() else ""
        return " 200 " in app and "Listening on" in worker

    def wait_healthy(self, timeout: float = 20.0) -> None:
        """Wait (bounded) until healthy(); fails with both logs' tails if it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            for name, proc in (("app", self.app), ("worker", self.worker)):
                if proc is not None and proc.poll() is not None:
                    raise AssertionError(f"{name} exited {proc.returncode}: {self.tails()}")
            time.sleep(0.1)
        raise AssertionError(f"app and worker not healthy in {timeout:g}s: {self.tails()}")

    def tails(self, chars: int = 1500) -> str:
        """The end of both logs, for failure messages."""
        out = []
        for path in (self.app_log, self.worker_log, self.app_stderr):
            text = path.read_text(errors="replace") if path.exists() else "(missing)"
            out.append(f"--- {path.name}:\n{text[-chars:]}")
        return "\n".join(out)

    def stop(self) -> None:
        """Stop the app, then the worker (by their handles). Idempotent."""
        _stop(self.app)
        _stop(self.worker)

    def __enter__(self) -> MorningAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The MorningAI stand-in app (see the docstring).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=3, help="concurrent request loops")
    args = parser.parse_args(argv)
    return run_app(args.port, args.log, args.seed, args.threads)


if __name__ == "__main__":
    sys.exit(main())
