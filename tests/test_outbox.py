"""The outbox's delivery promises, fast: a fake clock that moves while a notifier answers,
a scripted notifier, a real sqlite StateStore.

README ("Delivery is durable"): a 429 honours Retry-After, counted from Slack's answer;
other failures back off exponentially with jitter, at most 30 s apart, for up to two
days; permanent errors are logged once; an incident's changes arrive in order; a
request whose answer never came is sent again flagged uncertain; a notifier that raises
is retried, not fatal.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from logwatch.model import Change, Incident, Severity
from logwatch.notify import Delivered, Failed, Notification, Outcome, Retry, ThreadRef
from logwatch.outbox import MAX_AGE, MAX_BACKOFF_S, DeliveryThread, Outbox, backoff_s
from logwatch.redact import Redactor
from logwatch.store import IN_FLIGHT_S, StateStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "xoxb-1111-2222-s3cretvalue"


class FakeClock:
    """The outbox's wall clock; a notifier moves it while it 'waits' for an answer."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Answer:
    """What the scripted notifier does for one send: take `after_s`, then answer."""

    outcome: Outcome | Exception
    after_s: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """One call of send(), as the notifier saw it."""

    row: int
    incident: str
    kind: str
    at: datetime  # the clock when send() was called
    uncertain: bool
    thread: ThreadRef | None
    answered: datetime  # the clock when send() returned
    outcome: Outcome | Exception


@dataclass
class ScriptedNotifier:
    """Answers from a script (Delivered once it runs out); records every attempt."""

    clock: FakeClock
    script: list[Answer] = field(default_factory=list)
    name: str = "scripted"
    attempts: list[Attempt] = field(default_factory=list)
    sent: threading.Event = field(default_factory=threading.Event)

    def send(self, n: Notification) -> Outcome:
        at = self.clock()
        answer = self.script.pop(0) if self.script else Answer(Delivered())
        self.clock.advance(answer.after_s)
        self.attempts.append(
            Attempt(
                row=n.id,
                incident=n.incident.id,
                kind=n.kind,
                at=at,
                uncertain=n.uncertain,
                thread=n.thread,
                answered=self.clock(),
                outcome=answer.outcome,
            )
        )
        self.sent.set()
        if isinstance(answer.outcome, Exception):
            raise answer.outcome
        return answer.outcome


