"""What an outage did to the jobs, from the logs: lost enqueues, failed jobs, worker exits.

A Redis incident counts error lines; the team needs to know how many jobs were lost and
whether the workers came back. Each record is classified here (pure, no I/O): the app's
failed `enqueue` calls and the endpoints they failed on, HTTP 500 responses per endpoint
(from the access log), jobs that failed inside a worker with a Redis error, and RQ
workers that quit, shut down or started again. The grouper attaches these signals to
the incidents open at their time (grouping.Grouper.note).

Every pattern is a literal search or a regex anchored on a literal with bounded repeats,
so classifying is linear in the record. `NEEDLES` are the literals the prefilter must
find for a record to be classified at all (prefilter.needles adds them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from logwatch.rqview import RqImpact, rq_from_json, rq_to_json

ImpactKind = Literal["enqueue_failed", "http_500", "job_failed", "worker_exit", "worker_start"]
KINDS: tuple[ImpactKind, ...] = (
    "enqueue_failed",
    "http_500",
    "job_failed",
    "worker_exit",
    "worker_start",
)
#: Details kept per kind (endpoints, functions, exit reasons); the rest are counted as OTHER.
MAX_DETAILS = 20
OTHER = "<other>"
DETAIL_MAX = 120

#: Literals one of which every classified record holds (also prefilter needles).
NEEDLES: tuple[str, ...] = (
    "enqueue",
    # A 500 as the access-log patterns below read it: a word of its own. " 500" alone is
    # in every "GET /feed 5002ms" of a healthy log, and would stop the tailer skimming it.
    " 500 ",
    " 500\n",
    " 500\r",
    " 500\t",
    "exception raised while executing",
    "unhandled exception, quitting",
    "connection timeout, quitting",
    "hut down",  # Warm/warm/Cold/cold shut down
    "exited: ",
    "entered FATAL",
    "Main process exited",
    "started with PID",
    "started, version",
)
_ANY = re.compile("|".join(re.escape(n) for n in NEEDLES))

_METHODS = "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS"
# Flask's "Exception on /path [POST]", Django's "Internal Server Error: /path".
_FLASK = re.compile(rf"Exception on (/[^\s\[\]]{{0,200}}) \[({_METHODS})\]")
_DJANGO = re.compile(r"Internal Server Error: (/[^\s]{0,200})")
_ENQUEUE = re.compile(
    r", in enqueue\w{0,20}\b|\benqueue\w{0,20}\(|\b(?:failed|unable|could not) to enqueue\b",
    re.IGNORECASE,
)
# gunicorn/werkzeug/nginx: "POST /api/x HTTP/1.1" 500 ...; plain app logs: POST /api/x 500 12ms
_ACCESS_500 = re.compile(
    rf"\b({_METHODS}) (/[^\s\"]{{0,200}})(?: HTTP/[0-9.]{{1,5}}\")? 500(?:\s|$)"
)
_JOB_FAILED = re.compile(r"exception raised while executing \(([^()\s]{1,200})\)")
_EXITS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"found an unhandled exception, quitting"), "unhandled exception"),
    (re.compile(r"Redis connection timeout, quitting"), "Redis connection timeout"),
    (re.compile(r"\b[Cc]old shut down\b"), "cold shutdown"),
    (re.compile(r"\b[Ww]arm shut down\b"), "warm shutdown"),
    (re.compile(r"\bexited: \S{1,200} \((?:exit status|terminated by)\b"), "exited (supervisor)"),
    (re.compile(r"\bgave up: \S{1,200} entered FATAL\b"), "gave up (supervisor)"),
    (re.compile(r"Main process exited, code="), "exited (systemd)"),
)
_START = re.compile(r"\bWorker \S{1,300}: started(?: with PID \d{1,10}|, version )")
_ID_SEGMENT = re.compile(r"/(?:\d{1,40}|[0-9a-fA-F-]{16,64})(?=/|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """One log record that says something about jobs or workers."""

    kind: ImpactKind
    detail: str  # endpoint "POST /api/x", function name, exit reason; "" when not named
    time: datetime


def classify(text: str, time: datetime, *, redis_error: bool) -> Signal | None:
    """The job signal in a record's text, or None. `redis_error`: a rule matched it.

    Failed enqueues and failed jobs count only with a Redis error (a matched rule);
    500s, exits and starts count whatever caused them: the incident's window says why.
    """
    if _ANY.search(text) is None:
        return None
    if redis_error and (m := _JOB_FAILED.search(text)):
        return Signal(kind="job_failed", detail=m[1][:DETAIL_MAX], time=time)
    # Before enqueues: a worker's own traceback can pass through enqueue_dependents.
    for pattern, reason in _EXITS:
        if pattern.search(text):
            return Signal(kind="worker_exit", detail=reason, time=time)
    if redis_error and _ENQUEUE.search(text):
        return Signal(kind="enqueue_failed", detail=_endpoint(text), time=time)
    if _START.search(text):
        return Signal(kind="worker_start", detail="", time=time)
    first = text.partition("\n")[0]
    if m := _ACCESS_500.search(first):
        return Signal(kind="http_500", detail=f"{m[1]} {_path(m[2])}", time=time)
    return None


def _endpoint(text: str) -> str:
    if m := _FLASK.search(text):
        return f"{m[2]} {_path(m[1])}"
    if m := _DJANGO.search(text):
        return _path(m[1])
    return ""


def _path(raw: str) -> str:
    """The path without its query, ids masked: one endpoint, not one per user."""
    path = raw.split("?", 1)[0]
    return _ID_SEGMENT.sub("/:id", path)[:DETAIL_MAX]


# -- counts attached to an incident -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """How many signals of one kind and detail, and the first and last one's time."""

    kind: ImpactKind
    detail: str
    count: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JobImpact:
    """An incident's effect on jobs: counted in the logs, and read from Redis afterwards."""

    log: tuple[Tally, ...] = ()
    rq: RqImpact | None = None

    def total(self, kind: ImpactKind) -> int:
        """Signals of one kind, all details together."""
        return sum(t.count for t in self.log if t.kind == kind)

    def of(self, kind: ImpactKind) -> list[Tally]:
        """The tallies of one kind, largest first."""
        return sorted((t for t in self.log if t.kind == kind), key=lambda t: (-t.count, t.detail))


