#!/usr/bin/env python3
"""The fleet: N agents on one PostgreSQL, the same outage in every host's logs.

For each N (default 2, 8, 32) and each mode (`sqlite`: every agent alone, as without
[fleet]; `fleet`: the agents share one PostgreSQL), starts N real agents (`python -m
logwatch -v watch DIR`, own --state, own log directory, `[fleet] host = host-K`) against
the Slack stand-in (tests/slack_standin.py) and a throwaway PostgreSQL (initdb + pg_ctl on
a free port, scripts/postgres_server.py). Then, per outage (default 5, each on its own
Redis target), appends refused-connection tracebacks to every host's log every 0.25 s for
2 s and waits until every host's incident resolved (quiet period 2 s). Prints:

- roots posted per outage (fleet: must be 1; sqlite: one per host, the problem);
- first error line -> root message at the stand-in: p50 and p99 over the outages (with 5
  outages, p99 is the worst one);
- PostgreSQL statements per second (pg_stat_statements calls), idle and during outages;
- each agent's CPU seconds (utime + stime over the measured phase) and RSS at the end,
  fleet minus sqlite.

    python benchmarks/fleet.py                       # N = 2, 8, 32
    python benchmarks/fleet.py --agents 8 --outages 10
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

import psycopg  # noqa: E402
from postgres_server import PostgresServer  # noqa: E402
from redis_server import free_port  # noqa: E402
from slack_standin import TOKEN  # noqa: E402
from test_slack_e2e import TimedStandin  # noqa: E402

TICK_S = 0.25
PAGE = os.sysconf("SC_PAGE_SIZE")
HZ = os.sysconf("SC_CLK_TCK")


def records(target: str) -> bytes:
    """Two refused-connection tracebacks stamped now."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    one = (
        f"{stamp} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 369,'
        " in connect\n"
        "    raise ConnectionError(self._error_message(e))\n"
        f"redis.exceptions.ConnectionError: Error 111 connecting to {target}."
        " Connection refused.\n"
    )
    return (one * 2).encode()


def config(host: str, slack_url: str, database_url: str | None) -> str:
    text = (
        "[logwatch]\nprobe = false\nprobe_interval = 0\n"
        '[incidents]\nquiet_period = "2s"\n'
        f'[slack]\nchannel = "#alerts"\napi_url = "{slack_url}"\ntoken = "{TOKEN}"\n'
    )
    if database_url:
        text += (
            f'[fleet]\ndatabase_url = "{database_url}"\nhost = "{host}"\nhost_deadline = "30s"\n'
        )
    return text


@dataclass
class Agent:
    host: str
    root: Path
    proc: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.root / "logs" / "app.log"

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ

    def rss_mb(self) -> float:
        pages = int(Path(f"/proc/{self.proc.pid}/statm").read_text().split()[1])
        return pages * PAGE / 1e6


def start_agents(n: int, base: Path, slack_url: str, database_url: str | None) -> list[Agent]:
    agents = []
    for i in range(n):
        host = f"host-{i + 1}"
        root = base / host
        (root / "logs").mkdir(parents=True)
        (root / "logs" / "app.log").touch()
        (root / "lw.toml").write_text(config(host, slack_url, database_url))
        (root / "lw.toml").chmod(0o600)
        cmd = [sys.executable, "-m", "logwatch", "-v", "--config", str(root / "lw.toml"),
               "watch", str(root / "logs"), "--state", str(root / "state.db")]  # fmt: skip
        with open(root / "agent.log", "wb") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        agents.append(Agent(host, root, proc))
    deadline = time.monotonic() + 180
    for a in agents:
        while "agent started" not in (a.root / "agent.log").read_text(errors="replace"):
            if time.monotonic() > deadline or a.proc.poll() is not None:
                raise SystemExit(f"{a.host} did not start: {(a.root / 'agent.log').read_text()}")
            time.sleep(0.05)
    return agents


def stop_agents(agents: list[Agent]) -> None:
    for a in agents:
        with contextlib.suppress(ProcessLookupError):
            a.proc.send_signal(signal.SIGTERM)
    for a in agents:
        try:
            a.proc.wait(15)
        except subprocess.TimeoutExpired:
            a.proc.kill()
            a.proc.wait(5)