def incident(inc_id: str = "inc-a", at: datetime = T0) -> Incident:
    return Incident(
        id=inc_id,
        category="connection",
        target="redis:6379",
        severity=Severity.CRITICAL,
        status="open",
        first_seen=at,
        last_seen=at,
        events=2,
        signatures={"s": 2},
        sources={"app.log": 2},
        rules={"connection-refused": 2},
        samples=("x",),
        hint="restart",
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = StateStore(tmp_path / "state.db")
    yield s
    s.close()


def commit(
    store: StateStore,
    rows: list[tuple[str, str]],
    *,
    at: datetime = T0,
    notifiers: tuple[str, ...] = ("scripted",),
) -> list[int]:
    """Outbox rows for (incident id, kind) pairs, in that order, as the main loop commits."""
    changes = [Change(kind=kind, at=at, incident=incident(i, at)) for i, kind in rows]  # type: ignore[arg-type]
    return store.commit_batch(
        cursors=[],
        changes=changes,
        incidents=[],
        grouper_state=None,
        notifiers=notifiers,
        now=at,
    )


def outbox(store: StateStore, clock: FakeClock, *notifiers: ScriptedNotifier) -> Outbox:
    return Outbox(store, notifiers, clock=clock, redact=Redactor([SECRET]))


def sent_kinds(notifier: ScriptedNotifier) -> list[tuple[str, str]]:
    return [(a.incident, a.kind) for a in notifier.attempts]


# -- Retry-After and backoff -----------------------------------------------------------


def test_retry_after_is_counted_from_the_answer_not_from_the_pass(store: StateStore) -> None:
    """Slack answers a 429 after 5 s with Retry-After 3: the retry waits for 3 s after the
    answer (8 s after the pass began), not 3 s after the request went out."""
    clock = FakeClock()
    notifier = ScriptedNotifier(clock, [Answer(Retry(after_s=3.0, reason="ratelimited"), 5.0)])
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")])
    assert box.deliver_due() == 0
    clock.now = T0 + timedelta(seconds=7.9)
    box.deliver_due()
    assert len(notifier.attempts) == 1
    clock.now = T0 + timedelta(seconds=8.0)
    assert box.deliver_due() == 1
    assert [a.at for a in notifier.attempts] == [T0, T0 + timedelta(seconds=8)]


def test_a_retry_after_longer_than_the_backoff_cap_is_honoured(store: StateStore) -> None:
    clock = FakeClock()
    notifier = ScriptedNotifier(clock, [Answer(Retry(after_s=90.0, reason="ratelimited"))])
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")])
    box.deliver_due()
    clock.advance(89.5)
    box.deliver_due()
    assert len(notifier.attempts) == 1
    clock.advance(0.5)
    box.deliver_due()
    assert len(notifier.attempts) == 2


@pytest.mark.parametrize("attempts", [0, 1, 2, 3, 4, 5, 6, 30, 1000])
def test_backoff_is_exponential_with_full_jitter_and_capped(attempts: int) -> None:
    ceiling = min(MAX_BACKOFF_S, 2.0**attempts)
    assert backoff_s(attempts, rng=lambda: 0.0) == ceiling / 2
    assert backoff_s(attempts, rng=lambda: 1.0) == ceiling
    assert backoff_s(attempts, rng=lambda: 0.5) == 0.75 * ceiling
    assert backoff_s(attempts, base_s=0.25, rng=lambda: 1.0) == min(
        MAX_BACKOFF_S, 0.25 * 2.0**attempts
    )


def test_retries_back_off_within_bounds_and_never_more_than_30_s_apart(
    store: StateStore,
) -> None:
    """Slack down: the n-th retry comes between half and all of min(30 s, 2**n s) after
    the answer, never sooner (no hammering) and never later (an alert is urgent)."""
    clock = FakeClock()
    failures = 9
    notifier = ScriptedNotifier(clock, [Answer(Retry(after_s=0.0, reason="503"))] * failures)
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")])
    step = 0.05
    for _ in range(int((failures * MAX_BACKOFF_S + 5) / step)):
        box.deliver_due()
        if len(notifier.attempts) > failures:
            break
        clock.advance(step)
    attempts = notifier.attempts
    assert len(attempts) == failures + 1
    for n, (before, after) in enumerate(itertools.pairwise(attempts)):
        ceiling = min(MAX_BACKOFF_S, 2.0**n)
        waited = (after.at - before.answered).total_seconds()
        assert ceiling / 2 <= waited <= ceiling + step, (n, waited)


# -- order ---------------------------------------------------------------------------


def test_changes_of_an_incident_wait_behind_its_retrying_row(store: StateStore) -> None:
    """'opened' waits for its retry: its 'updated' and 'resolved' wait behind it; another
    incident's rows are not held up."""
    clock = FakeClock()
    notifier = ScriptedNotifier(clock, [Answer(Retry(after_s=10.0, reason="ratelimited"))])
    box = outbox(store, clock, notifier)
    commit(
        store,
        [("inc-a", "opened"), ("inc-a", "updated"), ("inc-b", "opened"), ("inc-a", "resolved")],
    )
    assert box.deliver_due() == 1
    assert sent_kinds(notifier) == [("inc-a", "opened"), ("inc-b", "opened")]
    clock.advance(9.0)
    assert box.deliver_due() == 0
    clock.advance(1.0)
    assert box.deliver_due() == 3
    assert sent_kinds(notifier)[2:] == [
        ("inc-a", "opened"),
        ("inc-a", "updated"),
        ("inc-a", "resolved"),
    ]


def test_a_row_that_failed_for_good_lets_the_next_row_of_its_incident_go(
    store: StateStore,
) -> None:
    clock = FakeClock()
    notifier = ScriptedNotifier(clock, [Answer(Failed(reason="msg_too_long"))])
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened"), ("inc-a", "resolved")])
    assert box.deliver_due() == 1
    assert sent_kinds(notifier) == [("inc-a", "opened"), ("inc-a", "resolved")]
    assert store.failures() == [("inc-a", "scripted", "msg_too_long")]


outcomes = st.one_of(
    st.just(Delivered()),
    st.builds(
        Retry,
        after_s=st.sampled_from([0.0, 1.0, 5.0, 40.0]),
        reason=st.just("503"),
        uncertain=st.booleans(),
    ),
    st.just(Failed(reason="invalid_auth")),
    st.just(RuntimeError("notifier bug")),
)
answers = st.builds(Answer, outcome=outcomes, after_s=st.sampled_from([0.0, 0.5, 6.0]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["inc-a", "inc-b", "inc-c"]), st.sampled_from(["updated"])),
        min_size=1,
        max_size=8,
    ),
    script=st.lists(answers, max_size=25),
    steps=st.lists(st.sampled_from([0.5, 3.0, 31.0]), min_size=1, max_size=10),
)
@example(  # a Retry-After longer than the test's loop once waited for
    rows=[("inc-a", "updated")],
    script=[Answer(Retry(after_s=40.0, reason="503"))],
    steps=[0.5],
)
def test_any_answers_keep_order_timing_and_the_uncertain_flag(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str]],
    script: list[Answer],
    steps: list[float],
) -> None:
    """Whatever the notifier answers, and whenever the loop runs:
    - a row is sent only once every earlier row of its incident is delivered or failed;
    - a row is never sent again once delivered or failed;
    - a retry never comes before the notifier's after_s, counted from its answer;
    - a retry carries the uncertain flag of the answer before it;
    - every row ends delivered or failed, and failures() lists the failed ones."""
    store = StateStore(tmp_path_factory.mktemp("outbox") / "state.db")
    try:
        clock = FakeClock()
        notifier = ScriptedNotifier(clock, list(script))
        box = outbox(store, clock, notifier)
        ids = commit(store, rows)
        incident_of = dict(zip(ids, (i for i, _ in rows), strict=True))
        delivered = 0
        # The loop's own rhythm first, then passes further apart than any wait (40 s, the
        # longest Retry-After scripted; 30 s, the longest backoff): each is due by then.
        for step in [*steps, *steps, *steps, *[41.0] * (len(script) + 1)]:
            delivered += box.deliver_due()
            clock.advance(step)
        delivered += box.deliver_due()
        done: dict[int, str] = {}
        last: dict[int, Attempt] = {}
        for a in notifier.attempts:
            assert a.row not in done, "sent again after it was delivered or failed"
            earlier = [r for r in ids if r < a.row and incident_of[r] == a.incident]
            assert all(r in done for r in earlier), "overtook an earlier row of its incident"
            before = last.get(a.row)
            if before is None:
                assert not a.uncertain
            else:
                if isinstance(before.outcome, Retry):
                    assert a.at >= before.answered + timedelta(seconds=before.outcome.after_s)
                    assert a.uncertain == before.outcome.uncertain
                else:  # an exception: a retry, its request may not even have been made
                    assert a.at > before.answered
                    assert not a.uncertain
            last[a.row] = a
            if isinstance(a.outcome, Delivered):
                done[a.row] = "sent"
            elif isinstance(a.outcome, Failed):
                done[a.row] = "failed"
        assert sorted(done) == ids
        assert delivered == sum(1 for v in done.values() if v == "sent")
        failed = [r for r in ids if done[r] == "failed"]
        assert len(store.failures(limit=100)) == len(failed)
    finally:
        store.close()


