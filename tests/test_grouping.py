"""The incident state machine: thresholds, quiet-period resolution, reopening, linking."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.grouping import OTHER_SIGNATURES, Grouper, GroupingPolicy, incident_id
from logwatch.model import Event, Severity

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeRule:
    threshold: int = 2
    window_s: float = 60.0
    hint: str = "restart redis"


RULES = {
    "refused": FakeRule(threshold=2),
    "timeout": FakeRule(threshold=3, hint="check latency"),
    "misconf": FakeRule(threshold=1, hint="check disk"),
}
CATEGORY = {"refused": "connection", "timeout": "timeout", "misconf": "misconf"}


def ev(seconds: float, rule: str = "refused", target: str = "redis:6379", sig: str = "s") -> Event:
    return Event(
        time=T0 + timedelta(seconds=seconds),
        source="app.log",
        line=int(seconds) + 1,
        rule=rule,
        category=CATEGORY[rule],
        severity=Severity.CRITICAL if rule == "misconf" else Severity.ERROR,
        target=target,
        signature=f"{rule}: {sig}",
        text=f"{rule} text {sig}",
    )


def run(events: list[Event], policy: GroupingPolicy | None = None) -> tuple[Grouper, list[str]]:
    grouper = Grouper(RULES, policy or GroupingPolicy(quiet_period_s=120, reopen_window_s=600))
    kinds = []
    for event in events:
        kinds += [c.kind for c in grouper.add(event)]
    return grouper, kinds


def test_single_event_below_threshold_opens_nothing() -> None:
    grouper, kinds = run([ev(0)])
    assert kinds == []
    assert grouper.incidents() == []
    assert grouper.isolated_events() == 1


def test_threshold_within_window_opens_with_all_burst_events() -> None:
    grouper, kinds = run([ev(0), ev(10), ev(20)])
    assert kinds == ["opened"]
    (incident,) = grouper.incidents()
    assert incident.events == 3
    assert incident.first_seen == T0
    assert incident.status == "open"
    assert incident.hint == "restart redis"


def test_events_further_apart_than_window_do_not_open() -> None:
    grouper, kinds = run([ev(0), ev(61), ev(200)])
    assert kinds == []
    assert grouper.isolated_events() == 3


def test_severe_rule_opens_on_one_event() -> None:
    _, kinds = run([ev(0, "misconf")])
    assert kinds == ["opened"]


def test_resolves_after_quiet_period_at_last_seen_plus_quiet() -> None:
    grouper, _ = run([ev(0), ev(5)])
    assert grouper.tick(T0 + timedelta(seconds=100)) == []
    (change,) = grouper.tick(T0 + timedelta(seconds=500))
    assert change.kind == "resolved"
    assert change.at == T0 + timedelta(seconds=125)
    assert change.incident.resolved_at == T0 + timedelta(seconds=125)


def test_reopens_same_incident_when_events_return_within_window() -> None:
    grouper, kinds = run([ev(0), ev(5), ev(300), ev(310)])
    assert kinds == ["opened", "resolved", "opened"]
    (incident,) = grouper.incidents()
    assert incident.reopened == 1
    assert incident.events == 4
    assert incident.status == "open"


def test_events_after_reopen_window_start_a_new_incident() -> None:
    grouper, kinds = run([ev(0), ev(5), ev(2000), ev(2010)])
    assert kinds == ["opened", "resolved", "opened"]
    first, second = grouper.incidents()
    assert first.id != second.id
    assert first.status == "resolved"
    assert second.events == 2


def test_keys_are_category_and_target() -> None:
    grouper, _ = run([ev(0), ev(1, target="a:1"), ev(2), ev(3, target="a:1")])
    assert sorted(i.target for i in grouper.incidents()) == ["a:1", "redis:6379"]


def test_updates_are_rate_limited_by_update_interval() -> None:
    policy = GroupingPolicy(quiet_period_s=120, update_interval_s=60)
    _, kinds = run([ev(s) for s in range(0, 200, 5)], policy)
    assert kinds.count("opened") == 1
    assert 2 <= kinds.count("updated") <= 4


def test_incidents_on_one_target_at_once_are_linked() -> None:
    grouper, _ = run([ev(0), ev(1), ev(2, "timeout"), ev(3, "timeout"), ev(4, "timeout")])
    refused, timeout = sorted(grouper.incidents(), key=lambda i: i.category)
    assert refused.linked == (timeout.id,)
    assert timeout.linked == (refused.id,)


def test_default_target_links_with_named_target() -> None:
    policy = GroupingPolicy(default_target="redis")
    grouper, _ = run(
        [
            ev(0),
            ev(1),
            ev(2, "timeout", target="redis"),
            ev(3, "timeout", "redis"),
            ev(4, "timeout", "redis"),
        ],
        policy,
    )
    assert all(i.linked for i in grouper.incidents())


def test_signatures_are_bounded_and_samples_one_per_signature() -> None:
    policy = GroupingPolicy(max_signatures=3, max_samples=2)
    grouper, _ = run([ev(i, sig=str(i)) for i in range(10)], policy)
    (incident,) = grouper.incidents()
    assert len(incident.signatures) == 4  # three kept, the rest lumped together
    assert sum(incident.signatures.values()) == 10
    assert len(incident.samples) == 2


def test_id_is_stable_for_the_same_outage() -> None:
    a, _ = run([ev(0), ev(1)])
    b, _ = run([ev(0), ev(1), ev(2)])
    assert a.incidents()[0].id == b.incidents()[0].id == incident_id("connection", "redis:6379", T0)


def test_restored_open_incident_keeps_taking_events() -> None:
    grouper, _ = run([ev(0), ev(1)])
    state = json.loads(json.dumps(grouper.snapshot()))  # as the store keeps it
    restored = Grouper(RULES, GroupingPolicy(), state=state)
    assert restored.add(ev(60)) == []  # absorbed; the next update is not due yet
    (incident,) = restored.incidents()
    assert (incident.events, incident.status) == (3, "open")


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=40),
    rules=st.lists(st.sampled_from(sorted(RULES)), min_size=40, max_size=40),
    ticks=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_ticks_between_events_never_change_the_incidents(
    gaps: list[int], rules: list[str], ticks: list[bool]
) -> None:
    """Grouping is the same whatever the batch boundaries (ticks) between events."""
    events, t = [], 0
    for gap, rule in zip(gaps, rules, strict=False):
        t += gap
        events.append(ev(t, rule))
    plain, _ = run(events)
    ticked = Grouper(RULES, GroupingPolicy(quiet_period_s=120, reopen_window_s=600))
    for event, tick in zip(events, ticks, strict=False):
        if tick:
            ticked.tick(event.time)
        ticked.add(event)
    assert plain.incidents() == ticked.incidents()


def test_unnamed_endpoint_joins_the_named_incident_of_its_category() -> None:
    """'Error 104 while writing to socket' names no endpoint; it is the same outage."""
    policy = GroupingPolicy(default_target="redis")
    events = [ev(0, target="redis"), ev(1, target="redis:6379"), ev(2, target="redis"), ev(3)]
    grouper, _ = run(events, policy)
    (incident,) = grouper.incidents()
    assert (incident.target, incident.events) == ("redis:6379", 4)


def test_open_unnamed_incident_is_renamed_when_the_endpoint_appears() -> None:
    policy = GroupingPolicy(default_target="redis")
    grouper, _ = run([ev(0, target="redis"), ev(1, target="redis"), ev(5)], policy)
    (incident,) = grouper.incidents()
    assert (incident.target, incident.events, incident.status) == ("redis:6379", 3, "open")


def test_snapshot_keeps_pending_bursts_across_a_restart() -> None:
    """One error before a restart and one after still make the threshold of two."""
    grouper, _ = run([ev(0)])
    restored = Grouper(RULES, GroupingPolicy(), state=json.loads(json.dumps(grouper.snapshot())))
    assert [c.kind for c in restored.add(ev(10))] == ["opened"]
    assert restored.incidents()[0].events == 2


def test_unnamed_event_completing_a_named_burst_opens_the_named_incident() -> None:
    """Found by tests/test_fuzz.py: the incident took the unnamed event's target ("redis")
    while filed under the named key, and a restart (which keys by target) split it."""
    grouper, kinds = run([ev(0, target="10.0.0.1:6379"), ev(1, target="redis")])
    (incident,) = grouper.incidents()
    assert kinds == ["opened"]
    assert (incident.target, incident.events) == ("10.0.0.1:6379", 2)
    restored = Grouper(
        RULES,
        GroupingPolicy(quiet_period_s=120, reopen_window_s=600),
        state=json.loads(json.dumps(grouper.snapshot())),
    )
    restored.add(ev(2, target="10.0.0.1:6379"))
    (incident,) = restored.incidents()
    assert (incident.target, incident.events) == ("10.0.0.1:6379", 3)


def test_restart_keeps_an_unnamed_remainder_of_a_named_burst_under_its_target() -> None:
    """Found by tests/test_fuzz.py: a pending burst was restored under its first event's
    target; when only unnamed events were left of a named burst, a restart moved them to
    "redis" and a later event on another target opened an incident a straight run did not.
    (The unnamed event 61 s after the first, outside its 60 s window, joins the burst of the
    event beside it: an incident on 10.0.0.2, the same with or without the restart.)"""
    events = [ev(0, target="10.0.0.1:6379"), ev(61, target="redis"), ev(61, target="10.0.0.2:6379")]
    straight, _ = run(events)
    grouper, _ = run(events[:2])
    restored = Grouper(
        RULES,
        GroupingPolicy(quiet_period_s=120, reopen_window_s=600),
        state=json.loads(json.dumps(grouper.snapshot())),
    )
    restored.add(events[2])
    assert restored.incidents() == straight.incidents()
    assert [(i.target, i.events) for i in straight.incidents()] == [("10.0.0.2:6379", 2)]


def test_an_old_below_threshold_error_does_not_name_a_later_outage() -> None:
    """A lone `Error 111 connecting to redis:6379` at 10:00 stays pending below threshold;
    an outage of unnamed `Connection closed by server.` lines at 12:00 is its own incident on
    the default target, not filed under the old error's endpoint."""
    from datetime import UTC, datetime, timedelta

    from logwatch.grouping import Grouper, GroupingPolicy
    from logwatch.model import Event, Severity

    class Rule:
        threshold = 3
        window_s = 60.0
        hint = ""

    def event(at: datetime, target: str) -> Event:
        return Event(
            time=at,
            source="app.log",
            line=1,
            rule="r",
            category="connection",
            severity=Severity.ERROR,
            target=target,
            signature="s",
            text="t",
        )

    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    grouper = Grouper({"r": Rule()}, GroupingPolicy())
    grouper.add(event(start, "redis:6379"))
    later = start + timedelta(hours=2)
    for n in range(6):
        grouper.add(event(later + timedelta(seconds=n), "redis"))
    (incident,) = grouper.incidents()
    assert (incident.target, incident.events) == ("redis", 6)


