#!/usr/bin/env python3
"""Chaos soak: the real agent against a log directory under fire, checked against a schedule.

A writer appends realistic MorningAI logs (`app.log`: Python logging with Flask tracebacks;
`worker.log`: RQ's time-only lines) with healthy traffic throughout and Redis outage
bursts on a known schedule, each on its own target (`10.0.<n // 250>.<n % 250 + 1>:6379`) so
each is its own incident. Meanwhile a fault schedule strikes:

- rotation by rename + create every few seconds (the writer reopens, as WatchedFileHandler
  does), the renamed file gzipped one rotation later (logrotate's `delaycompress`);
- copytruncate (copy, then truncate in place);
- copytruncate in logrotate's order with a gap: the copy, lines (and outages) written for
  0.2-1 s, then the truncate;
- `kill -9` of the agent at random moments, restarted after 0-2 s; sometimes, while it is
  down, a generation of `app.log` is created, written (with an outage), rotated and
  compressed, and the one the agent followed is compressed too;
- clock jumps: `ahead.log` is stamped 5 h ahead (naive times in another zone), `behind.log`
  5 h behind, each with its own outages; a line stamped 2099 now and then in `worker.log`;
- hostile long lines: 50 KB healthy lines, and outages whose first line is 50 KB;
- the Slack stand-in answering 429 (with Retry-After), 500, or refusing connections (and,
  with --slow-slack, answering later than the client's timeout);
- a burst of 100,000 lines written within a second, with an outage inside it;
- then, a separate phase: 10,000 files followed under an open-file limit of 1,024, with
  outages in files beyond the first thousand and in a file created meanwhile.

Each outage is labelled with the fault it was written under. At the end it compares the
root `chat.postMessage` calls the stand-in accepted (one per incident, by target) with the
schedule and the agent's final incident counts (`logwatch incidents --format json`) with
the error records written, and prints: outages written, incidents notified, lost,
duplicated, wrong category, unexpected, error events counted vs written (in all and per
fault kind), agent restarts, peak RSS, and the time from each outage's first line to its
Slack message (median, p99). Exit 1 on any loss, duplicate, wrong category, unexpected
incident or event count mismatch; 0 otherwise.

    python benchmarks/soak.py                 # 10 minutes, then the 10,000-file phase
    python benchmarks/soak.py --minutes 3 --seed 2
    python benchmarks/soak.py --short         # the CI version: under 2 minutes

Both instants of a latency are time.monotonic() in this process: the writer stamps an
outage's first write, the stand-in stamps each request as it arrives.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from slack_standin import TOKEN, Recorded, SlackStandin  # noqa: E402

CHANNEL = "#alerts"
QUIET = "3s"  # an outage's records are written less than this apart: one incident each
TARGET = re.compile(r"10\.0\.\d+\.\d+:6379")


# -- what the logs say -------------------------------------------------------------------


SHIFTS = {"ahead.log": timedelta(hours=5), "behind.log": timedelta(hours=-5)}
LONG = 50_000  # a hostile line: a payload logged whole


def _now(shift: timedelta = timedelta(0)) -> datetime:
    return datetime.now(UTC) + shift


def app_healthy(rnd: random.Random, shift: timedelta = timedelta(0), long: bool = False) -> str:
    ms = rnd.uniform(0.4, 40)
    path = rnd.choice(["/api/v1/feed", "/api/v1/recommendations", "/healthz", "/api/v1/events"])
    body = f" body={'x' * LONG}" if long else ""
    return (
        f"{_now(shift):%Y-%m-%d %H:%M:%S,%f}"[:-3]
        + f" INFO [morningai.api] 200 GET {path} {ms:.1f}ms{body}\n"
    )


def app_refused(target: str, shift: timedelta = timedelta(0), long: bool = False) -> str:
    stamp = f"{_now(shift):%Y-%m-%d %H:%M:%S,%f}"[:-3]
    payload = f" payload={'y' * LONG}" if long else ""
    return (
        f"{stamp} ERROR [morningai.app] Exception on /api/v1/feed [GET]{payload}\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/flask/app.py", line 1473, in wsgi_app\n'
        "    response = self.full_dispatch_request()\n"
        '  File "/app/morningai/views/feed.py", line 57, in get_feed\n'
        '    cached = cache.get(f"feed:{user_id}:v3")\n'
        '  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 369,'
        " in connect\n"
        "    raise ConnectionError(self._error_message(e))\n"
        f"redis.exceptions.ConnectionError: Error 111 connecting to {target}. Connection refused.\n"
    )


def worker_healthy(rnd: random.Random) -> str:
    job = f"{rnd.getrandbits(128):032x}"
    uuid = f"{job[:8]}-{job[8:12]}-{job[12:16]}-{job[16:20]}-{job[20:]}"
    return f"{_now():%H:%M:%S} default: Job OK ({uuid})\n"


def worker_refused(target: str) -> str:
    return (
        f"{_now():%H:%M:%S} Worker 631875ff35684672b232c4104a476cea: could not connect to"
        f" Redis instance: Error 111 connecting to {target}. Connection refused."
        " retrying in 4 seconds...\n"
    )


# -- the parts -------------------------------------------------------------------------


class TimedStandin(SlackStandin):
    """The stand-in, stamping each request it accepts (no scripted fault) as it arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[tuple[float, Recorded]] = []

    def _record(self, recorded: Recorded) -> Any:
        at = time.monotonic()
        fault = super()._record(recorded)
        if fault is None or (fault.delay_s and not fault.status):
            with self._changed:
                self.accepted.append((at, recorded))
        return fault

    def roots(self) -> list[tuple[float, Recorded]]:
        """Accepted chat.postMessage calls that start a thread (one per incident)."""
        with self._changed:
            accepted = list(self.accepted)
        return [
            (at, r)
            for at, r in accepted
            if r.api_method == "chat.postMessage" and not r.body.get("thread_ts")
        ]


