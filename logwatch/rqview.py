"""What RQ's keys in Redis say about the jobs after an outage: the values and their words.

Pure: rq_impact.py reads Redis and fills these; grouping keeps them on the incident, the
notifiers and `logwatch probe --rq` show them. A job is shown by id, function name,
times and the exception's type and first line, never by its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

JobState = Literal["failed", "abandoned"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueView:
    """One RQ queue: waiting jobs, and what its registries hold for the window."""

    name: str
    length: int  # jobs waiting (LLEN rq:queue:NAME)
    failed: int  # jobs that entered the failed registry in the window (all, on demand)
    failed_total: int  # the failed registry's size
    started: int  # the started registry's size (rq:wip:NAME)
    abandoned: int  # started jobs whose worker is gone
    partial: bool = False  # the failed registry was read only in part: `failed` is a floor


@dataclass(frozen=True, slots=True, kw_only=True)
class JobView:
    """One failed or abandoned job, without its arguments."""

    id: str
    queue: str
    function: str  # "app.tasks.send_digest", or "?" when the description names none
    state: JobState
    enqueued_at: datetime | None
    ended_at: datetime | None  # failed: when; abandoned: its last heartbeat
    error: str = ""  # "ConnectionError: Error 111 connecting to ...", redacted


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerView:
    """RQ's worker registry (rq:workers) seen after the outage."""

    registered: int
    before: int  # registered, born before the outage began
    alive: int  # heard from since the outage ended (on demand: registration still alive)
    restarted: int  # alive and born during or after the outage
    gone: int  # registered, silent since before the outage ended


@dataclass(frozen=True, slots=True, kw_only=True)
class RqImpact:
    """RQ's state in one Redis, for an incident's window or on demand."""

    checked_at: datetime
    since: datetime | None  # the window's start; None: whole registries (probe --rq)
    until: datetime | None  # the outage's last error; None on demand
    queues: tuple[QueueView, ...]
    jobs: tuple[JobView, ...]  # a sample: the first failed and abandoned ones
    workers: WorkerView
    keys_read: int
    seconds: float
    truncated: bool = False  # the key or time bound cut the reading short
    redis_uptime_s: int | None = None
    redis_aof: bool | None = None  # appendonly on: a restart kept what was acknowledged

    @property
    def failed(self) -> int:
        """Jobs failed in the window, all queues."""
        return sum(q.failed for q in self.queues)

    @property
    def abandoned(self) -> int:
        """Jobs abandoned mid-run, all queues."""
        return sum(q.abandoned for q in self.queues)

    def restarted_during(self) -> bool:
        """Redis itself restarted after the window began (what it held may be gone)."""
        if self.since is None or self.redis_uptime_s is None:
            return False
        return self.redis_uptime_s < (self.checked_at - self.since).total_seconds()


# -- JSON ---------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def rq_to_json(rq: RqImpact) -> dict[str, Any]:
    """The `rq` object of an incident's `jobs`, and of `logwatch probe --rq --format json`."""
    w = rq.workers
    return {
        "checked_at": rq.checked_at.isoformat(),
        "since": _time(rq.since),
        "until": _time(rq.until),
        "failed": rq.failed,
        "abandoned": rq.abandoned,
        "queues": [
            {
                "name": q.name,
                "length": q.length,
                "failed": q.failed,
                "failed_total": q.failed_total,
                "started": q.started,
                "abandoned": q.abandoned,
                "partial": q.partial,
            }
            for q in rq.queues
        ],
        "jobs": [
            {
                "id": j.id,
                "queue": j.queue,
                "function": j.function,
                "state": j.state,
                "enqueued_at": _time(j.enqueued_at),
                "ended_at": _time(j.ended_at),
                "error": j.error,
            }
            for j in rq.jobs
        ],
        "workers": {
            "registered": w.registered,
            "before": w.before,
            "alive": w.alive,
            "restarted": w.restarted,
            "gone": w.gone,
        },
        "keys_read": rq.keys_read,
        "seconds": round(rq.seconds, 3),
        "truncated": rq.truncated,
        "redis_uptime_s": rq.redis_uptime_s,
        "redis_aof": rq.redis_aof,
    }


def rq_from_json(d: Mapping[str, Any]) -> RqImpact:
    """RqImpact from rq_to_json's object."""
    w = d.get("workers") or {}
    return RqImpact(
        checked_at=datetime.fromisoformat(d["checked_at"]),
        since=_parse(d.get("since")),
        until=_parse(d.get("until")),
        queues=tuple(
            QueueView(
                name=str(q["name"]),
                length=int(q["length"]),
                failed=int(q["failed"]),
                failed_total=int(q["failed_total"]),
                started=int(q["started"]),
                abandoned=int(q["abandoned"]),
                partial=bool(q.get("partial", False)),
            )
            for q in d.get("queues", ())
        ),
        jobs=tuple(
            JobView(
                id=str(j["id"]),
                queue=str(j["queue"]),
                function=str(j["function"]),
                state="abandoned" if j.get("state") == "abandoned" else "failed",
                enqueued_at=_parse(j.get("enqueued_at")),
                ended_at=_parse(j.get("ended_at")),
                error=str(j.get("error", "")),
            )
            for j in d.get("jobs", ())
        ),
        workers=WorkerView(
            registered=int(w.get("registered", 0)),
            before=int(w.get("before", 0)),
            alive=int(w.get("alive", 0)),
            restarted=int(w.get("restarted", 0)),
            gone=int(w.get("gone", 0)),
        ),
        keys_read=int(d.get("keys_read", 0)),
        seconds=float(d.get("seconds", 0.0)),
        truncated=bool(d.get("truncated", False)),
        redis_uptime_s=d.get("redis_uptime_s"),
        redis_aof=d.get("redis_aof"),
    )


