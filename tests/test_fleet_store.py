"""The fleet store against a real PostgreSQL: merging hosts' changes, replays, leases,
deadlines, adoption of a fallback root, and twenty agents migrating an empty database."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from slack_standin import make_incident

from logwatch.notify import ThreadRef
from logwatch.store.postgres import MIGRATIONS, HostChange, PostgresStore, StoreUnavailable

REPO = Path(__file__).resolve().parent.parent


def change(
    host: str, row: int, *, kind: str = "opened", status: str = "open", **kw: object
) -> HostChange:
    fallback = kw.pop("fallback", {})
    incident = make_incident(id=f"inc-{host}", status=status, **kw)
    return HostChange(
        host=host, key=f"inc-{host}#{row}", kind=kind, incident=incident,
        notifiers=("slack",), fallback=fallback,  # type: ignore[arg-type]
    )  # fmt: skip


def outbox(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute("SELECT incident_id, kind, status FROM lw_outbox ORDER BY id")
        ]


@pytest.fixture
def store(database_url: str) -> PostgresStore:
    s = PostgresStore(database_url)
    yield s  # type: ignore[misc]
    s.close()


def apply(store: PostgresStore, c: HostChange) -> str:
    return store.apply(c, min_hosts=1, reopen_window_s=900).incident_id


def test_hosts_on_one_outage_make_one_incident_and_a_replay_changes_nothing(
    store: PostgresStore,
    database_url: str,
) -> None:
    a = apply(store, change("web-1", 1))
    b = apply(store, change("web-2", 1, events=7))
    assert a == b
    again = store.apply(change("web-2", 1, events=999), min_hosts=1, reopen_window_s=900)
    assert again.replay and not again.queued
    (inc,) = store.incidents()
    assert inc.events == 2316 + 7  # the replay's 999 was not taken
    assert set(inc.sources) == {"web-1:logs/app.log", "web-1:logs/worker.log",
                                "web-2:logs/app.log", "web-2:logs/worker.log"}  # fmt: skip
    assert outbox(database_url) == [(a, "opened", "pending"), (a, "updated", "pending")]


def test_resolves_once_when_every_host_resolved(store: PostgresStore, database_url: str) -> None:
    fid = apply(store, change("web-1", 1))
    apply(store, change("web-2", 1))
    apply(store, change("web-1", 2, kind="resolved", status="resolved"))
    assert store.incidents()[0].status == "open"  # web-2 still sees errors
    apply(store, change("web-2", 2, kind="resolved", status="resolved"))
    apply(store, change("web-2", 2, kind="resolved", status="resolved"))  # replayed
    assert store.incidents()[0].status == "resolved"
    assert [k for i, k, _ in outbox(database_url) if i == fid].count("resolved") == 1
    # It comes back within the reopen window: the same incident, reopened.
    assert apply(store, change("web-1", 3, kind="opened")) == fid
    assert store.incidents()[0].reopened == 1


def test_a_host_silent_past_its_deadline_does_not_hold_the_incident_open(
    store: PostgresStore,
    database_url: str,
) -> None:
    for host in ("web-1", "web-2"):
        store.heartbeat(host, version="t", last_commit=None, lag_s=0, outbox_depth=0)
    fid = apply(store, change("web-1", 1))
    apply(store, change("web-2", 1))
    apply(store, change("web-1", 2, kind="resolved", status="resolved"))
    assert store.sweep(deadline_s=60, min_hosts=1, notifiers=["slack"]) == 0
    assert store.incidents()[0].status == "open"  # web-2 is alive: it holds it open
    with psycopg.connect(database_url) as conn:  # web-2 died: no heartbeat for two minutes
        conn.execute(
            "UPDATE lw_agents SET heartbeat = now() - interval '2 min' WHERE host = 'web-2'"
        )
    assert store.sweep(deadline_s=60, min_hosts=1, notifiers=["slack"]) == 1
    assert store.incidents()[0].status == "resolved"
    assert store.hosts_of(fid) == [("web-1", "resolved"), ("web-2", "lost")]
    assert [k for _, k, _ in outbox(database_url)].count("resolved") == 1


def test_min_hosts_holds_the_announcement(store: PostgresStore, database_url: str) -> None:
    store.apply(change("web-1", 1), min_hosts=2, reopen_window_s=900)
    assert outbox(database_url) == []
    store.apply(change("web-2", 1), min_hosts=2, reopen_window_s=900)
    assert [k for _, k, _ in outbox(database_url)] == ["opened"]


def test_a_claim_is_held_by_one_agent_until_its_lease_expires(store: PostgresStore) -> None:
    fid = apply(store, change("web-1", 1))
    apply(store, change("web-2", 1))
    first = store.claim("web-1", ["slack"], lease_s=0.5)
    assert first is not None and first.kind == "opened" and first.attempts == 1
    # The incident's next row waits for its root; nothing else is due.
    assert store.claim("web-2", ["slack"], lease_s=0.5) is None
    time.sleep(0.7)  # web-1 died mid-send: its lease runs out
    again = store.claim("web-2", ["slack"], lease_s=5)
    assert again is not None and again.id == first.id and again.attempts == 2
    assert not store.delivered(first, "web-1", ThreadRef(channel="C1", ts="1.1"))  # too late
    assert store.delivered(again, "web-2", ThreadRef(channel="C1", ts="2.2"))
    update = store.claim("web-1", ["slack"], lease_s=5)
    assert update is not None and update.kind == "updated"
    assert update.thread == ThreadRef(channel="C1", ts="2.2")
    assert update.hosts == ("web-1", "web-2") and update.incident.id == fid


def test_a_root_posted_alone_is_adopted_not_posted_again(store: PostgresStore) -> None:
    alone = {"slack": ThreadRef(channel="C123", ts="9.9")}
    first = store.apply(change("web-1", 1, fallback=alone), min_hosts=1, reopen_window_s=900)
    other = {"slack": ThreadRef(channel="C123", ts="8.8")}
    second = store.apply(change("web-2", 1, fallback=other), min_hosts=1, reopen_window_s=900)
    again = store.apply(change("web-1", 2, fallback=alone), min_hosts=1, reopen_window_s=900)
    assert (first.adopted, second.adopted, again.adopted) == (True, False, False)
    claim = store.claim("web-2", ["slack"], lease_s=5)
    assert claim is not None and claim.kind == "opened"
    assert claim.thread == ThreadRef(channel="C123", ts="9.9")  # the first host's root


def test_the_password_is_never_in_the_error(refused_port: int) -> None:
    # The database is down: nothing listens on its port.
    url = f"postgresql://postgres:hunter2pw@127.0.0.1:{refused_port}/postgres"
    store = PostgresStore(url, timeout_s=1)
    try:
        with pytest.raises(StoreUnavailable) as info:
            store.migrate()
    finally:
        store.close()
    assert "hunter2pw" not in str(info.value)
    assert "fleet store" in str(info.value)


MIGRATE = """
import sys, time
from pathlib import Path
from logwatch.store.postgres import PostgresStore
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
store = PostgresStore(sys.argv[1])
print(store.migrate())
store.close()
"""


@pytest.mark.slow
def test_twenty_agents_starting_at_once_make_one_schema(database_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, database_url, str(go)], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(20)
    ]  # fmt: skip
    time.sleep(1.5)  # every one of them imported and waiting
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, [err for _, err in results if err]
    assert {out.strip() for out, _ in results} == {str(len(MIGRATIONS))}
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM lw_schema").fetchone() == (len(MIGRATIONS),)


def test_a_host_whose_clock_is_a_year_off_joins_the_open_incident(store: PostgresStore) -> None:
    late = make_incident().first_seen - timedelta(days=365)
    fid = apply(store, change("web-1", 1))
    assert apply(store, change("web-2", 1, first_seen=late, last_seen=late)) == fid
    (inc,) = store.incidents()
    assert inc.first_seen == late and inc.events == 2 * make_incident().events


def test_prune_forgets_only_what_no_replay_can_need(
    store: PostgresStore, database_url: str
) -> None:
    apply(store, change("web-1", 1))
    apply(store, change("web-2", 1))
    claim = store.claim("web-1", ["slack"], lease_s=5)
    assert claim is not None and store.delivered(claim, "web-1", None)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE lw_applied SET at = now() - interval '8 days' WHERE host = 'web-1'")
        conn.execute("UPDATE lw_outbox SET created = now() - interval '8 days'")
    store.prune()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT host FROM lw_applied").fetchall() == [("web-2",)]
        assert conn.execute("SELECT kind, status FROM lw_outbox").fetchall() == [
            ("updated", "pending")
        ]


def test_a_host_without_a_heartbeat_yet_counts_from_its_last_report(
    store: PostgresStore, database_url: str
) -> None:
    fid = apply(store, change("web-1", 1))  # web-1's fleet thread has not said hello yet
    assert store.sweep(deadline_s=60, min_hosts=1, notifiers=["slack"]) == 0
    assert store.hosts_of(fid) == [("web-1", "open")]
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE lw_contributions SET updated = now() - interval '2 min'")
    assert store.sweep(deadline_s=60, min_hosts=1, notifiers=["slack"]) == 1
    assert store.hosts_of(fid) == [("web-1", "lost")]


def test_a_host_joining_while_the_update_is_being_claimed_gets_its_own_update(
    store: PostgresStore, database_url: str
) -> None:
    apply(store, change("web-1", 1))
    opened = store.claim("web-1", ["slack"], lease_s=5)
    assert opened is not None and store.delivered(opened, "web-1", None)
    apply(store, change("web-2", 1))  # an "updated" row, not yet claimed
    joined: list[str] = []
    with psycopg.connect(database_url) as claimer:
        # Another agent's claim of that row, in flight: it has read the hosts (web-1, web-2)
        # and not committed yet.
        claimer.execute("UPDATE lw_outbox SET attempts = attempts + 1 WHERE kind = 'updated'")
        worker = threading.Thread(target=lambda: joined.append(apply(store, change("web-3", 1))))
        worker.start()
        worker.join(1.0)
        claimer.commit()
    worker.join(10)
    assert joined
    # web-3's join is not folded into the update that was already being rendered.
    assert [k for _, k, _ in outbox(database_url)] == ["opened", "updated", "updated"]
