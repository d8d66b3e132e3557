"""The fleet end to end: real `logwatch watch` processes (own --host, log directory and
sqlite state) against one real PostgreSQL and the Slack stand-in, with a real
redis-server killed under a real redis-py app that writes to every host's log.

Timers are seconds here (tests/fleet_rig.py TIMERS), minutes by default.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fleet_rig import Fleet
from pg_rig import PostgresServer
from slack_standin import SlackStandin, slack_fixture  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture
def fleet_of(
    tmp_path: Path,
    slack: SlackStandin,
) -> Iterator[Callable[..., Fleet]]:
    made: list[Fleet] = []

    def make(url: str, hosts: list[str], **kw: Any) -> Fleet:
        fleet = Fleet(tmp_path / f"fleet-{len(made)}", url, slack, hosts, **kw)
        made.append(fleet)
        fleet.start()
        return fleet

    yield make
    for fleet in made:
        fleet.stop()


def outbox(url: str) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT kind, status, sent_by FROM lw_outbox ORDER BY id").fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def contributions(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT host, status FROM lw_contributions").fetchall())


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logwatch", "--config", str(config), *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def outage(fleet: Fleet, redis: Any) -> None:
    """Start the app, then kill Redis under it; returns once a root is posted."""
    fleet.start_app(redis.port)
    first = next(iter(fleet.agents.values())).logs / "app.log"
    fleet.wait(lambda: " 200 " in first.read_text(), 20, "the app's first requests")
    redis.kill()
    fleet.wait(lambda: len(fleet.roots()) >= 1, 30, "the root message")


def root_ts(fleet: Fleet) -> str:
    """The one root message's ts (fails if there are more)."""
    posted = [m for m in fleet.slack.messages.values() if "thread_ts" not in m]
    assert len(posted) == 1, fleet.summary()
    return str(posted[0]["ts"])


