"""The fleet outbox against a real PostgreSQL: claims are exclusive across agents and
leased, a notification is delivered once, a retry waits as long as it was told, a
notification that failed for good holds nothing back, and the agents' heartbeats are
what `logwatch fleet status` and a root's host line show.

Time passing is the database's: a test moves a row's lease or due time, or an agent's
heartbeat, back rather than sleep (a row's times are all the store decides by)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from slack_standin import make_incident

from logwatch.notify import ThreadRef
from logwatch.store.postgres import Claim, HostChange, PostgresStore


def change(host: str, row: int, *, target: str = "127.0.0.1:6379", kind: str = "opened",
           notifiers: tuple[str, ...] = ("slack",)) -> HostChange:  # fmt: skip
    incident = make_incident(id=f"inc-{host}-{target}", target=target)
    return HostChange(host=host, key=f"inc-{host}-{target}#{row}", kind=kind,
                      incident=incident, notifiers=notifiers, fallback={})  # fmt: skip


@pytest.fixture
def store(database_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(database_url)
    yield s
    s.close()


def sql(url: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    """What another session (the test, standing in for time or an operator) sees or does."""
    with psycopg.connect(url) as conn:
        cur = conn.execute(statement.encode(), params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def rows(url: str) -> list[tuple[object, ...]]:
    return sql(url, "SELECT id, notifier, kind, status, attempts FROM lw_outbox ORDER BY id")


def lease_runs_out(url: str, row_id: int) -> None:
    sql(url, "UPDATE lw_outbox SET lease_until = now() - interval '1 s' WHERE id = %s", row_id)


def claimed(claim: Claim | None) -> Claim:
    assert claim is not None
    return claim


def test_two_agents_claiming_at_once_never_take_the_same_row(database_url: str) -> None:
    setup = PostgresStore(database_url)
    for n in range(8):
        setup.apply(change("web-1", 1, target=f"10.0.0.{n}:6379"), min_hosts=1, reopen_window_s=0)
    setup.close()
    taken: Counter[int] = Counter()
    go = threading.Barrier(2)

    def agent(host: str) -> None:
        s = PostgresStore(database_url)
        try:
            go.wait()
            while (c := s.claim(host, ["slack"], lease_s=60)) is not None:
                taken[c.id] += 1
                assert s.delivered(c, host, None)
        finally:
            s.close()

    agents = [threading.Thread(target=agent, args=(h,)) for h in ("web-1", "web-2")]
    for t in agents:
        t.start()
    for t in agents:
        t.join(30)
    ids = [r[0] for r in rows(database_url)]
    assert len(ids) == 8 and taken == Counter(ids)  # each row taken once, by one agent
    assert {r[3] for r in rows(database_url)} == {"sent"}


def test_a_lease_that_ran_out_passes_the_row_to_another_agent(
    store: PostgresStore, database_url: str
) -> None:
    store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0)
    first = claimed(store.claim("web-1", ["slack"], lease_s=60))
    assert store.claim("web-2", ["slack"], lease_s=60) is None  # held
    lease_runs_out(database_url, first.id)  # web-1 died mid-send
    again = claimed(store.claim("web-2", ["slack"], lease_s=60))
    assert (again.id, again.attempts) == (first.id, 2)  # tried before: it may have landed
    # web-1 wakes up: neither its failure nor its retry touches web-2's lease.
    store.undelivered(first, "web-1", retry_after_s=None, error="boom")
    store.undelivered(first, "web-1", retry_after_s=3600, error="429")
    assert store.delivered(again, "web-2", ThreadRef(channel="C1", ts="2.2"))
    assert not store.delivered(again, "web-2", None)  # once
    assert not store.delivered(first, "web-1", None)
    assert rows(database_url) == [(first.id, "slack", "opened", "sent", 2)]


def test_a_root_once_saved_is_kept(store: PostgresStore, database_url: str) -> None:
    store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0)
    opened = claimed(store.claim("web-1", ["slack"], lease_s=60))
    assert store.delivered(opened, "web-1", ThreadRef(channel="C1", ts="1.1"))
    store.apply(change("web-2", 1), min_hosts=1, reopen_window_s=0)
    update = claimed(store.claim("web-2", ["slack"], lease_s=60))
    assert update.kind == "updated" and update.thread == ThreadRef(channel="C1", ts="1.1")
    # A notifier that answers an update with another ts does not move the thread.
    assert store.delivered(update, "web-2", ThreadRef(channel="C1", ts="9.9"))
    store.apply(change("web-3", 1), min_hosts=1, reopen_window_s=0)
    last = claimed(store.claim("web-1", ["slack"], lease_s=60))
    assert last.thread == ThreadRef(channel="C1", ts="1.1")
    assert last.hosts == ("web-1", "web-2", "web-3")


def test_a_retry_waits_as_long_as_it_was_told_and_frees_the_row(
    store: PostgresStore, database_url: str
) -> None:
    store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0)
    first = claimed(store.claim("web-1", ["slack"], lease_s=60))
    store.undelivered(first, "web-1", retry_after_s=3600, error="429 Retry-After: 3600")
    assert store.claim("web-2", ["slack"], lease_s=60) is None  # not due for an hour
    # 59 min 50 s pass: still not due (ten seconds' slack for a loaded machine).
    sql(database_url, "UPDATE lw_outbox SET next_attempt = next_attempt - interval '3590 s'")
    assert store.claim("web-2", ["slack"], lease_s=60) is None
    sql(database_url, "UPDATE lw_outbox SET next_attempt = next_attempt - interval '20 s'")
    # Due: no lease holds it (the lease ended with the retry), anyone may take it.
    again = claimed(store.claim("web-2", ["slack"], lease_s=60))
    assert (again.id, again.attempts) == (first.id, 2)
    # Told to retry at once: due at once, for anyone, without waiting out the lease.
    store.undelivered(again, "web-2", retry_after_s=0, error="503")
    third = claimed(store.claim("web-1", ["slack"], lease_s=60))
    assert (third.id, third.attempts) == (first.id, 3)
    assert sql(database_url, "SELECT error FROM lw_outbox") == [("503",)]


def test_a_notification_that_failed_for_good_is_never_sent_and_holds_nothing_back(
    store: PostgresStore, database_url: str
) -> None:
    store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0)
    store.apply(change("web-2", 1), min_hosts=1, reopen_window_s=0)  # an update behind it
    opened = claimed(store.claim("web-1", ["slack"], lease_s=60))
    assert store.claim("web-2", ["slack"], lease_s=60) is None  # the update waits its root
    store.undelivered(opened, "web-1", retry_after_s=None, error="channel_not_found")
    update = claimed(store.claim("web-2", ["slack"], lease_s=60))
    assert update.kind == "updated"
    lease_runs_out(database_url, update.id)
    assert claimed(store.claim("web-1", ["slack"], lease_s=60)).id == update.id  # not the failed
    assert [(r[2], r[3]) for r in rows(database_url)] == [("opened", "failed"),
                                                          ("updated", "pending")]  # fmt: skip
    assert sql(database_url, "SELECT error FROM lw_outbox WHERE kind = 'opened'") == [
        ("channel_not_found",)
    ]


def test_rows_go_oldest_first_one_at_a_time_per_incident_and_notifier(
    store: PostgresStore, database_url: str
) -> None:
    both = ("slack", "pager")
    store.apply(change("web-1", 1, target="a:1", notifiers=both), min_hosts=1, reopen_window_s=0)
    store.apply(change("web-2", 1, target="a:1", notifiers=both), min_hosts=1, reopen_window_s=0)
    store.apply(change("web-1", 1, target="b:1", notifiers=both), min_hosts=1, reopen_window_s=0)
    # Rows: 1 a/slack opened, 2 a/pager opened, 3 a/slack updated, 4 a/pager updated,
    # 5 b/slack opened, 6 b/pager opened.
    assert [r[1:3] for r in rows(database_url)] == [
        ("slack", "opened"), ("pager", "opened"), ("slack", "updated"),
        ("pager", "updated"), ("slack", "opened"), ("pager", "opened"),
    ]  # fmt: skip
    ids = [r[0] for r in rows(database_url)]
    order = [claimed(store.claim("web-1", ["slack", "pager"], lease_s=60)).id for _ in range(4)]
    # The updates wait for their incident's root on the same notifier; nothing else does.
    assert order == [ids[0], ids[1], ids[4], ids[5]]
    assert store.claim("web-1", ["slack", "pager"], lease_s=60) is None


def test_an_agent_takes_only_rows_for_its_own_notifiers(
    store: PostgresStore, database_url: str
) -> None:
    both = ("slack", "pager")
    store.apply(change("web-1", 1, notifiers=both), min_hosts=1, reopen_window_s=0)
    pager = claimed(store.claim("web-2", ["pager"], lease_s=60))
    assert pager.notifier == "pager"
    assert store.claim("web-2", ["pager"], lease_s=60) is None
    assert claimed(store.claim("web-2", ["slack", "email"], lease_s=60)).notifier == "slack"


def test_a_claim_names_the_live_agents_and_status_shows_each_heartbeat(
    store: PostgresStore, database_url: str
) -> None:
    commit = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    store.heartbeat("web-2", version="1.0", last_commit=None, lag_s=None, outbox_depth=0)
    store.heartbeat("web-3", version="1.0", last_commit=None, lag_s=None, outbox_depth=0)
    store.heartbeat("web-1", version="0.9", last_commit=None, lag_s=None, outbox_depth=0)
    store.heartbeat("web-1", version="1.1", last_commit=commit, lag_s=2.5, outbox_depth=7)
    store.heartbeat("web-4", version="1.0", last_commit=None, lag_s=None, outbox_depth=0)
    # web-2 was last heard of nine minutes ago, web-3 just over ten, web-4 an hour ago.
    for host, ago in (("web-2", "540 s"), ("web-3", "600.5 s"), ("web-4", "3600 s")):
        sql(database_url, "UPDATE lw_agents SET heartbeat = now() - %s::interval WHERE host = %s",
            ago, host)  # fmt: skip
    store.apply(change("web-1", 1), min_hosts=1, reopen_window_s=0)
    claim = claimed(store.claim("web-1", ["slack"], lease_s=60))
    assert claim.known == ("web-1", "web-2")  # live within ten minutes, by host name
    assert claim.hosts == ("web-1",)
    agents = store.agents()
    assert [a.host for a in agents] == ["web-1", "web-2", "web-3", "web-4"]  # every one
    web1 = agents[0]
    last = (web1.version, web1.last_commit, web1.lag_s, web1.outbox_depth)
    assert last == ("1.1", commit, 2.5, 7)  # the last heartbeat's
    assert [(a.version, a.last_commit, a.lag_s, a.outbox_depth) for a in agents[1:]] == [
        ("1.0", None, None, 0)
    ] * 3
    ages = [a.age_s for a in agents]
    assert 0 <= ages[0] < 540 <= ages[1] < 600.5 <= ages[2] < 3600 <= ages[3]
    assert isinstance(ages[0], float) and isinstance(web1.lag_s, float)
    (now,) = sql(database_url, "SELECT now()")[0]
    assert isinstance(now, datetime)
    beats = [a.heartbeat for a in agents]
    assert now >= beats[0] > beats[1] > beats[2] > beats[3] and now - beats[3] >= timedelta(hours=1)
