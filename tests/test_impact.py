"""Job signals from log records (impact.classify) and their place in incidents (Grouper.note).

The sample lines are the wording of RQ 1.16 and 3.0 workers, redis-py tracebacks of a
failed `Queue.enqueue`, Flask and Django error logs, gunicorn and plain access lines,
supervisord and systemd.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logwatch.grouping import Grouper, GroupingPolicy
from logwatch.impact import (
    MAX_DETAILS,
    NEEDLES,
    OTHER,
    ImpactCounter,
    JobImpact,
    Signal,
    Tally,
    classify,
    describe,
    impact_from_json,
    impact_to_json,
)
from logwatch.model import Event, Finding, Severity
from logwatch.rqview import QueueView, RqImpact, WorkerView, describe_rq

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

ENQUEUE_TB = """2026-03-01 12:00:01,100 ERROR [morningai.jobs] failed to enqueue refresh_feed(3) on queue 'default'
Traceback (most recent call last):
  File "/app/venv/lib/python3.11/site-packages/rq/queue.py", line 1012, in enqueue
    return self.enqueue_call(
  File "/app/venv/lib/python3.11/site-packages/redis/connection.py", line 1055, in connect
redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused."""
FLASK_ENQUEUE_TB = """2026-03-01 12:00:01,100 ERROR [morningai] Exception on /api/briefings/1234 [POST]
Traceback (most recent call last):
  File "/app/morningai/api.py", line 88, in create_briefing
    job = briefings.enqueue(build_briefing, user.id)
  File "/app/venv/lib/python3.11/site-packages/rq/queue.py", line 1012, in enqueue
redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."""
FLASK_FEED_TB = """2026-03-01 12:00:01,100 ERROR [morningai] Exception on /api/v1/feed [GET]
Traceback (most recent call last):
  File "/app/morningai/api.py", line 40, in feed
    cache.get(key)
redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."""
RQ3_JOB_FAILED = """11:37:29 Worker c0b06db5: job 79d2b33b-847a: exception raised while executing (example_tasks.refresh_feed)
Traceback (most recent call last):
redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:39971. Connection refused."""
RQ1_JOB_FAILED = """12:00:02 [Job 79d2b33b-847a]: exception raised while executing (tasks.touch)
Traceback (most recent call last):
redis.exceptions.TimeoutError: Timeout reading from socket"""
RQ3_QUIT = """11:37:29 Worker c0b06db518f94a5ba67d96fd724e8861: found an unhandled exception, quitting...
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/rq/queue.py", line 1410, in enqueue_dependents
redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:39971. Connection refused."""


@pytest.mark.parametrize(
    ("text", "redis_error", "kind", "detail"),
    [
        pytest.param(ENQUEUE_TB, True, "enqueue_failed", "", id="enqueue-background"),
        pytest.param(
            FLASK_ENQUEUE_TB, True, "enqueue_failed", "POST /api/briefings/:id", id="enqueue-flask"
        ),
        pytest.param(
            "2026-03-01 12:00:01 ERROR Internal Server Error: /briefings/new\nTraceback\n"
            '  File "x.py", line 3, in post\n    q.enqueue(f)\nredis.exceptions.TimeoutError: t',
            True,
            "enqueue_failed",
            "/briefings/new",
            id="enqueue-django",
        ),
        pytest.param(
            RQ3_JOB_FAILED, True, "job_failed", "example_tasks.refresh_feed", id="rq3-job"
        ),
        pytest.param(RQ1_JOB_FAILED, True, "job_failed", "tasks.touch", id="rq1-job"),
        pytest.param(RQ3_QUIT, True, "worker_exit", "unhandled exception", id="rq3-quit"),
        pytest.param(
            "12:00:03 Worker rq:worker:abc: Redis connection timeout, quitting...",
            False,
            "worker_exit",
            "Redis connection timeout",
            id="rq-timeout-quit",
        ),
        pytest.param(
            "12:00:03 Cold shut down", False, "worker_exit", "cold shutdown", id="rq1-cold"
        ),
        pytest.param(
            "12:00:03 Worker abc: cold shut down",
            False,
            "worker_exit",
            "cold shutdown",
            id="rq3-cold",
        ),
        pytest.param(
            "12:00:03 Warm shut down requested",
            False,
            "worker_exit",
            "warm shutdown",
            id="rq1-warm",
        ),
        pytest.param(
            "12:00:03 Worker abc [PID 12]: warm shut down requested",
            False,
            "worker_exit",
            "warm shutdown",
            id="rq3-warm",
        ),
        pytest.param(
            "2026-03-01 12:00:03,456 INFO exited: rqworker_00 (exit status 1; not expected)",
            False,
            "worker_exit",
            "exited (supervisor)",
            id="supervisor-exited",
        ),
        pytest.param(
            "2026-03-01 12:00:03,456 INFO gave up: rqworker_00 entered FATAL state, too many",
            False,
            "worker_exit",
            "gave up (supervisor)",
            id="supervisor-fatal",
        ),
        pytest.param(
            "Mar  1 12:00:03 app systemd[1]: rq@1.service: Main process exited, code=exited, status=1/FAILURE",
            False,
            "worker_exit",
            "exited (systemd)",
            id="systemd-exit",
        ),
        pytest.param(
            "11:37:40 Worker 0a1b2c: started with PID 31757, version 3.0.0",
            False,
            "worker_start",
            "",
            id="rq3-start",
        ),
        pytest.param(
            "12:00:05 Worker rq:worker:0a1b2c: started, version 1.16.2",
            False,
            "worker_start",
            "",
            id="rq1-start",
        ),
        pytest.param(
            '10.0.0.7 - - [01/Mar/2026:12:00:01 +0000] "POST /api/briefings?user=7 HTTP/1.1" 500 265 "-" "curl"',
            False,
            "http_500",
            "POST /api/briefings",
            id="gunicorn-500",
        ),
        pytest.param(
            "2026-03-01 12:00:01,100 INFO [morningai.api] GET /api/v1/feed?user=3 500 12ms",
            False,
            "http_500",
            "GET /api/v1/feed",
            id="app-500",
        ),
    ],
)
def test_classify_finds_the_job_signal(
    text: str, redis_error: bool, kind: str, detail: str
) -> None:
    signal = classify(text, T0, redis_error=redis_error)
    assert signal == Signal(kind=kind, detail=detail, time=T0)  # type: ignore[arg-type]
    assert any(n in text for n in NEEDLES), "the prefilter would never hand it over"


@pytest.mark.parametrize(
    ("text", "redis_error"),
    [
        pytest.param(FLASK_FEED_TB, True, id="500-traceback-without-enqueue"),
        pytest.param(ENQUEUE_TB, False, id="enqueue-without-redis-error"),
        pytest.param(RQ3_JOB_FAILED, False, id="job-failed-not-redis"),
        pytest.param(
            "2026-03-01 12:00:01 INFO GET /api/v1/feed?user=3 200 5000ms", False, id="200-slow"
        ),
        pytest.param(
            '10.0.0.7 - - [x] "GET /health HTTP/1.1" 200 500 "-" "curl"', False, id="500-bytes"
        ),
        pytest.param("12:00:00 enqueued refresh_feed(3) job=abc queue=default", False, id="ok"),
        pytest.param("12:00:00 Worker abc: started with ten jobs", False, id="not-a-start"),
    ],
)
def test_classify_ignores_lookalikes(text: str, redis_error: bool) -> None:
    assert classify(text, T0, redis_error=redis_error) is None


def _event(at: datetime, target: str = "redis:6379") -> Event:
    return Event(
        time=at,
        source="app.log",
        line=1,
        rule="conn",
        category="connection",
        severity=Severity.ERROR,
        target=target,
        signature="refused",
        text="Connection refused",
    )


class _Rule:
    threshold = 3
    window_s = 60.0
    hint = ""


def _grouper(state: dict | None = None) -> Grouper:  # type: ignore[type-arg]
    return Grouper({"conn": _Rule()}, GroupingPolicy(quiet_period_s=30), state=state)


def _sig(kind: str, s: float, detail: str = "") -> Signal:
    return Signal(kind=kind, detail=detail, time=T0 + timedelta(seconds=s))  # type: ignore[arg-type]


def test_signals_before_the_threshold_and_in_the_quiet_period_join_the_incident() -> None:
    g = _grouper()
    g.note(_sig("enqueue_failed", -30))  # long before: another story
    g.note(_sig("enqueue_failed", 0.5, "POST /api/x"))  # before the incident opens
    for s in (0, 1, 2):
        g.add(_event(T0 + timedelta(seconds=s)))
    g.note(_sig("worker_exit", 3, "unhandled exception"))
    g.note(_sig("worker_start", 31))  # in the quiet period after the last error
    g.note(_sig("worker_start", 33))  # quiet period over: not this incident's
    changes = g.tick(T0 + timedelta(seconds=40))
    jobs = changes[-1].incident.jobs
    assert jobs is not None
    assert jobs.total("enqueue_failed") == 1
    assert jobs.of("enqueue_failed")[0].detail == "POST /api/x"
    assert jobs.total("worker_exit") == 1 and jobs.total("worker_start") == 1


def test_details_past_the_bound_are_counted_as_other() -> None:
    counter = ImpactCounter()
    for i in range(MAX_DETAILS + 5):
        counter.add(_sig("http_500", i, f"GET /e{i}"))
    impact = counter.snapshot()
    assert impact is not None
    assert len(impact.of("http_500")) == MAX_DETAILS + 1
    assert impact.total("http_500") == MAX_DETAILS + 5
    assert next(t for t in impact.log if t.detail == OTHER).count == 5


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.floats(min_value=-5, max_value=60), min_size=1, max_size=30),
    cut=st.integers(min_value=0, max_value=40),
)
@example(offsets=[-1.0], cut=1)  # restart between a signal and the errors that open
def test_a_restart_anywhere_counts_the_same(offsets: list[float], cut: int) -> None:
    """Snapshot and restore (through JSON) at any point: the same jobs at the end."""
    steps: list[tuple[str, float]] = [("event", s) for s in (0, 1, 2, 20, 40)]
    steps += [("signal", s) for s in offsets]
    steps.sort(key=lambda x: x[1])

    def run(restart_at: int | None) -> JobImpact | None:
        g = _grouper()
        for i, (what, s) in enumerate(steps):
            if i == restart_at:
                g = _grouper(json.loads(json.dumps(g.snapshot())))
            if what == "event":
                g.add(_event(T0 + timedelta(seconds=s)))
            else:
                g.note(_sig("enqueue_failed", s, "POST /api/x"))
        return g.tick(T0 + timedelta(seconds=200))[-1].incident.jobs

    assert run(None) == run(min(cut, len(steps)))


def test_an_old_snapshot_without_jobs_loads() -> None:
    g = _grouper()
    for s in (0, 1, 2):
        g.add(_event(T0 + timedelta(seconds=s)))
    state = g.snapshot()
    del state["recent_signals"]
    for live in state["live"]:
        del live["jobs"]
    restored = _grouper(state)
    assert restored.incidents()[0].jobs is None


def _rq(**queues: tuple[int, int]) -> RqImpact:
    return RqImpact(
        checked_at=T0 + timedelta(minutes=5),
        since=T0,
        until=T0 + timedelta(minutes=2),
        queues=tuple(
            QueueView(name=n, length=0, failed=f, failed_total=f, started=a, abandoned=a)
            for n, (f, a) in queues.items()
        ),
        jobs=(),
        workers=WorkerView(registered=4, before=2, alive=2, restarted=2, gone=2),
        keys_read=40,
        seconds=0.01,
        redis_uptime_s=3600,
    )


def test_the_sentence_of_the_issue() -> None:
    until = T0 + timedelta(minutes=2)
    log = (
        Tally(kind="enqueue_failed", detail="POST /api/briefings", count=396, first=T0, last=until),
    )
    impact = JobImpact(log=log, rq=_rq(default=(21, 4), low=(2, 0)))
    text = describe(impact)
    assert text.startswith(
        "During the outage 396 enqueues failed on POST /api/briefings; 23 jobs failed"
        " (default 21, low 2); 4 were abandoned mid-run (queue default); both workers are back"
        " (2 restarted)."
    ), text
    assert "To retry: `rq requeue --queue default --all`, `rq requeue --queue low --all`" in text
    assert "review first: `rq info`" in text
    back = impact_from_json(json.loads(json.dumps(impact_to_json(impact))))
    assert back == impact


def test_nothing_lost_says_so_and_offers_no_command() -> None:
    clauses, step = describe_rq(_rq(default=(0, 0)))
    assert "no RQ job failed or was left mid-run" in clauses and step == ""


def test_grouper_takes_the_rq_finding_once() -> None:
    g = _grouper()
    for s in (0, 1, 2):
        g.add(_event(T0 + timedelta(seconds=s)))
    g.tick(T0 + timedelta(seconds=60))
    inc = g.incidents()[0]
    rq = _rq(default=(3, 1))
    changes = g.diagnose(inc.id, Finding(summary="recovery confirmed", rq=rq, recovery=True), T0)
    assert changes and changes[0].incident.jobs is not None and changes[0].incident.jobs.rq == rq
    assert g.diagnose(inc.id, Finding(summary="recovery confirmed", rq=rq, recovery=True), T0) == []


def test_signals_join_from_two_seconds_before_the_first_error_to_the_end_of_the_quiet() -> None:
    g = _grouper()  # quiet period 30 s; the incident's errors at 0, 1, 2 s
    for s in (0, 1, 2):
        g.add(_event(T0 + timedelta(seconds=s)))
    # Read after the incident opened (another file, read later), stamped before it.
    g.note(_sig("enqueue_failed", -2.5, "too early"))
    g.note(_sig("enqueue_failed", -2, "at the slack's edge"))
    g.note(_sig("enqueue_failed", -1, "within the slack"))
    g.note(_sig("worker_start", 31.9, "in the quiet"))
    g.note(_sig("worker_start", 32, "quiet over"))
    jobs = g.tick(T0 + timedelta(seconds=40))[-1].incident.jobs
    assert jobs is not None
    assert sorted(s.detail for s in jobs.of("enqueue_failed")) == [
        "at the slack's edge",
        "within the slack",
    ]
    assert [s.detail for s in jobs.of("worker_start")] == ["in the quiet"]


def test_a_new_rq_reading_updates_the_incident_even_with_the_same_summary() -> None:
    g = _grouper()
    for s in (0, 1, 2):
        g.add(_event(T0 + timedelta(seconds=s)))
    g.tick(T0 + timedelta(seconds=60))
    inc = g.incidents()[0]
    first, later = _rq(default=(3, 1)), _rq(default=(5, 2))
    g.diagnose(inc.id, Finding(summary="recovery confirmed", rq=first, recovery=True), T0)
    [change] = g.diagnose(
        inc.id, Finding(summary="recovery confirmed", rq=later, recovery=True), T0
    )
    assert change.incident.jobs is not None and change.incident.jobs.rq == later


def test_each_incident_takes_its_own_finding_whichever_was_opened_first() -> None:
    g = _grouper()
    for s in (0, 1, 2):
        g.add(_event(T0 + timedelta(seconds=s)))
        g.add(_event(T0 + timedelta(seconds=s), target="queue-redis:6379"))
    ids = [i.id for i in g.incidents()]
    assert len(ids) == 2
    for inc_id in ids:
        [change] = g.diagnose(inc_id, Finding(summary=f"probed {inc_id}"), T0)
        assert change.incident.id == inc_id and change.incident.diagnosis == f"probed {inc_id}"


def test_a_confirmed_recovery_keeps_what_rq_said() -> None:
    g = Grouper({"conn": _Rule()}, GroupingPolicy(quiet_period_s=300, confirmed_quiet_s=30))
    for s in (0, 1, 2):
        g.add(_event(T0 + timedelta(seconds=s)))
    inc = g.incidents()[0]
    rq = _rq(default=(3, 1))
    healthy = Finding(summary="recovery confirmed", rq=rq, recovery=True, healthy=True)
    [change] = g.confirm_recovery(inc.id, healthy, T0 + timedelta(seconds=60))
    assert change.kind == "resolved"
    assert change.incident.jobs is not None and change.incident.jobs.rq == rq
    quiet = Finding(summary="recovery confirmed", recovery=True, healthy=True)
    g2 = Grouper({"conn": _Rule()}, GroupingPolicy(quiet_period_s=300, confirmed_quiet_s=30))
    for s in (0, 1, 2):
        g2.add(_event(T0 + timedelta(seconds=s)))
    [change] = g2.confirm_recovery(g2.incidents()[0].id, quiet, T0 + timedelta(seconds=60))
    assert change.incident.jobs is None or change.incident.jobs.rq is None