def test_one_root_for_the_whole_fleet_replies_as_hosts_join_one_resolve(
    fleet_of: Callable[..., Fleet],
    database_url: str,
    redis_server: Any,
) -> None:
    hosts = ["web-1", "web-2", "worker-1"]
    fleet = fleet_of(database_url, hosts)
    redis = redis_server()
    outage(fleet, redis)
    fleet.wait(
        lambda: "3 of 3 app servers: web-1, web-2, worker-1" in fleet.root_text(root_ts(fleet)),
        30, "the root naming every host",
    )  # fmt: skip
    assert len(fleet.roots()) == 1, fleet.summary()
    redis.restart()  # Redis is back: every host goes quiet
    fleet.wait(lambda: "RESOLVED" in fleet.root_text(root_ts(fleet)), 40, "the resolve")
    time.sleep(2)  # nothing more comes
    ts = root_ts(fleet)
    assert len(fleet.roots()) == 1, fleet.summary()
    assert all(r.body["thread_ts"] == ts for r in fleet.replies()), fleet.summary()
    resolved = [r for r in fleet.replies() if r.body.get("reply_broadcast")]
    assert len(resolved) == 1, fleet.summary()
    kinds = [k for k, _, _ in outbox(database_url)]
    assert kinds.count("opened") == 1 and kinds.count("resolved") == 1, kinds
    assert "updated" in kinds  # a host joined after the first: a reply said so
    assert contributions(database_url) == dict.fromkeys(hosts, "resolved")
    config = fleet.agents["web-1"].config
    listed = cli(config, "incidents", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (inc,) = json.loads(listed.stdout)["incidents"]
    assert inc["status"] == "resolved" and {s.split(":")[0] for s in inc["sources"]} == set(hosts)
    status = cli(config, "fleet", "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    agents = json.loads(status.stdout)["agents"]
    assert [a["host"] for a in agents] == hosts
    assert all(a["outbox_depth"] == 0 and a["last_commit"] for a in agents), agents
    assert "postgres@" not in status.stdout + status.stderr + listed.stderr


def test_kill_9_of_the_delivering_agent_mid_send_passes_the_lease_without_a_second_root(
    fleet_of: Callable[..., Fleet],
    database_url: str,
    redis_server: Any,
) -> None:
    fleet = fleet_of(database_url, ["web-1", "web-2"])
    slack = fleet.slack
    # Both agents' start-up checks done (auth.test, conversations.list, .info): the delay
    # below must hold the root's post, not a check.
    fleet.wait(lambda: len(slack.calls("conversations.info")) >= 2, 20, "the Slack checks")
    slack.delay_next(1, 2.5)  # the root's post hangs: its sender dies meanwhile (lease 4 s)
    redis = redis_server()
    fleet.start_app(redis.port)
    first = fleet.agents["web-1"].logs / "app.log"
    fleet.wait(lambda: " 200 " in first.read_text(), 20, "the app's first requests")
    redis.kill()
    fleet.wait(lambda: len(slack.calls("chat.postMessage")) >= 1, 30, "the root's post")
    with psycopg.connect(database_url) as conn:
        owner, status = conn.execute(
            "SELECT lease_owner, status FROM lw_outbox WHERE kind = 'opened'"
        ).fetchone()  # type: ignore[misc]
    assert status == "pending"  # its sender is waiting for Slack's answer
    fleet.dead.add(owner)
    fleet.agents[owner].kill()  # kill -9, mid-send
    other = next(h for h in fleet.agents if h != owner)
    fleet.wait(
        lambda: any(k == "opened" and s == "sent" for k, s, _ in outbox(database_url)),
        30, "the lease to pass on",
    )  # fmt: skip
    (opened,) = [r for r in outbox(database_url) if r[0] == "opened"]
    assert opened == ("opened", "sent", other)
    time.sleep(1)
    assert len(fleet.roots()) == 1, fleet.summary()  # the dead agent's post, found, not repeated
    assert len(slack.calls("conversations.history")) >= 1  # the survivor looked before posting


def test_postgres_down_mid_outage_the_host_alerts_alone_and_the_fleet_adopts_its_root(
    fleet_of: Callable[..., Fleet],
    own_postgres: PostgresServer,
    redis_server: Any,
) -> None:
    url = own_postgres.create_database()
    fleet = fleet_of(url, ["web-1", "web-2"])
    for agent in fleet.agents.values():
        agent.wait_until(lambda a=agent: "fleet mode" in a.log(), what="fleet mode")
    time.sleep(1.0)  # both agents have migrated and sent a heartbeat
    own_postgres.stop("immediate")  # the database fails first ...
    redis = redis_server()
    outage(fleet, redis)  # ... then Redis: after fallback_after (3 s) each host alerts alone
    fleet.wait(lambda: len(fleet.roots()) == 2, 30, "both hosts' own roots")
    roots = fleet.roots()
    assert all("alone (the fleet store is unreachable)" in str(r.body["text"]) for r in roots)
    own_postgres.start()  # the store returns: the hosts' rows are replayed
    fleet.wait(
        lambda: any(k == "opened" and s == "sent" for k, s, _ in outbox(url)), 40,
        "the fleet's opened notification",
    )  # fmt: skip
    redis.restart()
    fleet.wait(lambda: any(k == "resolved" and s == "sent" for k, s, _ in outbox(url)), 40,
               "the fleet's resolve")  # fmt: skip
    time.sleep(1)
    assert len(fleet.roots()) == 2, fleet.summary()  # no fleet root on top of the hosts' own
    with psycopg.connect(url) as conn:
        threads = conn.execute("SELECT ts, adopted_from FROM lw_threads").fetchall()
        (fleet_events,) = conn.execute("SELECT (body->>'events')::int FROM lw_incidents").fetchone()  # type: ignore[misc]
    ((adopted, by),) = threads  # one root for the fleet: a host's own, adopted
    assert by in fleet.agents
    assert adopted in {m["ts"] for m in fleet.slack.messages.values() if "thread_ts" not in m}
    # On a loaded machine the app's errors can pause longer than the quiet period (2 s), so
    # an early resolve may have been sent and followed by a reopen: the root's last word
    # after Redis is back is what must be RESOLVED.
    fleet.wait(lambda: "RESOLVED" in fleet.root_text(adopted), 40, "the adopted root resolved")
    fleet_replies = [r for r in fleet.replies() if "alone" not in str(r.body.get("text"))]
    assert fleet_replies and all(r.body["thread_ts"] == adopted for r in fleet_replies)
    # Each host's rows are replayed from its own outbox once the store is back (every
    # second, after its backoff): the slower host's may land after the fleet's resolve.
    both = {"web-1": "resolved", "web-2": "resolved"}
    fleet.wait(lambda: contributions(url) == both, 30, "both hosts' replayed contributions")
    with psycopg.connect(url) as conn:
        (fleet_events,) = conn.execute("SELECT (body->>'events')::int FROM lw_incidents").fetchone()  # type: ignore[misc]
    # Nothing lost: every change each host made reached the fleet store (none owed, none
    # failed), and the fleet counts what each host's last change counted.
    last = 0
    for agent in fleet.agents.values():
        with sqlite3.connect(f"file:{agent.state}?mode=ro", uri=True) as db:
            owed = db.execute(
                "SELECT count(*) FROM deliveries WHERE notifier = 'fleet' AND status <> 'sent'"
            ).fetchone()
            (body,) = db.execute(
                "SELECT o.body FROM outbox o JOIN deliveries d ON d.outbox_id = o.id"
                " WHERE d.notifier = 'fleet' ORDER BY o.id DESC LIMIT 1"
            ).fetchone()
        assert owed == (0,)
        last += json.loads(body)["events"]
    assert fleet_events == last > 0


def test_a_host_whose_clock_is_two_minutes_off_joins_the_same_incident(
    fleet_of: Callable[..., Fleet],
    database_url: str,
    redis_server: Any,
) -> None:
    fleet = fleet_of(database_url, ["web-1", "web-2"], offsets={"web-2": 120.0})
    redis = redis_server()
    outage(fleet, redis)
    fleet.wait(lambda: "2 of 2 app servers" in fleet.root_text(root_ts(fleet)), 30, "both hosts")
    redis.restart()
    fleet.wait(lambda: "RESOLVED" in fleet.root_text(root_ts(fleet)), 40, "the resolve")
    assert len(fleet.roots()) == 1, fleet.summary()
    assert contributions(database_url) == {"web-1": "resolved", "web-2": "resolved"}
    with psycopg.connect(database_url) as conn:  # web-2 really ran 2 minutes ahead
        (skew,) = conn.execute(
            "SELECT extract(epoch FROM max(last_commit) - min(last_commit)) FROM lw_agents"
        ).fetchone()  # type: ignore[misc]
    assert 100 < skew < 140


def test_a_host_that_dies_mid_incident_does_not_hold_it_open(
    fleet_of: Callable[..., Fleet],
    database_url: str,
    redis_server: Any,
) -> None:
    fleet = fleet_of(database_url, ["web-1", "web-2"])
    redis = redis_server()
    outage(fleet, redis)
    fleet.wait(lambda: "2 of 2 app servers" in fleet.root_text(root_ts(fleet)), 30, "both hosts")
    fleet.dead.add("web-2")
    fleet.agents["web-2"].kill()  # the machine is gone: no agent, no app
    fleet.stop_writing("web-2")
    redis.restart()
    fleet.wait(lambda: "RESOLVED" in fleet.root_text(root_ts(fleet)), 40, "the resolve")
    assert contributions(database_url) == {"web-1": "resolved", "web-2": "lost"}
    assert len(fleet.roots()) == 1, fleet.summary()
