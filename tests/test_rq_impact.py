"""RQ impact with real parts: a real redis-server killed mid-run, real `rq worker`s, a real
redis-py app enqueuing, and what logwatch counts against what the test knows it did.

The jobs write a ledger (tests/rqjobs/outage_jobs.py) so the truth does not come from the
Redis being inspected: two long jobs in flight when Redis dies (their workers quit:
abandoned), one job that talks to Redis and fails with the outage's error once Redis is
back (failed), and the app's enqueues attempted and failed. The inspection runs as an
ACL user that may only read.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from rq_rig import RqRig

from logwatch.config import Config
from logwatch.impact import describe
from logwatch.model import Finding, Incident
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.rq_impact import Bounds, RqReader
from logwatch.rq_inspect import inspect_for_incident
from logwatch.rq_values import error_line, function_name
from logwatch.rules import load_rule_pack

SAMPLES = Path(__file__).resolve().parent / "samples" / "rq"
READER = ("logwatch-reader", "read-only-pw")
SLOW_S = 6.0
PERSIST = ("--appendonly", "yes", "--appendfsync", "always")


def read_only_user(admin: redis.Redis) -> None:
    """An ACL user that can run read commands (and INFO) and nothing else."""
    name, password = READER
    admin.acl_setuser(
        name,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        commands=["+@read", "+info", "+ping", "+hello", "-@write"],
    )


def reader_url(port: int) -> str:
    return f"redis://{READER[0]}:{READER[1]}@127.0.0.1:{port}/0"


def incident_from_logs(logs: Path) -> tuple[Incident, Engine]:
    """The agent's engine over the logs, records in time order across files."""
    config = Config()
    engine = Engine(config, load_rule_pack())
    stats = Stats()
    records = [r for p in sorted(logs.glob("*.log")) for r in read_records(p, config, stats)]
    records.sort(key=lambda r: r.time)
    for record in records:
        event = engine.match(record)
        if event is not None:
            engine.add(event)
        else:
            engine.tick(record.time)
    engine.tick(datetime.now(UTC) + timedelta(hours=1))
    found = [i for i in engine.grouper.incidents() if i.category == "connection"]
    assert len(found) == 1, [(i.category, i.target, i.events) for i in engine.grouper.incidents()]
    return found[0], engine


@pytest.fixture
def rig(tmp_path: Path, redis_server: Callable[..., Any]) -> Iterator[tuple[Any, RqRig]]:
    server = redis_server(*PERSIST)
    rig = RqRig(server.url, tmp_path)
    try:
        yield server, rig
    finally:
        rig.stop()


