"""The Grouper against an independent model of the documented incident semantics.

The fuzz tests check that grouping is consistent across batches and restarts; they cannot
see a wrong rule applied consistently. Here a small, deliberately plain reference (one
list of incidents, one list of pending events per key, the README's rules written out)
and the Grouper are fed the same hypothesis-generated streams, and must agree on every
incident (id, counts, first and last seen, status, resolution, reopenings, links) and on
every change each incident went through.

The semantics modelled (README "Incidents", grouping.py's docstring):

- events are grouped by (category, target);
- an incident opens when a rule's threshold is met: that many of the key's events not yet
  in an incident lie within the rule's window, ending at the newest (edges included);
- while open it takes every event of its key; it resolves once its key has been quiet
  for the quiet period (at last seen + quiet period; an event exactly a quiet period
  after the last one is too late to join it);
- a key's events that meet the threshold again within the reopen window after the
  resolution (edge included) reopen the same incident, later ones open a new incident;
- incidents open on the same target at the same time are linked;
- an open incident reports an update at most once per update interval, or at once when
  its severity rises.

Events all name their target: the adoption of unnamed events ("Error 104 while writing
to socket") by a named incident is left to tests/test_grouping.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.grouping import Grouper, GroupingPolicy, incident_id
from logwatch.model import Change, Event, Incident, Severity

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
QUIET_S, REOPEN_S, UPDATE_S = 120.0, 600.0, 300.0


@dataclass(frozen=True)
class Rule:
    threshold: int
    window_s: float
    hint: str = ""


# One rule per category, so a key's threshold and window never change under it.
RULES = {
    "refused": Rule(threshold=2, window_s=60.0),
    "timeout": Rule(threshold=3, window_s=30.0),
    "oom": Rule(threshold=1, window_s=60.0),
}
CATEGORY = {"refused": "connection", "timeout": "timeout", "oom": "oom"}
TARGETS = ("10.0.0.1:6379", "10.0.0.2:6379")
SEVERITIES = (Severity.WARNING, Severity.ERROR, Severity.CRITICAL)


def policy() -> GroupingPolicy:
    return GroupingPolicy(
        quiet_period_s=QUIET_S, reopen_window_s=REOPEN_S, update_interval_s=UPDATE_S
    )


# -- the reference ---------------------------------------------------------------------


@dataclass
class RefIncident:
    category: str
    target: str
    first_seen: datetime
    last_seen: datetime
    severity: Severity
    events: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    signatures: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)  # first text of each signature
    status: str = "open"
    resolved_at: datetime | None = None
    reopened: int = 0
    linked: set[int] = field(default_factory=set)  # indexes into Reference.incidents
    last_change: datetime | None = None
    history: list[tuple[str, datetime, int]] = field(default_factory=list)


class Reference:
    """The documented semantics, written out plainly; no attempt at being fast."""

    def __init__(self) -> None:
        self.incidents: list[RefIncident] = []
        self.pending: dict[tuple[str, str], list[Event]] = {}
        self.quiet = timedelta(seconds=QUIET_S)
        self.reopen = timedelta(seconds=REOPEN_S)
        self.update = timedelta(seconds=UPDATE_S)
        self.added = 0

    def latest(self, key: tuple[str, str]) -> RefIncident | None:
        mine = [i for i in self.incidents if (i.category, i.target) == key]
        return mine[-1] if mine else None

    def resolve_quiet(self, now: datetime) -> None:
        for inc in self.incidents:
            if inc.status == "open" and now - inc.last_seen >= self.quiet:
                inc.status = "resolved"
                inc.resolved_at = inc.last_change = inc.last_seen + self.quiet
                inc.history.append(("resolved", inc.resolved_at, inc.events))

    def add(self, e: Event) -> None:
        self.added += 1
        self.resolve_quiet(e.time)
        key = (e.category, e.target)
        inc = self.latest(key)
        if inc is not None and inc.status == "open":
            rose = e.severity > inc.severity
            self.take(inc, [e])
            if rose or inc.last_change is None or e.time - inc.last_change >= self.update:
                inc.last_change = e.time
                inc.history.append(("updated", e.time, inc.events))
            return
        rule = RULES[e.rule]
        window = timedelta(seconds=rule.window_s)
        candidates = [*self.pending.get(key, []), e]
        in_window = [p for p in candidates if e.time - p.time <= window]
        if len(in_window) < rule.threshold:
            self.pending[key] = in_window
            return
        self.pending.pop(key, None)
        if (
            inc is not None
            and inc.resolved_at is not None
            and e.time - inc.resolved_at <= self.reopen
        ):
            inc.status, inc.resolved_at = "open", None
            inc.reopened += 1
        else:
            first = in_window[0].time
            inc = RefIncident(
                category=e.category,
                target=e.target,
                first_seen=first,
                last_seen=first,
                severity=e.severity,
            )
            self.incidents.append(inc)
        me = self.incidents.index(inc)
        for j, other in enumerate(self.incidents):
            if j != me and other.status == "open" and other.target == inc.target:
                inc.linked.add(j)
                other.linked.add(me)
        self.take(inc, in_window)
        inc.last_change = e.time
        inc.history.append(("opened", e.time, inc.events))

    def take(self, inc: RefIncident, events: list[Event]) -> None:
        for e in events:
            inc.events += 1
            inc.sources[e.source] = inc.sources.get(e.source, 0) + 1
            inc.signatures[e.signature] = inc.signatures.get(e.signature, 0) + 1
            inc.samples.setdefault(e.signature, e.text)
            inc.first_seen = min(inc.first_seen, e.time)
            inc.last_seen = max(inc.last_seen, e.time)
            inc.severity = max(inc.severity, e.severity)

    def isolated(self) -> int:
        """Events that are in no incident (dropped from a window, or still pending)."""
        return self.added - sum(inc.events for inc in self.incidents)


# -- driving both ----------------------------------------------------------------------


def make_event(
    t: float, rule: str, target: str, severity: Severity, source: str = "app.log", sig: int = 0
) -> Event:
    return Event(
        time=T0 + timedelta(seconds=t),
        source=source,
        line=1,
        rule=rule,
        category=CATEGORY[rule],
        severity=severity,
        target=target,
        signature=f"{rule}: sig {sig}",
        text=f"{rule} text {sig} at {t}",
    )


# Times sit on a 30 s grid, sometimes a second off it: every difference the policy compares
# (window 30/60 s, quiet period 120 s, update interval 300 s, reopen window 600 s) is hit
# exactly, and from either side, in most streams.
# Half the gaps are short (an outage's errors), half up to 12 minutes (quiet, reopening).
steps = st.one_of(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=24))
gap = st.tuples(steps, st.sampled_from([0, 0, 0, 1])).map(lambda g: 30 * g[0] + g[1])
event_args = st.tuples(
    gap,
    st.sampled_from(sorted(RULES)),
    st.sampled_from(TARGETS),
    st.sampled_from(SEVERITIES),
    st.sampled_from(["app.log", "worker.log"]),
    st.integers(min_value=0, max_value=2),
)
streams = st.lists(event_args, min_size=1, max_size=60).map(
    lambda items: [
        make_event(t, rule, target, severity, source, sig)
        for t, (_, rule, target, severity, source, sig) in zip(
            _running_sum([g for g, *_ in items]), items, strict=True
        )
    ]
)


def _running_sum(gaps: list[int]) -> list[int]:
    out, t = [], 0
    for g in gaps:
        t += g
        out.append(t)
    return out


def grouper_view(run: Run) -> list:
    incidents = run.grouper.incidents()
    assert [i.first_seen for i in incidents] == sorted(i.first_seen for i in incidents)
    incidents = run.incidents()
    history = run.history
    incidents.sort(key=lambda i: (i.first_seen, i.category, i.target))
    index = {i.id: n for n, i in enumerate(incidents)}
    return [
        (
            i.category,
            i.target,
            i.first_seen,
            i.last_seen,
            i.events,
            dict(i.sources),
            dict(i.rules),
            dict(i.signatures),
            i.samples,
            i.severity,
            i.status,
            i.resolved_at,
            i.reopened,
            sorted(index[x] for x in i.linked),
            history.get(i.id, []),
        )
        for i in incidents
    ]


def reference_view(ref: Reference) -> list:
    def when(n: int) -> tuple[datetime, str, str]:
        inc = ref.incidents[n]
        return (inc.first_seen, inc.category, inc.target)

    order = sorted(range(len(ref.incidents)), key=when)
    position = {n: k for k, n in enumerate(order)}
    return [
        (
            inc.category,
            inc.target,
            inc.first_seen,
            inc.last_seen,
            inc.events,
            inc.sources,
            {next(r for r, c in CATEGORY.items() if c == inc.category): inc.events},
            inc.signatures,
            tuple(inc.samples.values()),
            inc.severity,
            inc.status,
            inc.resolved_at,
            inc.reopened,
            sorted(position[j] for j in inc.linked),
            inc.history,
        )
        for inc in (ref.incidents[n] for n in order)
    ]


def record(changes: list[Change], history: dict[str, list[tuple[str, datetime, int]]]) -> None:
    for change in changes:
        history.setdefault(change.incident.id, []).append(
            (change.kind, change.at, change.incident.events)
        )


@dataclass
class Run:
    grouper: Grouper
    earlier: list[Incident]  # left out of snapshots by restarts
    history: dict[str, list[tuple[str, datetime, int]]]

    def incidents(self) -> list[Incident]:
        return [*self.earlier, *self.grouper.incidents()]


def run_both(events: list[Event], restarts: frozenset[int] = frozenset()) -> tuple[Run, Reference]:
    """Both fed the same events; the Grouper restarted (snapshot, JSON, restore) before
    each event whose index is in `restarts`, as the agent restarts between batches."""
    grouper = Grouper(RULES, policy())
    history: dict[str, list[tuple[str, datetime, int]]] = {}
    earlier: list[Incident] = []
    ref = Reference()
    for n, e in enumerate(events):
        if n in restarts:
            before = grouper.incidents()
            state = json.loads(json.dumps(grouper.snapshot()))
            grouper = Grouper(RULES, policy(), state=state)
            kept = {i.id for i in grouper.incidents()}
            # The snapshot leaves out incidents that can no longer change (the store has them).
            earlier += [i for i in before if i.id not in kept]
        record(grouper.add(e), history)
        ref.add(e)
    return Run(grouper, earlier, history), ref


MODEL = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@MODEL
@given(events=streams)
def test_grouper_agrees_with_the_reference(events: list[Event]) -> None:
    run, ref = run_both(events)
    assert grouper_view(run) == reference_view(ref)
    assert run.grouper.isolated_events() == ref.isolated()


@MODEL
@given(events=streams, cuts=st.lists(st.booleans(), min_size=60, max_size=60))
def test_restarts_between_events_agree_with_the_reference(
    events: list[Event], cuts: list[bool]
) -> None:
    """The agent restarts from the snapshot in its state database: nothing changes."""
    run, ref = run_both(events, frozenset(n for n, cut in enumerate(cuts) if cut))
    assert grouper_view(run) == reference_view(ref)
    assert run.grouper.isolated_events() == ref.isolated()


@MODEL
@given(events=streams, later=st.sampled_from([0, 119, 120, 10_000]))
def test_resolution_by_the_passing_of_time_agrees_with_the_reference(
    events: list[Event], later: int
) -> None:
    """A tick with no event (the agent's clock moving on through a quiet log)."""
    run, ref = run_both(events)
    now = events[-1].time + timedelta(seconds=later)
    changes = run.grouper.tick(now)
    record(changes, run.history)
    ref.resolve_quiet(now)
    assert grouper_view(run) == reference_view(ref)
    assert [c.at for c in changes] == sorted(c.at for c in changes)
    assert all(c.kind == "resolved" for c in changes)


@MODEL
@given(events=streams)
def test_ids_are_the_outages_stable_documented_ids(events: list[Event]) -> None:
    """`inc-` and ten hex digits, a function of category, target and first event only:
    a scan of last night's logs names an outage as the agent's Slack thread did."""
    run, _ = run_both(events)
    incidents = run.incidents()
    assert len({i.id for i in incidents}) == len(incidents)
    for i in incidents:
        assert re.fullmatch(r"inc-[0-9a-f]{10}", i.id)
        assert i.id == incident_id(i.category, i.target, i.first_seen)
    a = incident_id("connection", "10.0.0.1:6379", T0)
    assert a != incident_id("timeout", "10.0.0.1:6379", T0)
    assert a != incident_id("connection", "10.0.0.2:6379", T0)
    assert a != incident_id("connection", "10.0.0.1:6379", T0 + timedelta(microseconds=1))