# -- giving up, logging, secrets -----------------------------------------------------


def test_a_notification_is_retried_for_up_to_two_days_then_given_up(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(T0 + MAX_AGE)
    notifier = ScriptedNotifier(clock, [Answer(Retry(after_s=1.0, reason="503"))] * 3)
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")], at=T0)
    box.deliver_due()  # answered exactly two days after the change: still worth a retry
    assert store.failures() == []
    clock.advance(0.5)
    notifier.script.insert(0, Answer(Retry(after_s=1.0, reason="503"), after_s=0.5))
    with caplog.at_level(logging.ERROR, logger="logwatch.outbox"):
        box.deliver_due()  # sent before the limit, answered after it: given up
        clock.advance(60)
        box.deliver_due()
    assert len(notifier.attempts) == 2
    assert store.failures() == [("inc-a", "scripted", "503")]
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_a_permanent_failure_is_logged_once_and_never_retried(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    notifier = ScriptedNotifier(clock, [Answer(Failed(reason="invalid_auth"))])
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")])
    with caplog.at_level(logging.INFO, logger="logwatch.outbox"):
        for _ in range(3):
            box.deliver_due()
            clock.advance(60)
    assert len(notifier.attempts) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == ["notification failed notifier=scripted incident=inc-a: invalid_auth"]
    assert store.failures() == [("inc-a", "scripted", "invalid_auth")]


def test_a_delay_is_logged_once_however_many_retries(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    notifier = ScriptedNotifier(clock, [Answer(Retry(after_s=1.0, reason="503"))] * 4)
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")])
    with caplog.at_level(logging.INFO, logger="logwatch.outbox"):
        for _ in range(6):
            box.deliver_due()
            clock.advance(31)
    assert len(notifier.attempts) == 5
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["notification delayed notifier=scripted incident=inc-a: 503 (retrying)"]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == ["notification sent notifier=scripted incident=inc-a kind=opened"]


def test_reasons_are_redacted_in_logs_and_state(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    notifier = ScriptedNotifier(
        clock,
        [
            Answer(Retry(after_s=0.0, reason=f"proxy said {SECRET}")),
            Answer(RuntimeError(f"bad header {SECRET}")),
            Answer(Failed(reason=f"rejected {SECRET}")),
        ],
    )
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")])
    with caplog.at_level(logging.DEBUG, logger="logwatch.outbox"):
        for _ in range(4):
            box.deliver_due()
            clock.advance(31)
    assert len(notifier.attempts) == 3
    assert SECRET not in caplog.text
    assert "proxy said ***" in caplog.text
    ((_, _, error),) = store.failures()
    assert SECRET not in error and error.startswith("rejected ")


# -- uncertain deliveries, exceptions, threads --------------------------------------


def test_a_timed_out_attempt_is_retried_flagged_uncertain(store: StateStore) -> None:
    clock = FakeClock()
    notifier = ScriptedNotifier(
        clock, [Answer(Retry(after_s=15.0, reason="timeout", uncertain=True), after_s=10.0)]
    )
    box = outbox(store, clock, notifier)
    commit(store, [("inc-a", "opened")])
    box.deliver_due()
    clock.advance(15.0)
    box.deliver_due()
    assert [a.uncertain for a in notifier.attempts] == [False, True]


def test_an_attempt_killed_mid_send_is_retried_uncertain_once_it_has_settled(
    store: StateStore,
) -> None:
    """The agent was killed during the request: no answer was recorded. After a restart the
    row waits until the request has surely settled, then goes out flagged uncertain."""
    clock = FakeClock()
    (row,) = commit(store, [("inc-a", "opened")])
    store.begin_attempt(row, "scripted", now=clock())  # ... and then the process died
    notifier = ScriptedNotifier(clock)
    box = outbox(store, clock, notifier)  # the restarted agent
    clock.advance(IN_FLIGHT_S - 0.5)
    assert box.deliver_due() == 0
    clock.advance(0.5)
    assert box.deliver_due() == 1
    assert [a.uncertain for a in notifier.attempts] == [True]


def test_a_notifier_that_raises_is_retried_and_does_not_stop_the_others(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    broken = ScriptedNotifier(clock, [Answer(RuntimeError("boom"))], name="broken")
    fine = ScriptedNotifier(clock, name="fine")
    box = outbox(store, clock, broken, fine)
    commit(store, [("inc-a", "opened"), ("inc-a", "resolved")], notifiers=("broken", "fine"))
    with caplog.at_level(logging.WARNING, logger="logwatch.outbox"):
        assert box.deliver_due() == 2
    assert sent_kinds(broken) == [("inc-a", "opened")]
    assert sent_kinds(fine) == [("inc-a", "opened"), ("inc-a", "resolved")]
    assert "internal error: boom" in caplog.text
    clock.advance(0.49)
    assert box.deliver_due() == 0  # backoff after the first failure: 0.5 to 1 s
    clock.advance(0.51)
    assert box.deliver_due() == 2
    assert sent_kinds(broken)[1:] == [("inc-a", "opened"), ("inc-a", "resolved")]
    assert [a.uncertain for a in broken.attempts] == [False, False, False]


def test_the_root_message_is_remembered_per_incident_and_notifier(store: StateStore) -> None:
    clock = FakeClock()
    root = ThreadRef(channel="C123", ts="1700000000.000100")
    slack = ScriptedNotifier(clock, [Answer(Delivered(thread=root))], name="slack")
    hook = ScriptedNotifier(clock, name="hook")
    box = outbox(store, clock, slack, hook)
    commit(
        store,
        [("inc-a", "opened"), ("inc-b", "opened"), ("inc-a", "resolved")],
        notifiers=("slack", "hook"),
    )
    assert box.deliver_due() == 6
    assert [a.thread for a in slack.attempts] == [None, None, root]
    assert [a.thread for a in hook.attempts] == [None, None, None]
    assert [(a.row, a.kind) for a in slack.attempts] == [
        (1, "opened"),
        (2, "opened"),
        (3, "resolved"),
    ]


def test_the_notification_carries_the_row_and_its_change(store: StateStore) -> None:
    clock = FakeClock(T0 + timedelta(minutes=5))
    notifier = ScriptedNotifier(clock)
    box = outbox(store, clock, notifier)
    seen: list[Notification] = []
    send = notifier.send

    def keep(n: Notification) -> Outcome:
        seen.append(n)
        return send(n)

    notifier.send = keep  # type: ignore[method-assign]
    (row,) = commit(store, [("inc-a", "resolved")], at=T0 + timedelta(minutes=1))
    box.deliver_due()
    (n,) = seen
    assert (n.id, n.kind, n.at, n.incident.id) == (
        row,
        "resolved",
        T0 + timedelta(minutes=1),
        "inc-a",
    )
    assert n.incident == incident("inc-a", T0 + timedelta(minutes=1))


def test_delivery_thread_delivers_when_woken_and_stops(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    clock = FakeClock()
    notifier = ScriptedNotifier(clock)
    main = StateStore(path)
    closed: list[bool] = []

    def factory() -> Outbox:
        store = StateStore(path)  # the thread's own connection
        box = Outbox(store, [notifier], clock=clock, redact=Redactor(), owns_store=True)
        real_close = store.close

        def close() -> None:
            closed.append(True)
            real_close()

        store.close = close  # type: ignore[method-assign]
        return box

    thread = DeliveryThread(factory, idle_s=60.0)
    thread.start()
    try:
        commit(main, [("inc-a", "opened")])
        thread.wake()
        assert notifier.sent.wait(5.0), "woken delivery thread did not send"
    finally:
        thread.stop(timeout_s=5.0)
        main.close()
    assert sent_kinds(notifier) == [("inc-a", "opened")]
    assert closed == [True]


def test_an_outbox_closes_only_a_store_it_owns(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    Outbox(store, [], clock=FakeClock(), redact=Redactor()).close()
    assert store.failures() == []  # still open
    Outbox(store, [], clock=FakeClock(), redact=Redactor(), owns_store=True).close()
    with pytest.raises(Exception, match="closed"):
        store.failures()


def test_a_pass_delivers_every_due_row_of_a_backlog(store: StateStore) -> None:
    """Slack back after an outage of its own: 120 waiting changes go out in one pass."""
    clock = FakeClock()
    notifier = ScriptedNotifier(clock)
    box = outbox(store, clock, notifier)
    commit(store, [(f"inc-{n:03d}", "opened") for n in range(120)])
    assert box.deliver_due() == 120


class ThreadHarness:
    """A DeliveryThread over a real state file, its outbox built on the thread."""

    def __init__(self, path: Path, notifier: ScriptedNotifier, clock: FakeClock) -> None:
        self.main = StateStore(path)
        self.path = path
        self.notifier = notifier
        self.clock = clock

    def factory(self) -> Outbox:
        store = StateStore(self.path)  # sqlite connections belong to their thread
        return Outbox(store, [self.notifier], clock=self.clock, redact=Redactor(), owns_store=True)


def _wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_delivery_thread_retries_on_its_own_idle_tick(tmp_path: Path) -> None:
    """Nobody wakes it after a failure: it still tries again once the retry is due."""
    clock = FakeClock()
    notifier = ScriptedNotifier(clock, [Answer(Retry(after_s=0.0, reason="503"))])
    h = ThreadHarness(tmp_path / "state.db", notifier, clock)
    thread = DeliveryThread(h.factory, idle_s=0.02)
    thread.start()
    try:
        commit(h.main, [("inc-a", "opened")])
        thread.wake()
        assert _wait_for(lambda: len(notifier.attempts) == 1)
        clock.advance(MAX_BACKOFF_S)  # due now; no wake()
        assert _wait_for(lambda: len(notifier.attempts) == 2), "the idle tick did not retry"
    finally:
        thread.stop(timeout_s=5.0)
        h.main.close()


def test_delivery_thread_is_a_named_daemon(tmp_path: Path) -> None:
    """A daemon, so a main loop that dies never hangs on it at exit; named, so a thread
    dump (py-spy, faulthandler) says what it is."""
    clock = FakeClock()
    h = ThreadHarness(tmp_path / "state.db", ScriptedNotifier(clock), clock)
    before = set(threading.enumerate())
    thread = DeliveryThread(h.factory, idle_s=60.0)
    thread.start()
    try:
        (mine,) = [t for t in threading.enumerate() if t not in before]
        assert (mine.name, mine.daemon) == ("logwatch-delivery", True)
    finally:
        thread.stop(timeout_s=5.0)
        h.main.close()


def test_delivery_thread_survives_a_failing_pass_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes: list[int] = []
    done = threading.Event()

    class Flaky:
        def deliver_due(self) -> int:
            passes.append(1)
            if len(passes) == 1:
                raise RuntimeError("database is locked")
            done.set()
            return 0

        def close(self) -> None:
            pass

    thread = DeliveryThread(lambda: Flaky(), idle_s=0.02)  # type: ignore[arg-type, return-value]
    with caplog.at_level(logging.ERROR, logger="logwatch.outbox"):
        thread.start()
        try:
            assert done.wait(5.0), "delivery stopped after a failing pass"
        finally:
            thread.stop(timeout_s=5.0)
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "delivery loop error"
    assert record.exc_info is not None and "database is locked" in str(record.exc_info[1])


def test_stopping_a_delivery_thread_stuck_in_a_send_is_bounded(tmp_path: Path) -> None:
    """Shutdown waits for the current attempt only so long: a hung request cannot hold
    the agent's exit."""
    clock = FakeClock()
    release = threading.Event()
    entered = threading.Event()

    class Stuck(ScriptedNotifier):
        def send(self, n: Notification) -> Outcome:
            entered.set()
            release.wait(10.0)
            return Delivered()

    h = ThreadHarness(tmp_path / "state.db", Stuck(clock), clock)
    thread = DeliveryThread(h.factory, idle_s=60.0)
    thread.start()
    stopper = threading.Thread(target=thread.stop, kwargs={"timeout_s": 0.2}, name="stopper")
    try:
        commit(h.main, [("inc-a", "opened")])
        thread.wake()
        assert entered.wait(5.0)
        stopper.start()
        stopper.join(3.0)
        assert not stopper.is_alive(), "stop() waited for the hung send"
    finally:
        release.set()
        stopper.join(5.0)
        thread.stop(timeout_s=5.0)
        h.main.close()


# -- start-up checks, and the delivery thread when the state is unusable --------------------


@dataclass
class CheckedNotifier:
    name: str
    answer: tuple[bool, str] | Exception

    def check(self) -> tuple[bool, str]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_each_notifier_is_checked_once_in_one_line(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    from logwatch.logs import NOTICE

    token = "xoxb-1111-2222-checkSECRET"
    notifiers = [
        ScriptedNotifier(FakeClock(), name="plain"),  # no check: nothing said, the rest go on
        CheckedNotifier("slack", (True, f"slack: ok as bot lw with {token}")),
        CheckedNotifier("hook", (False, "hook: unknown URL %s (100%)")),
        CheckedNotifier("bad", RuntimeError(f"boom {token}")),
    ]
    box = Outbox(store, notifiers, clock=FakeClock(), redact=Redactor([token]))  # type: ignore[list-item]
    with caplog.at_level(logging.DEBUG, logger="logwatch.outbox"):
        box.check_notifiers()
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert said == [
        (NOTICE, "slack: ok as bot lw with ***"),
        (logging.WARNING, "hook: unknown URL %s (100%)"),
        (logging.WARNING, "bad: start-up check failed: boom ***"),
    ]


class UnusableOutbox:
    """An outbox whose state fails as scripted: a StateError message, or None for a pass."""

    def __init__(self, script: list[str | None]) -> None:
        self.script = script
        self.checked = 0
        self.passes = 0
        self.closed = False
        self.done = threading.Event()

    def check_notifiers(self) -> None:
        self.checked += 1

    def deliver_due(self) -> None:
        from logwatch.errors import StateError

        step = self.script[self.passes] if self.passes < len(self.script) else None
        self.passes += 1
        if self.passes >= len(self.script):
            self.done.set()
        if step is not None:
            raise StateError(step)

    def close(self) -> None:
        self.closed = True


def test_an_unusable_state_is_said_once_until_it_recovers(caplog: pytest.LogCaptureFixture) -> None:
    box = UnusableOutbox(["read-only", "read-only", "read-only", None, "read-only", "locked", None])
    thread = DeliveryThread(lambda: box, idle_s=0.001)  # type: ignore[arg-type,return-value]
    with caplog.at_level(logging.DEBUG, logger="logwatch.outbox"):
        thread.start()
        assert box.done.wait(10)
        thread.stop()
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert said == [
        "delivery paused, will retry: read-only",
        "delivery paused, will retry: read-only",
        "delivery paused, will retry: locked",
    ]
    assert box.checked == 1 and box.closed


class Killed(BaseException):
    """The agent killed mid-request: nothing below the outbox records an answer."""


@dataclass
class SlowNotifier(ScriptedNotifier):
    timeout_s: float = 10.0
    killed: bool = False

    def send(self, n: Notification) -> Outcome:
        if self.killed:
            raise Killed
        return super().send(n)


def test_a_request_killed_mid_send_waits_for_the_notifiers_timeout_too(store: StateStore) -> None:
    """A notifier that waits 10 s for an answer: its request may land until 10 s plus the
    in-flight time after it began, so the restarted agent sends it again only then."""
    clock = FakeClock()
    commit(store, [("inc-a", "opened")])
    dying = SlowNotifier(clock, killed=True)
    with pytest.raises(Killed):
        outbox(store, clock, dying).deliver_due()
    notifier = SlowNotifier(clock)
    box = outbox(store, clock, notifier)  # the restarted agent
    clock.advance(10.0 + IN_FLIGHT_S - 0.5)
    assert box.deliver_due() == 0
    clock.advance(0.5)
    assert box.deliver_due() == 1
    assert [a.uncertain for a in notifier.attempts] == [True]


@dataclass
class RecordingNotifier(ScriptedNotifier):
    notifications: list[Notification] = field(default_factory=list)

    def send(self, n: Notification) -> Outcome:
        self.notifications.append(n)
        return super().send(n)


def _commit_outage(store: StateStore, changes: list[tuple[Incident, str]], at: datetime) -> None:
    store.commit_batch(
        cursors=[],
        changes=[Change(kind=kind, at=at, incident=inc) for inc, kind in changes],  # type: ignore[arg-type]
        incidents=[inc for inc, _ in changes],
        grouper_state=None,
        notifiers=("scripted",),
        now=at,
    )


def test_a_linked_incident_waits_for_its_outages_root_then_goes_to_its_thread(
    store: StateStore,
) -> None:
    """inc-b shares inc-a's thread: it waits while inc-a's root is owed, then goes to that
    thread, told of the outage's other incident and of itself as last delivered."""
    from dataclasses import replace

    clock = FakeClock()
    root = incident("inc-a")
    linked = replace(incident("inc-b"), target="other:6379", outage="inc-a")
    _commit_outage(store, [(root, "opened"), (linked, "opened")], T0)
    posted = ThreadRef(channel="C1", ts="1.1")
    notifier = RecordingNotifier(
        clock, [Answer(Retry(after_s=5.0, reason="429")), Answer(Delivered(thread=posted))]
    )
    box = outbox(store, clock, notifier)
    box.deliver_due()
    assert sent_kinds(notifier) == [("inc-a", "opened")]  # inc-b waits for its root
    clock.advance(2.0)
    box.deliver_due()  # inc-a not due yet: inc-b still waits
    assert sent_kinds(notifier) == [("inc-a", "opened")]
    clock.advance(3.0)
    box.deliver_due()
    assert sent_kinds(notifier) == [("inc-a", "opened")] * 2 + [("inc-b", "opened")]
    first_b = notifier.notifications[2]
    assert first_b.thread == posted and first_b.before is None
    assert [i.id for i in first_b.outage] == ["inc-a"]
    assert [i.id for i in notifier.notifications[0].outage] == ["inc-b"]
    more = replace(linked, events=9)
    _commit_outage(store, [(more, "updated")], T0 + timedelta(seconds=6))
    clock.advance(1.0)
    box.deliver_due()
    update = notifier.notifications[-1]
    assert update.incident.id == "inc-b" and update.thread == posted
    assert update.before == linked  # as last delivered


def test_a_permanent_failure_is_said_once_as_an_error_then_as_before(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    commit(store, [("inc-a", "opened"), ("inc-b", "opened")])
    notifier = ScriptedNotifier(clock, [Answer(Failed(reason="channel_not_found"))] * 2)
    with caplog.at_level(logging.INFO, logger="logwatch.outbox"):
        outbox(store, clock, notifier).deliver_due()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "failed" in r.getMessage()]
    assert said == [
        (logging.ERROR, "notification failed notifier=scripted incident=inc-a: channel_not_found"),
        (logging.INFO,
         "notification failed notifier=scripted incident=inc-b: channel_not_found (as before)"),
    ]  # fmt: skip


def test_each_delivery_reports_its_time_from_commit(store: StateStore) -> None:
    clock = FakeClock()
    commit(store, [("inc-a", "opened")])
    seen: list[tuple[str, float]] = []
    notifier = ScriptedNotifier(clock, [Answer(Delivered(), after_s=3.0)])
    clock.advance(2.0)
    Outbox(
        store, [notifier], clock=clock, redact=Redactor(), observe=lambda n, s: seen.append((n, s))
    ).deliver_due()
    assert seen == [("scripted", 5.0)]  # committed at T0, answered at T0 + 5 s


def test_an_unanswered_request_is_asked_about_only_once_it_has_settled(store: StateStore) -> None:
    """A timeout answered at once with a short Retry-After: the uncertain retry still waits
    for the notifier's timeout plus the in-flight time after the request began."""
    clock = FakeClock()
    commit(store, [("inc-a", "opened")])
    notifier = SlowNotifier(clock, [Answer(Retry(after_s=1.0, reason="timeout", uncertain=True))])
    box = outbox(store, clock, notifier)
    box.deliver_due()
    clock.advance(10.0 + IN_FLIGHT_S - 0.5)
    assert box.deliver_due() == 0
    clock.advance(0.5)
    assert box.deliver_due() == 1
    assert [a.uncertain for a in notifier.attempts] == [False, True]
