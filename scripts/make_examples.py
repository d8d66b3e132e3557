#!/usr/bin/env python3
"""Produce real sample logs of a Redis outage in the "MorningAI" app, from real components.

Runs, all on loopback and all stopped at the end:

* its own ``redis-server`` on a free port (never the shared one on 6379), logging to
  ``<out>/redis-server.log``;
* a small "app" (this file, ``app`` role, run with ``sys.executable``) using real redis-py:
  cache GET/SET, a session store, and RQ enqueues, logging to ``<out>/app.log`` in
  ``%(asctime)s %(levelname)s [%(name)s] %(message)s``, with ``logger.exception(...)``
  tracebacks on Redis errors;
* a real RQ worker (``python -m rq.cli worker``) whose output goes to ``<out>/worker.log``
  (RQ's time-only ``HH:MM:SS message`` format), running ``scripts/example_tasks.py`` jobs.

Scenario: healthy → outage (redis-server SIGKILLed, restarted on the same port) →
recovery → OOM (``maxmemory 1mb`` + ``noeviction`` while memory is full) → recovery →
AUTH (``requirepass`` set and connections dropped; the cache/session clients have no
password) → recovery. Then app.log is split into rotated siblings (``app.log.2.gz``,
``app.log.1``, ``app.log``) and ``examples/README.md`` is written with the real times.

Usage (needs redis-py and rq importable by the running interpreter)::

    /tmp/venv/bin/python scripts/make_examples.py [--out DIR] [--seconds N]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import logging
import os
import platform
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

from redis_server import RedisServer  # noqa: E402

#: Obviously fake; it appears in app.log (leaked in a URL) so redaction can be shown.
PASSWORD = "s3cr3t-example"
APP_LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
DEFAULT_OUT = REPO / "examples" / "morningai" / "logs"
DEFAULT_README = REPO / "examples" / "README.md"

#: Base phase lengths in seconds (scaled by ``--seconds``); the outage stays ~8 s by default.
PHASES: list[tuple[str, float]] = [
    ("healthy", 7.0),
    ("outage", 8.0),
    ("recovery", 6.0),
    ("oom", 6.0),
    ("recovery-2", 5.0),
    ("auth", 5.0),
    ("recovery-3", 5.0),
]
BASE_SECONDS = sum(d for _, d in PHASES)


# ======================================================================================
# The "app": runs in its own process (``make_examples.py app --port N --log FILE``).
# ======================================================================================


def run_app(port: int, logfile: Path, seed: int) -> int:
    """A tiny stand-in for the MorningAI web app: a few Redis-backed requests a second."""
    import redis
    from rq import Queue

    logging.basicConfig(filename=logfile, format=APP_LOG_FORMAT, level=logging.INFO)
    rnd = random.Random(seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    log = logging.getLogger("morningai.app")
    api = logging.getLogger("morningai.api")
    cache_log = logging.getLogger("morningai.cache")
    jobs_log = logging.getLogger("morningai.jobs")
    flask_log = logging.getLogger("morningai")  # Flask's app.logger is named after the app

    host = "127.0.0.1"
    queue_url = f"redis://:{PASSWORD}@{host}:{port}/0"
    cache_url = f"redis://{host}:{port}/0"
    session_url = f"redis://{host}:{port}/1"
    log.info("starting MorningAI api pid=%s workers=3 (gthread)", os.getpid())
    # The classic leak: the full URL, password included, at startup.
    log.info("connecting to %s (rq queue 'default')", queue_url)
    log.info("cache backend=redis url=%s", cache_url)
    log.info("session store backend=redis url=%s protocol=2", session_url)

    queue = Queue("default", connection=redis.Redis.from_url(queue_url))
    cache = redis.Redis.from_url(cache_url)
    sessions = redis.Redis.from_url(session_url, protocol=2)

    def feed_requests() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            user = rnd.randint(1, 12)
            key = f"feed:{user}"
            t0 = time.monotonic()
            try:
                if cache.get(key) is not None:
                    cache_log.info("cache hit key=%s backend=redis", key)
                else:
                    payload = ("item," * 400).encode()
                    cache.set(key, payload, ex=30)
                    cache_log.info("cache miss key=%s backend=redis stored=%dB", key, len(payload))
                ms = (time.monotonic() - t0) * 1000
                api.info('GET /api/v1/feed?user=%s 200 %.0fms "MorningAI-iOS/4.2"', user, ms)
                if n % 17 == 0:  # a healthy, non-Redis warning
                    api.warning(
                        "slow request GET /api/v1/feed user=%s took %dms (budget 800ms; "
                        "recommender upstream)",
                        user,
                        800 + rnd.randint(50, 900),
                    )
            except redis.RedisError:
                flask_log.exception("Exception on /api/v1/feed [GET]")
                ms = (time.monotonic() - t0) * 1000
                api.info("GET /api/v1/feed?user=%s 500 %.0fms", user, ms)
            stop.wait(0.35 + rnd.random() * 0.2)

    def session_requests() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            sid = f"session:{rnd.getrandbits(48):012x}"
            try:
                sessions.set(sid, b'{"user": 7, "theme": "dark"}', ex=600)
                api.info("POST /api/v1/session 201 sid=%s", sid[8:])
            except redis.RedisError:
                flask_log.exception("Exception on /api/v1/session [POST]")
            if n % 11 == 0:
                logging.getLogger("morningai.auth").warning(
                    "JWT for user=%s expires in 300s; asking client to refresh", rnd.randint(1, 99)
                )
            stop.wait(0.9 + rnd.random() * 0.4)

    def enqueue_jobs() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            user = rnd.randint(1, 12)
            func = "example_tasks.refresh_feed" if n % 4 else "example_tasks.send_digest"
            try:
                job = queue.enqueue(func, user, result_ttl=120, failure_ttl=600)
                jobs_log.info("enqueued %s(%s) job=%s queue=default", func, user, job.id)
            except redis.RedisError:
                jobs_log.exception("failed to enqueue %s(%s) on queue 'default'", func, user)
            if n % 6 == 0:
                logging.getLogger("morningai.recommender").warning(
                    "upstream recommender returned 0 items for user=%s; using fallback feed", user
                )
            stop.wait(1.6 + rnd.random() * 0.8)

    threads = [
        threading.Thread(target=fn, name=fn.__name__, daemon=True)
        for fn in (feed_requests, session_requests, enqueue_jobs)
    ]
    for t in threads:
        t.start()
    stop.wait()
    log.info("received SIGTERM, shutting down")
    for t in threads:
        t.join(timeout=15)
    log.info("MorningAI api stopped")
    logging.shutdown()
    return 0


# ======================================================================================
# The orchestrator.
# ======================================================================================


@dataclass
class Phase:
    name: str
    start: datetime
    end: datetime | None = None
    notes: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now().astimezone()


def _terminate(proc: subprocess.Popen[Any] | None, name: str, timeout: float = 10.0) -> None:
    """SIGTERM one child we started (by its handle), SIGKILL if it does not exit."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"  {name} (pid {proc.pid}) did not stop, killing it", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def _versions() -> dict[str, str]:
    import redis
    import rq

    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"v=(\S+)", out)
    return {
        "redis-server": m.group(1) if m else out.strip(),
        "redis-py": redis.__version__,
        "rq": rq.__version__,
        "python": platform.python_version(),
    }