@pytest.mark.slow
def test_an_outage_counts_what_the_test_did(rig: tuple[Any, RqRig]) -> None:
    server, rq = rig
    port = server.port
    ledger = str(rq.ledger.path)
    for name, queues in (("d1", ("default",)), ("d2", ("default",)), ("l1", ("low",))):
        rq.wait_listening(rq.start_worker(name, *queues))
    admin = rq.client()
    Queue("default", connection=admin).enqueue("outage_jobs.slow", ledger, SLOW_S)
    Queue("default", connection=admin).enqueue("outage_jobs.slow", ledger, SLOW_S)
    Queue("low", connection=admin).enqueue("outage_jobs.uses_redis", ledger, port)
    rq.wait(lambda: rq.ledger.count("start") == 3, 20, "three jobs to start")
    app = rq.start_app()
    # Three seconds of enqueues: the workers' own starts are then well before the outage.
    rq.wait(lambda: app.attempted >= 30, 15, "the app to enqueue")
    admin.close()

    server.kill()
    first_two = rq.workers[:2]
    rq.wait(lambda: all(w.proc.poll() is not None for w in first_two), 30, "d1, d2 to quit")
    server.restart()
    for worker in rq.supervise():
        rq.wait_listening(worker)
    rq.wait(lambda: rq.ledger.count("raise") == 1, 30, "the Redis job to fail")
    admin = rq.client()
    rq.wait(lambda: admin.zcard("rq:failed:low") == 1, 20, "its failure to be recorded")
    seen = app.attempted
    rq.wait(lambda: app.attempted >= seen + 5, 10, "the app to enqueue again")
    app.stop()
    read_only_user(admin)
    admin.close()

    # What the test knows it did.
    assert app.failed > 0 and app.attempted > app.failed
    abandoned = [r for r in rq.ledger.rows() if r[1] == "start" and r[3] == "slow"]
    assert len(abandoned) == 2
    failed = rq.ledger.count("raise", "uses_redis")

    incident, engine = incident_from_logs(rq.logs)
    jobs = incident.jobs
    assert jobs is not None
    assert jobs.total("enqueue_failed") == app.failed
    assert jobs.total("job_failed") == failed == 1
    assert jobs.total("worker_exit") == len(rq.exited) == 2
    assert jobs.total("worker_start") == 2

    impact = inspect_for_incident(reader_url(port), incident)
    assert impact is not None, "not read (ACL? unreachable?)"
    by_queue = {q.name: q for q in impact.queues}
    assert by_queue["low"].failed == failed
    assert by_queue["default"].failed == 0
    assert by_queue["default"].abandoned == len(abandoned)
    assert by_queue["low"].abandoned == 0
    assert {j.id for j in impact.jobs if j.state == "abandoned"} == {r[2] for r in abandoned}
    failed_job = [j for j in impact.jobs if j.state == "failed"]
    assert [j.function for j in failed_job] == ["outage_jobs.uses_redis"]
    assert failed_job[0].error.startswith("redis.exceptions.ConnectionError")
    assert ledger not in json.dumps([j.error for j in impact.jobs])  # no job argument shown
    w = impact.workers
    assert (w.registered, w.before, w.alive, w.restarted, w.gone) == (5, 3, 3, 2, 2)
    assert not impact.truncated and impact.keys_read < 100

    engine.grouper.diagnose(
        incident.id,
        Finding(summary="recovery confirmed", rq=impact, recovery=True),
        impact.checked_at,
    )
    final = next(i for i in engine.grouper.incidents() if i.id == incident.id)
    text = describe(final.jobs)
    print(f"\n[rq outage] app: {app.attempted} enqueues, {app.failed} failed; ledger: "
          f"{len(rq.ledger.rows())} rows, {failed} raised, {len(abandoned)} in flight; "
          f"workers quit {len(rq.exited)}\nlogwatch: {text}\n"
          f"inspection: {impact.keys_read} keys, {impact.seconds * 1000:.1f} ms")  # fmt: skip
    assert f"During the outage {app.failed:,} enqueue" in text
    assert "1 job failed (queue low); 2 were abandoned mid-run (queue default)" in text
    assert f"{len(rq.exited)} RQ workers quit (unhandled exception)" in text
    assert "all 3 workers are back (2 restarted)" in text
    assert "`rq requeue --queue default --all`, `rq requeue --queue low --all`" in text


@pytest.mark.slow
def test_the_inspection_only_reads(rig: tuple[Any, RqRig]) -> None:
    """Under an ACL user that may not write, the inspection still reads everything."""
    server, rq = rig
    admin = rq.client()
    q = Queue("default", connection=admin)
    for _ in range(3):
        q.enqueue("outage_jobs.quick", str(rq.ledger.path))
    read_only_user(admin)
    before = admin.info("commandstats")
    impact = inspect_for_incident(reader_url(server.port), _now_incident())
    after = admin.info("commandstats")
    admin.close()
    assert impact is not None and impact.queues[0].length == 3
    wrote = {
        k: v["calls"] - before.get(k, {}).get("calls", 0)
        for k, v in after.items()
        if k.split("_", 1)[1].split("|")[0] in WRITES
        and v["calls"] != before.get(k, {}).get("calls")
    }
    assert wrote == {}


WRITES = {"set", "del", "hset", "zadd", "zrem", "zremrangebyscore", "lpush", "rpush", "sadd",
          "srem", "expire", "xadd", "lrem", "persist", "unlink"}  # fmt: skip


def _now_incident() -> Incident:
    from logwatch.model import Severity

    now = datetime.now(UTC)
    return Incident(
        id="inc-x", category="connection", target="x", severity=Severity.ERROR, status="resolved",
        first_seen=now - timedelta(minutes=1), last_seen=now - timedelta(seconds=30), events=3,
        signatures={}, sources={}, rules={}, samples=(), hint="",
    )  # fmt: skip


def test_no_rq_keys_no_rq_section(redis_server: Callable[..., Any]) -> None:
    server = redis_server()
    client = redis.Redis(port=server.port)
    client.set("cache:feed:1", b"x")
    assert RqReader(client).inspect() is None
    client.close()


# -- a queue of 200,000 jobs stays within the bound -----------------------------------------


def fill_rq(client: redis.Redis, *, queued: int, failed: int, ended: datetime) -> None:
    """RQ's key layout at scale, as `Queue.enqueue` and `FailedJobRegistry.add` write it
    (one pipeline per 10,000 jobs: real RQ takes minutes for 200,000)."""
    client.sadd("rq:queues", "rq:queue:default")
    stamp = ended.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for start in range(0, queued, 10_000):
        pipe = client.pipeline(transaction=False)
        ids = [f"q-{i:07d}" for i in range(start, min(start + 10_000, queued))]
        pipe.rpush("rq:queue:default", *ids)
        pipe.execute()
    score = ended.timestamp() + 31_536_000  # DEFAULT_FAILURE_TTL
    for start in range(0, failed, 10_000):
        pipe = client.pipeline(transaction=False)
        batch = range(start, min(start + 10_000, failed))
        pipe.zadd("rq:failed:default", {f"f-{i:07d}": score - i * 0.001 for i in batch})
        for i in batch:
            pipe.hset(
                f"rq:job:f-{i:07d}",
                mapping={"ended_at": stamp, "description": f"tasks.send({i})", "origin": "default"},
            )
        pipe.execute()


