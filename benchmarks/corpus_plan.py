"""The corpus's plan: when each outage happens, how it unfolds, and where lines are written.

Pure and deterministic for benchmarks/make_corpus.py: from the size and seed it lays out
healthy stretches and bursts (every category of config/rules/redis.toml before any repeats),
each burst's error events (failing requests and jobs, RQ worker retries, redis-server's
failing BGSAVE), isolated errors mid-gap, and the rotation times of each log. Everything the
truth says is decided here; corpus_text.py only words it.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import datetime

from benchmarks.corpus_text import (
    FAILURES,
    FAMILIES,
    RETRIED,
    SECOND_STAMPS,
    Planned,
    message,
)

CATEGORIES = (
    "connection",
    "timeout",
    "auth",
    "oom",
    "readonly",
    "misconf",
    "loading",
    "max_clients",
)
# How an outage of each category unfolds (story_failure says which failure when).
STORIES: dict[str, tuple[str, ...]] = {
    "connection": ("restart", "refused", "dns"),
    "timeout": ("hang", "slow"),
    "auth": ("noauth", "wrongpass"),
    "oom": ("oom",),
    "readonly": ("readonly",),
    "misconf": ("misconf",),
    "loading": ("loading",),
    "max_clients": ("maxclients",),
}
# logwatch's defaults are a 2 min quiet period and a 15 min reopen window: 45 min of health
# between bursts keeps them apart. Isolated errors stay 15 min from any burst and 5 min from
# each other, so no rule window (60 s) ever holds two of them.
MIN_GAP_S = 45 * 60
ISOLATED_MARGIN_S = 15 * 60
ISOLATED_SPACING_S = 5 * 60
MAX_ERROR_GAP_S = 30.0  # within a burst: under every rule window, far under the quiet period
REQUEST_KINDS = (("web-tb", 35), ("web-warn", 20), ("json", 25), ("job-tb", 12), ("task-warn", 8))
CHUNK = 16384  # healthy events per work unit: the output does not depend on --jobs
DAY_MS = 86_400_000


def story_failure(story: str, fraction: float, rnd: random.Random) -> str:
    """The failure an event `fraction` of the way through a burst of `story` shows."""
    if story == "restart":  # in-flight commands break first, then nothing listens
        return rnd.choice(("closed", "reset", "broken")) if fraction < 0.1 else "refused"
    if story == "hang":  # reads time out, then new connections too
        return "read-timeout" if fraction < 0.5 or rnd.random() < 0.5 else "connect-timeout"
    if story == "slow":
        return "read-timeout"
    return story


# -- the plan: what happens when, and where it is written ----------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BurstPlan:
    """One outage: its category, how it unfolds, and when (its events say exactly when)."""

    id: int
    category: str
    story: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything that decides the truth, fixed before any text is written."""

    start_ms: int
    end_ms: int
    healthy: int  # healthy events
    bounds: list[int]  # chunk k holds the healthy events in [bounds[k], bounds[k+1]) ms
    bursts: list[BurstPlan]
    events: list[Planned]  # sorted by time
    files: list[str]  # every file, each family oldest first
    family_files: list[list[int]]  # family -> indices into files, oldest first
    cuts: list[list[int]]  # family -> rotation times (ms), ascending


def rotated_names(base: str, cuts: int) -> list[str]:
    """logrotate with delaycompress: base.N.gz ... base.2.gz, base.1, base (oldest first)."""
    return [f"{base}.{n}" + (".gz" if n >= 2 else "") for n in range(cuts, 0, -1)] + [base]


