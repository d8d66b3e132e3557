"""What the html and markdown reports draw: a Night, built from a scan or the agent's store.

A Night holds the incidents and their lifecycle (each open, reopen and resolve), errors per
second by category and by tier, what the rules missed grouped by signature, HTTP 5xx
counts, redis-server's own lifecycle, and the scan's facts. NightCollector is the scan's
observer (scan.ScanObserver) that gathers it while the scan runs. Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from logwatch.lookout import Lookout, Sighting
from logwatch.model import Change, Event, Incident, Record, UndatedEvidence
from logwatch.serverlog import ServerEvent

MISSED = "unmatched"  # the category of error-looking records no rule matched
MAX_MISSED_SIGNATURES = 200
OTHER = "<other signatures>"

Tier = Literal["web", "workers", "redis-server", "other"]
TIERS: tuple[Tier, ...] = ("web", "workers", "redis-server", "other")
_WORKERS = re.compile(r"(?i)worker|\brq\b|rq[-_.]|celery|dramatiq|huey|jobs?\b|tasks?\b|queue|cron")
_WEB = re.compile(
    r"(?i)app|web|api|gunicorn|uvicorn|hypercorn|daphne|wsgi|asgi|access|nginx|django|flask|"
    r"fastapi|http|site"
)
_SERVER = re.compile(r"(?i)redis[-_]server|^redis[.-]|sentinel")


def tier_of(name: str, server_logs: frozenset[str] = frozenset()) -> Tier:
    """The tier a log file belongs to: redis-server by its content (or its name), workers
    and web by name; `server_logs` are the files whose lines are redis-server's own."""
    base = name.rsplit("/", 1)[-1]
    if name in server_logs:
        return "redis-server"
    if _WORKERS.search(base):
        return "workers"
    if _SERVER.search(base):
        return "redis-server"
    if _WEB.search(base):
        return "web"
    return "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    """An incident and when it opened, reopened and resolved."""

    incident: Incident
    opened: tuple[datetime, ...]  # first the opening, then each reopening
    resolved: tuple[datetime, ...]

    @property
    def reopens(self) -> tuple[datetime, ...]:
        """When it came back after resolving."""
        return self.opened[1:]


@dataclass(slots=True)
class MissedGroup:
    """Error-looking records of one normalised signature that no rule matched."""

    signature: str
    count: int
    first: datetime
    last: datetime
    sample: str  # of the earliest record
    sources: Counter[str] = field(default_factory=Counter)
    seconds: Counter[int] = field(default_factory=Counter)  # records per epoch second
    inside: int = 0  # records inside an incident's span
    gap: bool = False  # clusters inside an outage: a likely rule gap
    peak: datetime | None = None  # where, inside an outage, it clusters most


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What the report was made from."""

    files: int = 0
    bytes: int = 0
    lines: int = 0
    records: int = 0
    events: int = 0
    seconds: float = 0.0
    isolated: int = 0
    dating: Mapping[str, str] = field(default_factory=dict)
    warnings: Sequence[str] = ()
    undated: Sequence[UndatedEvidence] = ()
    quiet_period_s: float = 120.0
    origin: str = "scan"  # or "agent": the state store's history
    path: str = "fast"  # the scan path taken: fast, or reference


@dataclass(frozen=True, slots=True, kw_only=True)
class Night:
    """Everything a report shows, on one time axis."""

    start: datetime
    end: datetime
    lifecycles: list[Lifecycle]
    errors: Mapping[str, Counter[int]]  # category (and MISSED) -> records per epoch second
    tiers: Mapping[str, Counter[int]]  # tier -> error records per epoch second
    tier_files: Mapping[str, tuple[str, ...]]  # tier -> its files
    missed: list[MissedGroup]
    missed_total: int
    http5xx: Mapping[str, Counter[str]]  # tier -> status -> count
    server: list[ServerEvent]
    facts: Facts
    estimated: bool = False  # errors per second estimated from incident updates (agent)
    # incident id -> (when, "opened slack: sent, webhook: failed: ...") for each notification
    notified: Mapping[str, tuple[tuple[datetime, str], ...]] = field(default_factory=dict)

    @property
    def incidents(self) -> list[Incident]:
        """The incidents, oldest first."""
        return [lc.incident for lc in self.lifecycles]


