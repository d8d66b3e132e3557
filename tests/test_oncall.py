"""On call, unit by unit: active time, stale verdicts, early resolves, outage threads,
what an update leads with, the plan of Slack requests, maintenance windows, silences in
the store, the desk's choice of notifiers, and the Socket Mode listener against the
stand-in (slack-sdk's real SocketModeClient)."""

from __future__ import annotations

import json
import logging
import queue
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_standin import APP_TOKEN, SlackStandin, make_incident, make_notification
from slack_standin import slack_fixture as slack_fixture  # the `slack` fixture
from test_grouping import RULES, T0, ev

from logwatch.errors import ConfigError
from logwatch.grouping import Grouper, GroupingPolicy
from logwatch.model import Change, Finding, Severity
from logwatch.notify import ThreadRef
from logwatch.notify.actions import SlackButtons, presses
from logwatch.notify.compose import ACTION_ACK, render_reply, what_changed
from logwatch.notify.plan import Style, plan
from logwatch.notify.render import Destination
from logwatch.oncall import Ack, ButtonPress, Silence
from logwatch.oncall_config import OnCallSettings, parse_inhibit, parse_windows
from logwatch.oncall_desk import OnCallDesk
from logwatch.store import StateStore

THREAD = ThreadRef(channel="C123", ts="1700000000.000100")
DEST = Destination(channel="#alerts", mention="<!here>")


def grouper(**policy: Any) -> Grouper:
    return Grouper(RULES, GroupingPolicy(quiet_period_s=120, reopen_window_s=600, **policy))


# -- active time and stale verdicts (grouping) -------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 59)), min_size=1, max_size=6))
def test_active_time_is_the_sum_of_the_open_stretches(stretches: list[tuple[int, int]]) -> None:
    """Each stretch: a gap (from the last resolve) and a length (within the rule's 60 s
    window, so two events open it); the gaps, at least the quiet period, never count."""
    g = grouper()
    at, expected = 0.0, 0.0
    for gap, length in stretches:
        at += 121 + gap  # past the quiet period: the incident resolved
        g.add(ev(at))
        g.add(ev(at + length))
        expected += length
        at += length
    g.tick(T0 + timedelta(seconds=at + 1000))
    [inc] = g.incidents()
    assert inc.active_s == pytest.approx(expected)
    assert inc.active_duration_s <= inc.duration_s


def test_an_older_snapshot_without_the_new_keys_restores() -> None:
    g = grouper()
    g.add(ev(0))
    g.add(ev(30))
    state = json.loads(json.dumps(g.snapshot()))
    for live in state["live"]:
        for key in ("active", "outage", "probed_at", "recovery"):
            del live[key]
    [inc] = Grouper(RULES, GroupingPolicy(), state=state).incidents()
    assert inc.active_s == 30 and inc.outage == "" and inc.recovery == ""


def test_a_recovery_verdict_that_answers_after_a_reopen_is_not_shown() -> None:
    """Found by issue 13: a reopened critical incident showed "recovery confirmed" from the
    previous resolve."""
    g = grouper()
    g.add(ev(0))
    g.add(ev(1))
    [resolved] = g.tick(T0 + timedelta(seconds=200))
    g.diagnose(resolved.incident.id, Finding(summary="confirmed: refused"), T0)  # too late
    g.add(ev(300))
    g.add(ev(301))  # reopens
    late = Finding(summary="recovery confirmed: Redis answers PING", recovery=True, healthy=True)
    assert g.diagnose(resolved.incident.id, late, T0 + timedelta(seconds=302)) == []
    [inc] = g.incidents()
    assert inc.status == "open" and inc.reopened == 1
    assert "recovery" not in inc.diagnosis and inc.recovery == ""