def test_threshold_window_includes_its_edge() -> None:
    """Two errors exactly one window (60 s) apart meet a threshold of two."""
    grouper, kinds = run([ev(0), ev(60)])
    assert kinds == ["opened"]
    assert grouper.incidents()[0].events == 2


def test_threshold_window_excludes_what_lies_beyond_its_edge() -> None:
    grouper, kinds = run([ev(0), ev(60.001)])
    assert kinds == []
    assert grouper.isolated_events() == 2


def test_reopen_window_is_measured_from_the_resolution() -> None:
    """A 20-minute outage whose errors return 5 minutes after it resolved is the same
    incident, reopened, even though its first error is 25 minutes old."""
    policy = GroupingPolicy(quiet_period_s=120, reopen_window_s=900)
    outage = [ev(s) for s in range(0, 1201, 30)]  # 0 .. 20 min; resolves at 22 min
    back = [ev(1320 + 300), ev(1320 + 301)]
    grouper, kinds = run([*outage, *back], policy)
    assert kinds.count("opened") == 2 and kinds.count("resolved") == 1
    (incident,) = grouper.incidents()
    assert (incident.reopened, incident.events, incident.status) == (1, len(outage) + 2, "open")
    assert incident.first_seen == T0


def test_errors_returning_after_the_reopen_window_open_a_new_incident() -> None:
    policy = GroupingPolicy(quiet_period_s=120, reopen_window_s=900)
    grouper, _ = run([ev(0), ev(1), ev(121 + 900 + 1), ev(121 + 900 + 2)], policy)
    first, second = grouper.incidents()
    assert (first.status, first.reopened, second.reopened) == ("resolved", 0, 0)


