"""The fleet store's incidents and its connection against a real PostgreSQL: what the
listing shows, when an incident comes back as the same one or a new one, one pending
update for many joins, the schema, a database that dropped the store's connections, and
errors that say why in one line without the database URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from slack_standin import make_incident

from logwatch.store.postgres import (
    MIGRATIONS,
    Applied,
    HostChange,
    PostgresStore,
    StoreUnavailable,
)


def change(host: str, row: int, *, target: str = "127.0.0.1:6379", status: str = "open",
           host_incident: str = "", kind: str = "opened") -> HostChange:  # fmt: skip
    incident = make_incident(id=host_incident or f"inc-{host}-{target}", target=target,
                             status=status)  # fmt: skip
    return HostChange(host=host, key=f"{incident.id}#{row}", kind=kind, incident=incident,
                      notifiers=("slack",), fallback={})  # fmt: skip


@pytest.fixture
def store(database_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(database_url)
    yield s
    s.close()


def sql(url: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(statement.encode())
        return cur.fetchall() if cur.description else []


def kinds(url: str) -> list[tuple[object, ...]]:
    return sql(url, "SELECT incident_id, kind FROM lw_outbox ORDER BY id")


def test_the_listing_is_newest_first_filtered_by_status_and_bounded(store: PostgresStore) -> None:
    a = store.apply(change("web-1", 1, target="a:1"), min_hosts=1, reopen_window_s=0).incident_id
    b = store.apply(change("web-1", 1, target="b:1"), min_hosts=1, reopen_window_s=0).incident_id
    resolved = change("web-1", 2, target="a:1", status="resolved", kind="resolved")
    store.apply(resolved, min_hosts=1, reopen_window_s=0)
    assert [i.id for i in store.incidents()] == [b, a]
    assert [(i.id, i.status) for i in store.incidents(status="open")] == [(b, "open")]
    assert [(i.id, i.status) for i in store.incidents(status="resolved")] == [(a, "resolved")]
    assert [i.id for i in store.incidents(limit=1)] == [b]


def test_an_incident_back_after_its_reopen_window_is_a_new_one(
    store: PostgresStore, database_url: str
) -> None:
    first = store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=900).incident_id
    store.apply(change("web-1", 2, status="resolved", kind="resolved"), min_hosts=1,
                reopen_window_s=900)  # fmt: skip
    sql(database_url, "UPDATE lw_incidents SET resolved_at = now() - interval '901 s'")
    # The host's own incident (same id) reopens after the fleet's window: a new incident.
    again = store.apply(change("web-1", 3), min_hosts=1, reopen_window_s=900)
    assert again.incident_id != first and again.queued
    assert [(i.id, i.status, i.reopened) for i in store.incidents()] == [
        (again.incident_id, "open", 0), (first, "resolved", 0)
    ]  # fmt: skip
    assert kinds(database_url) == [(first, "opened"), (first, "resolved"),
                                   (again.incident_id, "opened")]  # fmt: skip


def test_a_host_reopening_its_own_incident_within_the_window_reopens_the_fleet_one(
    store: PostgresStore, database_url: str
) -> None:
    first = store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=900).incident_id
    store.apply(change("web-1", 2, status="resolved", kind="resolved"), min_hosts=1,
                reopen_window_s=900)  # fmt: skip
    again = store.apply(change("web-1", 3), min_hosts=1, reopen_window_s=900)
    assert again.incident_id == first and again.queued
    (inc,) = store.incidents()
    assert (inc.status, inc.reopened, inc.resolved_at) == ("open", 1, None)
    # Announced again: the reopened incident says "opened" once more.
    assert [k for _, k in kinds(database_url)] == ["opened", "resolved", "opened"]


def test_hosts_joining_before_anyone_sends_the_update_make_one_update(
    store: PostgresStore, database_url: str
) -> None:
    fid = store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0).incident_id
    for n, host in enumerate(("web-2", "web-3", "web-4"), start=1):
        assert store.apply(change(host, n), min_hosts=1, reopen_window_s=0).incident_id == fid
    assert kinds(database_url) == [(fid, "opened"), (fid, "updated")]
    assert store.hosts_of(fid) == [(h, "open") for h in ("web-1", "web-2", "web-3", "web-4")]


def test_a_schema_newer_than_this_logwatch_is_refused(database_url: str) -> None:
    first = PostgresStore(database_url)
    try:
        assert first.migrate() == len(MIGRATIONS)
        assert first.migrate() == len(MIGRATIONS)
    finally:
        first.close()
    newer = len(MIGRATIONS) + 1
    sql(database_url, f"INSERT INTO lw_schema (version) VALUES ({newer})")
    later = PostgresStore(database_url)
    try:
        with pytest.raises(StoreUnavailable, match="upgrade logwatch"):
            later.incidents()
    finally:
        later.close()


def test_a_database_that_dropped_the_stores_connections_is_used_again_at_once(
    store: PostgresStore, database_url: str
) -> None:
    fid = store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0).incident_id
    # A restart of the database, as the pool's idle connections see it.
    sql(database_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    assert [i.id for i in store.incidents()] == [fid]


def test_an_error_says_why_in_one_line_without_the_database_url(database_url: str) -> None:
    url = database_url.replace("postgres@", "postgres:hunter2pw@")  # trust: any password
    store = PostgresStore(url)
    try:
        with pytest.raises(StoreUnavailable) as info, store.transaction() as cur:
            cur.execute("SELECT %s::int", (url,))  # the database quotes what it refuses
    finally:
        store.close()
    message = str(info.value)
    assert message == 'fleet store: invalid input syntax for type integer: "***"'


@pytest.mark.parametrize("resolved_ago", ["1 min", "1 hour"], ids=["in-window", "past-window"])
def test_a_late_replay_of_an_opening_changes_nothing(
    store: PostgresStore, database_url: str, resolved_ago: str
) -> None:
    # web-1's "opened" reached the store but its answer was lost; web-1 was then cut off
    # long enough for the incident to resolve. Back, it replays the row.
    opened = change("web-1", 1)
    fid = store.apply(opened, min_hosts=1, reopen_window_s=900).incident_id
    store.apply(change("web-1", 2, status="resolved", kind="resolved"), min_hosts=1,
                reopen_window_s=900)  # fmt: skip
    sql(database_url, f"UPDATE lw_incidents SET resolved_at = now() - interval '{resolved_ago}'")

    def seen() -> tuple[object, ...]:
        listed = [store.incidents(status=s) for s in (None, "open", "resolved")]
        return (*listed, kinds(database_url), store.hosts_of(fid))

    before = seen()
    assert [i.id for i in store.incidents(status="resolved")] == [fid]
    again = store.apply(opened, min_hosts=1, reopen_window_s=900)
    assert (again.incident_id, again.replay, again.queued) == (fid, True, False)
    assert seen() == before


def test_an_error_without_words_is_named_by_its_kind(store: PostgresStore) -> None:
    with pytest.raises(StoreUnavailable) as info, store.transaction():
        raise psycopg.OperationalError()
    assert str(info.value) == "fleet store: OperationalError"


def test_a_sweep_counts_every_incident_it_resolves(store: PostgresStore, database_url: str) -> None:
    # Two incidents announced, one held back by min_hosts: their only hosts went silent.
    for target in ("a:1", "b:1"):
        store.apply(change("web-1", 1, target=target), min_hosts=1, reopen_window_s=0)
    store.apply(change("web-2", 1, target="c:1"), min_hosts=2, reopen_window_s=0)
    sql(database_url, "UPDATE lw_contributions SET updated = now() - interval '2 min'")
    assert store.sweep(deadline_s=60, min_hosts=2, notifiers=["slack"]) == 3
    assert {i.status for i in store.incidents()} == {"resolved"}
    assert store.sweep(deadline_s=60, min_hosts=2, notifiers=["slack"]) == 0  # once


def test_what_an_apply_says_it_did(store: PostgresStore) -> None:
    first = store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0)
    fid = first.incident_id
    assert first == Applied(incident_id=fid, queued=True, replay=False, adopted=False)
    same = store.apply(change("web-1", 2), min_hosts=1, reopen_window_s=0)  # nothing new
    assert same == Applied(incident_id=fid, queued=False, replay=False, adopted=False)
    again = store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0)
    assert again == Applied(incident_id=fid, queued=False, replay=True, adopted=False)


def test_a_hosts_late_word_goes_to_the_incident_it_joined_not_a_newer_one(
    store: PostgresStore, database_url: str
) -> None:
    old = store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=900).incident_id
    sql(database_url, "UPDATE lw_contributions SET updated = now() - interval '2 min'")
    assert store.sweep(deadline_s=60, min_hosts=1, notifiers=["slack"]) == 1  # web-1 went silent
    sql(database_url, "UPDATE lw_incidents SET resolved_at = now() - interval '1 hour'")
    new = store.apply(change("web-2", 1), min_hosts=1, reopen_window_s=900).incident_id
    assert new != old
    # web-1 is back and says its own incident ended: that is the old incident's news.
    late = store.apply(change("web-1", 2, status="resolved", kind="resolved"), min_hosts=1,
                       reopen_window_s=900)  # fmt: skip
    assert late.incident_id == old
    assert store.hosts_of(new) == [("web-2", "open")]
    assert store.hosts_of(old) == [("web-1", "resolved")]


def time_passes(url: str, span: str) -> None:
    """The database's clock moves on by `span`: every time the store wrote is that much older."""
    sql(url, f"UPDATE lw_incidents SET opened_at = opened_at - interval '{span}',"
             f" resolved_at = resolved_at - interval '{span}'")  # fmt: skip
    sql(url, f"UPDATE lw_contributions SET updated = updated - interval '{span}'")