class Scenario:
    def __init__(self, out: Path, seconds: float, seed: int) -> None:
        self.out = out
        self.scale = seconds / BASE_SECONDS
        self.seed = seed
        self.server = RedisServer(logfile=out / "redis-server.log")
        self.app: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_log: Any = None
        self.phases: list[Phase] = []
        self.started = _now()

    # -- helpers ------------------------------------------------------------------------

    def _admin(self) -> Any:
        import redis

        # With the password: works before, during and after the requirepass phase
        # (RESP3 HELLO AUTH is accepted by a default user that has no password).
        assert self.server.port is not None
        return redis.Redis(host="127.0.0.1", port=self.server.port, password=PASSWORD)

    def _phase(self, name: str, note: str = "") -> Phase:
        now = _now()
        if self.phases and self.phases[-1].end is None:
            self.phases[-1].end = now
        phase = Phase(name, now, notes=[note] if note else [])
        self.phases.append(phase)
        print(f"  {now:%H:%M:%S} {name}{': ' + note if note else ''}", flush=True)
        return phase

    def _sleep(self, base: float) -> None:
        time.sleep(base * self.scale)

    def _start_worker(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(SCRIPTS), PYTHONUNBUFFERED="1")
        url = f"redis://:{PASSWORD}@127.0.0.1:{self.server.port}/0"
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "rq.cli", "worker", "--url", url, "default"],
            cwd=SCRIPTS,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _check_worker(self) -> None:
        """Like a supervisor: restart the RQ worker if it quit."""
        if self.worker is not None and self.worker.poll() is not None:
            note = f"rq worker exited with {self.worker.returncode}; restarted by 'supervisor'"
            if self.phases:
                self.phases[-1].notes.append(note)
            print(f"  {note}")
            self._start_worker()

    # -- the run ------------------------------------------------------------------------

    def run(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for name in ("app.log", "app.log.1", "app.log.2.gz", "worker.log", "redis-server.log"):
            (self.out / name).unlink(missing_ok=True)
        try:
            self._run()
        finally:
            # Stop every process we started, app first (so shutdown makes no error noise),
            # then the worker (its warm shutdown needs Redis), then redis-server.
            _terminate(self.app, "app")
            _terminate(self.worker, "rq worker", timeout=15)
            self.server.cleanup()
            if self.worker_log is not None:
                self.worker_log.close()
            if self.phases and self.phases[-1].end is None:
                self.phases[-1].end = _now()

    def _run(self) -> None:
        port = self.server.start()
        print(f"redis-server pid {self.server.pid} on 127.0.0.1:{port}; writing to {self.out}")
        self.worker_log = open(self.out / "worker.log", "ab")  # noqa: SIM115 - closed in run()
        self._start_worker()
        self.app = subprocess.Popen(
            [sys.executable, __file__, "app", "--port", str(port), "--log",
             str(self.out / "app.log"), "--seed", str(self.seed)],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        admin = self._admin()

        self._phase("healthy", "normal traffic: cache hits/misses, sessions, RQ jobs")
        self._sleep(PHASES[0][1])

        self._phase("outage", "redis-server SIGKILLed; restarted on the same port after 8 s")
        self.server.kill()
        self._sleep(PHASES[1][1])
        self._check_worker()
        self.server.restart()
        admin = self._admin()

        self._phase("recovery", f"redis-server back (pid {self.server.pid})")
        self._sleep(PHASES[2][1])
        self._check_worker()

        self._phase("oom", "memory filled with 1.5 MB of ballast, then maxmemory 1mb noeviction")
        for i in range(6):
            admin.set(f"import:ballast:{i}", b"\0" * 256 * 1024)
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", "1mb")
        self._sleep(PHASES[3][1])
        admin.config_set("maxmemory", "0")
        admin.delete(*[f"import:ballast:{i}" for i in range(6)])
        self._check_worker()

        self._phase("recovery-2", "maxmemory reset to 0, ballast deleted")
        self._sleep(PHASES[4][1])
        self._check_worker()

        self._phase(
            "auth",
            "CONFIG SET requirepass + CLIENT KILL TYPE normal; cache and session clients "
            "have no password (queue and worker do)",
        )
        admin.config_set("requirepass", PASSWORD)
        admin.client_kill_filter(_type="normal", skipme=True)
        self._sleep(PHASES[5][1])
        admin.config_set("requirepass", "")  # admin is authenticated with the password
        self._check_worker()

        self._phase("recovery-3", "requirepass removed")
        self._sleep(PHASES[6][1])
        self._check_worker()
        self._phase("shutdown", "app and worker stopped (SIGTERM), redis-server stopped")


# -- rotation ----------------------------------------------------------------------------

_RECORD_START = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def rotate_app_log(out: Path, cuts: list[datetime]) -> list[Path]:
    """Split app.log at record boundaries at the given times: oldest → app.log.2.gz,
    middle → app.log.1, newest stays app.log (what RotatingFileHandler + gzip leave)."""
    path = out / "app.log"
    lines = path.read_bytes().splitlines(keepends=True)
    keys = [c.strftime("%Y-%m-%d %H:%M:%S,%f")[:23].encode() for c in sorted(cuts)]
    parts: list[list[bytes]] = [[] for _ in range(len(keys) + 1)]
    idx = 0
    for line in lines:
        if _RECORD_START.match(line):
            while idx < len(keys) and line[:23] >= keys[idx]:
                idx += 1
        parts[idx].append(line)
    oldest, middle, newest = parts[0], parts[1], b"".join(b"".join(p) for p in parts[2:])
    with gzip.GzipFile(out / "app.log.2.gz", "wb", mtime=0) as gz:
        gz.write(b"".join(oldest))
    (out / "app.log.1").write_bytes(b"".join(middle))
    path.write_bytes(newest)
    # mtimes as rotation leaves them: each file last written when its part ended.
    for name, part in (("app.log.2.gz", oldest), ("app.log.1", middle), ("app.log", parts[-1])):
        stamp = _last_stamp(part)
        if stamp is not None:
            os.utime(out / name, (stamp, stamp))
    return [out / "app.log.2.gz", out / "app.log.1", path]


def _last_stamp(lines: list[bytes]) -> float | None:
    for line in reversed(lines):
        if _RECORD_START.match(line):
            dt = datetime.strptime(line[:23].decode(), "%Y-%m-%d %H:%M:%S,%f")
            return dt.timestamp()
    return None


# -- reporting ---------------------------------------------------------------------------

_ERROR_LINE = re.compile(r"^(?:redis\.exceptions\.\w+: .*|.*could not connect to Redis.*)$")


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8", errors="replace")


def summarize(out: Path) -> dict[str, dict[str, int]]:
    """Count the distinct Redis error lines per file (exception lines, RQ retry lines)."""
    result: dict[str, dict[str, int]] = {}
    for path in sorted(out.iterdir()):
        counts: dict[str, int] = {}
        for line in _read_text(path).splitlines():
            if _ERROR_LINE.match(line):
                key = re.sub(r"\b[0-9a-f]{32}\b", "<id>", line)
                key = re.sub(r"^\d\d:\d\d:\d\d ", "", key)
                key = re.sub(r"retrying in \d+ seconds", "retrying in N seconds", key)
                counts[key] = counts.get(key, 0) + 1
        result[path.name] = counts
    return result


def write_readme(
    readme: Path, out: Path, scenario: Scenario, versions: dict[str, str], seconds: float
) -> None:
    try:
        shown = out.resolve().relative_to(REPO)
    except ValueError:
        shown = out
    rows = []
    for p in scenario.phases:
        end = f"{p.end:%H:%M:%S}" if p.end else ""
        rows.append(f"| {p.start:%H:%M:%S} | {end} | `{p.name}` | {'; '.join(p.notes)} |")
    files = []
    for path in sorted(out.iterdir()):
        files.append(f"| `{path.name}` | {path.stat().st_size:,} |")
    date = scenario.started
    text = f"""# Example logs: a Redis outage in "MorningAI"

`{shown}/` holds **real** logs, not hand-written ones. They were produced by

```sh
/tmp/venv/bin/python scripts/make_examples.py --seconds {seconds:g}
```

which starts its own `redis-server` on a free loopback port, a small app using real
redis-py (Python logging, `%(asctime)s %(levelname)s [%(name)s] %(message)s`), and a real
`rq worker`, then breaks Redis in a few ways on a timeline. Run on {date:%Y-%m-%d}
(times below are local, UTC offset {date:%z}; `worker.log` has RQ's time-only format, so
its date is this one).

Versions: redis-server {versions["redis-server"]}, redis-py {versions["redis-py"]},
rq {versions["rq"]}, Python {versions["python"]}.

## Files

| file | bytes |
|---|---:|
{chr(10).join(files)}

- `app.log.2.gz` → `app.log.1` → `app.log`: one `app.log` split at record boundaries
  by time, oldest first, the way `RotatingFileHandler` plus gzip would leave them.
- `app.log` mentions the password `{PASSWORD}` in a URL at startup (the kind of leak
  redaction must catch). It is fake.
- The redis-server port is random per run; the cache and session clients have no
  password, the RQ queue connection and the worker do.

## Timeline

| from | to | phase | what happened |
|---|---|---|---|
{chr(10).join(rows)}

Phases: `outage` = `redis-server` killed with SIGKILL and restarted on the same port
(connection refused, RQ "could not connect … retrying in N seconds"); `oom` =
memory full under `maxmemory 1mb` + `noeviction` (`OutOfMemoryError` on writes);
`auth` = `requirepass` set and client connections dropped (`AuthenticationError` for the
clients without a password: RESP3 `HELLO must be called …` for the cache, RESP2
`Authentication required.` for the session store). RQ logs nothing when Redis comes back.
"""
    readme.parent.mkdir(parents=True, exist_ok=True)
    readme.write_text(text, encoding="utf-8")


def generate(args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    versions = _versions()
    scenario = Scenario(out, args.seconds, args.seed)
    # Ctrl-C or `kill PID` → KeyboardInterrupt → Scenario.run()'s finally stops every child.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        scenario.run()
    except KeyboardInterrupt:
        print("interrupted; every process started was stopped", file=sys.stderr)
        return 130
    by_name = {p.name: p for p in scenario.phases}
    if args.rotate:
        cuts = [by_name["oom"].start, by_name["auth"].start]
        rotate_app_log(out, cuts)
    if args.readme is not None:
        write_readme(args.readme, out, scenario, versions, args.seconds)

    print(f"\nwrote {out}:")
    total = 0
    for path in sorted(out.iterdir()):
        size = path.stat().st_size
        total += size
        print(f"  {path.name:<18} {size:>8,} bytes  {len(_read_text(path).splitlines()):>5} lines")
    print(f"  {'total':<18} {total:>8,} bytes")
    print("\nRedis error lines:")
    for name, counts in summarize(out).items():
        for line, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<18} {n:>4}  {line[:150]}")
    if args.readme is not None:
        print(f"\nREADME: {args.readme}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["app"]:
        ap = argparse.ArgumentParser(prog="make_examples.py app")
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--log", type=Path, required=True)
        ap.add_argument("--seed", type=int, default=1)
        a = ap.parse_args(argv[1:])
        return run_app(a.port, a.log, a.seed)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output log directory")
    parser.add_argument(
        "--seconds", type=float, default=BASE_SECONDS,
        help=f"total scenario length, phases scaled (default {BASE_SECONDS:g})",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="seed for the app's random traffic")
    parser.add_argument(
        "--no-rotate", dest="rotate", action="store_false",
        help="keep app.log whole (no app.log.1 / app.log.2.gz)",
    )  # fmt: skip
    parser.add_argument(
        "--readme", type=Path, default=None,
        help="where to write the README (default examples/README.md when --out is the default)",
    )  # fmt: skip
    parser.add_argument("--no-readme", action="store_true", help="do not write a README")
    args = parser.parse_args(argv)
    if args.no_readme:
        args.readme = None
    elif args.readme is None and args.out.resolve() == DEFAULT_OUT.resolve():
        args.readme = DEFAULT_README
    return generate(args)


if __name__ == "__main__":
    sys.exit(main())