class NightCollector:
    """The scan's observer: gathers a Night while the scan runs (scan.ScanObserver)."""

    def __init__(
        self, *, secrets: Sequence[str] = (), files: Mapping[str, str], sightings: bool = True
    ) -> None:
        """`files`: each file's label -> its tier; without `sightings`, events only."""
        self._look = Lookout(list(secrets))
        self._sightings = sightings
        self.files = dict(files)
        self.errors: dict[str, Counter[int]] = {}
        self.tiers: dict[str, Counter[int]] = {}
        self.changes: list[Change] = []
        self.missed: dict[str, MissedGroup] = {}
        self.missed_total = 0
        self.http5xx: dict[str, Counter[str]] = {}
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.end: datetime | None = None

    @property
    def needles(self) -> Sequence[bytes]:
        """The literals of what the reports show beyond events."""
        return self._look.needles if self._sightings else ()

    def look(self, record: Record, event: Event | None) -> Sighting | None:
        """A record's sighting, if it is one (runs in scan workers)."""
        return self._look(record, event) if self._sightings else None

    def _count(self, category: str, source: str, when: datetime) -> None:
        second = int(when.timestamp())
        self.errors.setdefault(category, Counter())[second] += 1
        tier = self.files.get(source, "other")
        self.tiers.setdefault(tier, Counter())[second] += 1
        self._span(when)

    def _span(self, when: datetime) -> None:
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when

    def sighted(self, sighting: Sighting) -> None:
        """Count a kept record: a 5xx line, or an error no rule matched."""
        if sighting.kind == "http5xx":
            tier = self.files.get(sighting.source, "other")
            self.http5xx.setdefault(tier, Counter())[sighting.signature] += 1
            self._span(sighting.time)
            return
        self.missed_total += 1
        self._count(MISSED, sighting.source, sighting.time)
        signature = sighting.signature
        group = self.missed.get(signature)
        if group is None and len(self.missed) >= MAX_MISSED_SIGNATURES:
            signature = OTHER
            group = self.missed.get(signature)
        if group is None:
            group = self.missed[signature] = MissedGroup(
                signature=signature,
                count=0,
                first=sighting.time,
                last=sighting.time,
                sample=sighting.sample,
            )
        group.count += 1
        # The earliest record's sample, whatever order the sightings come in.
        if sighting.time < group.first or (
            sighting.time == group.first and sighting.sample < group.sample
        ):
            group.first, group.sample = sighting.time, sighting.sample
        group.last = max(group.last, sighting.time)
        group.sources[sighting.source] += 1
        group.seconds[int(sighting.time.timestamp())] += 1

    def grouped(self, event: Event | None, changes: Sequence[Change]) -> None:
        """Count an event; keep the changes for the incidents' lifecycles."""
        if event is not None:
            self._count(event.category, event.source, event.time)
        self.changes.extend(changes)

    def ended(self, end: datetime | None) -> None:
        """The scan's end."""
        self.end = end

    def night(
        self,
        incidents: list[Incident],
        facts: Facts,
        server: list[ServerEvent],
        *,
        start: datetime | None = None,
    ) -> Night:
        """The Night of the scan: `start` is the first record's time, if known."""
        lifecycles = lifecycles_of(incidents, self.changes)
        times = [t for t in (start, self.first, self.last, self.end) if t is not None]
        times += [e.time for e in server]
        for lc in lifecycles:
            times += [lc.incident.first_seen, *lc.resolved]
        now = max(times) if times else datetime.now().astimezone()
        first = min(times) if times else now
        missed = sorted(self.missed.values(), key=lambda g: (-g.count, g.signature))
        mark_gaps(missed, lifecycles, first, now)
        tier_files: dict[str, list[str]] = {}
        for name, tier in self.files.items():
            tier_files.setdefault(tier, []).append(name)
        return Night(
            start=first,
            end=now,
            lifecycles=lifecycles,
            errors=self.errors,
            tiers=self.tiers,
            tier_files={t: tuple(sorted(v)) for t, v in tier_files.items()},
            missed=missed,
            missed_total=self.missed_total,
            http5xx=self.http5xx,
            server=server,
            facts=facts,
        )