@pytest.mark.slow
def test_a_queue_of_200000_jobs_stays_within_the_bound(redis_server: Callable[..., Any]) -> None:
    server = redis_server()
    client = redis.Redis(port=server.port)
    now = datetime.now(UTC)
    fill_rq(client, queued=200_000, failed=200_000, ended=now - timedelta(seconds=10))
    bounds = Bounds()
    impact = RqReader(client, bounds=bounds).inspect(
        since=now - timedelta(minutes=1), until=now - timedelta(seconds=5)
    )
    client.close()
    assert impact is not None
    (queue,) = impact.queues
    assert queue.length == 200_000 and queue.failed_total == 200_000
    assert queue.partial and queue.failed == bounds.max_failed_read  # a floor, said so
    assert impact.keys_read <= bounds.max_keys


def test_the_key_bound_cuts_the_reading_short(redis_server: Callable[..., Any]) -> None:
    server = redis_server()
    client = redis.Redis(port=server.port)
    now = datetime.now(UTC)
    fill_rq(client, queued=10, failed=500, ended=now)
    impact = RqReader(client, bounds=Bounds(max_keys=50)).inspect(since=now - timedelta(minutes=1))
    client.close()
    assert impact is not None and impact.truncated and impact.keys_read <= 50


# -- RQ 1.x, from a recorded key dump -------------------------------------------------------


def load_dump(client: redis.Redis, dump: dict[str, Any]) -> None:
    """Write a dump made by scripts/record_rq1_dump.py back into a Redis."""
    raw = base64.b64decode
    for key, entry in dump["keys"].items():
        kind, value = entry["type"], entry["value"]
        if kind == "string":
            client.set(key, raw(value))
        elif kind == "hash":
            client.hset(key, mapping={raw(f): raw(v) for f, v in value.items()})
        elif kind == "list":
            client.rpush(key, *[raw(v) for v in value])
        elif kind == "set":
            client.sadd(key, *[raw(v) for v in value])
        elif kind == "zset":
            client.zadd(key, {raw(m): float(s) for m, s in value})
        elif kind == "stream":
            for entry_id, fields in value:
                client.xadd(key, {raw(f): raw(v) for f, v in fields.items()}, id=entry_id)


def test_rq1_key_layout_from_a_recorded_dump(redis_server: Callable[..., Any]) -> None:
    dump = json.loads((SAMPLES / "rq1-outage.json").read_text())
    truth = dump["truth"]
    server = redis_server()
    client = redis.Redis(port=server.port)
    load_dump(client, dump)
    impact = RqReader(client).inspect(
        since=datetime.fromisoformat(truth["since"]), until=datetime.fromisoformat(truth["until"])
    )
    client.close()
    assert impact is not None
    by_queue = {q.name: q for q in impact.queues}
    assert dump["rq_version"].startswith("1.")
    for name, expected in truth["queues"].items():
        q = by_queue[name]
        assert (q.failed, q.abandoned, q.length) == (
            expected["failed"], expected["abandoned"], expected["length"],
        ), name  # fmt: skip
    w = impact.workers
    assert (w.before, w.alive, w.gone) == (
        truth["workers"]["before"], truth["workers"]["alive"], truth["workers"]["gone"],
    )  # fmt: skip
    failed = [j for j in impact.jobs if j.state == "failed"]
    assert failed and all(j.error.startswith(truth["error_type"]) for j in failed)


@pytest.mark.parametrize(
    ("traceback", "line"),
    [
        pytest.param(
            'Traceback (most recent call last):\n  File "x", line 1\n    f()\n'
            "redis.exceptions.ConnectionError: Error 111 connecting.\n",
            "redis.exceptions.ConnectionError: Error 111 connecting.",
            id="simple",
        ),
        pytest.param(
            "Traceback (most recent call last):\nValueError: a\n\nDuring handling of the above"
            " exception, another exception occurred:\n\nTraceback (most recent call last):\n"
            '  File "y"\nredis.exceptions.TimeoutError: Timeout reading from socket\n',
            "redis.exceptions.TimeoutError: Timeout reading from socket",
            id="chained",
        ),
        pytest.param(
            "Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-03-01",
            "Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-03-01",
            id="abandoned",
        ),
    ],
)
def test_error_line(traceback: str, line: str) -> None:
    assert error_line(traceback) == line


