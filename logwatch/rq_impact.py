"""Read RQ's keys in a Redis that answers again: queues, failed and started jobs, workers.

Only reads (LLEN, ZCARD, ZREVRANGE, SMEMBERS, HMGET, HSTRLEN, XREVRANGE, INFO): an ACL user
limited to read commands can run it. Bounded: at most `Bounds.max_keys` keys and
`Bounds.max_seconds` (checked between round trips, each one bounded by the socket
timeout), and the registries are read newest first up to a cap, so a queue of a million
jobs costs the same as one of a thousand: counts past the cap are floors, marked partial.

Key layouts, from RQ's source (rq/queue.py, registry.py, worker_registration.py,
executions.py), the same from RQ 1.x to 3.x under the default "rq" prefix:
`rq:queues` (set of `rq:queue:NAME`), `rq:queue:NAME` (list of job ids),
`rq:failed:NAME` and `rq:wip:NAME` (started; zsets scored by expiry; members are job ids
in 1.x, `JOBID:EXECUTIONID` from 2.0), `rq:job:ID` (hash: description, origin,
enqueued_at, started_at, ended_at, worker_name, last_heartbeat, exc_info zlib'd),
`rq:results:ID` (stream with exc_string, base64 of zlib, from 1.12), `rq:execution:JOB:EXEC`
(hash: worker_name, last_heartbeat as epoch seconds, 2.0+), `rq:workers` (set of
`rq:worker:NAME`, hashes with birth and last_heartbeat). A job's `data` (its pickled
arguments) is never read, nor unpickled.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis

from logwatch.clock import Clock, SystemClock
from logwatch.redact import Redactor
from logwatch.rq_values import (
    EXC_MAX_BYTES,
    decompress,
    error_line,
    function_name,
    parse_rq_time,
    split_member,
    text_of,
)
from logwatch.rqview import JobView, QueueView, RqImpact, WorkerView

logger = logging.getLogger(__name__)

#: Before the first error: a job can fail a moment before its error reaches the log.
WINDOW_SLACK = timedelta(seconds=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    """What one inspection may read."""

    max_keys: int = 5000
    max_seconds: float = 3.0
    max_queues: int = 50
    max_failed_read: int = 1000  # per queue, newest first
    max_started_read: int = 200  # per queue
    max_workers: int = 200
    samples: int = 10


class _Exhausted(Exception):
    """The key or time bound was reached."""


@dataclass(slots=True)
class _Budget:
    bounds: Bounds
    deadline: float
    keys: int = 0

    def spend(self, keys: int) -> None:
        if self.keys + keys > self.bounds.max_keys or time.monotonic() > self.deadline:
            raise _Exhausted
        self.keys += keys


@dataclass(slots=True)
class _Worker:
    exists: bool
    birth: datetime | None
    heartbeat: datetime | None


@dataclass(slots=True)
class _State:
    """What has been read so far; what an exhausted budget leaves is still reported."""

    queues: list[QueueView] = field(default_factory=list)
    jobs: list[JobView] = field(default_factory=list)
    workers: dict[str, _Worker] = field(default_factory=dict)
    registered: list[str] = field(default_factory=list)
    uptime_s: int | None = None
    aof: bool | None = None


class RqReader:
    """One bounded, read-only inspection of RQ's keys (see the module docstring)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        bounds: Bounds | None = None,
        prefix: str = "rq",
        redact: Callable[[str], str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._r = client
        self._bounds = bounds or Bounds()
        self._p = prefix
        self._redact = redact or Redactor()
        self._clock = clock or SystemClock()

    def inspect(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> RqImpact | None:
        """RQ's state for the window [since, now] (None: whole registries); None when the
        Redis holds no RQ keys. Redis errors propagate (the caller says "not checked")."""
        started = time.monotonic()
        budget = _Budget(self._bounds, started + self._bounds.max_seconds)
        now = self._clock.now()
        budget.keys += 2  # always asked: whether there is anything to say at all
        if not self._r.exists(f"{self._p}:queues", f"{self._p}:workers"):
            return None
        state = _State()
        truncated = False
        try:
            info = self._r.info("server")
            state.uptime_s = int(info["uptime_in_seconds"]) if "uptime_in_seconds" in info else None
            aof = self._r.info("persistence").get("aof_enabled")
            state.aof = None if aof is None else bool(int(aof))
            self._read_workers(state, budget)
            budget.spend(1)
            names = sorted(text_of(k) for k in self._r.smembers(f"{self._p}:queues"))
            prefix = f"{self._p}:queue:"
            names = [n[len(prefix) :] for n in names if n.startswith(prefix)]
            if len(names) > self._bounds.max_queues:
                names, truncated = names[: self._bounds.max_queues], True
            for name in names:
                self._read_queue(name, state, budget, since, until, now)
        except _Exhausted:
            truncated = True
        return RqImpact(
            checked_at=now,
            since=since,
            until=until,
            queues=tuple(state.queues),
            jobs=tuple(sorted(state.jobs, key=lambda j: (j.state != "abandoned", j.queue)))[
                : self._bounds.samples
            ],
            workers=self._worker_view(state, since, until),
            keys_read=budget.keys,
            seconds=time.monotonic() - started,
            truncated=truncated,
            redis_uptime_s=state.uptime_s,
            redis_aof=state.aof,
        )

    # -- workers ---------------------------------------------------------------------------

    def _read_workers(self, state: _State, budget: _Budget) -> None:
        budget.spend(1)
        keys = sorted(text_of(k) for k in self._r.smembers(f"{self._p}:workers"))
        keys = keys[: self._bounds.max_workers]
        prefix = f"{self._p}:worker:"
        state.registered = [k[len(prefix) :] for k in keys if k.startswith(prefix)]
        self._fetch_workers(state.registered, state, budget)

    def _fetch_workers(self, names: Sequence[str], state: _State, budget: _Budget) -> None:
        todo = [n for n in dict.fromkeys(names) if n not in state.workers]
        if not todo:
            return
        budget.spend(len(todo))
        pipe = self._r.pipeline(transaction=False)
        for name in todo:
            pipe.hmget(f"{self._p}:worker:{name}", "birth", "last_heartbeat")
        for name, (birth, beat) in zip(todo, pipe.execute(), strict=True):
            state.workers[name] = _Worker(
                exists=birth is not None or beat is not None,
                birth=parse_rq_time(birth),
                heartbeat=parse_rq_time(beat),
            )

    @staticmethod
    def _alive(worker: _Worker | None, until: datetime | None) -> bool:
        if worker is None or not worker.exists:
            return False
        if until is None:
            return True  # its registration has not expired
        return worker.heartbeat is not None and worker.heartbeat > until

    def _worker_view(
        self, state: _State, since: datetime | None, until: datetime | None
    ) -> WorkerView:
        before = alive = restarted = 0
        for name in state.registered:
            w = state.workers.get(name)
            if w is None:
                continue
            is_alive = self._alive(w, until)
            alive += is_alive
            born_before = w.birth is not None and (since is None or w.birth < since)
            before += born_before
            restarted += is_alive and not born_before and w.birth is not None
        registered = len(state.registered)
        return WorkerView(
            registered=registered,
            before=before,
            alive=alive,
            restarted=restarted,
            gone=registered - alive,
        )

    # -- queues ----------------------------------------------------------------------------

    def _read_queue(
        self,
        name: str,
        state: _State,
        budget: _Budget,
        since: datetime | None,
        until: datetime | None,
        now: datetime,
    ) -> None:
        p = self._p
        failed_key, wip_key = f"{p}:failed:{name}", f"{p}:wip:{name}"
        budget.spend(3)
        pipe = self._r.pipeline(transaction=False)
        pipe.llen(f"{p}:queue:{name}")
        pipe.zcard(failed_key)
        pipe.zcard(wip_key)
        length, failed_total, started_total = pipe.execute()
        failed, partial = self._failed(name, failed_key, failed_total, state, budget, since, now)
        abandoned = self._abandoned(name, wip_key, started_total, state, budget, until)
        state.queues.append(
            QueueView(
                name=name,
                length=int(length),
                failed=failed,
                failed_total=int(failed_total),
                started=int(started_total),
                abandoned=abandoned,
                partial=partial,
            )
        )

    def _failed(
        self,
        queue: str,
        key: str,
        total: int,
        state: _State,
        budget: _Budget,
        since: datetime | None,
        now: datetime,
    ) -> tuple[int, bool]:
        """Jobs that entered the failed registry in the window (newest first, capped)."""
        if not total:
            return 0, False
        cap = self._bounds.max_failed_read
        want_samples = self._bounds.samples - len(state.jobs)
        if since is None and want_samples <= 0:
            return total, False
        budget.spend(1)
        ids = [text_of(m) for m in self._r.zrevrange(key, 0, (cap if since else want_samples) - 1)]
        budget.spend(len(ids))
        pipe = self._r.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(f"{self._p}:job:{job_id}", "ended_at", "enqueued_at", "description")
        rows = pipe.execute()
        start = since - WINDOW_SLACK if since else None
        counted = 0
        oldest_in_window = False
        for job_id, (ended, enqueued, description) in zip(ids, rows, strict=True):
            ended_at = parse_rq_time(ended)
            if start is not None and (ended_at is None or not start <= ended_at <= now):
                oldest_in_window = False
                continue
            counted += 1
            oldest_in_window = True
            if len(state.jobs) < self._bounds.samples:
                state.jobs.append(
                    JobView(
                        id=job_id,
                        queue=queue,
                        function=function_name(description),
                        state="failed",
                        enqueued_at=parse_rq_time(enqueued),
                        ended_at=ended_at,
                        error=self._error(job_id, budget),
                    )
                )
        if since is None:
            return total, False
        # Read up to the cap and the last one read was still in the window: more may be.
        return counted, len(ids) < total and oldest_in_window

    def _error(self, job_id: str, budget: _Budget) -> str:
        """The exception's type and first line, redacted: from the job hash's exc_info
        (RQ 1.x) or the newest result in rq:results:ID (RQ 1.12+)."""
        key = f"{self._p}:job:{job_id}"
        budget.spend(1)
        size = int(self._r.hstrlen(key, "exc_info") or 0)
        text = ""
        if 0 < size <= EXC_MAX_BYTES:
            budget.spend(1)
            raw = self._r.hget(key, "exc_info")
            text = decompress(raw) if isinstance(raw, bytes) else ""
        if not text:
            budget.spend(1)
            entries = self._r.xrevrange(f"{self._p}:results:{job_id}", count=1)
            for _, fields in entries or ():
                encoded = (fields or {}).get(b"exc_string") or b""
                if encoded and len(encoded) <= EXC_MAX_BYTES:
                    try:
                        text = decompress(base64.b64decode(encoded))
                    except (binascii.Error, ValueError):
                        text = ""
        return self._redact(error_line(text)) if text else ""

    def _abandoned(
        self,
        queue: str,
        key: str,
        total: int,
        state: _State,
        budget: _Budget,
        until: datetime | None,
    ) -> int:
        """Started jobs whose worker is gone (RQ fails them later, or never, by version)."""
        if not total:
            return 0
        budget.spend(1)
        members = [text_of(m) for m in self._r.zrange(key, 0, self._bounds.max_started_read - 1)]
        pairs = [split_member(m) for m in members]
        budget.spend(sum(1 if execution is None else 2 for _, execution in pairs))
        pipe = self._r.pipeline(transaction=False)
        for job_id, execution in pairs:
            fields = ("worker_name", "last_heartbeat", "started_at", "enqueued_at", "description")
            pipe.hmget(f"{self._p}:job:{job_id}", *fields)
            if execution is not None:
                run_key = f"{self._p}:execution:{job_id}:{execution}"
                pipe.hmget(run_key, "worker_name", "last_heartbeat")
        replies = iter(pipe.execute())
        rows = []
        for job_id, execution in pairs:
            job = next(replies)
            run = next(replies) if execution is not None else [None, None]
            worker = text_of(run[0] or job[0])
            beat = parse_rq_time(run[1]) or parse_rq_time(job[1])
            rows.append((job_id, worker, beat, job))
        self._fetch_workers([w for _, w, _, _ in rows if w], state, budget)
        abandoned = 0
        for job_id, worker, beat, job in rows:
            started_at = parse_rq_time(job[2])
            if until is not None and started_at is not None and started_at > until:
                continue  # started after the outage: not its doing
            if worker:
                gone = not self._alive(state.workers.get(worker), until)
            else:  # RQ too old to name the worker: a heartbeat from before the end
                gone = until is not None and (beat is None or beat <= until)
            if not gone:
                continue
            abandoned += 1
            if len(state.jobs) < self._bounds.samples:
                state.jobs.append(
                    JobView(
                        id=job_id,
                        queue=queue,
                        function=function_name(job[4]),
                        state="abandoned",
                        enqueued_at=parse_rq_time(job[3]),
                        ended_at=beat,
                    )
                )
        return abandoned