def statements(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements").fetchone()
    return int(row[0]) if row else 0


@dataclass
class Result:
    roots: list[int]
    latencies_ms: list[float]
    idle_per_s: float
    busy_per_s: float
    cpu_s: list[float]
    rss_mb: list[float]


def run(
    mode: str, n: int, outages: int, slack: TimedStandin, pg: PostgresServer, base: Path
) -> Result:
    url = pg.create_database() if mode == "fleet" else None
    if url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    agents = start_agents(n, base / f"{mode}-{n}", slack.api_url, url)
    try:
        if url:  # every agent has migrated and said it is alive
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with psycopg.connect(url) as conn:
                    try:
                        row = conn.execute("SELECT count(*) FROM lw_agents").fetchone()
                    except psycopg.errors.UndefinedTable:  # not migrated yet
                        row = None
                if row and row[0] >= n:
                    break
                time.sleep(0.2)
        time.sleep(2.0)  # start-up settles (Slack checks, first heartbeats)
        cpu0 = [a.cpu_s() for a in agents]
        phase = time.monotonic()
        idle = 0.0
        if url:
            before, t = statements(url), time.monotonic()
            time.sleep(5.0)
            idle = (statements(url) - before) / (time.monotonic() - t)
        roots: list[int] = []
        latencies: list[float] = []
        busy_calls, busy_s = 0, 0.0
        for k in range(outages):
            target = f"10.{n}.{ord(mode[0])}.{k + 1}:6379"
            seen = len(slack.requests)
            before = statements(url) if url else 0
            t0 = time.monotonic()
            first_line = None
            while time.monotonic() - t0 < 2.0:
                for a in agents:
                    with open(a.log, "ab") as fh:
                        if first_line is None:
                            first_line = time.monotonic()
                        fh.write(records(target))
                time.sleep(TICK_S)
            time.sleep(2.0 + 3.0)  # quiet period, resolve and its delivery
            reqs = slack.requests[seen:]
            arrivals = slack.arrivals[seen:] if len(slack.arrivals) >= len(slack.requests) else []
            mine = [
                (i, r) for i, r in enumerate(reqs)
                if r.api_method == "chat.postMessage" and "thread_ts" not in r.body
                and target in str(r.body.get("text"))
            ]  # fmt: skip
            roots.append(len(mine))
            if mine and arrivals and first_line is not None:
                latencies.append((arrivals[mine[0][0]] - first_line) * 1000)
            if url:
                busy_calls += statements(url) - before
                busy_s += time.monotonic() - t0
        cpu = [a.cpu_s() - c for a, c in zip(agents, cpu0, strict=True)]
        print(f"    ({mode}, N={n}: measured phase {time.monotonic() - phase:.0f} s)", flush=True)
        rss = [a.rss_mb() for a in agents]
    finally:
        stop_agents(agents)
    return Result(roots, latencies, idle, busy_calls / busy_s if busy_s else 0.0, cpu, rss)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, action="append", help="N (repeatable)")
    parser.add_argument("--outages", type=int, default=5)
    args = parser.parse_args()
    sizes = args.agents or [2, 8, 32]
    pg = PostgresServer(free_port())
    pg.start()
    slack = TimedStandin().start()
    print(f"fleet benchmark: {args.outages} outages per run, 2 s of errors each, quiet 2 s")
    head = f"{'N':>3} {'mode':<6} {'roots/outage':<14} {'p50 ms':>7} {'p99 ms':>7}"
    print(f"{head} {'pg st/s idle':>12} {'pg st/s out':>11} {'cpu s/agent':>11} {'rss MB':>7}")
    try:
        with tempfile.TemporaryDirectory(prefix="lw-fleet-bench-") as tmp:
            for n in sizes:
                results = {}
                for mode in ("sqlite", "fleet"):
                    r = run(mode, n, args.outages, slack, pg, Path(tmp))
                    results[mode] = r
                    lat = r.latencies_ms or [float("nan")]
                    print(
                        f"{n:>3} {mode:<6} {','.join(map(str, r.roots)):<14}"
                        f" {statistics.median(lat):>7.0f} {percentile(lat, 99):>7.0f}"
                        f" {r.idle_per_s:>12.1f} {r.busy_per_s:>11.1f}"
                        f" {statistics.mean(r.cpu_s):>11.2f} {statistics.mean(r.rss_mb):>7.1f}",
                        flush=True,
                    )
                extra_cpu = statistics.mean(results["fleet"].cpu_s) - statistics.mean(
                    results["sqlite"].cpu_s
                )
                extra_rss = statistics.mean(results["fleet"].rss_mb) - statistics.mean(
                    results["sqlite"].rss_mb
                )
                ok = all(x == 1 for x in results["fleet"].roots)
                print(
                    f"{n:>3} fleet-sqlite per agent: {extra_cpu:+.2f} CPU s over the run,"
                    f" {extra_rss:+.1f} MB RSS; fleet roots {'all 1' if ok else 'NOT 1'}",
                    flush=True,
                )
    finally:
        slack.stop()
        pg.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
