"""A periodic-job scheduler ("beat") run by supervisord, its stderr captured by supervisor.

It logs with Python's default format (`logging.basicConfig`: `LEVEL:name:message`, no
time at all). Every two seconds it enqueues due jobs on RQ (redis-py 4.x sync); a Redis error is
logged with its traceback, and three in a row end the process with a raw traceback, which
supervisord answers by starting it again.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

import redis
from rq import Queue

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("beat")


def main() -> int:
    """Tick until SIGTERM."""
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    conn = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)
    queue = Queue("default", connection=conn)
    log.info("beat started pid=%s, redis-py %s, rq queue 'default'", os.getpid(), redis.__version__)
    failures = 0
    tick = 0
    while not stop:
        tick += 1
        try:
            conn.set("beat:last", int(time.time()))
            if tick % 5 == 0:
                queue.enqueue("webapp.jobs.refresh_feed", tick % 12)
            if tick % 15 == 0:
                log.info("tick %d: redis reachable, %d jobs queued", tick, len(queue))
            failures = 0
        except redis.RedisError:
            failures += 1
            if failures >= 3:
                raise  # supervisord restarts us; the traceback goes raw to stderr
            log.exception("tick %d failed", tick)
        time.sleep(2.0)
    log.info("beat stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