@dataclass
class Outage:
    """One scheduled outage: its target, when its first line was written, its records."""

    n: int
    target: str
    kind: str = "steady"  # the fault it was written under
    first_write: float = 0.0
    records: int = 0


LIMITED = (
    "import os, resource, sys;"
    " resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile}));"
    " os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


class Agent:
    """The real `logwatch watch` process, killed and restarted by the fault schedule."""

    def __init__(self, root: Path, logs: Path, api_url: str, nofile: int | None = None) -> None:
        self.root = root
        self.logs = logs
        self.nofile = nofile
        self.state = root / "state.db"
        self.jsonl = root / "changes.jsonl"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
        env.pop("REDIS_URL", None)  # never probe anything
        env.update(
            SLACK_BOT_TOKEN=TOKEN,
            LOGWATCH_SLACK_CHANNEL=CHANNEL,
            LOGWATCH_SLACK_API_URL=api_url,
            PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        )
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.peak_rss_kb = 0
        self._lock = threading.Lock()

    def has_read(self, st: os.stat_result) -> bool:
        """The agent has committed a cursor at this file's end (read-only look at its state)."""
        try:
            db = sqlite3.connect(f"{self.state.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
            try:
                row = db.execute(
                    "SELECT offset FROM cursors WHERE dev = ? AND ino = ?", (st.st_dev, st.st_ino)
                ).fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return False
        return row is not None and row[0] >= st.st_size

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "logwatch", "-v", "watch", str(self.logs),
            "--state", str(self.state), "--jsonl", str(self.jsonl), "--quiet-period", QUIET,
        ]  # fmt: skip
        if self.nofile is not None:  # a small host's limit: set, then the agent exec'd
            cmd[1:1] = ["-c", LIMITED.format(nofile=self.nofile)]
        self.starts += 1
        log = self.root / f"agent-{self.starts}.log"
        with open(log, "wb") as stderr:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=stderr, env=self.env, cwd=self.root
            )
        with self._lock:
            self.proc = proc
        deadline = time.monotonic() + 60
        while "agent started" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"agent did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.02)

    def sample_rss(self) -> None:
        with self._lock:
            proc = self.proc
            if proc is None:
                return
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                return
        m = re.search(r"VmHWM:\s+(\d+) kB", status)
        if m:
            self.peak_rss_kb = max(self.peak_rss_kb, int(m.group(1)))

    def kill9(self) -> None:
        self.sample_rss()
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)

    def stop(self) -> int:
        self.sample_rss()
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is None:
            return 0
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return -9

    def resolved(self) -> set[str]:
        """Targets whose incident.resolved line is in the jsonl."""
        if not self.jsonl.exists():
            return set()
        found = set()
        for line in self.jsonl.read_text(errors="replace").splitlines():
            if '"incident.resolved"' in line:
                found.add(json.loads(line)["incident"]["target"])
        return found

    def incidents(self) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "logwatch", "incidents", "--state", str(self.state),
             "--format", "json", "--limit", "100000"],
            capture_output=True, text=True, env=self.env, cwd=self.root, timeout=60, check=True,
        )  # fmt: skip
        data = json.loads(done.stdout)
        return list(data["incidents"] if isinstance(data, dict) else data)