@pytest.mark.parametrize(
    ("description", "name"),
    [
        pytest.param("tasks.send_digest(7, 'bob@example.com')", "tasks.send_digest", id="args"),
        pytest.param("Send the digest to bob@example.com", "?", id="free-text"),
        pytest.param("", "?", id="empty"),
    ],
)
def test_function_name_never_carries_arguments(description: str, name: str) -> None:
    assert function_name(description.encode()) == name


def test_time_bound(redis_server: Callable[..., Any]) -> None:
    server = redis_server()
    client = redis.Redis(port=server.port)
    fill_rq(client, queued=10, failed=50, ended=datetime.now(UTC))
    started = time.monotonic()
    impact = RqReader(client, bounds=Bounds(max_seconds=0.0)).inspect(since=datetime.now(UTC))
    client.close()
    assert impact is not None and impact.truncated and time.monotonic() - started < 2


# -- probe --rq, the prober, the message ----------------------------------------------------


def _logwatch(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return subprocess.run(
        [sys.executable, "-m", "logwatch", *args], capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip


def test_probe_rq_prints_the_queue_view(redis_server: Callable[..., Any], tmp_path: Path) -> None:
    server = redis_server()
    client = redis.Redis(port=server.port)
    fill_rq(client, queued=7, failed=2, ended=datetime.now(UTC))
    client.close()
    url = f"redis://127.0.0.1:{server.port}/0"
    text = _logwatch("probe", url, "--rq")
    assert text.returncode == 0, text.stderr
    assert "RQ:" in text.stdout and "default" in text.stdout
    assert "`rq requeue --queue default --all`" in text.stdout
    assert "tasks.send(" not in text.stdout  # the description's arguments never shown
    body = json.loads(_logwatch("probe", url, "--rq", "--format", "json").stdout)
    (queue,) = body["rq"]["queues"]
    assert (queue["name"], queue["length"], queue["failed"]) == ("default", 7, 2)
    assert {j["function"] for j in body["rq"]["jobs"]} == {"tasks.send"}


def test_probe_rq_without_rq_keys_says_none(redis_server: Callable[..., Any]) -> None:
    server = redis_server()
    url = f"redis://127.0.0.1:{server.port}/0"
    body = json.loads(_logwatch("probe", url, "--rq", "--format", "json").stdout)
    assert body["rq"] is None
    assert "no RQ keys" in _logwatch("probe", url, "--rq").stdout


def test_the_prober_reads_rq_after_a_healthy_recovery_only() -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    from logwatch.enrich import Prober
    from logwatch.model import Change

    asked: list[str] = []
    rq = _rq_sample()

    def probe(*_: Any, resolved: bool, **__: Any) -> Any:
        return SimpleNamespace(summary="recovery confirmed", healthy=resolved)

    def inspect(url: str, incident: Incident, **_: Any) -> Any:
        asked.append(incident.id)
        return rq

    prober = Prober("redis://127.0.0.1:6390/0", probe=probe, inspect=inspect)
    incident = replace(_now_incident(), target="127.0.0.1:6390")
    prober.submit(Change(kind="opened", at=incident.first_seen, incident=incident))
    prober.submit(Change(kind="resolved", at=incident.last_seen, incident=incident))
    prober.stop()
    found = prober.findings()
    assert [f.rq for _, f, _ in found] == [None, rq]
    assert asked == [incident.id]


def _rq_sample() -> Any:
    from logwatch.rqview import QueueView, RqImpact, WorkerView

    now = datetime.now(UTC)
    return RqImpact(
        checked_at=now, since=now, until=now,
        queues=(QueueView(name="default", length=0, failed=2, failed_total=2, started=0,
                          abandoned=0),),
        jobs=(), workers=WorkerView(registered=1, before=1, alive=1, restarted=0, gone=0),
        keys_read=9, seconds=0.001,
    )  # fmt: skip


def test_the_resolved_message_escapes_what_came_from_the_logs() -> None:
    from dataclasses import replace

    from logwatch.impact import JobImpact, Tally
    from logwatch.notify import Notification
    from logwatch.notify.compose import render_message

    now = datetime.now(UTC)
    hostile = Tally(kind="enqueue_failed", detail="POST /api/<!channel>", count=3, first=now,
                    last=now)  # fmt: skip
    incident = replace(_now_incident(), jobs=JobImpact(log=(hostile,), rq=_rq_sample()))
    message = render_message(Notification(kind="resolved", incident=incident, at=now, id=1))
    text = json.dumps(message.blocks)
    assert "3 enqueues failed on POST /api/&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    assert "2 jobs failed (queue default)" in text
