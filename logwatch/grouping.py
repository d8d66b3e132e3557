"""Events + time -> incident changes: a pure state machine, the same for scan and agent.

An incident is the events of one (category, target) that come close together. It opens
when a rule's threshold is met (count within a window), takes later events as updates,
resolves after a quiet period (RQ logs nothing when Redis comes back, so quiet is the
signal) and reopens, as the same incident, when events return within the reopen window.
Time is always the events' own time, passed in; nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from logwatch.activity import ActiveTime
from logwatch.impact import (
    ImpactCounter,
    Signal,
    impact_from_json,
    impact_to_json,
    signal_from_json,
    signal_to_json,
)
from logwatch.model import Change, ChangeKind, Event, Finding, Incident, Severity

OTHER_SIGNATURES = "<other signatures>"
#: The target of errors that name no Redis when REDIS_URL does not say which.
UNNAMED_TARGET = "redis"
#: Job signals kept while no incident is open, for the one their errors may still open.
RECENT_SIGNALS = 1000
#: A job signal this long before an incident's first error still belongs to it (an access
#: log line can be written before the traceback of the same outage).
SIGNAL_SLACK = timedelta(seconds=2)


class RulePolicy(Protocol):
    """What grouping needs of a rule (logwatch.rules.Rule has it)."""

    @property
    def threshold(self) -> int: ...
    @property
    def window_s(self) -> float: ...
    @property
    def hint(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupingPolicy:
    """Timers and bounds of the incident state machine."""

    quiet_period_s: float = 120.0
    reopen_window_s: float = 900.0
    update_interval_s: float = 300.0
    max_samples: int = 5
    max_signatures: int = 50
    default_target: str = UNNAMED_TARGET  # REDIS_URL's host:port when it is set
    confirmed_quiet_s: float = 30.0  # quiet enough to resolve when a probe confirms recovery


@dataclass(slots=True)
class _Live:
    """Mutable state of one incident, owned by the Grouper; snapshots leave as Incident."""

    id: str
    category: str
    target: str
    severity: Severity
    first_seen: datetime
    last_seen: datetime
    status: str = "open"
    events: int = 0
    signatures: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # signature -> first text
    resolved_at: datetime | None = None
    reopened: int = 0
    linked: set[str] = field(default_factory=set)
    last_change: datetime | None = None
    diagnosis: str = ""
    jobs: ImpactCounter = field(default_factory=ImpactCounter)
    active: ActiveTime | None = None  # set on creation (activity.py)
    outage: str = ""  # the incident whose thread it shares, when linked to an earlier one
    probed_at: datetime | None = None
    recovery: str = ""


def incident_id(category: str, target: str, first_seen: datetime) -> str:
    """A stable id: the same outage gets the same id in a scan and in the agent."""
    key = f"{category}|{target}|{first_seen.isoformat()}".encode()
    return "inc-" + hashlib.sha1(key, usedforsecurity=False).hexdigest()[:10]


class Grouper:
    """Turns events and the passing of (log) time into incident changes."""

    def __init__(
        self,
        rules: Mapping[str, RulePolicy],
        policy: GroupingPolicy | None = None,
        *,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        self._rules = rules
        self._policy = policy or GroupingPolicy()
        self._quiet = timedelta(seconds=self._policy.quiet_period_s)
        self._reopen = timedelta(seconds=self._policy.reopen_window_s)
        self._update = timedelta(seconds=self._policy.update_interval_s)
        self._live: dict[tuple[str, str], _Live] = {}  # newest incident per key
        self._done: list[_Live] = []  # incidents past their reopen window
        self._pending: dict[tuple[str, str], deque[Event]] = {}
        self._next_deadline: datetime | None = None
        self.below_threshold = 0  # events that never became part of an incident
        self._recent: deque[Signal] = deque(maxlen=RECENT_SIGNALS)
        windows = [rule.window_s for rule in rules.values()]
        self._recent_for = timedelta(seconds=max([60.0, *windows]))
        if state is not None:
            self._load(state)
        self._recompute_deadline()

    def add(self, event: Event) -> list[Change]:
        """Feed one event; returns the changes it causes (after resolving what time closed)."""
        changes = self.tick(event.time)
        key = self._key(event)
        live = self._live.get(key)
        if live is not None and live.status == "open":
            changes.extend(self._absorb(live, [event], event.time))
            return changes
        if live is not None and live.resolved_at is not None and event.time < live.resolved_at:
            # A late event of an outage that has resolved: another file was read after log
            # time moved past it (a rotated copy found at restart, a backlog). In time it
            # belongs to the incident: counted there, no reopen, no notification.
            self._absorb_late(live, event)
            return changes
        rule = self._rules.get(event.rule)
        threshold = rule.threshold if rule else 1
        window = timedelta(seconds=rule.window_s if rule else 60.0)
        pending = self._pending.setdefault(key, deque())
        pending.append(event)
        while pending and event.time - pending[0].time > window:
            pending.popleft()
            self.below_threshold += 1
        if len(pending) < threshold:
            return changes
        burst = list(pending)
        del self._pending[key]
        if live is not None and event.time - _resolved(live) <= self._reopen:
            live.status, live.resolved_at = "open", None
            live.reopened += 1
            _reopen(live, burst[0].time)
            self._link(live)
            self._adopt_recent(live, burst[0].time)
            changes.extend(self._absorb(live, burst, event.time, kind="opened"))
        else:
            if live is not None:
                self._done.append(live)
            first = burst[0].time
            # The key's target, not the event's: an unnamed event completing a named burst
            # opens the named incident (else it is filed under "redis", and a restart,
            # which keys incidents by their target, splits the outage in two).
            live = _Live(
                id=incident_id(key[0], key[1], first),
                category=key[0],
                target=key[1],
                severity=event.severity,
                first_seen=first,
                last_seen=first,
                active=ActiveTime(closed_s=0.0, since=first),
            )
            self._live[key] = live
            self._link(live)
            live.outage = self._outage_of(live)
            self._adopt_recent(live, first)
            changes.extend(self._absorb(live, burst, event.time, kind="opened"))
        self._recompute_deadline()
        return changes

    def note(self, signal: Signal) -> None:
        """Count a job signal (impact.classify) for the incidents open at its time.

        Open means from just before the first error to the end of the quiet period; a
        signal no incident covers is kept a while for one its errors may yet open.
        """
        attached = False
        for live in self._live.values():
            if (
                live.status == "open"
                and live.first_seen - SIGNAL_SLACK <= signal.time
                and signal.time - live.last_seen < self._quiet
            ):
                live.jobs.add(signal)
                attached = True
        if attached:
            return
        self._recent.append(signal)
        horizon = signal.time - self._recent_for
        while self._recent and self._recent[0].time < horizon:
            self._recent.popleft()

    def _adopt_recent(self, live: _Live, start: datetime) -> None:
        """Give an incident that opens the signals noted since just before its start."""
        keep: deque[Signal] = deque(maxlen=RECENT_SIGNALS)
        for signal in self._recent:
            if signal.time >= start - SIGNAL_SLACK:
                live.jobs.add(signal)
            else:
                keep.append(signal)
        self._recent = keep

    def _key(self, event: Event) -> tuple[str, str]:
        """(category, target); a line that names no endpoint joins its category's named one.

        redis-py names the endpoint in "Error 111 connecting to redis:6379" but not in
        "Error 104 while writing to socket": both are one outage, so the unnamed events go
        to the open incident (or pending burst) of their category that names a target.
        """
        default = self._policy.default_target
        if event.target != default:
            self._adopt_unnamed(event.category, event.target)
            return (event.category, event.target)
        for (category, target), live in self._live.items():
            if category == event.category and target != default and live.status == "open":
                return (category, target)
        # A named burst that can still reach its threshold (its last event within the rule's
        # window): an old below-threshold error must not lend its target to a later outage.
        rule = self._rules.get(event.rule)
        window = timedelta(seconds=rule.window_s if rule else 60.0)
        for (category, target), pending in self._pending.items():
            if (
                category == event.category
                and target != default
                and pending
                and event.time - pending[-1].time <= window
            ):
                return (category, target)
        return (event.category, default)

    def _adopt_unnamed(self, category: str, target: str) -> None:
        """Move the category's unnamed pending events and open incident to a named target."""
        unnamed = (category, self._policy.default_target)
        named = (category, target)
        if unnamed in self._pending:
            merged = sorted(
                [*self._pending.pop(unnamed), *self._pending.get(named, ())], key=lambda e: e.time
            )
            self._pending[named] = deque(merged)
        live = self._live.get(unnamed)
        current = self._live.get(named)
        if (
            live is not None
            and live.status == "open"
            and (current is None or current.status != "open")
        ):
            del self._live[unnamed]
            if current is not None:
                self._done.append(current)
            live.target = target
            self._live[named] = live

    def tick(self, now: datetime) -> list[Change]:
        """Resolve incidents that have been quiet for the quiet period as of `now`."""
        if self._next_deadline is None or now < self._next_deadline:
            return []
        changes = []
        for live in self._live.values():
            if live.status == "open" and now - live.last_seen >= self._quiet:
                live.status = "resolved"
                live.resolved_at = live.last_seen + self._quiet
                live.last_change = live.resolved_at
                _active(live).close(live.last_seen)
                changes.append(
                    Change(kind="resolved", at=live.resolved_at, incident=self._snap(live))
                )
        self._recompute_deadline()
        return sorted(changes, key=lambda c: c.at)

    def resolve(self, incident_id: str, at: datetime) -> list[Change]:
        """Resolve an open incident now, not after its quiet period: the check that holds
        it open (an active probe, a silent log) found the problem gone (conditions.py)."""
        for live in self._live.values():
            if live.id == incident_id and live.status == "open":
                live.status = "resolved"
                live.resolved_at = live.last_change = max(at, live.last_seen)
                self._recompute_deadline()
                return [Change(kind="resolved", at=live.resolved_at, incident=self._snap(live))]
        return []

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe state of open and recently resolved incidents and pending bursts.

        Incidents past their reopen window are left out: they can no longer change.
        """
        return {
            "live": [_live_to_json(x) for x in self._live.values()],
            "pending": [[_event_to_json(e) for e in p] for p in self._pending.values()],
            # The burst's key: unnamed events may be all that is left of a named burst.
            "pending_targets": [target for _, target in self._pending],
            "below_threshold": self.below_threshold,
            "recent_signals": [signal_to_json(s) for s in self._recent],
        }

    def forget_done(self) -> None:
        """Drop incidents past their reopen window from memory (the store keeps them)."""
        self._done.clear()

    def _load(self, state: Mapping[str, Any]) -> None:
        for data in state.get("live", []):
            live = _live_from_json(data)
            self._live[(live.category, live.target)] = live
        pending = state.get("pending", [])
        targets = state.get("pending_targets") or [None] * len(pending)  # older snapshots
        for events, target in zip(pending, targets, strict=False):
            restored = [_event_from_json(e) for e in events]
            if restored:
                key = (restored[0].category, target or restored[0].target)
                self._pending[key] = deque(restored)
        self.below_threshold = int(state.get("below_threshold", 0))
        for data in state.get("recent_signals", ()):  # absent from older snapshots
            if (signal := signal_from_json(data)) is not None:
                self._recent.append(signal)

    def diagnose(self, incident_id: str, diagnosis: str | Finding, at: datetime) -> list[Change]:
        """Attach a live probe's finding (and what RQ's keys said) to an incident; an update
        says it right away."""
        finding = diagnosis if isinstance(diagnosis, Finding) else Finding(summary=diagnosis)
        for live in self._live.values():
            if live.id != incident_id:
                continue
            if finding.recovery != (live.status != "open"):
                # A recovery probe answered after the incident reopened, or an opening
                # probe after it resolved: shown now, it would tell a stale story.
                return []
            if finding.recovery:
                changed = live.recovery != finding.summary
                live.recovery = finding.summary
            else:
                changed = live.diagnosis != finding.summary
                live.diagnosis, live.probed_at = finding.summary, at
            if finding.rq is not None:
                changed = changed or live.jobs.rq != finding.rq
                live.jobs.rq = finding.rq
            if changed:
                return [Change(kind="updated", at=at, incident=self._snap(live))]
        return []

    def confirm_recovery(self, incident_id: str, finding: Finding, at: datetime) -> list[Change]:
        """Resolve an open incident quiet for `confirmed_quiet_s` whose Redis a probe found
        answering again, without waiting out the whole quiet period."""
        quiet = timedelta(seconds=self._policy.confirmed_quiet_s)
        for live in self._live.values():
            if live.id != incident_id or live.status != "open" or not finding.healthy:
                continue
            if at - live.last_seen < quiet:
                return []  # errors came back since the probe was asked for
            live.status, live.resolved_at = "resolved", max(at, live.last_seen)
            live.last_change = live.resolved_at
            live.recovery = finding.summary
            if finding.rq is not None:
                live.jobs.rq = finding.rq
            _active(live).close(live.last_seen)
            self._recompute_deadline()
            return [Change(kind="resolved", at=live.resolved_at, incident=self._snap(live))]
        return []

    def quiet_open(self, now: datetime) -> list[Incident]:
        """Open incidents without events for at least `confirmed_quiet_s` as of `now`:
        a probe that finds their Redis answering may resolve them (confirm_recovery)."""
        quiet = timedelta(seconds=self._policy.confirmed_quiet_s)
        return [
            self._snap(x)
            for x in self._live.values()
            if x.status == "open" and now - x.last_seen >= quiet
        ]

    def is_open(self, incident_id: str) -> bool:
        """True when the incident is live and open."""
        return any(x.id == incident_id and x.status == "open" for x in self._live.values())

    def isolated_events(self) -> int:
        """Events that matched a rule but never reached an opening threshold."""
        return self.below_threshold + sum(len(p) for p in self._pending.values())

    def incidents(self) -> list[Incident]:
        """Every incident seen, oldest first."""
        alive = [*self._done, *self._live.values()]
        return sorted((self._snap(x) for x in alive), key=lambda i: i.first_seen)

    def _absorb(
        self, live: _Live, events: list[Event], now: datetime, kind: ChangeKind = "updated"
    ) -> list[Change]:
        severity_before = live.severity
        self._count(live, events)
        if kind == "updated":
            due = live.last_change is None or now - live.last_change >= self._update
            if not due and live.severity <= severity_before:
                return []
        live.last_change = now
        return [Change(kind=kind, at=now, incident=self._snap(live))]

    def _count(self, live: _Live, events: list[Event]) -> None:
        """Add the events to the incident's counts, span, sources, signatures, samples."""
        for event in events:
            live.events += 1
            live.first_seen = min(live.first_seen, event.time)
            live.last_seen = max(live.last_seen, event.time)
            live.severity = max(live.severity, event.severity)
            live.sources[event.source] += 1
            live.rules[event.rule] += 1
            signature = event.signature
            if (
                signature not in live.signatures
                and len(live.signatures) >= self._policy.max_signatures
            ):
                signature = OTHER_SIGNATURES
            live.signatures[signature] += 1
            if signature not in live.samples and len(live.samples) < self._policy.max_samples:
                live.samples[signature] = event.text

    def _absorb_late(self, live: _Live, event: Event) -> None:
        """Count an event that arrived after its resolved incident's resolution moment; the
        resolution moves on if the event was its last (quiet period after the last event)."""
        self._count(live, [event])
        if live.resolved_at is not None:
            live.resolved_at = max(live.resolved_at, live.last_seen + self._quiet)

    def _link(self, live: _Live) -> None:
        """Link incidents open on the same target at once: one outage, not three. Errors
        that name no Redis may be any Redis's: theirs is linked with every open incident.
        With REDIS_URL they are its Redis's, which another Redis's outage is not."""
        unnamed = self._policy.default_target == UNNAMED_TARGET
        for other in self._live.values():
            if other is live or other.status != "open":
                continue
            if other.target == live.target or (
                unnamed and UNNAMED_TARGET in (other.target, live.target)
            ):
                other.linked.add(live.id)
                live.linked.add(other.id)

    def _outage_of(self, live: _Live) -> str:
        """The thread a new incident joins: that of the earliest open incident it is linked
        to (one outage, one thread), or "" for its own."""
        linked = [
            x for x in self._live.values()
            if x.id in live.linked and x.status == "open" and x is not live
        ]  # fmt: skip
        if not linked:
            return ""
        first = min(linked, key=lambda x: x.first_seen)
        return first.outage or first.id

    def _recompute_deadline(self) -> None:
        deadlines = [x.last_seen + self._quiet for x in self._live.values() if x.status == "open"]
        self._next_deadline = min(deadlines) if deadlines else None

    def _snap(self, live: _Live) -> Incident:
        top_rule = live.rules.most_common(1)[0][0] if live.rules else ""
        rule = self._rules.get(top_rule)
        return Incident(
            id=live.id,
            category=live.category,
            target=live.target,
            severity=live.severity,
            status="open" if live.status == "open" else "resolved",
            first_seen=live.first_seen,
            last_seen=live.last_seen,
            events=live.events,
            signatures=dict(live.signatures.most_common()),
            sources=dict(live.sources.most_common()),
            rules=dict(live.rules.most_common()),
            samples=tuple(live.samples.values()),
            hint=rule.hint if rule else "",
            resolved_at=live.resolved_at,
            reopened=live.reopened,
            linked=tuple(sorted(live.linked)),
            diagnosis=live.diagnosis,
            jobs=live.jobs.snapshot(),
            active_s=_active(live).total_s(live.last_seen),
            outage=live.outage,
            probed_at=live.probed_at,
            recovery=live.recovery,
        )


