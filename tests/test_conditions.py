"""Incidents held open by checks: the active Redis probe and quiet logs, on the real grouper."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.conditions import Conditions
from logwatch.grouping import Grouper, GroupingPolicy
from logwatch.model import Change, Event, Severity
from logwatch.probe import ProbeResult
from logwatch.quiet import AUTO_FLOOR_S, AUTO_WATCH_S, AUTO_WRITES, FileTime, QuietWatch
from logwatch.redis_watch import ProbeWatch, category_of
from logwatch.watch_settings import Expectation, QuietPolicy
from logwatch.watching import check_rules

T0 = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
TARGET = "10.0.0.5:6379"
QUIET_S = 120.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def grouper(state: dict[str, Any] | None = None) -> Grouper:
    policy = GroupingPolicy(quiet_period_s=QUIET_S, default_target=TARGET)
    return Grouper(check_rules(), policy, state=state)


def result(seconds: float, status: str = "refused", **details: Any) -> ProbeResult:
    healthy = status == "ok"
    return ProbeResult(
        healthy=healthy,
        status=status,
        summary=f"Redis {TARGET} {status}",
        target=TARGET,
        checked_at=at(seconds),
        latency_ms=0.3 if healthy else None,
        details=details,
    )


class ProbeRig:
    """What watching.Watching does with probe results, without its threads."""

    def __init__(self, g: Grouper, failures: int = 2) -> None:
        self.g = g
        self.watch = ProbeWatch(TARGET, failures=failures)
        self.held = Conditions(refresh_s=QUIET_S / 3, adopt=self.watch.adopt)
        self.changes: list[Change] = []

    def probe(self, seconds: float, status: str = "refused") -> list[str]:
        active = self.watch.feed(result(seconds, status))
        found = [] if active is None else self.held.sync(active, at(seconds), self.g)
        found += self.held.refresh(at(seconds), self.g)
        found += self.g.tick(at(seconds))
        self.changes += found
        return [c.kind for c in found]


def log_event(seconds: float) -> Event:
    return Event(
        time=at(seconds),
        source="worker.log",
        line=1,
        rule="redis-connection-refused",
        category="connection",
        severity=Severity.ERROR,
        target=TARGET,
        signature="Error 111 connecting",
        text="redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379.",
    )


def test_failed_probes_open_an_incident_after_the_configured_number_in_a_row() -> None:
    rig = ProbeRig(grouper(), failures=3)
    assert rig.probe(0) == []
    assert rig.probe(30) == []
    assert rig.probe(60) == ["opened"]
    incident = rig.changes[0].incident
    assert (incident.category, incident.target, incident.sources) == (
        "connection",
        TARGET,
        {"probe": 1},
    )
    assert "Redis is not accepting connections" in incident.hint  # the refused runbook


def test_a_healthy_probe_between_failures_starts_the_count_again() -> None:
    rig = ProbeRig(grouper(), failures=2)
    assert rig.probe(0) == [] and rig.probe(30, "ok") == [] and rig.probe(60) == []
    assert rig.probe(90) == ["opened"]


def test_probes_hold_the_incident_open_past_the_quiet_period_and_a_healthy_one_resolves_it() -> (
    None
):
    rig = ProbeRig(grouper(), failures=2)
    kinds = [k for t in range(0, 900, 30) for k in rig.probe(t)]
    assert kinds.count("opened") == 1 and "resolved" not in kinds  # 15 min > quiet period
    assert rig.probe(900, "ok") == ["resolved"]
    resolved = rig.changes[-1].incident
    assert resolved.resolved_at == at(900)


def test_probe_that_runs_less_often_than_the_quiet_period_still_holds_it_open() -> None:
    rig = ProbeRig(grouper(), failures=1)
    assert rig.probe(0) == ["opened"]
    kinds = []
    for t in range(1, 600):  # the loop ticks every second; the probe found nothing new
        kinds += [c.kind for c in rig.held.refresh(at(t), rig.g) + rig.g.tick(at(t))]
    assert "resolved" not in kinds


def test_app_errors_join_the_probe_incident_and_keep_it_open_after_redis_answers() -> None:
    g = grouper()
    rig = ProbeRig(g, failures=2)
    rig.probe(0)
    rig.probe(30)
    joined = g.add(log_event(45))
    assert joined == []  # an update within the update interval says nothing yet
    [incident] = [i for i in g.incidents() if i.status == "open"]
    assert incident.sources == {"probe": 1, "worker.log": 1}
    # Redis answers at 50 s, but the app logged errors after the probe's last event: the
    # logs carry the incident, which resolves after their quiet period.
    assert rig.probe(50, "ok") == []
    assert [c.kind for c in g.tick(at(45 + QUIET_S))] == ["resolved"]


def test_a_log_incident_is_joined_by_failing_probes() -> None:
    g = grouper()
    rule = {"redis-connection-refused": check_rules()["logwatch.probe.refused"]}
    g = Grouper(
        {**check_rules(), **rule}, GroupingPolicy(quiet_period_s=QUIET_S, default_target=TARGET)
    )
    assert [c.kind for c in g.add(log_event(0))] == ["opened"]
    rig = ProbeRig(g, failures=2)
    rig.probe(10)
    rig.probe(40)
    [incident] = g.incidents()
    assert incident.sources == {"worker.log": 1, "probe": 1}
    assert rig.probe(70, "ok") == ["resolved"]  # nothing logged since the probe's event


@pytest.mark.parametrize(
    ("status", "reason", "category"),
    [
        pytest.param("refused", "connection refused", "connection", id="refused"),
        pytest.param("timeout", "no connection within 2 s", "connection", id="connect-timeout"),
        pytest.param("timeout", "no answer within 2 s", "timeout", id="read-timeout"),
        pytest.param("auth", "authentication required", "auth", id="auth"),
        pytest.param("oom", "at maxmemory (100%) with noeviction", "oom", id="oom"),
        pytest.param("persistence", "persistence failing", "misconf", id="misconf"),
        pytest.param("loading", "loading the dataset", "loading", id="loading"),
    ],
)
def test_a_failed_probe_opens_the_category_of_its_diagnosis(
    status: str, reason: str, category: str
) -> None:
    assert category_of(result(0, status, reason=reason)) == category


def test_a_probe_incident_survives_a_restart_and_the_first_healthy_probe_resolves_it() -> None:
    rig = ProbeRig(grouper(), failures=2)
    rig.probe(0)
    rig.probe(30)
    state = json.loads(json.dumps(rig.g.snapshot()))  # as the store keeps it
    restarted = ProbeRig(grouper(state), failures=2)
    assert restarted.probe(60, "ok") == ["resolved"]


def test_a_changed_diagnosis_resolves_the_old_category_and_opens_the_new() -> None:
    rig = ProbeRig(grouper(), failures=1)
    assert rig.probe(0, "refused") == ["opened"]
    kinds = rig.probe(30, "loading")
    assert sorted(kinds) == ["opened", "resolved"]
    assert {c.incident.category for c in rig.changes if c.kind == "resolved"} == {"connection"}


# -- quiet logs ---------------------------------------------------------------------------


def quiet_rig(policy: QuietPolicy) -> tuple[QuietWatch, Conditions, Grouper]:
    watch = QuietWatch(policy)
    return watch, Conditions(refresh_s=QUIET_S / 3, adopt=watch.adopt), grouper()


def step(
    watch: QuietWatch, held: Conditions, g: Grouper, seconds: float, files: dict[str, float]
) -> list[str]:
    now = T0.timestamp() + seconds
    active = watch.check(
        [FileTime(path=p, mtime=T0.timestamp() + m) for p, m in files.items()], now
    )
    return [c.kind for c in held.sync(active, at(seconds), g) + g.tick(at(seconds))]


EXPECT = QuietPolicy(
    expectations=(Expectation(pattern="worker*.log", within_s=600),), default="off"
)


def test_a_worker_log_that_stops_opens_log_quiet_and_its_next_write_resolves_it() -> None:
    watch, held, g = quiet_rig(EXPECT)
    kinds = []
    for t in range(0, 600, 10):  # writes every 10 s
        kinds += step(watch, held, g, t, {"logs/worker-1.log": t, "logs/web.log": 0})
    assert kinds == []
    for t in range(600, 1800, 10):  # stops at 590 s
        kinds += step(watch, held, g, t, {"logs/worker-1.log": 590, "logs/web.log": 0})
    # Opened once, held open through the quiet period (with an update every 5 min).
    assert kinds[0] == "opened" and set(kinds[1:]) <= {"updated"} and len(kinds) <= 5
    [incident] = g.incidents()
    assert (incident.category, incident.target) == ("log_quiet", "logs/worker-1.log")
    assert "RQ worker log logs/worker-1.log silent for 10 min" in incident.samples[0]
    assert step(watch, held, g, 1800, {"logs/worker-1.log": 1795}) == ["resolved"]


def test_a_log_silent_since_before_the_agent_started_is_found_at_the_first_check() -> None:
    watch, held, g = quiet_rig(EXPECT)
    assert step(watch, held, g, 0, {"logs/worker.log": -3 * 3600}) == ["opened"]


def test_rotated_names_and_unexpected_files_are_never_quiet_with_default_off() -> None:
    watch, held, g = quiet_rig(EXPECT)
    files = {
        "logs/worker.log.1": -86400,
        "logs/worker.log-20260301": -86400,
        "logs/web.log": -86400,
    }
    assert step(watch, held, g, 0, files) == []


def test_fixed_default_applies_to_every_live_name_but_not_rotated_ones() -> None:
    watch, held, g = quiet_rig(QuietPolicy(default="fixed", default_within_s=300))
    kinds = step(watch, held, g, 0, {"logs/web.log": -400, "logs/web.log.1": -400})
    assert kinds == ["opened"]
    assert [i.target for i in g.incidents()] == ["logs/web.log"]


def test_auto_default_expects_a_steady_writer_to_go_on_and_not_a_new_one() -> None:
    watch, held, g = quiet_rig(QuietPolicy())
    kinds = []
    writes = 0
    t = 0.0
    while t < AUTO_WATCH_S + 60:  # a write every 60 s for an hour: a steady writer
        kinds += step(watch, held, g, t, {"logs/app.log": t, "logs/new.log": -86400})
        t += 60
        writes += 1
    assert writes >= AUTO_WRITES and kinds == []
    last = t - 60
    # Silent: not before the floor (4 x 60 s is less), then opened.
    assert step(watch, held, g, last + AUTO_FLOOR_S - 10, {"logs/app.log": last}) == []
    assert step(watch, held, g, last + AUTO_FLOOR_S + 10, {"logs/app.log": last}) == ["opened"]
    assert [i.target for i in g.incidents()] == ["logs/app.log"]  # never the silent new.log


def test_a_silence_is_not_learned_as_the_files_rhythm() -> None:
    watch, held, g = quiet_rig(QuietPolicy())
    t = 0.0
    while t <= AUTO_WATCH_S + 60:
        step(watch, held, g, t, {"logs/app.log": t})
        t += 60
    last = t - 60
    silent_until = last + AUTO_FLOOR_S + 600
    assert "opened" in step(watch, held, g, silent_until, {"logs/app.log": last})
    assert step(watch, held, g, silent_until + 5, {"logs/app.log": silent_until}) == ["resolved"]
    # The long gap was an outage, not its rhythm: the next silence opens at the floor again.
    again = silent_until + AUTO_FLOOR_S + 10
    assert step(watch, held, g, again, {"logs/app.log": silent_until}) == ["opened"]


@settings(max_examples=60, deadline=None)
@given(
    gaps_ms=st.lists(st.integers(1_000, 300_000), min_size=1, max_size=40),
    within_ms=st.integers(30_000, 900_000),
)
def test_log_quiet_is_open_exactly_while_the_silence_exceeds_within(
    gaps_ms: list[int], within_ms: int
) -> None:
    """Model: after each check, an incident is open iff the time since the last write is
    more than `within` (checks every 5 s, writes at the given gaps). The model counts in
    whole milliseconds: log times are datetimes, so float sums like 1.9999999999999432 s
    (2.0 s to the agent) made the model and the agent disagree on rounding, not the rule."""
    watch, held, g = quiet_rig(
        QuietPolicy(
            expectations=(Expectation(pattern="w.log", within_s=within_ms / 1000),), default="off"
        )
    )
    writes = [sum(gaps_ms[: i + 1]) for i in range(len(gaps_ms))]
    t = 0
    end = writes[-1] + within_ms + 30_000
    while t < end:
        last = max([w for w in writes if w <= t], default=0)
        step(watch, held, g, t / 1000, {"logs/w.log": last / 1000})
        open_now = any(i.status == "open" for i in g.incidents())
        assert open_now == (t - last > within_ms), (t, last)
        t += 5_000
