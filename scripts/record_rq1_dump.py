"""Record RQ 1.x's keys after an induced outage, for tests/test_rq_impact.py.

    python scripts/record_rq1_dump.py [--venv DIR] [--out tests/samples/rq/rq1-outage.json]

Creates (once) a venv with rq 1.16 under DIR (default ~/.cache/logwatch/rq1-venv), starts
a redis-server with AOF on a free loopback port, real RQ 1.x workers (two on `default`,
one on `low`) and the ledger jobs of tests/rqjobs/outage_jobs.py: two long jobs in flight
when the server is SIGKILLed, one that fails with the outage's Redis error once the server
is back, three jobs on a queue no worker serves. Workers that quit are restarted under new
names (as supervisord would). Then every key is dumped (base64 values) with the truth the
script knows from its ledger and its processes: per queue the failed, abandoned and
waiting jobs, and the workers before, alive and gone. Job hashes' `data` field (pickled
arguments, never read by logwatch) is left out.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "scripts")]

from redis_server import RedisServer  # noqa: E402
from rq_rig import RqRig  # noqa: E402

RQ1 = "rq==1.16.2"
REDIS_PY = "redis<6"
SLOW_S = 6.0


def ensure_venv(path: Path) -> str:
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", RQ1, REDIS_PY], check=True)
    return str(python)


def enqueue(python: str, url: str, queue: str, func: str, *args: Any) -> None:
    """Enqueue with RQ 1.x itself (its own key layout), in its interpreter."""
    code = (
        "import sys, json, redis, rq; "
        "q = rq.Queue(sys.argv[2], connection=redis.Redis.from_url(sys.argv[1])); "
        "q.enqueue(sys.argv[3], *json.loads(sys.argv[4]))"
    )
    subprocess.run([python, "-c", code, url, queue, func, json.dumps(args)], check=True)


def dump_keys(client: Any) -> dict[str, Any]:
    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode()

    out: dict[str, Any] = {}
    for key in sorted(client.keys("*")):
        kind = client.type(key).decode()
        if kind == "string":
            value: Any = b64(client.get(key))
        elif kind == "hash":
            value = {b64(f): b64(v) for f, v in client.hgetall(key).items() if f != b"data"}
        elif kind == "list":
            value = [b64(v) for v in client.lrange(key, 0, -1)]
        elif kind == "set":
            value = sorted(b64(v) for v in client.smembers(key))
        elif kind == "zset":
            value = [[b64(m), s] for m, s in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            value = [
                [i.decode(), {b64(f): b64(v) for f, v in fields.items()}]
                for i, fields in client.xrange(key)
            ]
        else:
            continue
        out[key.decode()] = {"type": kind, "value": value}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=Path.home() / ".cache/logwatch/rq1-venv")
    parser.add_argument("--out", type=Path, default=REPO / "tests/samples/rq/rq1-outage.json")
    parser.add_argument("--work", type=Path, default=Path("/tmp/logwatch-rq1-record"))
    args = parser.parse_args(argv)
    python = ensure_venv(args.venv)
    version = subprocess.run(
        [python, "-c", "import rq; print(rq.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    args.work.mkdir(parents=True, exist_ok=True)
    server = RedisServer(
        logfile=args.work / "redis.log",
        extra_args=["--appendonly", "yes", "--appendfsync", "always"],
    )
    server.start()
    rig = RqRig(server.url, args.work, python=python)
    try:
        ledger = str(rig.ledger.path)
        for name, queue in (("w1", "default"), ("w2", "default"), ("l1", "low")):
            rig.wait_listening(rig.start_worker(name, queue))
        for _ in range(2):
            enqueue(python, server.url, "default", "outage_jobs.slow", ledger, SLOW_S)
        enqueue(python, server.url, "low", "outage_jobs.uses_redis", ledger, server.port)
        for _ in range(3):
            enqueue(python, server.url, "idle", "outage_jobs.quick", ledger)
        rig.wait(lambda: rig.ledger.count("start") == 3, 30, "three jobs to start")
        time.sleep(1.0)  # the workers' own starts well before the outage
        since = datetime.now(UTC)
        server.kill()
        first = rig.workers[:2]
        rig.wait(lambda: all(w.proc.poll() is not None for w in first), 60, "w1, w2 to quit")
        server.restart()
        until = datetime.now(UTC)
        for worker in rig.supervise():
            rig.wait_listening(worker)
        rig.wait(lambda: rig.ledger.count("raise") == 1, 60, "the Redis job to fail")
        client = rig.client()
        rig.wait(lambda: client.zcard("rq:failed:low") == 1, 30, "its failure recorded")
        slow = [r for r in rig.ledger.rows() if r[1] == "start" and r[3] == "slow"]
        truth = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "queues": {
                "default": {"failed": 0, "abandoned": len(slow), "length": 0},
                "low": {"failed": rig.ledger.count("raise"), "abandoned": 0, "length": 0},
                "idle": {"failed": 0, "abandoned": 0, "length": 3},
            },
            "workers": {
                "before": 3,  # started before the kill
                "alive": sum(w.proc.poll() is None for w in rig.workers),
                "gone": len(rig.exited),
            },
            "error_type": "redis.exceptions.ConnectionError",
        }
        body = {
            "rq_version": version,
            "redis_version": client.info("server")["redis_version"],
            "recorded_at": datetime.now(UTC).isoformat(),
            "made_by": "scripts/record_rq1_dump.py",
            "note": "job hashes without their `data` field (pickled arguments)",
            "truth": truth,
            "keys": dump_keys(client),
        }
        client.close()
    finally:
        rig.stop()
        server.cleanup()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(body, indent=1) + "\n")
    print(f"wrote {args.out}: rq {version}, {len(body['keys'])} keys, truth {truth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