def test_an_update_is_due_exactly_one_interval_after_the_last_change() -> None:
    policy = GroupingPolicy(quiet_period_s=120, update_interval_s=300)
    grouper = Grouper(RULES, policy)
    changes = [c for s in (0, 30, 90, 150, 210, 270, 329) for c in grouper.add(ev(s))]
    assert [c.kind for c in changes] == ["opened"]  # opened at 30; 329 is too early
    (update,) = grouper.add(ev(330))
    assert (update.kind, update.at, update.incident.events) == (
        "updated",
        T0 + timedelta(seconds=330),
        8,
    )


def test_a_snapshot_of_an_older_version_still_restores() -> None:
    """Snapshots written before pending_targets, below_threshold and diagnosis existed
    (the state database outlives an upgrade): pending bursts keep their events' target,
    the count of isolated events starts at zero, incidents have no diagnosis."""
    grouper, _ = run([ev(0), ev(1), ev(470, "timeout"), ev(471, "timeout"), ev(500)])
    state = json.loads(json.dumps(grouper.snapshot()))
    del state["pending_targets"], state["below_threshold"]
    for live in state["live"]:
        del live["diagnosis"]
    restored = Grouper(RULES, GroupingPolicy(quiet_period_s=120, reopen_window_s=600), state=state)
    assert restored.isolated_events() == 3  # the two timeouts and the refused at 500, pending
    assert [i.diagnosis for i in restored.incidents()] == [""]
    assert [c.kind for c in restored.add(ev(510))] == ["opened"]  # reopens with the one at 500
    (incident,) = restored.incidents()
    assert (incident.target, incident.events, incident.reopened) == ("redis:6379", 4, 1)
    assert [c.kind for c in restored.add(ev(511, "timeout"))] == ["opened"]