@dataclass(slots=True)
class ImpactCounter:
    """The mutable tallies of one live incident (grouping owns it)."""

    counts: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # [n, first, last]
    rq: RqImpact | None = None

    def add(self, signal: Signal) -> None:
        """Count one signal; details past MAX_DETAILS per kind are counted as OTHER."""
        key = (signal.kind, signal.detail)
        if key not in self.counts:
            kinds = sum(1 for k in self.counts if k[0] == signal.kind)
            if kinds >= MAX_DETAILS:
                key = (signal.kind, OTHER)
        row = self.counts.get(key)
        if row is None:
            self.counts[key] = [1, signal.time, signal.time]
        else:
            row[0] += 1
            row[1] = min(row[1], signal.time)
            row[2] = max(row[2], signal.time)

    def snapshot(self) -> JobImpact | None:
        """The frozen view, or None when nothing was counted and Redis not read."""
        if not self.counts and self.rq is None:
            return None
        log = tuple(
            Tally(kind=kind, detail=detail, count=n, first=first, last=last)  # type: ignore[arg-type]
            for (kind, detail), (n, first, last) in sorted(self.counts.items())
        )
        return JobImpact(log=log, rq=self.rq)

    @classmethod
    def restore(cls, impact: JobImpact | None) -> ImpactCounter:
        """Counter from a snapshot (state restore)."""
        counter = cls()
        if impact is not None:
            for t in impact.log:
                counter.counts[(t.kind, t.detail)] = [t.count, t.first, t.last]
            counter.rq = impact.rq
        return counter


# -- JSON (state snapshots, the outbox, INCIDENT objects) ---------------------------------


def signal_to_json(s: Signal) -> dict[str, Any]:
    """A pending signal in the grouper's snapshot."""
    return {"kind": s.kind, "detail": s.detail, "time": s.time.isoformat()}


