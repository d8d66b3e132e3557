"""A redis-py app whose logs go to every host of a pretend fleet (tests/fleet_rig.py).

    python tests/fleet_app.py --port N --log DIR/web-1/app.log[@OFFSET_S] ...

A few real Redis requests a second; each one that fails logs `logger.exception(...)`
(the real redis-py traceback) into every host's log, stamped by that host's clock
(OFFSET_S seconds off), as N app servers behind one Redis would. A log named in the file
`DIR/stopped` (one path a line) is no longer written: that host died.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


class HostFormatter(logging.Formatter):
    """Python logging's asctime, from a clock `offset_s` off."""

    def __init__(self, offset_s: float) -> None:
        super().__init__(FORMAT)
        self.offset = timedelta(seconds=offset_s)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        when = datetime.fromtimestamp(record.created, UTC) + self.offset
        return when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", action="append", required=True)
    parser.add_argument("--stopped", type=Path, required=True)
    args = parser.parse_args()

    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    handlers: dict[str, logging.Handler] = {}
    for spec in args.log:
        path, _, offset = spec.partition("@")
        handler = logging.FileHandler(path)
        handler.setFormatter(HostFormatter(float(offset or 0)))
        handlers[path] = handler
    log = logging.getLogger("morningai.app")
    log.setLevel(logging.INFO)
    log.propagate = False
    client = redis.Redis(
        host="127.0.0.1", port=args.port, socket_timeout=0.5, socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )  # fmt: skip
    n = 0
    while not stop.is_set():
        stopped = set(args.stopped.read_text().split()) if args.stopped.exists() else set()
        for path, handler in handlers.items():
            if path in stopped:
                log.removeHandler(handler)
            elif handler not in log.handlers:
                log.addHandler(handler)
        n += 1
        try:
            client.incr("requests")
            log.info("GET /api/v1/feed 200 request=%d", n)
        except redis.RedisError:
            log.exception("Exception on /api/v1/feed [GET] request=%d", n)
        stop.wait(0.1)
    logging.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