def make_plan(
    *,
    healthy: int,
    seed: int,
    bursts: int,
    isolated: int,
    start: datetime,
    rate_per_min: float,
    rotate: bool,
    rotate_at_s: int = 0,
) -> Plan:
    """Lay out the timeline: gaps, bursts and their events, isolated errors, rotations
    (worker.log daily at `rotate_at_s` seconds after midnight UTC)."""
    rnd = random.Random(f"plan:{seed}")
    start_ms = int(start.timestamp() * 1000)
    kinds = _burst_kinds(rnd, bursts)
    per_gap = [0] * (bursts + 1)  # isolated errors in each gap; the gap makes room for them
    for _ in range(isolated):
        per_gap[rnd.randrange(bursts + 1)] += 1
    min_gaps = [
        max(MIN_GAP_S, 2 * ISOLATED_MARGIN_S + (n + 1) * ISOLATED_SPACING_S) for n in per_gap
    ]
    # The healthy traffic's natural span at the given rate (quieter at night): what it takes
    # beyond the minimum gaps goes to the gaps; a small corpus is a quiet app instead.
    busy_s = sum(duration for _, _, duration in kinds)
    extra = max(0.0, healthy / (rate_per_min * 0.725) * 60 - busy_s - sum(min_gaps))
    weights = [rnd.uniform(0.5, 1.5) for _ in min_gaps]
    gaps = [g + extra * w / sum(weights) for g, w in zip(min_gaps, weights, strict=True)]
    span_s = busy_s + sum(gaps)
    end_ms = start_ms + int(span_s * 1000)
    events: list[Planned] = []
    plans: list[BurstPlan] = []
    t = start_ms
    for i, (category, story, duration) in enumerate(kinds):
        events += _isolated(rnd, t, int(gaps[i] * 1000), per_gap[i])
        t += int(gaps[i] * 1000)
        burst = BurstPlan(
            id=i + 1, category=category, story=story, start_ms=t, end_ms=t + int(duration * 1000)
        )
        plans.append(burst)
        events += _burst_events(rnd, burst, healthy / span_s)
        t = burst.end_ms
    events += _isolated(rnd, t, end_ms - t, per_gap[bursts])
    events.sort()
    cuts = _rotations(plans, start_ms, end_ms, rotate_at_s) if rotate else [[] for _ in FAMILIES]
    files: list[str] = []
    family_files = []
    for family, base in enumerate(FAMILIES):
        names = rotated_names(base, len(cuts[family]))
        family_files.append(list(range(len(files), len(files) + len(names))))
        files += names
    return Plan(
        start_ms=start_ms,
        end_ms=end_ms,
        healthy=healthy,
        bounds=_chunk_bounds(start_ms, end_ms, healthy),
        bursts=plans,
        events=events,
        files=files,
        family_files=family_files,
        cuts=cuts,
    )


def _burst_kinds(rnd: random.Random, count: int) -> list[tuple[str, str, float]]:
    """(category, story, duration s) per burst: every category once before any repeats."""
    out: list[tuple[str, str, float]] = []
    order: list[str] = []
    for _ in range(count):
        if not order:
            order = list(CATEGORIES)
            rnd.shuffle(order)
        category = order.pop()
        duration = math.exp(rnd.uniform(math.log(60), math.log(600)))
        out.append((category, rnd.choice(STORIES[category]), duration))
    return out


def _diurnal(hour: float) -> float:
    """Traffic by hour of day (UTC): peak at 15:00, 45 % of it at 03:00."""
    return 0.725 + 0.275 * math.cos(2 * math.pi * (hour - 15) / 24)


def _chunk_bounds(start_ms: int, end_ms: int, healthy: int) -> list[int]:
    """Times that split the healthy events into chunks of CHUNK, minute by diurnal minute."""
    minutes = max(1, math.ceil((end_ms - start_ms) / 60000))
    cumulative = [0.0]
    for m in range(minutes):
        cumulative.append(cumulative[-1] + _diurnal((start_ms / 1000 + m * 60) % 86400 / 3600))
    bounds = []
    for k in range(math.ceil(healthy / CHUNK) + 1):
        want = cumulative[-1] * min(k * CHUNK, healthy) / healthy
        m = max(0, min(bisect.bisect_left(cumulative, want), minutes) - 1)
        part = min(1.0, (want - cumulative[m]) / (cumulative[m + 1] - cumulative[m]))
        bounds.append(min(end_ms, start_ms + int((m + part) * 60000)))
    bounds[0], bounds[-1] = start_ms, end_ms
    return bounds