def test_a_reopen_forgets_the_verdicts_of_the_last_stretch() -> None:
    g = grouper()
    g.add(ev(0))
    g.add(ev(1))
    inc_id = g.incidents()[0].id
    g.diagnose(inc_id, Finding(summary="confirmed: connection refused"), T0)
    g.tick(T0 + timedelta(seconds=200))
    g.diagnose(inc_id, Finding(summary="recovery confirmed", recovery=True), T0)
    assert g.incidents()[0].recovery == "recovery confirmed"
    g.add(ev(300))
    changes = g.add(ev(301))
    assert changes[-1].kind == "opened"
    assert changes[-1].incident.diagnosis == "" and changes[-1].incident.recovery == ""


def test_a_confirmed_recovery_resolves_after_confirmed_quiet_not_before() -> None:
    g = grouper(confirmed_quiet_s=30)
    g.add(ev(0))
    g.add(ev(1))
    inc_id = g.incidents()[0].id
    healthy = Finding(summary="recovery confirmed", recovery=True, healthy=True)
    assert g.quiet_open(T0 + timedelta(seconds=20)) == []
    assert g.confirm_recovery(inc_id, healthy, T0 + timedelta(seconds=20)) == []  # too soon
    sick = Finding(summary="not recovered", recovery=True, healthy=False)
    assert g.confirm_recovery(inc_id, sick, T0 + timedelta(seconds=40)) == []
    [quiet] = g.quiet_open(T0 + timedelta(seconds=40))
    assert quiet.id == inc_id
    [change] = g.confirm_recovery(inc_id, healthy, T0 + timedelta(seconds=40))
    assert change.kind == "resolved" and change.incident.recovery == "recovery confirmed"
    assert change.incident.resolved_at == T0 + timedelta(seconds=40)  # not +121 s


def test_a_later_incident_on_the_same_redis_joins_the_first_ones_thread() -> None:
    g = grouper()
    g.add(ev(0))
    g.add(ev(1))
    for s in (2, 3, 4):
        g.add(ev(s, rule="timeout"))
    first, second = g.incidents()
    assert first.outage == "" and second.outage == first.id
    assert second.thread_key == first.id
    g.add(ev(5, target="other:6379"))
    g.add(ev(6, target="other:6379"))
    assert g.incidents()[-1].outage == ""  # another Redis: its own thread


# -- what Slack receives (compose, plan) -------------------------------------------------


def test_an_update_does_not_repeat_a_stale_probe() -> None:
    """Found by issue 13: updates 20 s apart both led with the same "checked 04:50:26"."""
    probed = T0 + timedelta(seconds=5)
    before = make_incident(diagnosis="confirmed: connection refused", probed_at=probed)
    now = replace(
        before, events=before.events + 500, last_seen=before.last_seen + timedelta(seconds=20)
    )
    lines = what_changed(before, now)
    assert lines and lines[0].startswith(
        "\N{CLOCKWISE RIGHTWARDS AND LEFTWARDS OPEN CIRCLE ARROWS} +500 errors"
    )
    assert not any("Probe" in line or "probe" in line for line in lines)


def test_an_update_leads_with_a_new_verdict_then_the_ack_then_the_counts() -> None:
    before = make_incident(diagnosis="confirmed: connection refused")
    now = replace(
        before,
        diagnosis="probe finds another problem: no answer within 2 s",
        probed_at=T0 + timedelta(minutes=3),
        ack=Ack(by="U0ALICE", at=T0),
        events=before.events + 1,
        sources={**before.sources, "logs/rq.log": 1},
    )
    lines = what_changed(before, now)
    assert lines[0].startswith("\N{STETHOSCOPE} *Probe now says*")
    assert "Acknowledged by <@U0ALICE>" in lines[1]
    assert "+1 errors" in lines[2] and "New files: logs/rq.log" in lines[3]
    n = make_notification("updated", thread=THREAD)
    n = replace(n, incident=now, before=before)
    todo = plan(n, DEST, Style(), THREAD)
    assert len(todo.edits) == 1  # a new verdict: the root is edited too
    assert todo.post is not None and not todo.post.broadcast