def _resolved(live: _Live) -> datetime:
    return live.resolved_at or live.last_seen


def _active(live: _Live) -> ActiveTime:
    if live.active is None:
        live.active = ActiveTime.restore(
            None, first_seen=live.first_seen, last_seen=live.last_seen, status=live.status
        )
    return live.active


def _reopen(live: _Live, first: datetime) -> None:
    """A new stretch; what the probes said of the last one no longer holds."""
    _active(live).reopen(first)
    live.diagnosis, live.probed_at, live.recovery = "", None, ""
    live.jobs.rq = None


def _event_to_json(e: Event) -> dict[str, Any]:
    return {
        "time": e.time.isoformat(),
        "source": e.source,
        "line": e.line,
        "rule": e.rule,
        "category": e.category,
        "severity": e.severity.label,
        "target": e.target,
        "signature": e.signature,
        "text": e.text,
        "fields": dict(e.fields),
    }


def _event_from_json(d: Mapping[str, Any]) -> Event:
    return Event(
        time=datetime.fromisoformat(d["time"]),
        source=d["source"],
        line=d["line"],
        rule=d["rule"],
        category=d["category"],
        severity=Severity.parse(d["severity"]),
        target=d["target"],
        signature=d["signature"],
        text=d["text"],
        fields=d["fields"],
    )