def test_a_snapshot_keeps_resolution_isolated_count_and_diagnosis() -> None:
    grouper, _ = run([ev(0), ev(1), ev(100, "timeout")])
    (incident,) = grouper.incidents()
    grouper.diagnose(incident.id, "confirmed: connection refused", T0 + timedelta(seconds=2))
    grouper.tick(T0 + timedelta(seconds=400))  # resolved at 121
    restored = Grouper(
        RULES,
        GroupingPolicy(quiet_period_s=120, reopen_window_s=600),
        state=json.loads(json.dumps(grouper.snapshot())),
    )
    assert restored.incidents() == grouper.incidents()
    assert restored.isolated_events() == grouper.isolated_events() == 1
    (back,) = restored.incidents()
    assert (back.resolved_at, back.diagnosis) == (
        T0 + timedelta(seconds=121),
        "confirmed: connection refused",
    )


def test_diagnosis_is_an_update_once_and_only_for_a_known_incident() -> None:
    grouper, _ = run([ev(0), ev(1)])
    (incident,) = grouper.incidents()
    at = T0 + timedelta(seconds=2)
    (change,) = grouper.diagnose(incident.id, "confirmed: connection refused", at)
    assert (change.kind, change.at, change.incident.diagnosis) == (
        "updated",
        at,
        "confirmed: connection refused",
    )
    assert grouper.diagnose(incident.id, "confirmed: connection refused", at) == []
    assert grouper.diagnose("inc-0000000000", "recovery confirmed", at) == []
    assert grouper.incidents()[0].diagnosis == "confirmed: connection refused"


