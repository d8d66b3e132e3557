#!/usr/bin/env python3
"""A real outage to the Slack root message, with the probe's wait: time and what Slack shows.

Each round starts a real redis-server, the MorningAI app and an RQ worker on it
(tests/outage_app.py), the Slack Web API stand-in on 127.0.0.1 and a real `logwatch watch`
with REDIS_URL pointing at that server, so an incident that opens is probed (the root
waits up to 2 s for the verdict). It then kills redis-server (SIGKILL) and measures:

- first line -> root: from the first error line the app or worker writes after the kill
  (seen by polling the two logs every 2 ms) to the stand-in receiving the root message;
- kill -> root: from the kill itself.

Redis stays down for --down seconds (updates come every 3 s: `update_interval = "3s"`),
then restarts; the round ends with the all-clear. The first round's messages are printed
as Slack shows them (logwatch.notify.textview): the root as posted, each update, the
resolved root and the broadcast all-clear. Prints min, median and max of each measure.
Exit 0 whatever the figures (a benchmark, not a test).

Run from the repository root, with the test dependencies and redis-server installed:

    python benchmarks/slack_root_latency.py             # 5 rounds
    python benchmarks/slack_root_latency.py --rounds 3 --down 8
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from outage_app import MorningAI  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from slack_standin import Recorded  # noqa: E402
from test_oncall_e2e import OnCallAgent  # noqa: E402
from test_slack_e2e import TimedStandin, roots, slack_env  # noqa: E402

from logwatch.notify.textview import message_text  # noqa: E402

CONFIG = '[incidents]\nupdate_interval = "3s"\n'
ERROR_WORDS = (b"Error", b"refused", b"Traceback")


def first_error_at(paths: list[Path], sizes: dict[Path, int], timeout_s: float) -> float:
    """Monotonic time at which an error line first shows up past `sizes` in one of `paths`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in paths:
            with contextlib.suppress(OSError), open(path, "rb") as fh:
                fh.seek(sizes.get(path, 0))
                if any(word in fh.read() for word in ERROR_WORDS):
                    return time.monotonic()
        time.sleep(0.002)
    raise SystemExit(f"no error line within {timeout_s}s of the kill")


def shown(r: Recorded) -> str:
    """A request as Slack shows it, with what kind of message it is."""
    if r.api_method == "chat.update":
        kind = "the root, edited"
    elif "thread_ts" in r.body:
        also = " (also sent to the channel)" if r.body.get("reply_broadcast") else ""
        kind = "thread reply" + also
    else:
        kind = "root message"
    body = message_text({"text": r.body.get("text", ""), "blocks": r.body.get("blocks") or []})
    return f"--- {kind} ---\n{body}"


def one_round(work: Path, down_s: float, show: bool) -> tuple[float, float]:
    """(first line -> root, kill -> root) in seconds, for one outage."""
    logs = work / "morningai" / "logs"
    logs.mkdir(parents=True)
    server = RedisServer(logfile=work / "redis.log")
    port = server.start()
    standin = TimedStandin()
    standin.start()
    env = slack_env(standin)
    env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    (work / "logwatch.toml").write_text(CONFIG)
    agent = OnCallAgent(work, logs, env, quiet="3s", config=work / "logwatch.toml")
    app = MorningAI(port, logs)
    try:
        agent.start()
        app.start()
        app.wait_healthy()
        paths = [app.app_log, app.worker_log]
        sizes = {p: p.stat().st_size for p in paths if p.exists()}
        killed = time.monotonic()
        server.kill()
        first = first_error_at(paths, sizes, 20)
        if not standin.wait_for(lambda rs: bool(roots(rs)), timeout=20):
            raise SystemExit(f"no root message:\n{agent.log()[-2000:]}")
        arrival = next(at for at, r in standin.timed() if r in roots([r]))
        # The outage goes on (updates), then Redis comes back and the all-clear follows.
        time.sleep(max(0.0, down_s - (time.monotonic() - killed)))  # the outage's length
        server.restart()
        if not standin.wait_for(
            lambda rs: any(r.body.get("reply_broadcast") for r in rs), timeout=40
        ):
            raise SystemExit(f"no all-clear:\n{agent.log()[-2000:]}")
        standin.wait_for(lambda rs: any("recovery confirmed" in str(r.body) for r in rs), 10)
        if show:
            print("\nOne real outage (redis-server killed under the app), as Slack shows it:\n")
            for r in standin.requests:
                if r.api_method in ("chat.postMessage", "chat.update"):
                    print(shown(r) + "\n")
        return arrival - first, arrival - killed
    finally:
        app.stop()
        with contextlib.suppress(Exception):
            if agent.alive():
                agent.stop()
        agent.kill()
        standin.stop()
        server.stop()


def main() -> int:
    """Parse arguments, run the rounds, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="outages (default 5)")
    parser.add_argument("--down", type=float, default=8.0, help="seconds Redis stays down")
    args = parser.parse_args()
    from_line, from_kill = [], []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="slack-root-") as tmp:
            line_s, kill_s = one_round(Path(tmp), args.down, show=i == 0)
        from_line.append(line_s * 1000)
        from_kill.append(kill_s * 1000)
        print(f"round {i + 1}: first error line -> root {line_s * 1000:7.1f} ms;"
              f" kill -> root {kill_s * 1000:7.1f} ms")  # fmt: skip
    for name, values in (("first line -> root", from_line), ("kill -> root", from_kill)):
        print(f"{name:18}  min {min(values):7.1f} ms  median {statistics.median(values):7.1f} ms"
              f"  max {max(values):7.1f} ms  (n={len(values)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
