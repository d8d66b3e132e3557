"""The fleet store in PostgreSQL: fleet incidents, hosts' contributions, the fleet outbox.

Several agents share it. Every change is one short transaction:

- the schema is versioned (`lw_schema`) and migrated under an advisory lock, so twenty
  agents starting at once on an empty database make one schema and no error;
- a host's change is applied once (`lw_applied` keyed by host and its outbox row: a
  replay after an outage is a no-op) under a per-(category, target) advisory lock, so two
  hosts reporting the same outage at the same moment make one fleet incident;
- notifications are rows any agent may deliver, claimed with `FOR UPDATE SKIP LOCKED` and
  an expiring lease: an agent killed mid-send gives its row back when the lease runs out.

Times that decide anything (leases, deadlines, reopen windows) are the database's clock,
never a host's: a host whose clock is off still joins the same incident.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from logwatch.errors import StateError
from logwatch.fleet.merge import Contribution, FleetKind, FleetState, merged, settle
from logwatch.model import Incident
from logwatch.notify import ThreadRef
from logwatch.outbox_store import incident_from_json
from logwatch.redact import redact
from logwatch.report import incident_dict

MIGRATION_LOCK = 0x6C6F6777  # "logw": held while the schema is created or migrated
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE lw_agents (
        host TEXT PRIMARY KEY, version TEXT NOT NULL, started TIMESTAMPTZ NOT NULL,
        heartbeat TIMESTAMPTZ NOT NULL, last_commit TIMESTAMPTZ, lag_s DOUBLE PRECISION,
        outbox_depth INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE lw_incidents (
        id TEXT PRIMARY KEY, category TEXT NOT NULL, target TEXT NOT NULL,
        status TEXT NOT NULL, opened_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        resolved_at TIMESTAMPTZ, reopened INTEGER NOT NULL DEFAULT 0,
        announced BOOLEAN NOT NULL DEFAULT false, hosts_announced TEXT[] NOT NULL DEFAULT '{}',
        body JSONB NOT NULL
    );
    CREATE INDEX lw_incidents_key ON lw_incidents (category, target, opened_at DESC);
    CREATE TABLE lw_contributions (
        incident_id TEXT NOT NULL REFERENCES lw_incidents (id),
        host TEXT NOT NULL, host_incident TEXT NOT NULL, status TEXT NOT NULL,
        body JSONB NOT NULL, updated TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (incident_id, host, host_incident)
    );
    CREATE INDEX lw_contributions_host ON lw_contributions (host, host_incident);
    CREATE TABLE lw_applied (
        host TEXT NOT NULL, key TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (host, key)
    );
    CREATE TABLE lw_threads (
        incident_id TEXT NOT NULL, notifier TEXT NOT NULL, channel TEXT NOT NULL,
        ts TEXT NOT NULL, adopted_from TEXT,
        PRIMARY KEY (incident_id, notifier)
    );
    CREATE TABLE lw_outbox (
        id BIGSERIAL PRIMARY KEY, incident_id TEXT NOT NULL, notifier TEXT NOT NULL,
        kind TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now(),
        status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TIMESTAMPTZ NOT NULL DEFAULT now(), lease_owner TEXT,
        lease_until TIMESTAMPTZ, error TEXT, sent_at TIMESTAMPTZ, sent_by TEXT
    );
    CREATE INDEX lw_outbox_pending ON lw_outbox (id) WHERE status = 'pending';
    """,
)


class StoreUnavailable(StateError):
    """The fleet store cannot be reached or refused the statement (the caller retries)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HostChange:
    """One row of a host's outbox, as the host tells the fleet store."""

    host: str
    key: str  # the host's incident id and outbox row id: applying it twice changes nothing
    kind: str
    incident: Incident
    notifiers: tuple[str, ...]  # who the fleet's notifications go to
    fallback: dict[str, ThreadRef]  # roots this host posted alone while the store was away


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """The fleet incident a change went to, and whether it queued a notification."""

    incident_id: str
    queued: bool
    replay: bool


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


