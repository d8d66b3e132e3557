#!/usr/bin/env python3
"""Hostile lines: how late do they make the next incident?

Starts a real agent (`python -m logwatch --config C -v watch DIR --dry-run --state S
--jsonl J`, as benchmarks/agent_latency.py drives it), appends hostile lines to its log,
then at once a connection-refused burst on a fresh target (two tracebacks: the built-in
rule opens on 2), and prints the delay from writing the burst's first line to the
`incident.opened` line for that target (the first change for it: with a delay longer than
the quiet period, 10m here, the incident would open and resolve in one tick). Two
scenarios:

- builtin: 5 refused lines, each followed by 45,000 random hex characters (built-in pack,
  no user rule; once 65 s, in the signature normaliser);
- user-rule: a user rule `(a+)+$` and 20 lines of 40,000 a's (once 21.8 s: every line paid
  the 1 s match timeout; now the rule is switched off after 3 timeouts in a minute, the
  2nd and 3rd on probation with a tenth of the timeout: about 1.2 timeouts in all).

Target: < 1 s for builtin. Not part of the test suite.

    python benchmarks/hostile_lines.py                 # both, 3 runs each
    python benchmarks/hostile_lines.py --runs 5 --scenario builtin
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.0
TIMEOUT_S = 120.0
EVIL_RULE = """
[[rule]]
id = "evil-backtracking"
category = "connection"
severity = "error"
threshold = 1
window_s = 60
patterns = ['''(a+)+$''']
"""


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def refused(host: str, tail: str = "") -> str:
    """A redis-py refused-connection line as Python logging writes it."""
    return (
        f"{stamp()} ERROR [morningai.app] redis.exceptions.ConnectionError: Error 111"
        f" connecting to {host}:6379. Connection refused.{tail}\n"
    )


def burst(host: str) -> str:
    """Two refused tracebacks for host: one write opens one incident."""
    record = (
        f"{stamp()} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 369,'
        " in connect\n"
        "    raise ConnectionError(self._error_message(e))\n"
        f"redis.exceptions.ConnectionError: Error 111 connecting to {host}:6379."
        " Connection refused.\n"
    )
    return record * 2


def hostile(scenario: str, rng: random.Random) -> str:
    if scenario == "builtin":
        return "".join(
            refused(
                "10.9.9.9", " " + "".join(rng.choice("0123456789abcdef") for _ in range(45_000))
            )
            for _ in range(5)
        )
    return "".join(f"{stamp()} INFO [morningai.api] {'a' * 40_000}!\n" for _ in range(20))


def run_once(scenario: str, n: int) -> float | None:
    """Seconds from the burst's write to its incident.opened, or None if never seen."""
    with tempfile.TemporaryDirectory(prefix="lw-hostile-") as tmp:
        work = Path(tmp)
        logs = work / "logs"
        logs.mkdir()
        log = logs / "app.log"
        log.write_text(f"{stamp()} INFO [morningai.api] 200 GET /healthz 1.2ms\n")
        config = "[logwatch]\nprobe = false\n"
        if scenario == "user-rule":
            (work / "evil.toml").write_text(EVIL_RULE)
            config += 'rules = ["evil.toml"]\n'
        (work / "logwatch.toml").write_text(config)
        jsonl = work / "changes.jsonl"
        agent_log = work / "agent.log"
        cmd = [
            sys.executable, "-m", "logwatch", "--config", str(work / "logwatch.toml"), "-v",
            "watch", str(logs), "--dry-run", "--state", str(work / "state.db"),
            "--jsonl", str(jsonl), "--quiet-period", "10m",
        ]  # fmt: skip
        with open(agent_log, "wb") as err:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        try:
            deadline = time.monotonic() + 20
            while "following path=" not in agent_log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"agent did not start:\n{agent_log.read_text()[-2000:]}")
                time.sleep(0.02)
            time.sleep(0.5)  # let the observer settle
            target = f"10.0.{n // 254}.{n % 254 + 1}"
            fd = os.open(log, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, hostile(scenario, random.Random(n)).encode())
                started = time.monotonic()
                os.write(fd, burst(target).encode())
            finally:
                os.close(fd)
            while time.monotonic() < started + TIMEOUT_S:
                text = jsonl.read_text() if jsonl.exists() else ""
                for line in text.splitlines():
                    change = json.loads(line)
                    # A change that comes later than the quiet period resolves the incident
                    # in the tick that opens it: the first change for the target counts.
                    if change["incident"]["target"] == f"{target}:6379":
                        return time.monotonic() - started
                time.sleep(0.005)
            return None
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            if scenario == "user-rule":
                said = agent_log.read_text(errors="replace")
                print(f"    agent said: {said.count('switched off for')} switch-off warning(s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", choices=("builtin", "user-rule", "both"), default="both")
    args = parser.parse_args()
    scenarios = ("builtin", "user-rule") if args.scenario == "both" else (args.scenario,)
    print("delay from a refused burst (after hostile lines) to its incident.opened")
    for scenario in scenarios:
        delays: list[float] = []
        for n in range(args.runs):
            took = run_once(scenario, n)
            print(f"  {scenario} run {n + 1}: " + (f"{took:.3f}s" if took is not None else "never"))
            if took is not None:
                delays.append(took)
        if delays:
            verdict = "meets" if statistics.median(delays) < TARGET_S else "MISSES"
            print(
                f"{scenario:<10} median {statistics.median(delays):.3f}s  max {max(delays):.3f}s"
                f"  ({verdict} < {TARGET_S:.0f}s)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