def _opt_time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _live_to_json(x: _Live) -> dict[str, Any]:
    return {
        "id": x.id,
        "category": x.category,
        "target": x.target,
        "severity": x.severity.label,
        "first_seen": x.first_seen.isoformat(),
        "last_seen": x.last_seen.isoformat(),
        "status": x.status,
        "events": x.events,
        "signatures": dict(x.signatures),
        "sources": dict(x.sources),
        "rules": dict(x.rules),
        "samples": dict(x.samples),
        "resolved_at": _opt_time(x.resolved_at),
        "reopened": x.reopened,
        "linked": sorted(x.linked),
        "last_change": _opt_time(x.last_change),
        "diagnosis": x.diagnosis,
        "jobs": impact_to_json(x.jobs.snapshot()),
        "active": _active(x).to_json(),
        "outage": x.outage,
        "probed_at": _opt_time(x.probed_at),
        "recovery": x.recovery,
    }


def _live_from_json(d: Mapping[str, Any]) -> _Live:
    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(d[key]) if d.get(key) else None

    live = _Live(
        id=d["id"],
        category=d["category"],
        target=d["target"],
        severity=Severity.parse(d["severity"]),
        first_seen=datetime.fromisoformat(d["first_seen"]),
        last_seen=datetime.fromisoformat(d["last_seen"]),
        status=d["status"],
        events=d["events"],
        signatures=Counter(d["signatures"]),
        sources=Counter(d["sources"]),
        rules=Counter(d["rules"]),
        samples=dict(d["samples"]),
        resolved_at=when("resolved_at"),
        reopened=d["reopened"],
        linked=set(d["linked"]),
        last_change=when("last_change"),
        diagnosis=d.get("diagnosis", ""),
        jobs=ImpactCounter.restore(impact_from_json(d.get("jobs"))),  # absent from older snapshots
        # The keys below are absent from older snapshots too.
        outage=d.get("outage", ""),
        probed_at=when("probed_at"),
        recovery=d.get("recovery", ""),
    )
    live.active = ActiveTime.restore(
        d.get("active"), first_seen=live.first_seen, last_seen=live.last_seen, status=live.status
    )
    return live
