#!/usr/bin/env python3
"""Agent throughput, idle CPU and memory: a real `logwatch watch` fed by a paced writer.

Three measurements, each on a real agent process (`python -m logwatch -v watch DIR --state
S --jsonl J`) over a temporary log directory, read from the outside through /proc and the
agent's sqlite state (public interfaces only: no profiler, no hooks):

1. Idle CPU: the agent on a quiet directory for --idle-s seconds; utime + stime from
   /proc/PID/stat over wall time. Target < 1 %.
2. Throughput: a writer thread appends lines of a corpus app.log at a controlled rate
   (--rates, MB/s, --step-s seconds each, in writes of --write-ms worth of data cut at a
   newline) while the committed cursor (`SELECT offset FROM cursors`, read-only) is
   sampled. Lag = bytes written - committed offset. A rate is sustained when the lag does
   not grow over the second half of the step: the slope of its floor (the least lag in
   each second, just after a commit) is under 5 % of the rate. After each step an
   error pair stamped now is appended and timed to its first incident line (backlog
   drain + detection, end to end), then the writer waits for the agent to catch up. Target:
   50 MB/s sustained.
3. Memory: a fresh agent while --mem-mb of corpus is appended as fast as it keeps up (the
   writer stays at most --mem-max-lag MB ahead of the committed cursor); VmRSS from
   /proc/PID/status sampled throughout. Prints start / peak / end, and the growth once a
   tenth of the input is in (the warm-up excluded). Target: within 10 MB.

    python benchmarks/agent_throughput.py                          # 1G corpus seed 1, cached
    python benchmarks/agent_throughput.py --rates 5,10,20 --step-s 15
    python benchmarks/agent_throughput.py --only mem --mem-max-lag 1024   # 1 GB at once
    python benchmarks/agent_throughput.py --corpus /tmp/corpus/app.log

Not part of the test suite; prints medians of its samples.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "corpus"
MB = 1_000_000
MAX_WRITE = 16 * MB  # the largest single write
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_MBPS = 50.0
TARGET_IDLE_CPU_PCT = 1.0
TARGET_RSS_MB = 10.0


# -- the corpus and the writer ------------------------------------------------------------


def corpus_log(size: str, seed: int) -> Path:
    """app.log (the Flask app and gunicorn, unrotated) of the cached benchmarks/make_corpus.py
    corpus for (size, seed), generated on first use."""
    if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
        sys.path.insert(0, str(ROOT))
    from benchmarks.make_corpus import cached_corpus

    corpus = cached_corpus(CACHE, size, seed, rotate=False, jobs=os.cpu_count() or 1)
    return corpus / "logs" / "app.log"


class CorpusChunks:
    """Consecutive chunks of the corpus, each ending at a newline; wraps around at its end."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._carry = b""

    def take(self, size: int) -> bytes:
        data = self._carry + self._fh.read(max(0, size - len(self._carry)))
        if len(data) < size:  # end of the corpus: start it over
            self._fh.seek(0)
            data += self._fh.read(size - len(data))
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            cut = len(data)
        self._carry = data[cut:]
        return data[:cut]

    def close(self) -> None:
        self._fh.close()


class PacedWriter(threading.Thread):
    """Appends corpus chunks to `log` at `rate` bytes/s (a schedule, not sleeps per chunk)."""

    def __init__(
        self, log: Path, chunks: CorpusChunks, write_s: float, max_write: int = MAX_WRITE
    ) -> None:
        super().__init__(daemon=True)
        self._max_write = max_write
        self._fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        self._chunks = chunks
        self._write_s = write_s
        self._lock = threading.Lock()
        self._rate = 0.0
        self._budget = 0.0  # bytes the schedule allows but not yet written
        self._halt = threading.Event()
        self._gate: Callable[[], bool] = lambda: True
        self.written = 0

    def set_rate(self, rate: float, gate: Callable[[], bool] | None = None) -> None:
        """Bytes per second from now (0 pauses); `gate` False holds writes back."""
        with self._lock:
            self._rate, self._budget = rate, 0.0
            self._gate = gate or (lambda: True)

    def append(self, data: bytes) -> None:
        """One extra write, between the paced ones."""
        with self._lock:
            os.write(self._fd, data)
            self.written += len(data)

    def run(self) -> None:
        last = time.monotonic()
        while not self._halt.is_set():
            time.sleep(self._write_s)
            now = time.monotonic()
            with self._lock:
                if self._rate <= 0:
                    last = now
                    continue
                self._budget += self._rate * (now - last)
                last = now
                if self._budget < 1 or not self._gate():
                    continue
                data = self._chunks.take(min(int(self._budget), self._max_write))
                os.write(self._fd, data)
                self.written += len(data)
                self._budget -= len(data)
                # A held-back writer does not burst: at most one write's worth of catching up.
                self._budget = min(self._budget, max(self._rate * self._write_s, self._max_write))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        os.close(self._fd)