def test_events_of_a_rule_the_grouper_does_not_know_open_on_their_own() -> None:
    """A rule dropped by a reload while its events are in flight: threshold one, the
    default window, no hint, its counts kept by rule and source."""
    event = ev(0, "refused")
    unknown = Event(
        **{**{f: getattr(event, f) for f in event.__dataclass_fields__}, "rule": "gone"}
    )
    grouper = Grouper({}, GroupingPolicy())
    assert [c.kind for c in grouper.add(unknown)] == ["opened"]
    (incident,) = grouper.incidents()
    assert (incident.hint, incident.rules, incident.sources) == ("", {"gone": 1}, {"app.log": 1})


def test_signatures_past_the_bound_are_counted_under_other_signatures() -> None:
    policy = GroupingPolicy(max_signatures=3, max_samples=5)
    grouper, _ = run([ev(i, sig=str(i)) for i in range(6)], policy)
    (incident,) = grouper.incidents()
    assert incident.signatures == {
        "refused: 0": 1,
        "refused: 1": 1,
        "refused: 2": 1,
        OTHER_SIGNATURES: 3,
    }
    assert incident.samples == (
        "refused text 0",
        "refused text 1",
        "refused text 2",
        "refused text 3",
    )


def test_unnamed_events_pending_join_the_named_burst_that_follows() -> None:
    """Two 'Error 104 while writing to socket' (no endpoint), then a timeout naming it:
    threshold three met, one incident on the named target."""
    policy = GroupingPolicy(default_target="redis")
    grouper, kinds = run(
        [ev(0, "timeout", "redis"), ev(1, "timeout", "redis"), ev(2, "timeout")], policy
    )
    assert kinds == ["opened"]
    (incident,) = grouper.incidents()
    assert (incident.target, incident.events, incident.first_seen) == ("redis:6379", 3, T0)


def test_unnamed_events_stay_in_their_own_category() -> None:
    policy = GroupingPolicy(default_target="redis")
    events = [ev(0, "timeout"), ev(1, "refused", "redis"), ev(2, "timeout")]
    grouper, kinds = run(events, policy)
    assert kinds == []
    assert grouper.isolated_events() == 3


def test_an_open_unnamed_incident_takes_the_name_of_a_resolved_named_one() -> None:
    """The named incident resolved; the outage comes back in lines that name no endpoint,
    then one names it: the open incident moves to the named target, the old one is kept."""
    policy = GroupingPolicy(default_target="redis", quiet_period_s=120, reopen_window_s=600)
    first = [ev(0), ev(1)]
    unnamed = [ev(300, target="redis"), ev(301, target="redis")]
    grouper, kinds = run([*first, *unnamed, ev(302)], policy)
    assert kinds == ["opened", "resolved", "opened"]
    old, new = grouper.incidents()
    assert (old.target, old.status, old.events) == ("redis:6379", "resolved", 2)
    assert (new.target, new.status, new.events) == ("redis:6379", "open", 3)
    assert old.id != new.id


def test_links_survive_a_restart() -> None:
    grouper, _ = run([ev(0, "misconf"), ev(1), ev(2)])
    restored = Grouper(
        RULES,
        GroupingPolicy(quiet_period_s=120, reopen_window_s=600),
        state=json.loads(json.dumps(grouper.snapshot())),
    )
    misconf, refused = sorted(restored.incidents(), key=lambda i: i.category)
    assert (misconf.linked, refused.linked) == ((refused.id,), (misconf.id,))


