"""The fleet store's outbox and its agents: claims with leases, outcomes, heartbeats.

`PostgresStore` mixes this in and owns the pool. A notification row is claimed with
`FOR UPDATE SKIP LOCKED` (two agents never take the same one) and a lease; an agent that
dies mid-send never marks it, the lease runs out and another agent claims it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from logwatch.model import Incident
from logwatch.notify import ThreadRef
from logwatch.outbox_store import incident_from_json


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A fleet notification an agent holds the lease of, with what it needs to send it."""

    id: int
    notifier: str
    kind: str
    attempts: int
    incident: Incident
    thread: ThreadRef | None
    hosts: tuple[str, ...]  # affected
    known: tuple[str, ...]  # every live agent


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRow:
    """One agent of the fleet, as its last heartbeat left it."""

    host: str
    version: str
    heartbeat: datetime
    age_s: float  # seconds since the heartbeat, by the database's clock
    last_commit: datetime | None
    lag_s: float | None
    outbox_depth: int


class FleetOutboxQueries:
    """The outbox and agents half of the fleet store (needs `transaction`)."""

    def transaction(self) -> AbstractContextManager[psycopg.Cursor[Any]]:
        raise NotImplementedError

    def prune(self, *, older_than_s: float = 7 * 86400.0) -> None:
        """Forget replay keys and delivered notifications older than any replay can be
        (a host gives up on an outbox row after two days)."""
        with self.transaction() as cur:
            cur.execute(
                "DELETE FROM lw_applied WHERE at < now() - make_interval(secs => %s)",
                (older_than_s,),
            )
            cur.execute(
                "DELETE FROM lw_outbox WHERE status <> 'pending'"
                " AND created < now() - make_interval(secs => %s)",
                (older_than_s,),
            )

    # -- the fleet outbox ---------------------------------------------------------------------

    def claim(self, host: str, notifiers: Sequence[str], *, lease_s: float) -> Claim | None:
        """The oldest due notification whose incident has nothing older pending, leased."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE lw_outbox SET lease_owner = %s, attempts = attempts + 1,"
                " lease_until = now() + make_interval(secs => %s) WHERE id = ("
                " SELECT o.id FROM lw_outbox o WHERE o.status = 'pending'"
                " AND o.notifier = ANY(%s) AND o.next_attempt <= now()"
                " AND (o.lease_until IS NULL OR o.lease_until < now())"
                " AND NOT EXISTS (SELECT 1 FROM lw_outbox p WHERE p.status = 'pending'"
                " AND p.incident_id = o.incident_id AND p.notifier = o.notifier AND p.id < o.id)"
                " ORDER BY o.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                " RETURNING id, incident_id, notifier, kind, attempts",
                (host, lease_s, list(notifiers)),
            )
            row = cur.fetchone()
            if row is None:
                return None
            row_id, fleet_id, notifier, kind, attempts = row
            cur.execute("SELECT body FROM lw_incidents WHERE id = %s", (fleet_id,))
            found = cur.fetchone()
            assert found is not None
            cur.execute(
                "SELECT channel, ts FROM lw_threads WHERE incident_id = %s AND notifier = %s",
                (fleet_id, notifier),
            )
            thread = cur.fetchone()
            cur.execute(
                "SELECT DISTINCT host FROM lw_contributions WHERE incident_id = %s ORDER BY host",
                (fleet_id,),
            )
            hosts = tuple(r[0] for r in cur.fetchall())
            known = tuple(a.host for a in self._live_agents(cur))
        return Claim(
            id=int(row_id),
            notifier=notifier,
            kind=kind,
            attempts=int(attempts),
            incident=incident_from_json(found[0]),
            thread=ThreadRef(channel=thread[0], ts=thread[1]) if thread else None,
            hosts=hosts,
            known=known,
        )

    def delivered(self, claim: Claim, host: str, thread: ThreadRef | None) -> bool:
        """The claim was delivered; False if its lease had passed to another agent."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE lw_outbox SET status = 'sent', sent_at = now(), sent_by = %s,"
                " lease_until = NULL, error = NULL WHERE id = %s AND lease_owner = %s"
                " AND status = 'pending'",
                (host, claim.id, host),
            )
            if cur.rowcount != 1:
                return False  # the lease passed on: its new holder saves what it finds
            if thread is not None:
                cur.execute(
                    "INSERT INTO lw_threads (incident_id, notifier, channel, ts)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (claim.incident.id, claim.notifier, thread.channel, thread.ts),
                )
            return True

    def undelivered(
        self, claim: Claim, host: str, *, retry_after_s: float | None, error: str
    ) -> None:
        """Not delivered: due again after `retry_after_s`, or failed for good (None)."""
        with self.transaction() as cur:
            if retry_after_s is None:
                cur.execute(
                    "UPDATE lw_outbox SET status = 'failed', error = %s, lease_until = NULL"
                    " WHERE id = %s AND lease_owner = %s",
                    (error, claim.id, host),
                )
            else:
                cur.execute(
                    "UPDATE lw_outbox SET error = %s, lease_until = NULL,"
                    " next_attempt = now() + make_interval(secs => %s)"
                    " WHERE id = %s AND lease_owner = %s",
                    (error, retry_after_s, claim.id, host),
                )

    # -- agents ------------------------------------------------------------------------------

    def heartbeat(
        self,
        host: str,
        *,
        version: str,
        last_commit: datetime | None,
        lag_s: float | None,
        outbox_depth: int,
    ) -> None:
        """This agent is alive; what `logwatch fleet status` shows of it."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO lw_agents (host, version, started, heartbeat, last_commit, lag_s,"
                " outbox_depth) VALUES (%s, %s, now(), now(), %s, %s, %s)"
                " ON CONFLICT (host) DO UPDATE SET version = excluded.version,"
                " heartbeat = now(), last_commit = excluded.last_commit,"
                " lag_s = excluded.lag_s, outbox_depth = excluded.outbox_depth",
                (host, version, last_commit, lag_s, outbox_depth),
            )

    def agents(self) -> list[AgentRow]:
        """Every agent that ever reported, by host name."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT host, version, heartbeat, extract(epoch FROM now() - heartbeat),"
                " last_commit, lag_s, outbox_depth FROM lw_agents ORDER BY host"
            )
            return [_agent(r) for r in cur.fetchall()]

    def _live_agents(self, cur: psycopg.Cursor[Any], within_s: float = 600.0) -> list[AgentRow]:
        cur.execute(
            "SELECT host, version, heartbeat, extract(epoch FROM now() - heartbeat),"
            " last_commit, lag_s, outbox_depth FROM lw_agents"
            " WHERE heartbeat >= now() - make_interval(secs => %s) ORDER BY host",
            (within_s,),
        )
        return [_agent(r) for r in cur.fetchall()]


def _agent(r: tuple[Any, ...]) -> AgentRow:
    return AgentRow(
        host=r[0],
        version=r[1],
        heartbeat=r[2],
        age_s=float(r[3]),
        last_commit=r[4],
        lag_s=None if r[5] is None else float(r[5]),
        outbox_depth=int(r[6]),
    )
