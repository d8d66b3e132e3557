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
import logging
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
from logwatch.store.pg_outbox import AgentRow, Claim, FleetOutboxQueries
from logwatch.store.pg_schema import MIGRATION_LOCK, MIGRATIONS

# The pool says "error connecting" at every reconnection attempt while the database is down;
# the agent says it once (fleet/link.py, Reachability) and again when it is back.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

__all__ = [
    "MIGRATIONS",
    "AgentRow",
    "Applied",
    "Claim",
    "HostChange",
    "PostgresStore",
    "StoreUnavailable",
]


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
    adopted: bool = False  # the host's own root became the fleet incident's


class PostgresStore(FleetOutboxQueries):
    """The fleet store; thread-safe (a small pool, a connection per call)."""

    def __init__(self, url: str, *, max_size: int = 2, timeout_s: float = 3.0) -> None:
        self._secrets = [url]
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
            if cur.rowcount == 0:
                # A replay finds the incident it went to and touches nothing: its incident
                # may have resolved since, and must not be reopened (or a new one made).
                joined = self._joined(cur, change)
                assert joined is not None  # applied with its contribution, in one transaction
                return Applied(incident_id=joined[0], queued=False, replay=True)
            fleet_id = self._incident_for(cur, change, reopen_window_s=reopen_window_s)
            status = "open" if inc.status == "open" else "resolved"
            cur.execute(
                "INSERT INTO lw_contributions (incident_id, host, host_incident, status, body)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (incident_id, host, host_incident)"
                " DO UPDATE SET status = excluded.status, body = excluded.body,"
                " updated = now()",
                (fleet_id, change.host, inc.id, status, json.dumps(incident_dict(inc))),
            )
            adopted = False
            for notifier, thread in change.fallback.items():
                # The host's own root, posted while the store was away, becomes the fleet
                # incident's: no second root.
                cur.execute(
                    "INSERT INTO lw_threads (incident_id, notifier, channel, ts, adopted_from)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (fleet_id, notifier, thread.channel, thread.ts, change.host),
                )
                adopted = adopted or cur.rowcount == 1
            kind = self._settle(cur, fleet_id, min_hosts=min_hosts)
            if kind is not None:
                self._queue(cur, fleet_id, kind, change.notifiers)
            return Applied(
                incident_id=fleet_id, queued=kind is not None, replay=False, adopted=adopted
            )

    def _incident_for(
        self, cur: psycopg.Cursor[Any], change: HostChange, *, reopen_window_s: float
    ) -> str:
        """The fleet incident a host's incident belongs to: the one it joined, the open one
        on its (category, target), a recently resolved one (reopened), or a new one."""
        inc = change.incident
        joined = self._joined(cur, change)
        if joined is not None and (joined[1] == "open" or inc.status != "open"):
            return joined[0]
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

    def _joined(self, cur: psycopg.Cursor[Any], change: HostChange) -> tuple[str, str] | None:
        """(id, status) of the fleet incident the host's incident last went to, if any."""
        cur.execute(
            "SELECT i.id, i.status FROM lw_contributions c JOIN lw_incidents i"
            " ON i.id = c.incident_id WHERE c.host = %s AND c.host_incident = %s"
            " ORDER BY i.opened_at DESC LIMIT 1",
            (change.host, change.incident.id),
        )
        row = cur.fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

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
                # An update nobody has picked up yet says the same as this one will (it is
                # rendered when claimed). FOR UPDATE waits for a claim of it in flight and
                # then sees its attempt: that one read the hosts before this change, so
                # this change gets its own row.
                cur.execute(
                    "SELECT 1 FROM lw_outbox WHERE incident_id = %s AND notifier = %s"
                    " AND kind = 'updated' AND status = 'pending' AND attempts = 0"
                    " FOR UPDATE",
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