def test_the_second_cause_replies_and_the_root_lists_both_causes() -> None:
    root = make_incident(id="inc-root")
    member = make_incident(id="inc-member", category="timeout", outage="inc-root",
                           first_seen=T0 + timedelta(seconds=10))  # fmt: skip
    n = replace(make_notification("opened"), incident=member, outage=(root,), thread=THREAD)
    todo = plan(n, DEST, Style(), THREAD)
    [edit] = todo.edits
    assert edit.message.text.startswith(
        "\N{LARGE RED CIRCLE} CRITICAL: Redis connection errors, then timeouts on 127.0.0.1:6379"
    )
    assert todo.post is not None and todo.post.thread == THREAD
    assert "Also timeouts" in todo.post.message.blocks[0]["text"]["text"]
    assert not todo.post.broadcast and "<!here>" not in todo.post.message.text
    # The second cause stops first: the outage goes on, nothing is broadcast.
    stopped = replace(member, status="resolved", resolved_at=member.last_seen)
    n = replace(n, kind="resolved", incident=stopped)
    todo = plan(n, DEST, Style(), THREAD)
    assert todo.post is not None and not todo.post.broadcast
    assert "still open: connection errors" in todo.post.message.blocks[0]["text"]["text"]


def test_the_all_clear_is_broadcast_unless_the_route_says_not() -> None:
    n = make_notification("resolved", thread=THREAD)
    assert plan(n, DEST, Style(), THREAD).post.broadcast  # type: ignore[union-attr]
    quiet = replace(DEST, broadcast=False)
    assert not plan(n, quiet, Style(), THREAD).post.broadcast  # type: ignore[union-attr]


def test_a_reminder_mentions_and_only_buttons_with_an_app_token() -> None:
    n = make_notification("reminder", thread=THREAD)
    n = replace(n, at=n.incident.first_seen + timedelta(hours=1))
    reply = render_reply(n, mention="<!here>")
    assert reply.text.startswith("<!here> Still open and not acknowledged after 1h 00m")
    opened = make_notification("opened")
    with_buttons = plan(opened, DEST, Style(buttons=True), None).post
    without = plan(opened, DEST, Style(), None).post
    assert with_buttons is not None and without is not None
    assert [b["type"] for b in with_buttons.message.blocks][-1] == "actions"
    assert "actions" not in [b["type"] for b in without.message.blocks]


# -- maintenance windows, inhibition ------------------------------------------------------


def windows(text: str) -> Any:
    import tomllib

    return parse_windows(tomllib.loads(text).get("maintenance"), source="lw.toml", tz=UTC)