def test_a_resolved_incident_says_when_and_its_reopen_window_counts_from_then(
    store: PostgresStore, database_url: str
) -> None:
    def say(row: int, status: str) -> str:
        kind = "opened" if status == "open" else "resolved"
        c = change("web-1", row, status=status, kind=kind)
        return store.apply(c, min_hosts=1, reopen_window_s=900).incident_id

    fid = say(1, "open")
    time_passes(database_url, "20 min")  # a long outage: open for 20 minutes
    ((before,),) = sql(database_url, "SELECT now()")
    assert say(2, "resolved") == fid
    ((after,),) = sql(database_url, "SELECT now()")
    (inc,) = store.incidents()
    assert inc.status == "resolved" and inc.resolved_at is not None
    assert before <= inc.resolved_at <= after  # the database's clock, when it resolved
    assert say(3, "open") == fid  # back within the window (15 min) of the resolution
    assert say(4, "resolved") == fid
    time_passes(database_url, "20 min")
    # A late word that it is still resolved does not restart the window.
    assert say(5, "resolved") == fid
    assert say(6, "open") != fid  # 20 min after the resolution: a new incident


def test_a_join_while_one_notifiers_update_is_in_flight_queues_that_notifier_another(
    store: PostgresStore, database_url: str
) -> None:
    def join(host: str) -> None:
        c = replace(change(host, 1), notifiers=("slack", "pager"))
        store.apply(c, min_hosts=1, reopen_window_s=0)

    join("web-1")
    for notifier in ("slack", "pager"):
        opened = store.claim("web-1", [notifier], lease_s=60)
        assert opened is not None and store.delivered(opened, "web-1", None)
    join("web-2")
    in_flight = store.claim("web-1", ["pager"], lease_s=60)  # rendered with web-1 and web-2
    assert in_flight is not None and in_flight.kind == "updated"
    join("web-3")
    pending = sql(database_url, "SELECT notifier, kind FROM lw_outbox WHERE status = 'pending'"
                                " ORDER BY id")  # fmt: skip
    # Slack's update, not yet taken, will say web-3 too; the pager's was: it gets another.
    assert pending == [("slack", "updated"), ("pager", "updated"), ("pager", "updated")]


def test_a_call_waiting_for_another_agent_leaves_the_agents_other_thread_served(
    store: PostgresStore, database_url: str
) -> None:
    # An agent's link (applying its host's changes) and its delivery thread share a store.
    store.migrate()
    applied: list[str] = []
    with psycopg.connect(database_url) as other:  # another agent, mid-change on that target
        other.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                      ("connection\x1f127.0.0.1:6379",))  # fmt: skip
        link = threading.Thread(
            target=lambda: applied.append(
                store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0).incident_id
            )
        )
        link.start()
        waiting = "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        waiting += " AND datname = current_database()"
        while link.is_alive() and not sql(database_url, waiting):
            time.sleep(0.01)
        assert link.is_alive()  # web-1's change waits for the other agent's
        assert store.incidents() == []  # meanwhile the delivery thread is served
        other.commit()
    link.join(30)
    assert [i.id for i in store.incidents()] == applied