class PostgresStore:
    """The fleet store; thread-safe (a small pool, a connection per call)."""

    def __init__(self, url: str, *, max_size: int = 2, timeout_s: float = 3.0) -> None:
        self._secrets = [url]
        self._timeout_s = timeout_s
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=timeout_s,
            num_workers=1,
            reconnect_timeout=3600.0,
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": max(1, int(timeout_s)), "autocommit": False},
            name="logwatch-fleet",
        )
        self._pool.open(wait=False)
        self._migrated = False

    def close(self) -> None:
        """Close the pool and its connections."""
        self._pool.close(timeout=2.0)

    def _reason(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact(text)

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction; an unreachable or failing database is a StoreUnavailable."""
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                if not self._migrated:
                    self._migrate(cur)
                yield cur
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreUnavailable(f"fleet store: {self._reason(exc)}") from None
        self._migrated = True  # committed: no later transaction needs to look again

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Create or migrate the schema now; returns its version."""
        with self.transaction() as cur:
            cur.execute("SELECT max(version) FROM lw_schema")
            row = cur.fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    def _migrate(self, cur: psycopg.Cursor[Any]) -> None:
        # Under the lock even CREATE TABLE IF NOT EXISTS is needed: without it, agents
        # starting together race on the catalog ("duplicate key ... pg_type_typname").
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        cur.execute("CREATE TABLE IF NOT EXISTS lw_schema (version INTEGER PRIMARY KEY)")
        cur.execute("SELECT coalesce(max(version), 0) FROM lw_schema")
        row = cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreUnavailable(
                f"fleet store: schema version {version} is newer than this logwatch"
                f" ({len(MIGRATIONS)}): upgrade logwatch on this host"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in script.split(";"):
                if statement.strip():
                    cur.execute(statement.encode())
            cur.execute("INSERT INTO lw_schema (version) VALUES (%s)", (number,))

    # -- a host's change ---------------------------------------------------------------------

    def apply(self, change: HostChange, *, min_hosts: int, reopen_window_s: float) -> Applied:
        """Merge one host change into its fleet incident, once; queue what it calls for."""
        inc = change.incident
        with self.transaction() as cur:
            # Serialises every change on one (category, target): one incident, not two.
            cur.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"{inc.category}\x1f{inc.target}",),
            )
            cur.execute(
                "INSERT INTO lw_applied (host, key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (change.host, change.key),
            )
            replay = cur.rowcount == 0
            fleet_id = self._incident_for(cur, change, reopen_window_s=reopen_window_s)
            if replay:
                return Applied(incident_id=fleet_id, queued=False, replay=True)
            status = "open" if inc.status == "open" else "resolved"
            cur.execute(
                "INSERT INTO lw_contributions (incident_id, host, host_incident, status, body)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (incident_id, host, host_incident)"
                " DO UPDATE SET status = excluded.status, body = excluded.body,"
                " updated = now()",
                (fleet_id, change.host, inc.id, status, json.dumps(incident_dict(inc))),
            )
            for notifier, thread in change.fallback.items():
                # The host's own root, posted while the store was away, becomes the fleet
                # incident's: no second root.
                cur.execute(
                    "INSERT INTO lw_threads (incident_id, notifier, channel, ts, adopted_from)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (fleet_id, notifier, thread.channel, thread.ts, change.host),
                )
            kind = self._settle(cur, fleet_id, min_hosts=min_hosts)
            if kind is not None:
                self._queue(cur, fleet_id, kind, change.notifiers)
            return Applied(incident_id=fleet_id, queued=kind is not None, replay=False)

    def _incident_for(
        self, cur: psycopg.Cursor[Any], change: HostChange, *, reopen_window_s: float
    ) -> str:
        """The fleet incident a host's incident belongs to: the one it joined, the open one
        on its (category, target), a recently resolved one (reopened), or a new one."""
        inc = change.incident
        cur.execute(
            "SELECT i.id, i.status FROM lw_contributions c JOIN lw_incidents i"
            " ON i.id = c.incident_id WHERE c.host = %s AND c.host_incident = %s"
            " ORDER BY i.opened_at DESC LIMIT 1",
            (change.host, inc.id),
        )
        joined = cur.fetchone()
        if joined is not None and (joined[1] == "open" or inc.status != "open"):
            return str(joined[0])
        cur.execute(
            "SELECT id, status, resolved_at >= now() - make_interval(secs => %s)"
            " FROM lw_incidents WHERE category = %s AND target = %s"
            " ORDER BY opened_at DESC LIMIT 1",
            (reopen_window_s, inc.category, inc.target),
        )
        latest = cur.fetchone()
        if latest is not None and latest[1] == "open":
            return str(latest[0])
        if latest is not None and latest[2] and inc.status == "open":
            cur.execute(
                "UPDATE lw_incidents SET status = 'open', resolved_at = NULL,"
                " reopened = reopened + 1, announced = false WHERE id = %s",
                (latest[0],),
            )
            return str(latest[0])
        fleet_id = f"fleet-{uuid.uuid4().hex[:12]}"
        cur.execute(
            "INSERT INTO lw_incidents (id, category, target, status, body)"
            " VALUES (%s, %s, %s, 'open', %s)",
            (fleet_id, inc.category, inc.target, json.dumps(incident_dict(inc))),
        )
        return fleet_id

    def _settle(
        self, cur: psycopg.Cursor[Any], fleet_id: str, *, min_hosts: int
    ) -> FleetKind | None:
        """Recompute the fleet incident from its contributions; the notification it needs."""
        cur.execute(
            "SELECT status, announced, hosts_announced, reopened FROM lw_incidents"
            " WHERE id = %s FOR UPDATE",
            (fleet_id,),
        )
        row = cur.fetchone()
        assert row is not None
        state = FleetState(status=row[0], announced=row[1], hosts_announced=tuple(row[2]))
        parts = self._contributions(cur, fleet_id)
        verdict = settle(state, parts, min_hosts=min_hosts)
        cur.execute("SELECT now()")
        now_row = cur.fetchone()
        now: datetime | None = now_row[0] if now_row else None
        resolving = verdict.status == "resolved" and state.status == "open"
        body = merged(
            fleet_id,
            parts,
            status=verdict.status,
            resolved_at=now if verdict.status == "resolved" else None,
            reopened=int(row[3]),
        )
        announced = state.announced or verdict.announce is not None
        cur.execute(
            "UPDATE lw_incidents SET status = %s, body = %s, announced = %s,"
            " hosts_announced = %s,"
            " resolved_at = CASE WHEN %s THEN now() WHEN %s = 'open' THEN NULL"
            " ELSE resolved_at END WHERE id = %s",
            (
                verdict.status,
                json.dumps(incident_dict(body)),
                announced,
                list(verdict.hosts) if verdict.announce else list(state.hosts_announced),
                resolving,
                verdict.status,
                fleet_id,
            ),
        )
        return verdict.announce

    def _contributions(self, cur: psycopg.Cursor[Any], fleet_id: str) -> list[Contribution]:
        cur.execute(
            "SELECT host, status, body FROM lw_contributions WHERE incident_id = %s",
            (fleet_id,),
        )
        return [
            Contribution(host=r[0], status=r[1], incident=incident_from_json(r[2]))
            for r in cur.fetchall()
        ]

    def _queue(
        self, cur: psycopg.Cursor[Any], fleet_id: str, kind: str, notifiers: Sequence[str]
    ) -> None:
        for notifier in notifiers:
            if kind == "updated":
                # An update nobody has picked up yet says the same as this one will.
                cur.execute(
                    "SELECT 1 FROM lw_outbox WHERE incident_id = %s AND notifier = %s"
                    " AND kind = 'updated' AND status = 'pending' AND attempts = 0",
                    (fleet_id, notifier),
                )
                if cur.fetchone() is not None:
                    continue
            cur.execute(
                "INSERT INTO lw_outbox (incident_id, notifier, kind) VALUES (%s, %s, %s)",
                (fleet_id, notifier, kind),
            )

    # -- hosts that stopped reporting --------------------------------------------------------

    def sweep(self, *, deadline_s: float, min_hosts: int, notifiers: Sequence[str]) -> int:
        """Contributions of hosts silent past their deadline are lost; incidents that
        nobody holds open any more resolve. Returns how many resolved."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT DISTINCT i.id, i.category, i.target FROM lw_incidents i"
                " JOIN lw_contributions c ON c.incident_id = i.id"
                " LEFT JOIN lw_agents a ON a.host = c.host"
                " WHERE i.status = 'open' AND c.status = 'open'"
                " AND coalesce(a.heartbeat, c.updated) < now() - make_interval(secs => %s)",
                (deadline_s,),
            )
            stale = cur.fetchall()
        resolved = 0
        for fleet_id, category, target in stale:
            with self.transaction() as cur:
                cur.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"{category}\x1f{target}",),
                )
                cur.execute(
                    "UPDATE lw_contributions c SET status = 'lost', updated = now()"
                    " WHERE c.incident_id = %s AND c.status = 'open'"
                    # A host with no heartbeat yet (starting with a backlog) counts from
                    # its last report.
                    " AND coalesce((SELECT a.heartbeat FROM lw_agents a WHERE a.host = c.host),"
                    " c.updated) < now() - make_interval(secs => %s)",
                    (fleet_id, deadline_s),
                )
                kind = self._settle(cur, fleet_id, min_hosts=min_hosts)
                if kind is not None:
                    self._queue(cur, fleet_id, kind, notifiers)
                    resolved += kind == "resolved"
        return resolved

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

    # -- reading -----------------------------------------------------------------------------

    def incidents(self, *, status: str | None = None, limit: int = 100) -> list[Incident]:
        """Fleet incidents, newest first."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT body FROM lw_incidents WHERE %s::text IS NULL OR status = %s"
                " ORDER BY opened_at DESC LIMIT %s",
                (status, status, limit),
            )
            return [incident_from_json(r[0]) for r in cur.fetchall()]

    def hosts_of(self, fleet_id: str) -> list[tuple[str, str]]:
        """(host, status) of each contribution to a fleet incident."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT host, status FROM lw_contributions WHERE incident_id = %s ORDER BY host",
                (fleet_id,),
            )
            return [(r[0], r[1]) for r in cur.fetchall()]


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
