"""RQ job functions for the RQ impact tests (imported by real `rq worker` processes).

Each job writes a line to a ledger file (not Redis) when it starts, ends or raises, so the
test knows what ran whatever Redis remembers: `TIME start|end|raise JOB_ID FUNCTION`.
Works under RQ 1.x and 3.x (no RQ import needed; the job id comes from get_current_job).
"""

from __future__ import annotations

import time


def _job_id() -> str:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else "?"


def _write(ledger: str, what: str, name: str) -> None:
    with open(ledger, "a") as fh:
        fh.write(f"{time.time():.3f} {what} {_job_id()} {name}\n")


def slow(ledger: str, seconds: float) -> str:
    """A long job: in flight when Redis dies, its worker cannot record its end."""
    _write(ledger, "start", "slow")
    time.sleep(seconds)
    _write(ledger, "end", "slow")
    return "ok"


def quick(ledger: str) -> str:
    """An ordinary short job."""
    _write(ledger, "start", "quick")
    _write(ledger, "end", "quick")
    return "ok"


def uses_redis(ledger: str, port: int, patience_s: float = 60.0) -> None:
    """A job that talks to Redis until Redis fails it, then waits (bounded) for Redis to
    answer again and raises the error it got: its failure reaches the failed registry."""
    import redis

    _write(ledger, "start", "uses_redis")
    client = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5, retry=None)
    deadline = time.monotonic() + patience_s
    error: redis.RedisError | None = None
    while time.monotonic() < deadline:
        try:
            client.incr("outage_jobs:counter")
            if error is not None:
                break  # back: fail now, with the error the outage gave us
        except redis.RedisError as exc:
            error = error or exc
        time.sleep(0.1)
    if error is None:
        _write(ledger, "end", "uses_redis")
        return
    _write(ledger, "raise", "uses_redis")
    raise error