def test_a_late_event_of_a_resolved_outage_is_counted_there_without_reopening() -> None:
    """Found by the soak: a rotated copy read after log time had moved on delivered one
    worker error of an outage that had resolved; it went to a pending burst below the
    threshold and was never counted (8 written, 7 counted)."""
    events = [ev(s) for s in (0, 1, 2)]
    grouper, _ = run(events)
    grouper.tick(T0 + timedelta(seconds=300))  # quiet: resolved at 2 s + 120 s
    (incident,) = grouper.incidents()
    assert incident.status == "resolved"
    changes = grouper.add(ev(1.5))  # read late from another file
    assert changes == []
    (incident,) = grouper.incidents()
    assert (incident.events, incident.status, incident.reopened) == (4, "resolved", 0)
    assert grouper.isolated_events() == 0


def test_a_late_event_that_was_the_last_moves_the_resolution() -> None:
    grouper, _ = run([ev(s) for s in (0, 1, 2)])
    grouper.tick(T0 + timedelta(seconds=300))
    grouper.add(ev(100))  # before the resolution at 122 s: the outage went on until 100 s
    (incident,) = grouper.incidents()
    assert incident.last_seen == T0 + timedelta(seconds=100)
    assert incident.resolved_at == T0 + timedelta(seconds=220)


def test_an_event_after_the_resolution_still_needs_its_threshold_to_reopen() -> None:
    grouper, _ = run([ev(s) for s in (0, 1, 2)])
    grouper.tick(T0 + timedelta(seconds=300))
    assert grouper.add(ev(130)) == []  # after the resolution (122 s): a new burst, pending
    (incident,) = grouper.incidents()
    assert (incident.events, incident.reopened) == (3, 0)


def test_an_open_incident_resolved_early_resolves_once_and_not_before_its_last_event() -> None:
    """A check that holds an incident open found the problem gone: resolved now, not after
    the quiet period; never before its last event; an unknown or resolved id changes nothing."""
    grouper, _ = run([ev(0), ev(5)])
    [inc] = grouper.incidents()
    assert grouper.resolve("inc-unknown", T0 + timedelta(seconds=30)) == []
    [change] = grouper.resolve(inc.id, T0 + timedelta(seconds=30))
    assert change.kind == "resolved" and change.at == T0 + timedelta(seconds=30)
    assert change.incident.status == "resolved" and change.incident.id == inc.id
    assert change.incident.resolved_at == T0 + timedelta(seconds=30)
    assert not grouper.is_open(inc.id)
    assert grouper.resolve(inc.id, T0 + timedelta(seconds=40)) == []
    assert grouper.tick(T0 + timedelta(seconds=500)) == []  # nothing left to resolve
    early, _ = run([ev(0), ev(5)])
    [change] = early.resolve(inc.id, T0 + timedelta(seconds=2))  # a clock behind the log
    assert change.at == T0 + timedelta(seconds=5)


def test_with_redis_url_another_redis_outage_is_not_linked_to_its_redis() -> None:
    """REDIS_URL names the app's Redis; errors naming it are its own, not every Redis's:
    a queue Redis timing out at the same time is another outage, another thread."""
    policy = GroupingPolicy(default_target="cache-redis:6379")
    events = [ev(s, target="cache-redis:6379") for s in range(5)]
    events += [ev(s + 0.5, "timeout", target="queue-redis:6380") for s in range(5)]
    grouper, _ = run(sorted(events, key=lambda e: e.time), policy)
    cache, queue = sorted(grouper.incidents(), key=lambda i: i.target)
    assert (cache.target, queue.target) == ("cache-redis:6379", "queue-redis:6380")
    assert cache.linked == () and queue.linked == () and queue.outage != cache.id