def lifecycles_of(incidents: Sequence[Incident], changes: Sequence[Change]) -> list[Lifecycle]:
    """Each incident with the times it opened (reopened) and resolved, from its changes."""
    opened: dict[str, list[datetime]] = {}
    resolved: dict[str, list[datetime]] = {}
    for change in sorted(changes, key=lambda c: c.at):
        iid = change.incident.id
        if change.kind == "opened":
            # A reopening is an "opened" change of an incident seen before.
            when = change.incident.first_seen if iid not in opened else change.at
            opened.setdefault(iid, []).append(when)
        elif change.kind == "resolved":
            resolved.setdefault(iid, []).append(change.at)
    found = []
    for inc in sorted(incidents, key=lambda i: (i.first_seen, i.id)):
        opens = opened.get(inc.id) or [inc.first_seen]
        ends = resolved.get(inc.id, [])
        if not ends and inc.resolved_at is not None:
            ends = [inc.resolved_at]
        found.append(Lifecycle(incident=inc, opened=tuple(opens), resolved=tuple(ends)))
    return found


def span_of(lc: Lifecycle, end: datetime) -> tuple[datetime, datetime]:
    """An incident's band: first seen to resolved (or the end of the logs, if open)."""
    inc = lc.incident
    stop = inc.resolved_at or (lc.resolved[-1] if inc.status == "resolved" and lc.resolved else end)
    return inc.first_seen, max(stop, inc.last_seen)


def mark_gaps(
    groups: Sequence[MissedGroup], lifecycles: Sequence[Lifecycle], start: datetime, end: datetime
) -> None:
    """Flag the missed signatures that cluster inside outages: at least 2 records inside an
    incident's span, at least half of them, at twice the rate outside (or none outside)."""
    spans = [span_of(lc, end) for lc in lifecycles]
    windows = [(int(a.timestamp()), int(b.timestamp())) for a, b in spans]
    inside_s = sum(b - a + 1 for a, b in windows)
    outside_s = max(1.0, (end - start).total_seconds() - inside_s)
    for group in groups:
        per_window = [sum(n for s, n in group.seconds.items() if a <= s <= b) for a, b in windows]
        group.inside = sum(per_window)
        outside = group.count - group.inside
        if group.inside < 2:
            continue
        rate_in = group.inside / max(1, inside_s)
        rate_out = outside / outside_s
        if outside == 0 or (group.inside * 2 >= group.count and rate_in >= 2 * rate_out):
            group.gap = True
            a, b = windows[max(range(len(windows)), key=per_window.__getitem__)]
            inside = {s: n for s, n in group.seconds.items() if a <= s <= b}
            busiest = max(inside, key=lambda s: (inside[s], -s))
            group.peak = datetime.fromtimestamp(busiest, start.tzinfo)


def estimate_errors(
    lifecycles: Sequence[Lifecycle], snapshots: Mapping[str, Sequence[Incident]]
) -> dict[str, Counter[int]]:
    """Errors per second by category from an incident's successive snapshots (the agent's
    outbox): each snapshot's new events spread evenly from the previous one's last event."""
    errors: dict[str, Counter[int]] = {}
    for lc in lifecycles:
        inc = lc.incident
        counts = errors.setdefault(inc.category, Counter())
        previous: Incident | None = None
        for snap in sorted(snapshots.get(inc.id, [inc]), key=lambda s: (s.events, s.last_seen)):
            new = snap.events - (previous.events if previous else 0)
            if new > 0:
                a = previous.last_seen if previous else snap.first_seen
                spread(counts, a, snap.last_seen, new)
            previous = snap
    return errors


def spread(counts: Counter[int], a: datetime, b: datetime, n: int) -> None:
    """Add n counts spread evenly over the seconds from a to b."""
    lo, hi = int(a.timestamp()), int(b.timestamp())
    seconds = max(1, hi - lo + 1)
    step = max(1, seconds // min(n, 600))
    slots = list(range(lo, hi + 1, step)) or [lo]
    for k in range(n):
        counts[slots[k * len(slots) // n]] += 1


def quiet_span(resolved_at: datetime, quiet_period_s: float) -> tuple[datetime, datetime]:
    """The quiet period that ended in a resolve: no event in it, then resolved."""
    return resolved_at - timedelta(seconds=quiet_period_s), resolved_at