# -- words --------------------------------------------------------------------------------


def _by_queue(queues: Sequence[QueueView], attr: str) -> str:
    parts = [(q.name, int(getattr(q, attr))) for q in queues if getattr(q, attr)]
    if len(parts) == 1:
        return f" (queue {parts[0][0]})"
    return " (" + ", ".join(f"{name} {n:,}" for name, n in parts) + ")"


def _workers(w: WorkerView) -> str:
    if w.before and w.alive >= w.before:
        back = (
            "both workers are"
            if w.before == 2
            else ("the worker is" if w.before == 1 else f"all {w.before} workers are")
        )
        clause = f"{back} back"
    elif w.before:
        clause = f"{w.alive:,} of {w.before:,} workers are back"
    elif w.alive:
        clause = f"{w.alive:,} worker{'s answer' if w.alive != 1 else ' answers'}"
    else:
        return "no RQ worker answers: restart them (supervisorctl, systemctl)"
    if w.restarted:
        clause += f" ({w.restarted:,} restarted)"
    return clause


def describe_rq(rq: RqImpact) -> tuple[list[str], str]:
    """(clauses for the outage sentence, the recovery step) from what Redis holds."""
    clauses: list[str] = []
    floor = "at least " if rq.truncated or any(q.partial for q in rq.queues) else ""
    if rq.failed:
        word = "job" if rq.failed == 1 else "jobs"
        clauses.append(f"{floor}{rq.failed:,} {word} failed{_by_queue(rq.queues, 'failed')}")
    if rq.abandoned:
        verb = "was" if rq.abandoned == 1 else "were"
        by = _by_queue(rq.queues, "abandoned") if len(rq.queues) > 1 else ""
        clauses.append(f"{floor}{rq.abandoned:,} {verb} abandoned mid-run{by}")
    if not rq.failed and not rq.abandoned:
        clauses.append("no RQ job failed or was left mid-run")
    if rq.workers.registered or rq.workers.alive:
        clauses.append(_workers(rq.workers))
    if rq.restarted_during() and not rq.redis_aof:
        clauses.append(
            f"Redis restarted {rq.redis_uptime_s} s before the check without AOF: jobs"
            " queued since its last RDB save are gone"
        )
    return clauses, recovery_step(rq)


def recovery_step(rq: RqImpact) -> str:
    """The command that retries the failed jobs, with the check to run first."""
    names = [q.name for q in rq.queues if q.failed or q.abandoned]
    if not names:
        return ""
    commands = ", ".join(f"`rq requeue --queue {name} --all`" for name in names[:5])
    step = f"To retry: {commands} (review first: `rq info`"
    if any(q.failed_total > q.failed for q in rq.queues if q.name in names):
        step += "; --all also retries the queue's older failures"
    if rq.abandoned:
        step += "; abandoned jobs reach the failed registry when their timeout expires"
    return step + ")."


def render_rq_text(rq: RqImpact) -> str:
    """The terminal view of `logwatch probe --rq`."""
    lines = ["RQ:"]
    if not rq.queues:
        lines.append("  no queues registered (rq:queues is empty)")
    else:
        lines.append(f"  {'queue':20} {'waiting':>9} {'failed':>9} {'started':>9} {'abandoned':>9}")
        for q in rq.queues:
            failed = f"{q.failed:,}{'+' if q.partial else ''}"
            lines.append(
                f"  {q.name[:20]:20} {q.length:>9,} {failed:>9} {q.started:>9,} {q.abandoned:>9,}"
            )
    w = rq.workers
    lines.append(f"  workers: {w.registered:,} registered, {w.alive:,} alive, {w.gone:,} gone")
    for j in rq.jobs:
        when = j.ended_at.isoformat(timespec="seconds") if j.ended_at else "?"
        lines.append(f"  {j.state:9} {j.queue}/{j.id} {j.function} at {when}")
        if j.error:
            lines.append(f"            {j.error}")
    step = recovery_step(rq)
    if step:
        lines.append(f"  {step}")
    bound = " (bound reached: counts are lower bounds)" if rq.truncated else ""
    lines.append(f"  read {rq.keys_read:,} keys in {rq.seconds * 1000:.0f} ms{bound}")
    return "\n".join(lines) + "\n"