def signal_from_json(d: Mapping[str, Any]) -> Signal | None:
    """A signal from a snapshot; None for a kind this version does not know."""
    if d.get("kind") not in KINDS:
        return None
    return Signal(kind=d["kind"], detail=str(d["detail"]), time=datetime.fromisoformat(d["time"]))


def impact_to_json(impact: JobImpact | None) -> dict[str, Any] | None:
    """The `jobs` object of an INCIDENT (None when there is nothing to say)."""
    if impact is None:
        return None
    return {
        "log": [
            {
                "kind": t.kind,
                "detail": t.detail,
                "count": t.count,
                "first": t.first.isoformat(),
                "last": t.last.isoformat(),
            }
            for t in impact.log
        ],
        "rq": rq_to_json(impact.rq) if impact.rq is not None else None,
    }


def impact_from_json(d: Mapping[str, Any] | None) -> JobImpact | None:
    """A JobImpact from its JSON; None for null or a missing key (older snapshots)."""
    if not d:
        return None
    log = tuple(
        Tally(
            kind=t["kind"],
            detail=str(t["detail"]),
            count=int(t["count"]),
            first=datetime.fromisoformat(t["first"]),
            last=datetime.fromisoformat(t["last"]),
        )
        for t in d.get("log", ())
        if t.get("kind") in KINDS
    )
    rq = rq_from_json(d["rq"]) if d.get("rq") else None
    return JobImpact(log=log, rq=rq)


# -- words --------------------------------------------------------------------------------


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _endpoints(tallies: Iterable[Tally], limit: int = 3) -> str:
    named = [t for t in tallies if t.detail]
    if not named:
        return ""
    shown = [f"{t.detail}: {t.count:,}" for t in named[:limit]]
    if len(named) > limit:
        shown.append(f"+{len(named) - limit} more")
    return ", ".join(shown)


def describe_log(impact: JobImpact) -> list[str]:
    """Clauses for what the logs say: lost enqueues, failed jobs, worker exits. Failed
    jobs and restarts are left to the Redis side once it has been read (it knows more)."""
    clauses: list[str] = []
    enqueues = impact.of("enqueue_failed")
    lost = sum(t.count for t in enqueues)
    if lost:
        named = [t for t in enqueues if t.detail]
        if len(named) == 1 and named[0].count == lost:
            clauses.append(f"{_n(lost, 'enqueue')} failed on {named[0].detail}")
        elif named:
            clauses.append(f"{_n(lost, 'enqueue')} failed ({_endpoints(enqueues)})")
        else:
            clauses.append(f"{_n(lost, 'enqueue')} failed")
    errors = impact.of("http_500")
    if errors:
        total = sum(t.count for t in errors)
        clauses.append(f"{_n(total, 'HTTP 500 response')} ({_endpoints(errors)})")
    failed = impact.total("job_failed")
    if failed and impact.rq is None:
        clauses.append(f"{_n(failed, 'job')} failed in workers with a Redis error")
    exits = impact.of("worker_exit")
    if exits:
        total = sum(t.count for t in exits)
        why = ", ".join(f"{t.detail} {t.count:,}" if len(exits) > 1 else t.detail for t in exits)
        clauses.append(f"{_n(total, 'RQ worker')} quit ({why})")
    starts = impact.total("worker_start")
    if starts and impact.rq is None:
        clauses.append(f"{_n(starts, 'worker')} started again")
    return clauses


def describe(impact: JobImpact | None) -> str:
    """One paragraph: "During the outage 396 enqueues failed on POST /api/briefings; ..."."""
    if impact is None:
        return ""
    from logwatch.rqview import describe_rq  # the Redis side's words live with its values

    clauses = describe_log(impact)
    rq_clauses, steps = describe_rq(impact.rq) if impact.rq is not None else ([], "")
    clauses += rq_clauses
    if not clauses:
        return ""
    text = "During the outage " + "; ".join(clauses) + "."
    return f"{text} {steps}" if steps else text