def _rotations(
    bursts: list[BurstPlan], start_ms: int, end_ms: int, daily_s: int
) -> list[list[int]]:
    """Rotation times per family: app.log twice, mid-burst when it can (a burst spans two
    files), app.jsonl twice, worker.log daily (its HH:MM:SS lines take their date from the
    file's time, so a file must span a day at most)."""
    span = end_ms - start_ms
    mids = [(b.start_ms + b.end_ms) // 2 for b in bursts]
    n = len(mids)
    if n >= 2 and n // 3 != 2 * n // 3:
        app = [mids[n // 3], mids[2 * n // 3]]
    else:
        app = [start_ms + span // 3, start_ms + 2 * span // 3]
    jsonl = [start_ms + span * 3 // 10, start_ms + span * 6 // 10]
    first = start_ms // DAY_MS * DAY_MS + daily_s * 1000
    worker = list(range(first if first > start_ms else first + DAY_MS, end_ms, DAY_MS))
    return [app, jsonl, worker, []]


def _written_ms(kind: str, ms: int) -> int:
    """The time logwatch reads back: RQ's HH:MM:SS stamps drop the milliseconds."""
    return ms - ms % 1000 if kind in SECOND_STAMPS else ms


def _request_error(rnd: random.Random, failure: str, ms: int, burst: int) -> Planned:
    """A failed request or job: web and JSON logs are redis-py 5, the workers 3.5 or 5."""
    x = rnd.random() * 100
    kind = REQUEST_KINDS[-1][0]
    for name, weight in REQUEST_KINDS:
        if x < weight:
            kind = name
            break
        x -= weight
    version = "5" if kind in ("web-tb", "web-warn", "json") else rnd.choice(("3.5", "5"))
    errors = 2 if kind == "web-tb" and rnd.random() < 0.3 else 1  # the app wraps and re-raises
    return Planned(_written_ms(kind, ms), kind, failure, version, burst, errors)


def _isolated(rnd: random.Random, gap_start: int, gap_ms: int, count: int) -> list[Planned]:
    """`count` single errors evenly spaced mid-gap, ISOLATED_MARGIN_S from either burst."""
    lo = gap_start + ISOLATED_MARGIN_S * 1000
    hi = gap_start + gap_ms - ISOLATED_MARGIN_S * 1000
    return [
        _request_error(
            rnd, rnd.choice(sorted(FAILURES)), lo + (hi - lo) * (n + 1) // (count + 1), 0
        )
        for n in range(count)
    ]


def _burst_events(rnd: random.Random, burst: BurstPlan, healthy_per_s: float) -> list[Planned]:
    """The burst's events: failing requests and jobs, worker retries, server lines, scenery."""
    out: list[Planned] = []
    start, end = burst.start_ms, burst.end_ms
    span = end - start
    # A share of the traffic fails, at least one error in 10 s on average and never a gap over
    # MAX_ERROR_GAP_S; the first three come at once (in-flight requests), opening the incident.
    rate = max(0.1, healthy_per_s * rnd.uniform(0.05, 0.3))
    times = [start, *sorted(start + rnd.randrange(4000) for _ in range(2))]
    t = float(times[-1])
    while (t := t + min(rnd.expovariate(rate), MAX_ERROR_GAP_S) * 1000) <= end:
        times.append(int(t))
    for ms in times:
        out.append(
            _request_error(rnd, story_failure(burst.story, (ms - start) / span, rnd), ms, burst.id)
        )
    # The RQ workers' main loops: rq 1.16 on redis-py 3.5, rq 3.0 on redis-py 5. They retry
    # ConnectionErrors with a doubling wait, and quit on a timeout (then get restarted).
    for version in ("3.5", "5"):
        wait, ms = 1, start + rnd.randrange(500, 3000)
        while ms < end:
            failure = story_failure(burst.story, (ms - start) / span, rnd)
            if burst.category == "timeout":
                out.append(Planned(_written_ms("quit", ms), "quit", failure, version, burst.id, 1))
                break
            if message(FAILURES[failure], version)[0] not in RETRIED:
                break
            out.append(
                Planned(_written_ms("retry", ms), "retry", failure, version, burst.id, 1, wait)
            )
            ms += wait * 1000
            wait = min(wait * 2, 60)
    if burst.category == "misconf":  # the BGSAVE that fails, retried every 5 s
        ms = start + rnd.randrange(2000)
        while ms < end:
            out.append(Planned(ms, "server", "misconf", "7", burst.id, 1, 0))
            out.append(
                Planned(ms + 40 + rnd.randrange(60), "server", "misconf", "7", burst.id, 1, 1)
            )
            ms += 5000 + rnd.randrange(200)
    # redis-server's own healthy lines around it: going down, coming back, a replica.
    if burst.story == "restart":
        out.append(Planned(start - 1000, "redis-down", "", "7", burst.id, 0))
    if burst.story in ("restart", "loading"):
        out.append(Planned(end + 1500, "redis-up", "", "7", burst.id, 0))
    if burst.story == "readonly":
        out.append(Planned(start - 1000, "redis-replica", "", "7", burst.id, 0))
    return out