TRUNCATE_WAIT_S = 30.0  # longest a copy-then-truncate waits for the agent to read the gap


class Logs:
    """The log directory: appends and rotations under one lock, as one host would do them."""

    def __init__(self, logs: Path) -> None:
        self.dir = logs
        self.lock = threading.Lock()
        self.rotations = Counter[str]()
        self.lines = 0
        self._seq = 0
        self._to_compress: list[Path] = []

    def append(self, name: str, text: str) -> None:
        with self.lock, open(self.dir / name, "a", encoding="utf-8") as fh:
            fh.write(text)
        self.lines += text.count("\n")

    def rotate_rename(self, name: str) -> None:
        with self.lock:
            self._seq += 1
            rotated = self.dir / f"{name}.{self._seq}"
            (self.dir / name).rename(rotated)
            (self.dir / name).touch()
            self._to_compress.append(rotated)
            self.rotations["rename"] += 1

    def copytruncate(self, name: str) -> None:
        with self.lock:
            self._seq += 1
            live = self.dir / name
            copy = self.dir / f"{name}.{self._seq}"
            shutil.copyfile(live, copy)
            with open(live, "r+b") as fh:
                fh.truncate(0)
            self._to_compress.append(copy)
            self.rotations["copytruncate"] += 1

    def copy_for_truncate(self, name: str) -> None:
        """logrotate's copytruncate, first half: the copy (the truncate comes later)."""
        with self.lock:
            self._seq += 1
            copy = self.dir / f"{name}.{self._seq}"
            shutil.copyfile(self.dir / name, copy)
            self._to_compress.append(copy)
            self.rotations["copy-then-truncate"] += 1

    def truncate(self, name: str, read: Callable[[os.stat_result], bool] | None = None) -> None:
        """logrotate's copytruncate, second half. What was written since the copy exists
        only in the live file: logrotate loses it unless the reader got to it first. With
        `read`, appends wait (the lock) until the agent has committed a cursor at the
        file's end (at most TRUNCATE_WAIT_S), so the soak counts what logwatch could read,
        not logrotate's own loss window (a loaded machine may read it late)."""
        with self.lock:
            live = self.dir / name
            if read is not None:
                st = os.stat(live)
                deadline = time.monotonic() + TRUNCATE_WAIT_S
                while not read(st) and time.monotonic() < deadline:
                    time.sleep(0.05)
            with open(live, "r+b") as fh:
                fh.truncate(0)

    def generation_while_stopped(self, write: Callable[[], None]) -> None:
        """With the agent down: app.log is rotated, a new app.log written (`write`), rotated
        in its turn, and both generations compressed at once."""
        with self.lock:
            self._seq += 1
            followed = self.dir / f"app.log.{self._seq}"
            (self.dir / "app.log").rename(followed)
            (self.dir / "app.log").touch()
        write()
        with self.lock:
            self._seq += 1
            born = self.dir / f"app.log.{self._seq}"
            (self.dir / "app.log").rename(born)
            (self.dir / "app.log").touch()
            for path in (followed, born):
                gz = path.with_name(path.name + ".gz")
                gz.write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
                path.unlink()
            self.rotations["generation-while-stopped"] += 1

    def compress_old(self, keep: int = 1) -> None:
        """delaycompress: gzip what was rotated before the last rotation; keep 20 archives."""
        with self.lock:
            old, self._to_compress = self._to_compress[:-keep], self._to_compress[-keep:]
            for path in old:
                gz = path.with_name(path.name + ".gz")
                gz.write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
                path.unlink()
                self.rotations["gzip"] += 1
            archives = sorted(self.dir.glob("*.gz"), key=lambda p: p.stat().st_mtime)
            for path in archives[:-20]:
                path.unlink()


# -- the run ---------------------------------------------------------------------------


