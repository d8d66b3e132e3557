"""What watching the watcher costs: the idle agent's CPU and RSS with /metrics and the active
Redis check on against off, and the latency of a scrape with 10,000 files followed.

Usage: python benchmarks/agent_metrics.py [--seconds 30] [--files 10000] [--scrape-every 5]

Each run starts `logwatch watch` as a user does, on a log directory of 10 idle files; "on"
adds `[metrics] listen` and the active check (`probe_interval`, default 30 s, against a real
redis-server on a free loopback port) and scrapes /metrics every `--scrape-every` seconds,
as a Prometheus would. CPU is the agent's utime + stime from /proc over the window after a
warm-up; RSS is VmRSS at the end. Then an agent following `--files` files is scraped 20
times: median and worst latency, and the exposition's size and series count.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def _redis_server_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_redis_server", REPO / "scripts" / "redis_server.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def rss_mib(pid: int) -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert found
    return int(found.group(1)) / 1024


class Agent:
    """One `logwatch watch` process, stopped by its handle."""

    def __init__(self, root: Path, config: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        (root / "logwatch.toml").write_text(config)
        self.root = root
        self.err = root / "agent.log"
        with open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "logwatch", "-v", "--config", str(root / "logwatch.toml"),
                 "watch", str(root / "logs"), "--state", str(root / "state.db"), "--jsonl",
                 str(root / "changes.jsonl")],
                stdout=subprocess.DEVNULL, stderr=err, cwd=root,
            )  # fmt: skip
        deadline = time.monotonic() + 300
        while "agent started" not in self.err.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"agent did not start: {self.err.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_logs(root: Path, files: int) -> None:
    logs = root / "logs"
    for n in range(files):
        path = logs / f"d{n % 100}" / f"app-{n}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"2026-03-01 04:00:00,000 INFO [app] started {n}\n")


def scrape(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        body = answer.read()
    return time.perf_counter() - started, body


def idle(
    root: Path, config: str, seconds: float, url: str | None, every: float
) -> tuple[float, float]:
    make_logs(root, 10)
    agent = Agent(root, config)
    try:
        time.sleep(3)  # warm-up: startup reads, first probe, first health write
        pid = agent.proc.pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        next_scrape = t0
        while time.monotonic() - t0 < seconds:
            if url is not None and time.monotonic() >= next_scrape:
                scrape(url)
                next_scrape += every
            time.sleep(0.2)
        cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0) * 100
        return cpu, rss_mib(pid)
    finally:
        agent.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="idle window per run")
    parser.add_argument("--files", type=int, default=10_000, help="files for the scrape run")
    parser.add_argument("--scrape-every", type=float, default=5.0)
    parser.add_argument("--probe-interval", default="30s")
    args = parser.parse_args()
    servers = _redis_server_module()
    RedisServer, free_port = servers.RedisServer, servers.free_port
    with tempfile.TemporaryDirectory(prefix="logwatch-bench-") as tmp:
        base = Path(tmp)
        with RedisServer(logfile=base / "redis.log") as server:
            off_cpu, off_rss = idle(
                base / "off", "[logwatch]\nprobe = false\n", args.seconds, None, 0
            )
            port = free_port()
            on_config = (
                f'[logwatch]\nredis_url = "{server.url}"\n'
                f'probe_interval = "{args.probe_interval}"\n'
                f'[metrics]\nlisten = "127.0.0.1:{port}"\n'
            )
            url = f"http://127.0.0.1:{port}/metrics"
            on_cpu, on_rss = idle(base / "on", on_config, args.seconds, url, args.scrape_every)
        print(f"idle agent, 10 files, {args.seconds:.0f} s window:")
        print(f"  off (no metrics, no active check): CPU {off_cpu:.2f} %  RSS {off_rss:.1f} MiB")
        print(
            f"  on  (metrics scraped every {args.scrape_every:g} s, active check every"
            f" {args.probe_interval}): CPU {on_cpu:.2f} %  RSS {on_rss:.1f} MiB"
        )
        print(f"  difference: CPU {on_cpu - off_cpu:+.2f} points  RSS {on_rss - off_rss:+.1f} MiB"
              "  (targets: within 1 point, +10 MiB)")  # fmt: skip

        root = base / "many"
        make_logs(root, args.files)
        port = free_port()
        agent = Agent(root, f'[logwatch]\nprobe = false\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            times, body = [], b""
            for _ in range(20):
                took, body = scrape(url)
                times.append(took)
            series = sum(1 for line in body.decode().splitlines() if line and line[0] != "#")
            print(f"scrape with {args.files} files followed (20 scrapes):")
            median, worst = statistics.median(times) * 1000, max(times) * 1000
            print(
                f"  median {median:.1f} ms  worst {worst:.1f} ms"
                f"  {len(body) / 1024:.1f} KiB  {series} samples"
            )
            print(f"  agent RSS {rss_mib(agent.proc.pid):.1f} MiB")
        finally:
            agent.stop()


if __name__ == "__main__":
    main()
