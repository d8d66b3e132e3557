"""Time and keys read by the RQ inspection on a big queue (rq_impact.RqReader).

    python benchmarks/rq_inspect.py [--jobs 200000] [--repeat 5]

Starts its own redis-server on a free loopback port (scripts/redis_server.py), fills one
queue with `--jobs` waiting jobs and its failed registry with as many failed jobs (RQ's
key layout, written in pipelines as tests/test_rq_impact.py's fill_rq does), with a
window covering every failure (the worst case: all of them could be the incident's), then
inspects it `--repeat` times and prints the median time, the keys read and the counts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests"), str(REPO)]

from redis_server import RedisServer  # noqa: E402
from test_rq_impact import fill_rq  # noqa: E402

from logwatch.rq_impact import Bounds, RqReader  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with RedisServer() as server:
        client = redis.Redis(port=server.port)
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill_rq(client, queued=args.jobs, failed=args.jobs, ended=now - timedelta(seconds=10))
        fill_s = time.perf_counter() - started
        bounds = Bounds()
        runs = []
        for _ in range(args.repeat):
            impact = RqReader(client, bounds=bounds).inspect(
                since=now - timedelta(minutes=5), until=now - timedelta(seconds=5)
            )
            assert impact is not None
            runs.append(impact)
        client.close()
    last = runs[-1]
    queue = last.queues[0]
    ms = statistics.median(r.seconds for r in runs) * 1000
    print(
        f"queue of {args.jobs:,} waiting jobs and {args.jobs:,} failed (filled in {fill_s:.1f} s)"
    )
    print(
        f"inspection: median {ms:.1f} ms over {args.repeat} runs, {last.keys_read:,} keys read"
        f" (bound {bounds.max_keys:,} keys, {bounds.max_seconds:g} s)"
    )
    floor = f" (a floor: the newest {bounds.max_failed_read:,} read)" if queue.partial else ""
    print(
        f"counts: waiting {queue.length:,}, failed in window {queue.failed:,}{floor},"
        f" failed registry {queue.failed_total:,}, truncated={last.truncated}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