@dataclass
class Plan:
    """How long and how hard: the short CI run and the long soak differ only in numbers."""

    seconds: float
    outage_every_s: float
    kill_every_s: tuple[float, float]
    rotate_every_s: tuple[float, float]
    slack_fault_every_s: tuple[float, float]
    burst_at: tuple[float, ...]
    drain_s: float
    healthy_per_s: float = 40.0
    many_files: int = 10_000  # the separate phase: files followed under a small limit
    many_nofile: int = 1024
    many_outages: int = 12
    slow_slack: bool = False  # answers later than the Slack client's timeout


@dataclass
class Result:
    """What the run found."""

    outages: list[Outage]
    notified: dict[str, list[float]] = field(default_factory=dict)  # target -> root times
    categories: dict[str, str] = field(default_factory=dict)  # target -> category
    counted: dict[str, int] = field(default_factory=dict)  # target -> events counted
    restarts: int = 0
    peak_rss_kb: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    seconds: float = 0.0


def target_of(n: int) -> str:
    return f"10.0.{n // 250}.{n % 250 + 1}:6379"


def run(
    plan: Plan, seed: int, keep: Path | None = None, say: Callable[[str], None] = print
) -> Result:
    """The soak: writer, fault schedule, agent and stand-in, then the many-files phase."""
    rnd = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="logwatch-soak-")) if keep is None else keep
    logs = Logs(tmp / "logs")
    logs.dir.mkdir(parents=True, exist_ok=True)
    logs.append("app.log", app_healthy(rnd))
    logs.append("worker.log", worker_healthy(rnd))
    for name, shift in SHIFTS.items():
        logs.append(name, app_healthy(rnd, shift))
    standin = TimedStandin().start()
    agent = Agent(tmp, logs.dir, standin.api_url)
    outages: list[Outage] = []
    faults = Counter[str]()
    stop = threading.Event()
    agent_up = threading.Event()
    gap = threading.Lock()  # a copy-then-truncate gap and a kill never overlap
    errors: list[BaseException] = []
    outage_lock = threading.Lock()

    def guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def body() -> None:
            try:
                fn()
            except BaseException as exc:  # a harness bug must fail the run, not hang it
                errors.append(exc)
                stop.set()

        return body

    def new_outage(kind: str) -> Outage:
        with outage_lock:
            outage = Outage(n=len(outages), target=target_of(len(outages)), kind=kind)
            outages.append(outage)
        return outage

    def write_outage(outage: Outage, *, spread: float, file: str | None = None) -> None:
        """The outage's records, spread over `spread` seconds."""
        count = rnd.randint(3, 25)
        shift = SHIFTS.get(file or "", timedelta(0))
        for i in range(count):
            if file is not None:
                name, text = file, app_refused(outage.target, shift, outage.kind == "long-lines")
            elif rnd.random() < 0.3:
                name, text = "worker.log", worker_refused(outage.target)
            else:
                name, text = "app.log", app_refused(outage.target)
            if i == 0:
                outage.first_write = time.monotonic()
            logs.append(name, text)
            outage.records += 1
            if spread:
                time.sleep(spread / count)

    def write_burst(outage: Outage) -> None:
        """100,000 healthy lines in one second, the outage's records among them."""
        start = time.monotonic()
        chunks = 20
        for c in range(chunks):
            lines = "".join(app_healthy(rnd) for _ in range(100_000 // chunks))
            logs.append("app.log", lines)
            if c == chunks // 2:
                write_outage(outage, spread=0.0)
        faults["burst-100k-lines"] += 1
        say(f"  burst: 100,000 lines in {time.monotonic() - start:.2f}s")

    def writer() -> None:
        t0 = time.monotonic()
        next_outage = t0 + 2.0
        bursts = [t0 + b for b in plan.burst_at]
        while not stop.is_set() and time.monotonic() - t0 < plan.seconds:
            now = time.monotonic()
            if bursts and now >= bursts[0]:
                bursts.pop(0)
                write_burst(new_outage("burst"))
                next_outage = time.monotonic() + plan.outage_every_s
            elif now >= next_outage:
                roll = rnd.random()
                spread = rnd.uniform(0.3, 2.5)
                if roll < 0.12:
                    write_outage(new_outage("clock-ahead-5h"), spread=spread, file="ahead.log")
                elif roll < 0.24:
                    write_outage(new_outage("clock-behind-5h"), spread=spread, file="behind.log")
                elif roll < 0.36:
                    write_outage(new_outage("long-lines"), spread=spread, file="app.log")
                else:
                    write_outage(new_outage("steady"), spread=spread)
                next_outage = now + plan.outage_every_s * rnd.uniform(0.6, 1.4)
            n = max(1, int(plan.healthy_per_s * 0.05))
            logs.append("app.log", "".join(app_healthy(rnd) for _ in range(n)))
            if rnd.random() < 0.3:
                logs.append("worker.log", worker_healthy(rnd))
            for name, shift in SHIFTS.items():
                if rnd.random() < 0.2:
                    logs.append(name, app_healthy(rnd, shift))
            if rnd.random() < 0.01:
                logs.append("app.log", app_healthy(rnd, long=True))
                faults["long-line-50KB"] += 1
            if rnd.random() < 0.005:  # one line from a clock gone mad, in an unrelated file
                logs.append(
                    "worker.log", app_healthy(rnd, datetime(2099, 1, 1, tzinfo=UTC) - _now())
                )
                faults["line-stamped-2099"] += 1
            time.sleep(0.05)

    def rotator() -> None:
        while not stop.wait(rnd.uniform(*plan.rotate_every_s)):
            name = rnd.choice(["app.log", "worker.log"])
            roll = rnd.random()
            if roll < 0.2:
                logs.copytruncate(name)
            elif roll < 0.4:
                with gap:  # the agent is up: what the gap holds is read before the truncate
                    logs.copy_for_truncate(name)
                    outage = new_outage("copy-then-truncate")
                    write_outage(outage, spread=0.0, file=name)
                    stop.wait(rnd.uniform(0.3, 1.0))
                    logs.truncate(name, read=agent.has_read)
            else:
                logs.rotate_rename(name)
            if agent_up.is_set():  # delaycompress: never while the agent is down
                logs.compress_old()

    def killer() -> None:
        while not stop.wait(rnd.uniform(*plan.kill_every_s)):
            with gap:
                agent_up.clear()
                agent.kill9()
                faults["kill-9"] += 1
                if rnd.random() < 0.4:
                    outage = new_outage("generation-while-stopped")
                    logs.generation_while_stopped(
                        functools.partial(write_outage, outage, spread=0.0, file="app.log")
                    )
                time.sleep(rnd.uniform(0.0, 2.0))
                if stop.is_set():
                    break
                agent.start()
                agent_up.set()

    def slack_faults() -> None:
        kinds = ["429", "500", "down", *(["slow"] if plan.slow_slack else [])]
        while not stop.wait(rnd.uniform(*plan.slack_fault_every_s)):
            kind = rnd.choice(kinds)
            faults[f"slack-{kind}"] += 1
            if kind == "429":
                standin.fail_next(rnd.randint(1, 4), 429, retry_after=rnd.randint(1, 2))
            elif kind == "500":
                standin.fail_next(rnd.randint(1, 6), 500)
            elif kind == "slow":  # later than the client's 10 s timeout: it lands anyway
                standin.delay_next(rnd.randint(1, 2), 12.0)
            else:
                standin.go_down()
                stop.wait(rnd.uniform(3.0, 12.0))
                standin.come_back()

    def rss() -> None:
        while not stop.wait(0.5):
            agent.sample_rss()

    started = time.monotonic()
    agent.start()
    agent_up.set()
    threads = [
        threading.Thread(target=guarded(fn), name=fn.__name__)
        for fn in (writer, rotator, killer, slack_faults, rss)
    ]
    for thread in threads:
        thread.start()
    try:
        threads[0].join()  # the writer ends the schedule
        stop.set()
        for thread in threads[1:]:
            thread.join()
        if errors:
            raise errors[0]
        if agent.proc is None:
            agent.start()
        say(f"  written: {len(outages)} outages; draining (up to {plan.drain_s:.0f}s)")
        incidents = _drain(agent, standin, outages, plan.drain_s)
    finally:
        stop.set()
        agent.kill9()
        standin.stop()
    result = Result(
        outages=outages,
        restarts=agent.starts - 1,
        peak_rss_kb=agent.peak_rss_kb,
        faults=faults + logs.rotations,
        lines=logs.lines,
    )
    _collect(result, standin, incidents)
    if plan.many_files:
        many = run_many_files(plan, rnd, tmp / "many", say)
        result.outages += many.outages
        result.notified.update(many.notified)
        result.categories.update(many.categories)
        result.counted.update(many.counted)
        result.faults[f"files-{plan.many_files}-nofile-{plan.many_nofile}"] += 1
        result.peak_rss_kb = max(result.peak_rss_kb, many.peak_rss_kb)
    result.seconds = time.monotonic() - started
    if keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _drain(
    agent: Agent, standin: TimedStandin, outages: list[Outage], drain_s: float
) -> list[dict[str, Any]]:
    """Wait until every outage is notified and resolved, stop the agent, read its store."""
    wanted = {o.target for o in outages}
    deadline = time.monotonic() + drain_s
    while time.monotonic() < deadline:
        # Every outage notified, and resolved: its final count is in the store.
        got = {m.group(0) for _, r in standin.roots() if (m := TARGET.search(_text(r)))}
        if wanted <= got and wanted <= agent.resolved():
            break
        time.sleep(0.2)
    time.sleep(1.0)  # a late duplicate would arrive now
    code = agent.stop()
    if code != 0:
        print(f"  agent exited {code} on SIGTERM", file=sys.stderr)
    return agent.incidents()


def _collect(result: Result, standin: TimedStandin, incidents: list[dict[str, Any]]) -> None:
    by_id = {inc["id"]: inc for inc in incidents}
    for at, r in standin.roots():
        m = TARGET.search(_text(r))
        target = m.group(0) if m else f"?{_text(r)[:60]}"
        result.notified.setdefault(target, []).append(at)
        payload = (r.body.get("metadata") or {}).get("event_payload") or {}
        inc = by_id.get(payload.get("incident", ""))
        result.categories[target] = inc["category"] if inc else "?"
    for inc in incidents:
        result.counted[inc["target"]] = result.counted.get(inc["target"], 0) + inc["events"]


def run_many_files(
    plan: Plan, rnd: random.Random, root: Path, say: Callable[[str], None]
) -> Result:
    """10,000 files under a 1,024 open-file limit: outages in files past the first
    thousand and in files created meanwhile, each counted and notified once."""
    logs = Logs(root / "logs")
    logs.dir.mkdir(parents=True, exist_ok=True)
    names = [f"svc-{i:05d}.log" for i in range(plan.many_files)]
    for name in names:
        (logs.dir / name).write_text(app_healthy(rnd))
    standin = TimedStandin().start()
    agent = Agent(root, logs.dir, standin.api_url, nofile=plan.many_nofile)
    outages: list[Outage] = []
    started = time.monotonic()
    try:
        agent.start()
        say(f"  many files: {plan.many_files} followed in {time.monotonic() - started:.1f}s")
        for k in range(plan.many_outages):
            outage = Outage(n=50_000 + k, target=target_of(50_000 + k), kind="many-files")
            outages.append(outage)
            if k % 4 == 3:
                name = f"svc-new-{k}.log"  # created while the agent runs
            else:
                name = names[rnd.randrange(min(1000, len(names) - 1), len(names))]
            outage.first_write = time.monotonic()
            for _ in range(rnd.randint(3, 8)):
                logs.append(name, app_refused(outage.target))
                outage.records += 1
                for _ in range(20):  # healthy traffic across the files
                    logs.append(rnd.choice(names), app_healthy(rnd))
            time.sleep(rnd.uniform(0.5, 1.5))
        incidents = _drain(agent, standin, outages, plan.drain_s)
    finally:
        agent.kill9()
        standin.stop()
    result = Result(outages=outages, peak_rss_kb=agent.peak_rss_kb, lines=logs.lines)
    _collect(result, standin, incidents)
    return result


def _text(r: Recorded) -> str:
    return str(r.body.get("text", ""))


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def summarize(result: Result) -> tuple[dict[str, Any], bool]:
    """The figures, and whether the run is clean."""
    written = {o.target: o for o in result.outages}
    lost = sorted(t for t in written if t not in result.notified)
    duplicated = sorted(t for t, ats in result.notified.items() if len(ats) > 1)
    unexpected = sorted(t for t in result.notified if t not in written)
    wrong = sorted(t for t, c in result.categories.items() if t in written and c != "connection")
    events_written = sum(o.records for o in result.outages)
    events_counted = sum(result.counted.get(t, 0) for t in written)
    mismatched = sorted(t for t, o in written.items() if result.counted.get(t, 0) != o.records)
    latencies = [
        (min(result.notified[t]) - o.first_write) * 1000
        for t, o in written.items()
        if t in result.notified
    ]
    figures: dict[str, Any] = {
        "seconds": round(result.seconds, 1),
        "lines_written": result.lines,
        "outages_written": len(written),
        "incidents_notified": len(result.notified),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "wrong_category": len(wrong),
        "unexpected": len(unexpected),
        "error_events_written": events_written,
        "error_events_counted": events_counted,
        "count_mismatches": len(mismatched),
        "agent_restarts": result.restarts,
        "peak_rss_mb": round(result.peak_rss_kb / 1024, 1),
        "latency_ms_median": round(statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p99": round(nearest_rank(latencies, 99), 1) if latencies else None,
        "latency_ms_max": round(max(latencies), 1) if latencies else None,
        "faults": dict(sorted(result.faults.items())),
        "by_fault_kind": _by_kind(result, written),
        "detail": {
            "lost": lost,
            "duplicated": duplicated,
            "unexpected": unexpected,
            "wrong_category": wrong,
            "count_mismatches": {
                t: {"written": written[t].records, "counted": result.counted.get(t, 0)}
                for t in mismatched
            },
        },
    }
    clean = not (lost or duplicated or unexpected or wrong or mismatched)
    return figures, clean


def _by_kind(result: Result, written: dict[str, Outage]) -> dict[str, dict[str, int]]:
    """Per fault kind: outages, error records written and counted, lost and duplicated
    notifications."""
    kinds: dict[str, dict[str, int]] = {}
    for target, outage in sorted(written.items(), key=lambda kv: kv[1].kind):
        row = kinds.setdefault(
            outage.kind,
            {"outages": 0, "written": 0, "counted": 0, "lost": 0, "duplicated": 0},
        )
        row["outages"] += 1
        row["written"] += outage.records
        row["counted"] += result.counted.get(target, 0)
        row["lost"] += target not in result.notified
        row["duplicated"] += len(result.notified.get(target, [])) > 1
    return kinds


def plan_for(minutes: float, short: bool) -> Plan:
    if short:
        return Plan(
            seconds=60.0,
            outage_every_s=2.5,
            kill_every_s=(8.0, 15.0),
            rotate_every_s=(2.0, 4.0),
            slack_fault_every_s=(6.0, 10.0),
            burst_at=(25.0,),
            drain_s=45.0,
            many_files=2000,
            many_nofile=256,
            many_outages=4,
        )
    seconds = minutes * 60
    return Plan(
        seconds=seconds,
        outage_every_s=5.0,
        kill_every_s=(10.0, 40.0),
        rotate_every_s=(2.0, 6.0),
        slack_fault_every_s=(10.0, 30.0),
        burst_at=tuple(seconds * f for f in (0.3, 0.7)),
        drain_s=90.0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the schedule")
    parser.add_argument("--short", action="store_true", help="the CI version (under 2 minutes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="run in this directory and keep it")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--many-files", type=int, help="files in the many-files phase (0: skip it)")
    parser.add_argument(
        "--slow-slack",
        action="store_true",
        help="also answer Slack calls later than the client's timeout",
    )
    args = parser.parse_args(argv)
    plan = plan_for(args.minutes, args.short)
    if args.many_files is not None:
        plan.many_files = args.many_files
    plan.slow_slack = args.slow_slack
    print(f"soak: {plan.seconds:.0f}s of writes, seed {args.seed}", file=sys.stderr)
    result = run(plan, args.seed, keep=args.keep, say=lambda s: print(s, file=sys.stderr))
    figures, clean = summarize(result)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            if key == "by_fault_kind":
                print("by fault kind          outages  written  counted  lost  duplicated")
                for kind, row in value.items():
                    print(
                        f"  {kind:24} {row['outages']:5} {row['written']:8} {row['counted']:8}"
                        f" {row['lost']:5} {row['duplicated']:11}"
                    )
            elif key != "detail":
                print(f"{key:22} {value}")
        if not clean:
            print(f"{'detail':22} {json.dumps(figures['detail'])}")
    print("soak: " + ("PASS" if clean else "FAIL"), file=sys.stderr)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