@pytest.mark.parametrize(
    ("weekly", "at", "inside"),
    [
        pytest.param("sun 02:00-03:00", datetime(2026, 3, 1, 2, 30, tzinfo=UTC), True, id="sunday"),
        pytest.param("sun 02:00-03:00", datetime(2026, 3, 1, 3, 0, tzinfo=UTC), False, id="end-excluded"),
        pytest.param("sun 02:00-03:00", datetime(2026, 3, 2, 2, 30, tzinfo=UTC), False, id="monday"),
        pytest.param("sat 23:00-01:00", datetime(2026, 3, 1, 0, 30, tzinfo=UTC), True, id="past-midnight"),
        pytest.param("mon-fri 22:00-23:00", datetime(2026, 3, 6, 22, 10, tzinfo=UTC), True, id="friday"),
        pytest.param("fri-mon 10:00-11:00", datetime(2026, 3, 1, 10, 10, tzinfo=UTC), True, id="wraps-week"),
        pytest.param("daily 04:00-04:30", datetime(2026, 3, 4, 4, 29, tzinfo=UTC), True, id="daily"),
    ],
)  # fmt: skip
def test_weekly_windows(weekly: str, at: datetime, inside: bool) -> None:
    [w] = windows(f'[[maintenance]]\nname = "w"\nweekly = "{weekly}"\n')
    assert (w.silence_at(at) is not None) == inside


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                    timezones=st.just(UTC)))  # fmt: skip
def test_a_weekly_window_in_a_zone_with_dst_holds_what_it_says(at: datetime) -> None:
    [w] = windows('[[maintenance]]\nname = "w"\nweekly = "sun 01:30-03:30"\n'
                  'timezone = "Europe/Paris"\n')  # fmt: skip
    silence = w.silence_at(at)
    local = at.astimezone(w.tz)
    if silence is None:
        return
    assert silence.starts <= at and silence.ends is not None and at < silence.ends
    assert silence.starts.astimezone(w.tz).strftime("%a %H:%M") == "Sun 01:30"
    assert local.weekday() == 6


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        pytest.param('[[maintenance]]\nweekly = "someday 1-2"', "[maintenance 1] weekly: expected a schedule", id="weekly"),
        pytest.param('[[maintenance]]\nstart = "2026-03-01T10:00Z"\nend = "2026-03-01T09:00Z"', "[maintenance 1] end: must be after start", id="backwards"),
        pytest.param('[[maintenance]]\nstart = "tonight"\nend = "2026-03-01T09:00Z"', "[maintenance 1] start: expected a date", id="not-a-date"),
        pytest.param('[[maintenance]]\nweekly = "sun 25:00-26:00"', "times from 00:00 to 23:59", id="bad-hour"),
        pytest.param('[[maintenance]]\ncolour = "red"', "[maintenance 1] unknown key 'colour'", id="unknown-key"),
    ],
)  # fmt: skip
def test_a_bad_window_is_one_line_naming_it(toml: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        windows(toml)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_an_inhibition_cannot_hide_its_own_category() -> None:
    with pytest.raises(ConfigError, match="cannot hide itself: 'timeout'"):
        parse_inhibit([{"source": "timeout", "target": ["timeout"]}], source="lw.toml")


# -- the desk: silences from the store, who gets a change ---------------------------------


def test_a_silenced_change_goes_to_the_local_record_only_and_its_end_is_notified(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path / "state.db")
    try:
        now = datetime.now(UTC)
        store.add_silence(Silence(id="sil-1", by="alice", reason="resize", starts=now,
                                  ends=now + timedelta(hours=1), target="127.0.0.1:6379"),
                          now=now)  # fmt: skip
        desk = OnCallDesk(store, OnCallSettings(), local=["jsonl"], remote=["slack"])
        inc = make_incident(first_seen=now, last_seen=now)
        [change] = desk.dress_changes([Change(kind="opened", at=now, incident=inc)], [inc], now)
        assert change.incident.silence is not None and change.incident.silence.by == "alice"
        assert desk.deliver_to(change) == ["jsonl"]
        store.expire_silences(["sil-1"], now=now, by="bob")
        desk._refreshed = float("-inf")  # the next poll reads the store again
        [ended] = desk.poll(lambda: [inc], now + timedelta(seconds=1))
        assert ended.kind == "updated" and ended.incident.silence is None
        assert desk.deliver_to(ended) == ["jsonl", "slack"]
    finally:
        store.close()


def test_a_button_press_is_recorded_in_the_store(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    try:
        now = datetime.now(UTC)
        desk = OnCallDesk(store, OnCallSettings(), local=[], remote=["slack"])
        desk.press(ButtonPress(action=ACTION_ACK, incident="inc-1", user="U0ALICE", at=now), now)
        desk.press(ButtonPress(action=ACTION_ACK, incident="inc-1", user="U0BOB", at=now), now)
        assert store.acks(["inc-1"]) == {"inc-1": Ack(by="U0ALICE", at=now)}  # the first stands
    finally:
        store.close()


# -- Socket Mode ---------------------------------------------------------------------------


def test_the_listener_acknowledges_each_envelope_and_hands_over_the_press(
    slack: SlackStandin,
) -> None:
    got: queue.Queue[ButtonPress] = queue.Queue()
    buttons = SlackButtons(app_token=APP_TOKEN, api_url=slack.api_url,
                           clock=lambda: datetime.now(UTC))  # fmt: skip
    buttons.start(got.put)
    try:
        assert slack.wait_socket(timeout=15)
        envelope = slack.press(ACTION_ACK, "inc-3f2a9c01d4", user="U0ALICE")
        assert slack.wait_acked(envelope, timeout=5)
        press = got.get(timeout=5)
        assert (press.action, press.incident, press.user) == (ACTION_ACK, "inc-3f2a9c01d4",
                                                               "U0ALICE")  # fmt: skip
        foreign = slack.press("someone_elses_button", "inc-3f2a9c01d4")
        assert slack.wait_acked(foreign, timeout=5)  # acknowledged, and ignored
        with pytest.raises(queue.Empty):
            got.get(timeout=0.5)
    finally:
        buttons.stop()
    opened = slack.calls("apps.connections.open")
    assert opened and opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"user": {"id": "U1"}, "actions": [{"action_id": ACTION_ACK, "value": "<!here>"}]}, id="value-not-an-id"),
        pytest.param({"actions": [{"action_id": ACTION_ACK, "value": "inc-1"}]}, id="no-user"),
        pytest.param({"user": {"id": "U1"}, "actions": "ack"}, id="actions-not-a-list"),
        pytest.param({"user": "U1", "actions": [{"action_id": ACTION_ACK, "value": "inc-1"}]}, id="user-not-a-dict"),
    ],
)  # fmt: skip
def test_a_malformed_payload_presses_nothing(payload: dict[str, Any]) -> None:
    assert presses(payload, datetime.now(UTC)) == []