# -- the agent, seen from outside ---------------------------------------------------------


class AgentProcess:
    """A real `logwatch watch` process and what /proc and its state say about it."""

    def __init__(self, work: Path, logs: Path) -> None:
        self.state = work / "state.db"
        self.jsonl = work / "changes.jsonl"
        self.stderr_path = work / "agent.log"
        cmd = [
            sys.executable, "-m", "logwatch", "-v", "watch", str(logs),
            "--state", str(self.state), "--jsonl", str(self.jsonl), "--quiet-period", "10m",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        self.pid = self.proc.pid
        self._db: sqlite3.Connection | None = None
        self._jsonl_offset = 0
        deadline = time.monotonic() + 30
        while "following path=" not in self.stderr_path.read_text(errors="replace"):
            self.check()
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"agent did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def check(self) -> None:
        """Fail loudly if the agent died."""
        if self.proc.poll() is not None:
            raise SystemExit(f"agent exited {self.proc.returncode}:\n{self.log_tail()}")

    def cpu_s(self) -> float:
        """utime + stime of the agent process (all its threads), in seconds."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)

    def rss_kib(self) -> int:
        """VmRSS of the agent process."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise SystemExit("no VmRSS in /proc status")

    def committed_offset(self, ino: int) -> int:
        """The cursor offset the agent last committed for the file with this inode."""
        if self._db is None:
            if not self.state.exists():
                return 0
            self._db = sqlite3.connect(f"file:{self.state}?mode=ro", uri=True, timeout=5)
        try:
            row = self._db.execute("SELECT offset FROM cursors WHERE ino = ?", (ino,)).fetchone()
        except sqlite3.OperationalError:  # busy for longer than the timeout: try next sample
            return -1
        return int(row[0]) if row else 0

    def changed_targets(self) -> set[str]:
        """Targets of the incident changes appended since the last call.

        Any kind: a batch read later than the quiet period after its errors collapses
        opened + resolved into one `incident.resolved` line, by design.
        """
        try:
            with open(self.jsonl, "rb") as fh:
                fh.seek(self._jsonl_offset)
                data = fh.read()
        except FileNotFoundError:
            return set()
        end = data.rfind(b"\n") + 1
        self._jsonl_offset += end
        found = set()
        for line in data[:end].splitlines():
            found.add(json.loads(line)["incident"]["target"])
        return found

    def stop(self) -> None:
        if self._db is not None:
            self._db.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def new_logdir(work: Path) -> tuple[Path, Path]:
    logs = work / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text("2026-03-01 00:00:00,000 INFO [morningai.api] 200 GET /healthz 1.2ms\n")
    return logs, log


def error_pair(host: str) -> bytes:
    """Two refused-connection tracebacks stamped now: the built-in rule opens on them."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    record = (
        f"{stamp} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 369,'
        " in connect\n"
        "    raise ConnectionError(self._error_message(e))\n"
        f"redis.exceptions.ConnectionError: Error 111 connecting to {host}:6379."
        " Connection refused.\n"
    )
    return (record * 2).encode()


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


# -- 1. idle CPU ---------------------------------------------------------------------------


def idle_cpu(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="lw-idle-") as tmp:
        logs, _ = new_logdir(Path(tmp))
        agent = AgentProcess(Path(tmp), logs)
        try:
            time.sleep(2.0)  # past startup
            cpu0, t0 = agent.cpu_s(), time.monotonic()
            per_10s = []
            while time.monotonic() - t0 < seconds:
                c, t = agent.cpu_s(), time.monotonic()
                time.sleep(min(10.0, seconds - (t - t0)))
                per_10s.append((agent.cpu_s() - c) / (time.monotonic() - t) * 100)
            agent.check()
            wall = time.monotonic() - t0
            used = agent.cpu_s() - cpu0
        finally:
            agent.stop()
    pct = used / wall * 100
    verdict = "meets" if pct < TARGET_IDLE_CPU_PCT else "MISSES"
    print(
        f"idle CPU: {used:.2f} CPU s over {wall:.1f} s = {pct:.2f} % "
        f"(median of 10 s windows {statistics.median(per_10s):.2f} %)  "
        f"{verdict} < {TARGET_IDLE_CPU_PCT:.0f} %",
        flush=True,
    )


# -- 2. throughput -------------------------------------------------------------------------


def throughput(
    corpus: Path, rates: list[float], step_s: float, write_s: float, all_steps: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="lw-tput-") as tmp:
        logs, log = new_logdir(Path(tmp))
        agent = AgentProcess(Path(tmp), logs)
        ino = os.stat(log).st_ino
        chunks = CorpusChunks(corpus)
        writer = PacedWriter(log, chunks, write_s)
        writer.written = os.stat(log).st_size
        writer.start()
        best = 0.0
        print(
            f"{'rate MB/s':>9} {'committed':>9} {'lag end MB':>10} {'lag slope':>10}"
            f" {'agent CPU':>9} {'probe s':>8} {'catch-up s':>10}  verdict"
        )
        try:
            for n, rate in enumerate(rates):
                samples: list[tuple[float, float]] = []  # (seconds into the step, lag MB)
                offset0 = agent.committed_offset(ino)
                cpu0, t0 = agent.cpu_s(), time.monotonic()
                writer.set_rate(rate * MB)
                while (elapsed := time.monotonic() - t0) < step_s:
                    time.sleep(0.25)
                    agent.check()
                    offset = agent.committed_offset(ino)
                    if offset >= 0:
                        samples.append((elapsed, (writer.written - offset) / MB))
                writer.set_rate(0)
                wall = time.monotonic() - t0
                cpu_pct = (agent.cpu_s() - cpu0) / wall * 100
                offset1 = agent.committed_offset(ino)
                consumed = (offset1 - offset0) / MB / wall
                # The committed cursor moves once per commit (1 s): the lag is a sawtooth.
                # Its floor (the lag just after each commit, the least in each second)
                # grows only when the agent falls behind.
                floor: dict[int, tuple[float, float]] = {}
                for at, lag in samples:
                    if at >= step_s / 2 and (int(at) not in floor or lag < floor[int(at)][1]):
                        floor[int(at)] = (at, lag)
                growth = slope(list(floor.values()))  # MB/s of lag added
                lag_end = samples[-1][1] if samples else float("nan")
                # Both: the cursor advanced at the rate over the step, and the lag's floor
                # stopped growing (a backlog from the step's start may still be draining).
                sustained = consumed >= 0.95 * rate and growth < 0.05 * rate
                # End to end: an error pair behind whatever backlog there is.
                host = f"10.9.{n}.1"
                probe_start = time.monotonic()
                writer.append(error_pair(host))
                probe = None
                while probe is None and time.monotonic() - probe_start < 600:
                    if f"{host}:6379" in agent.changed_targets():
                        probe = time.monotonic() - probe_start
                    else:
                        agent.check()
                        time.sleep(0.005)
                catch_start = time.monotonic()
                while agent.committed_offset(ino) < writer.written - MB:
                    agent.check()
                    time.sleep(0.1)
                catch_up = time.monotonic() - catch_start + (probe or 0)
                verdict = "sustained" if sustained else "FALLS BEHIND"
                if sustained:
                    best = max(best, rate)
                print(
                    f"{rate:>9.0f} {consumed:>9.1f}"
                    f" {lag_end:>10.1f} {growth:>+10.2f}"
                    f" {cpu_pct:>8.0f}% {probe if probe is not None else float('nan'):>8.2f}"
                    f" {catch_up:>10.1f}  {verdict}",
                    flush=True,
                )
                if not sustained and not all_steps:
                    break
        finally:
            writer.stop()
            chunks.close()
            agent.stop()
    verdict = "meets" if best >= TARGET_MBPS else "MISSES"
    print(f"highest rate sustained: {best:.0f} MB/s  {verdict} >= {TARGET_MBPS:.0f} MB/s")
    print(
        "(committed: MB/s of committed-cursor advance over the step (sustained: >= 95 % of the"
        " rate); lag = written - committed cursor; slope: of its per-second floor, MB/s, over"
        " the 2nd half (sustained: < 5 % of the rate); probe s:"
        " appending an error pair after the step to its first incident line)"
    )


# -- 3. memory -----------------------------------------------------------------------------


def memory(corpus: Path, total_mb: float, max_lag_mb: float, write_s: float) -> None:
    with tempfile.TemporaryDirectory(prefix="lw-mem-") as tmp:
        logs, log = new_logdir(Path(tmp))
        agent = AgentProcess(Path(tmp), logs)
        ino = os.stat(log).st_ino
        time.sleep(2.0)
        start_kib = agent.rss_kib()
        chunks = CorpusChunks(corpus)
        # Writes of at most a quarter of the allowed lag, the lag re-read every 50 ms: the
        # writer stays about max_lag ahead of the committed cursor, not a burst beyond it.
        writer = PacedWriter(log, chunks, write_s, max_write=max(1, int(max_lag_mb * MB / 4)))
        base = writer.written = os.stat(log).st_size
        lag_ok = {"v": True}
        writer.set_rate(1000 * MB, gate=lambda: lag_ok["v"])  # as fast as the agent keeps up
        writer.start()
        rss: list[int] = [start_kib]
        warm: list[int] = []  # RSS once a tenth of the input is in: warm-up excluded
        t0 = time.monotonic()
        try:
            while writer.written - base < total_mb * MB:
                time.sleep(0.05)
                agent.check()
                rss.append(agent.rss_kib())
                if writer.written - base >= total_mb * MB / 10:
                    warm.append(rss[-1])
                offset = agent.committed_offset(ino)
                if offset >= 0:
                    lag_ok["v"] = writer.written - offset < max_lag_mb * MB
            writer.set_rate(0)
            while agent.committed_offset(ino) < writer.written - MB:
                agent.check()
                rss.append(agent.rss_kib())
                warm.append(rss[-1])
                time.sleep(0.2)
            wall = time.monotonic() - t0
            time.sleep(2.0)
            end_kib = agent.rss_kib()
            rss.append(end_kib)
            warm.append(end_kib)
        finally:
            writer.stop()
            chunks.close()
            agent.stop()
    fed = (writer.written - base) / MB
    peak = max(rss)
    growth = (peak - start_kib) / 1024
    verdict = "meets" if growth <= TARGET_RSS_MB else "MISSES"
    print(
        f"RSS over {fed:.0f} MB appended in {wall:.1f} s ({fed / wall:.1f} MB/s, lag <= "
        f"{max_lag_mb:.0f} MB): start {start_kib / 1024:.1f} MB, peak {peak / 1024:.1f} MB, "
        f"end {end_kib / 1024:.1f} MB, median {statistics.median(rss) / 1024:.1f} MB; "
        f"peak - start {growth:+.1f} MB  {verdict} <= {TARGET_RSS_MB:.0f} MB",
        flush=True,
    )
    if warm:
        flat = (max(warm) - warm[0]) / 1024
        print(
            f"  from {total_mb / 10:.0f} MB in (warm-up excluded): {warm[0] / 1024:.1f} MB -> peak"
            f" {max(warm) / 1024:.1f} MB, {flat:+.1f} MB over the remaining"
            f" {fed - total_mb / 10:.0f} MB  {'meets' if flat <= TARGET_RSS_MB else 'MISSES'}"
            f" <= {TARGET_RSS_MB:.0f} MB",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="an app.log (default: the cached corpus's)")
    parser.add_argument("--size", default="1G", help="corpus size when generating (default 1G)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=("idle", "rate", "mem"), action="append")
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--rates", default="10,25,50,100", help="MB/s steps, comma-separated")
    parser.add_argument("--step-s", type=float, default=10.0)
    parser.add_argument("--write-ms", type=float, default=20.0, help="data per write, in ms")
    parser.add_argument("--all-steps", action="store_true", help="go on after a failed step")
    parser.add_argument("--mem-mb", type=float, default=1000.0)
    parser.add_argument("--mem-max-lag", type=float, default=32.0, help="MB ahead of the agent")
    args = parser.parse_args()
    parts = args.only or ["idle", "rate", "mem"]
    corpus = args.corpus or corpus_log(args.size, args.seed)
    write_s = args.write_ms / 1000
    print(f"agent throughput benchmark, corpus {corpus} ({corpus.stat().st_size / MB:.0f} MB)")
    if "idle" in parts:
        idle_cpu(args.idle_s)
    if "rate" in parts:
        rates = [float(r) for r in args.rates.split(",")]
        throughput(corpus, rates, args.step_s, write_s, args.all_steps)
    if "mem" in parts:
        memory(corpus, args.mem_mb, args.mem_max_lag, write_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
