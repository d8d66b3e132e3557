"""The fleet's pure parts: merging hosts' incidents, what to announce, the hosts line; and
the link's fallback when the fleet store is away (no database needed)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_standin import T0, make_incident, make_notification

from logwatch.fleet.link import FleetLink, Reachability
from logwatch.fleet.merge import Contribution, FleetState, compress, hosts_line, merged, settle
from logwatch.fleet.settings import FleetSettings
from logwatch.notify import Delivered, Notification, Outcome, Retry, ThreadRef
from logwatch.store import StateStore
from logwatch.store.postgres import PostgresStore

NEW = FleetState(status="open", announced=False, hosts_announced=())


def part(host: str, status: str = "open", **kw: object) -> Contribution:
    incident = make_incident(**{"id": f"inc-{host}", **kw})
    return Contribution(host=host, status=status, incident=incident)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "parts", "min_hosts", "status", "announce"),
    [
        pytest.param(NEW, [part("web-1")], 1, "open", "opened", id="first-host-opens"),
        pytest.param(NEW, [part("web-1")], 2, "open", None, id="below-min-hosts"),
        pytest.param(NEW, [part("web-1"), part("web-2")], 2, "open", "opened", id="min-hosts-met"),
        pytest.param(NEW, [part("web-1", "resolved")], 3, "resolved", "resolved",
                     id="opened-and-resolved-in-one-batch"),
        pytest.param(FleetState(status="open", announced=True, hosts_announced=("web-1",)),
                     [part("web-1"), part("web-2")], 1, "open", "updated", id="a-host-joins"),
        pytest.param(FleetState(status="open", announced=True, hosts_announced=("web-1", "web-2")),
                     [part("web-1"), part("web-2")], 1, "open", None, id="same-hosts"),
        pytest.param(FleetState(status="open", announced=True, hosts_announced=("web-1", "web-2")),
                     [part("web-1", "resolved"), part("web-2")], 1, "open", None,
                     id="one-host-quiet-other-not"),
        pytest.param(FleetState(status="open", announced=True, hosts_announced=("web-1", "web-2")),
                     [part("web-1", "resolved"), part("web-2", "lost")], 1, "resolved", "resolved",
                     id="last-host-lost"),
        pytest.param(FleetState(status="resolved", announced=True, hosts_announced=("web-1",)),
                     [part("web-1", "resolved")], 1, "resolved", None, id="resolved-twice"),
    ],
)  # fmt: skip
def test_settle(
    state: FleetState, parts: list[Contribution], min_hosts: int, status: str, announce: str | None
) -> None:
    verdict = settle(state, parts, min_hosts=min_hosts)
    assert (verdict.status, verdict.announce) == (status, announce)


def test_merged_sums_the_hosts_and_spans_them() -> None:
    a = part("web-1", events=3, first_seen=T0, last_seen=T0 + timedelta(seconds=5))
    b = part("web-2", events=4, first_seen=T0 - timedelta(seconds=9), last_seen=T0)
    inc = merged("fleet-1", [a, b], status="open", resolved_at=None, reopened=0)
    assert (inc.id, inc.events, inc.status) == ("fleet-1", 7, "open")
    assert inc.first_seen == T0 - timedelta(seconds=9)
    assert inc.last_seen == T0 + timedelta(seconds=5)
    assert inc.sources == {f"{h}:{f}": n for h in ("web-1", "web-2")
                           for f, n in make_incident().sources.items()}  # fmt: skip
    assert sum(inc.signatures.values()) == 2 * sum(make_incident().signatures.values())


NAMES = [f"web-{i}" for i in range(1, 12)] + ["db", "worker-1", "worker-2", "worker-3", "web-01"]


@given(st.sets(st.sampled_from(NAMES)), st.sets(st.sampled_from(NAMES)))
def test_compress_names_every_host_once(names: set[str], others: set[str]) -> None:
    shown: list[str] = []
    for piece in filter(None, compress(names).split(", ")):
        if ".." in piece:
            lo, hi = piece.split("..")
            prefix = lo.rstrip("0123456789")
            first, last = int(lo[len(prefix) :]), int(hi[len(prefix) :])
            assert hi.startswith(prefix) and last - first >= 2
            shown += [f"{prefix}{k}" for k in range(first, last + 1)]
        else:
            shown.append(piece)
    assert sorted(shown) == sorted(names)
    total = len(names | others)
    assert hosts_line(sorted(names), others).startswith(f"{len(names)} of {total} app servers")


def test_hosts_line_reads_like_the_issue() -> None:
    hosts = ["web-1", "web-2", "web-3", "web-4", "worker-1", "worker-2", "worker-3"]
    line = hosts_line(hosts, [*hosts, "web-5", "web-6", "web-7", "web-8", "worker-4"])
    assert line == "7 of 12 app servers: web-1..web-4, worker-1..worker-3"


class Scripted:
    """A notifier that records what it is sent and answers with a new root."""

    name = "slack"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, n: Notification) -> Outcome:
        self.sent.append(n)
        return Delivered(thread=ThreadRef(channel="C123", ts=f"{len(self.sent)}.0"))


@pytest.fixture
def unreachable() -> Iterator[PostgresStore]:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        store = PostgresStore(
            f"postgresql://lw:pw@127.0.0.1:{sock.getsockname()[1]}/db", timeout_s=0.3
        )
        yield store
        store.close()


def test_without_the_store_the_link_waits_then_alerts_alone_once(
    tmp_path: Path, unreachable: PostgresStore
) -> None:
    clock = [0.0]
    reach = Reachability(clock=lambda: clock[0])
    slack = Scripted()
    settings = FleetSettings(database_url="postgresql://x", host="web-1", fallback_after_s=60)
    state = tmp_path / "state.db"
    link = FleetLink(unreachable, settings, state=state, notifiers=["slack"], alone=[slack],
                     reach=reach, on_queued=lambda: None)  # fmt: skip
    opened = make_notification("opened", id=7)
    assert isinstance(link.send(opened), Retry)
    clock[0] = 59.0
    assert isinstance(link.send(opened), Retry)
    assert slack.sent == []  # a short outage of the store: the fleet will still say it
    clock[0] = 60.0
    assert isinstance(link.send(opened), Retry)  # still owed to the store, replayed later
    assert isinstance(link.send(opened), Retry)
    assert [n.id for n in slack.sent] == [7]  # alone, once
    update = replace(make_notification("updated", id=8), incident=opened.incident)
    link.send(update)
    assert slack.sent[-1].thread == ThreadRef(channel="C123", ts="1.0")  # in its own thread
    link.close()
    local = StateStore(state)
    assert local.thread(opened.incident.id, "slack@alone") == ("C123", "1.0")
    local.close()


def test_merged_takes_the_worst_and_the_first_and_drops_what_is_per_host() -> None:
    from logwatch.model import Severity
    from logwatch.oncall import Ack, Silence

    resolved_at = T0 + timedelta(minutes=3)
    # The earliest host carries what is its own alone (its thread, links, ack, open time).
    a = part("web-1", severity=Severity.WARNING, first_seen=T0, samples=("a1", "a2", "a3"),
             rules={"r1": 2}, diagnosis="", recovery="", outage="inc-other",
             linked=("inc-x",), ack=Ack(by="alice", at=T0), active_s=5.0,
             silence=Silence(id="sil-1", by="bob", reason="resize", starts=T0, ends=None))  # fmt: skip
    b = part("web-2", severity=Severity.CRITICAL, first_seen=T0 + timedelta(seconds=1),
             samples=("b1", "a1"), rules={"r1": 1, "r2": 5}, diagnosis="confirmed: refused",
             recovery="recovery confirmed")  # fmt: skip
    inc = merged("fleet-9", [b, a], status="resolved", resolved_at=resolved_at, reopened=2)
    assert (inc.severity, inc.status) == (Severity.CRITICAL, "resolved")
    assert inc.rules == {"r1": 3, "r2": 5}
    assert inc.samples == ("a1", "a2", "b1")  # the earliest host's first, two each, no repeats
    assert (inc.resolved_at, inc.reopened) == (resolved_at, 2)
    assert (inc.diagnosis, inc.recovery) == ("confirmed: refused", "recovery confirmed")
    assert (inc.outage, inc.linked, inc.ack, inc.silence, inc.active_s) == (
        "",
        (),
        None,
        None,
        None,
    )
    assert inc.hint == a.incident.hint and inc.category == "connection"
    still_open = merged("fleet-9", [a], status="open", resolved_at=resolved_at, reopened=0)
    assert still_open.resolved_at is None and still_open.status == "open"
    assert (still_open.diagnosis, still_open.recovery) == ("", "")
    with pytest.raises(ValueError, match=r"^a fleet incident has at least one contribution$"):
        merged("fleet-9", [], status="open", resolved_at=None, reopened=0)


def test_settle_names_the_hosts_sorted() -> None:
    verdict = settle(NEW, [part("worker-1"), part("web-2"), part("web-2", id="x")], min_hosts=1)
    assert verdict.hosts == ("web-2", "worker-1")


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        pytest.param(["web-10", "web-9"], "web-9, web-10", id="numbers-not-text"),
        pytest.param(["web-2", "db", "api"], "api, db, web-2", id="plain-names"),
        pytest.param(["b-1", "a-7", "a-8", "a-9"], "a-7..a-9, b-1", id="by-prefix"),
        pytest.param(["web-1", "web-2"], "web-1, web-2", id="two-is-not-a-run"),
        pytest.param(["db0", "db"], "db, db0", id="bare-name-before-its-numbers"),
    ],
)
def test_compress_order(names: list[str], shown: str) -> None:
    assert compress(names) == shown