def test_severity_of_an_outage_is_its_worst_cause() -> None:
    root = make_incident(id="inc-root", severity=Severity.ERROR)
    member = make_incident(
        id="inc-m", category="oom", outage="inc-root", severity=Severity.CRITICAL
    )
    n = replace(make_notification("opened"), incident=root, outage=(member,))
    todo = plan(n, DEST, Style(), None)
    assert todo.post is not None and "CRITICAL" in todo.post.message.text


def test_a_reopened_incident_does_not_carry_the_last_recovery() -> None:
    """Found by issue 13: a reopened critical incident showed "recovery confirmed: Redis
    answers PING" from the previous resolve (its verdict outlived the stretch)."""
    g = grouper()
    g.add(ev(0))
    g.add(ev(1))
    [resolved] = g.tick(T0 + timedelta(seconds=200))
    g.diagnose(resolved.incident.id, "recovery confirmed: Redis answers PING", T0)
    g.add(ev(300))
    [*_, reopened] = g.add(ev(301))
    assert reopened.kind == "opened" and reopened.incident.reopened == 1
    assert "recovery confirmed" not in reopened.incident.diagnosis


class ScriptedProber:
    """A prober whose answers the test hands over (enrich.Prober's interface)."""

    enabled = True

    def __init__(self) -> None:
        self.asked: list[Change] = []
        self.answers: list[tuple[str, Finding, datetime]] = []

    def submit(self, change: Change) -> bool:
        self.asked.append(change)
        return True

    def findings(self) -> list[tuple[str, Finding, datetime]]:
        found, self.answers = self.answers, []
        return found


def test_an_opening_waits_for_its_verdict_at_most_the_probe_wait() -> None:
    from logwatch.verdicts import Verdicts

    clock = [100.0]
    prober = ScriptedProber()
    verdicts = Verdicts(prober, wait_s=2.0, monotonic=lambda: clock[0])  # type: ignore[arg-type]
    g = grouper()
    g.add(ev(0))
    held = g.add(ev(1))
    assert verdicts.hold(held) and len(prober.asked) == 1  # asked, and waiting
    clock[0] += 1.0
    assert verdicts.hold(held) and len(prober.asked) == 1  # not asked twice
    inc_id = held[-1].incident.id
    prober.answers.append((inc_id, Finding(summary="confirmed: connection refused"), T0))
    [update] = verdicts.take(g)
    assert update.incident.diagnosis == "confirmed: connection refused"
    assert not verdicts.hold([*held, update])  # the verdict is in: commit now
    g.add(ev(2, target="other:6379"))
    other = g.add(ev(3, target="other:6379"))
    assert verdicts.hold(other)
    clock[0] += 2.5  # no answer within the wait: the root goes without it
    assert not verdicts.hold(other)


def _commit(store: StateStore, *changes: Change) -> None:
    store.commit_batch(cursors=[], changes=list(changes), incidents=[c.incident for c in changes],
                       grouper_state=None, notifiers=["scripted"], now=T0)  # fmt: skip


def test_a_wrong_channel_is_logged_once_as_an_error_not_per_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by issue 13: a wrong channel was logged three times (opened, updated,
    resolved), each an ERROR."""
    from test_outbox import Answer, FakeClock, ScriptedNotifier, incident

    from logwatch.notify import Failed
    from logwatch.outbox import Outbox
    from logwatch.redact import Redactor

    clock = FakeClock()
    why = "slack: chat.postMessage to #nope: channel_not_found (no such channel)"
    notifier = ScriptedNotifier(clock, script=[Answer(Failed(reason=why))] * 3)
    store = StateStore(tmp_path / "state.db")
    try:
        inc = incident()
        _commit(store, Change(kind="opened", at=T0, incident=inc))
        _commit(store, Change(kind="updated", at=T0, incident=replace(inc, events=3)))
        _commit(store, Change(kind="resolved", at=T0, incident=replace(inc, status="resolved")))
        outbox = Outbox(store, [notifier], clock=clock, redact=Redactor())
        with caplog.at_level(logging.INFO, logger="logwatch.outbox"):
            outbox.deliver_due()
    finally:
        store.close()
    assert len(notifier.attempts) == 3
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "channel_not_found" in errors[0].getMessage()
    assert len(store_failures := [r for r in caplog.records if "as before" in r.getMessage()]) == 2
    assert all(r.levelno == logging.INFO for r in store_failures)


def test_a_linked_incident_waits_for_its_outage_root_and_replies_in_its_thread(
    tmp_path: Path,
) -> None:
    """Found by issue 13: a refused connection and the timeouts of the same outage were
    linked but posted two roots."""
    from test_outbox import Answer, FakeClock, ScriptedNotifier, incident

    from logwatch.notify import Delivered, Retry
    from logwatch.outbox import Outbox
    from logwatch.redact import Redactor

    clock = FakeClock()
    root_thread = ThreadRef(channel="C123", ts="1.0001")
    notifier = ScriptedNotifier(clock, script=[
        Answer(Retry(after_s=5, reason="429")),  # the root waits for its retry...
        Answer(Delivered(thread=root_thread)),
        Answer(Delivered(thread=root_thread)),
    ])  # fmt: skip
    store = StateStore(tmp_path / "state.db")
    try:
        first = incident("inc-a")
        second = replace(incident("inc-b"), category="timeout", outage="inc-a")
        _commit(store, Change(kind="opened", at=T0, incident=first),
                Change(kind="opened", at=T0, incident=second))  # fmt: skip
        outbox = Outbox(store, [notifier], clock=clock, redact=Redactor())
        outbox.deliver_due()  # ...so the second one does not go first, as a root of its own
        assert [a.incident for a in notifier.attempts] == ["inc-a"]
        clock.advance(60)
        outbox.deliver_due()
    finally:
        store.close()
    assert [(a.incident, a.thread) for a in notifier.attempts] == [
        ("inc-a", None),
        ("inc-a", None),
        ("inc-b", root_thread),
    ]


def test_the_all_clear_waits_for_the_recovery_verdict_and_stays_an_all_clear() -> None:
    from logwatch.agent import collapse
    from logwatch.verdicts import Verdicts

    clock = [100.0]
    prober = ScriptedProber()
    verdicts = Verdicts(prober, wait_s=2.0, monotonic=lambda: clock[0])  # type: ignore[arg-type]
    g = grouper()
    g.add(ev(0))
    g.add(ev(1))
    verdicts.committed(g.add(ev(2)))
    held = g.tick(T0 + timedelta(seconds=200))
    assert [c.kind for c in held] == ["resolved"]
    prober.asked.clear()
    assert verdicts.hold(held) and [c.kind for c in prober.asked] == ["resolved"]
    inc_id = held[0].incident.id
    back = Finding(summary="recovery confirmed: Redis answers PING in 0.2 ms", recovery=True,
                   healthy=True)  # fmt: skip
    prober.answers.append((inc_id, back, T0 + timedelta(seconds=201)))
    held += verdicts.take(g)
    assert not verdicts.hold(held)
    [change] = collapse(held)
    assert change.kind == "resolved" and change.incident.recovery.startswith("recovery confirmed")
    verdicts.committed([change])
    assert [c.kind for c in prober.asked] == ["resolved"]  # not probed a second time


def test_a_confirmed_recovery_resolves_only_its_incident_at_exactly_confirmed_quiet() -> None:
    g = grouper(confirmed_quiet_s=30)
    for event in (ev(0), ev(1), ev(0, target="other:6379"), ev(1, target="other:6379")):
        g.add(event)
    first, second = sorted(g.incidents(), key=lambda i: i.target)
    at = T0 + timedelta(seconds=31)  # exactly 30 s after the last error of each
    assert {i.id for i in g.quiet_open(at)} == {first.id, second.id}
    healthy = Finding(summary="recovery confirmed", recovery=True, healthy=True)
    [change] = g.confirm_recovery(first.id, healthy, at)  # the one opened second
    assert change.kind == "resolved" and change.at == at
    assert change.incident.id == first.id and change.incident.status == "resolved"
    assert g.is_open(second.id) and not g.is_open(first.id)
    assert [i.id for i in g.quiet_open(at)] == [second.id]


def test_a_restored_grouper_has_the_same_incidents_links_verdicts_jobs_and_active_time() -> None:
    """The snapshot written at each commit brings back everything an incident carries."""
    from logwatch.impact import Signal

    g = grouper(confirmed_quiet_s=30)
    for event in (ev(0), ev(1), ev(2, "misconf")):
        g.add(event)
    g.note(Signal(kind="enqueue_failed", detail="POST /x", time=T0 + timedelta(seconds=1)))  # type: ignore[arg-type]
    g.tick(T0 + timedelta(seconds=200))  # resolved: active time closed
    first = sorted(g.incidents(), key=lambda i: i.first_seen)[0]
    g.diagnose(first.id, Finding(summary="recovery confirmed", recovery=True), T0)
    assert any(i.recovery for i in g.incidents())
    state = json.loads(json.dumps(g.snapshot()))
    restored = Grouper(RULES, GroupingPolicy(quiet_period_s=120, reopen_window_s=600), state=state)
    assert restored.incidents() == g.incidents()
    assert any(i.outage for i in g.incidents()) and any(i.jobs for i in g.incidents())
    # Reopened after a resolve: the active time so far comes back with it.
    reopened = grouper()
    for event in (ev(0), ev(1)):
        reopened.add(event)
    reopened.tick(T0 + timedelta(seconds=200))
    for event in (ev(250), ev(251)):
        reopened.add(event)
    state = json.loads(json.dumps(reopened.snapshot()))
    back = Grouper(RULES, GroupingPolicy(quiet_period_s=120, reopen_window_s=600), state=state)
    assert back.incidents() == reopened.incidents()
    later = T0 + timedelta(seconds=400)
    assert [c.incident for c in back.tick(later)] == [c.incident for c in reopened.tick(later)]
