"""The agent's state in sqlite (WAL): file cursors, incidents, grouper state and the outbox.

Everything a batch changes commits in one transaction, after complete records only: a
crash re-reads at most the uncommitted batch and never loses or repeats an incident or a
notification. The schema is versioned with PRAGMA user_version and migrated forward.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from logwatch.errors import StateError
from logwatch.model import Change, Incident, Severity
from logwatch.report import incident_dict

MIGRATIONS: tuple[str, ...] = (
    # 1: cursors, incidents, grouper snapshot, outbox
    """
    CREATE TABLE cursors (
        dev INTEGER NOT NULL, ino INTEGER NOT NULL,
        head_len INTEGER NOT NULL, head TEXT NOT NULL,
        path TEXT NOT NULL, offset INTEGER NOT NULL, line INTEGER NOT NULL,
        updated TEXT NOT NULL,
        PRIMARY KEY (dev, ino)
    );
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY, category TEXT NOT NULL, target TEXT NOT NULL,
        status TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
        body TEXT NOT NULL, created TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        outbox_id INTEGER NOT NULL, notifier TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT, error TEXT,
        PRIMARY KEY (outbox_id, notifier)
    );
    CREATE TABLE threads (
        incident_id TEXT NOT NULL, notifier TEXT NOT NULL,
        channel TEXT NOT NULL, ts TEXT NOT NULL,
        PRIMARY KEY (incident_id, notifier)
    );
    """,
    # 2: an attempt whose answer never came (killed mid-send, timed out) is remembered, so
    # the next attempt can check whether it landed before sending again
    """
    ALTER TABLE deliveries ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0;
    """,
)

IN_FLIGHT_S = 15.0  # a killed attempt is not retried before its request has surely settled


@dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """Where reading of one file resumes: its identity, and the offset of the next record."""

    dev: int
    ino: int
    head_len: int  # how many leading bytes the head digest covers
    head: str  # hex digest of those bytes: tells a rewritten file from the one we read
    path: str
    offset: int
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRow:
    """A notification waiting to be delivered (or delivered) to one notifier."""

    id: int
    incident_id: str
    kind: str
    at: datetime
    incident: Incident
    attempts: int = 0
    uncertain: bool = False  # an earlier attempt got no answer: it may have been delivered


def incident_from_json(data: dict[str, Any]) -> Incident:
    """An Incident from its JSON form (report.incident_dict, the contract's INCIDENT)."""
    resolved = data.get("resolved_at")
    return Incident(
        id=data["id"],
        category=data["category"],
        target=data["target"],
        severity=Severity.parse(data["severity"]),
        status="open" if data["status"] == "open" else "resolved",
        first_seen=datetime.fromisoformat(data["first_seen"]),
        last_seen=datetime.fromisoformat(data["last_seen"]),
        events=int(data["events"]),
        signatures=dict(data.get("signatures", {})),
        sources=dict(data.get("sources", {})),
        rules=dict(data.get("rules", {})),
        samples=tuple(data.get("samples", ())),
        hint=data.get("hint", ""),
        resolved_at=datetime.fromisoformat(resolved) if resolved else None,
        reopened=int(data.get("reopened", 0)),
        linked=tuple(data.get("linked", ())),
        diagnosis=data.get("diagnosis", ""),
    )


def default_state_path(env: dict[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/logwatch/state.db (~/.local/state/logwatch/state.db)."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "logwatch" / "state.db"


class StateStore:
    """The sqlite state; each thread that uses it opens its own StateStore."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            new = not path.exists()
            self._db = sqlite3.connect(path, timeout=2.0, isolation_level=None)
            if new:
                os.chmod(path, 0o600)  # incidents hold log excerpts: not world-readable
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=2000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: cannot open state database: {exc}") from None
        except OSError as exc:
            raise StateError(f"{path}: cannot open state database: {exc.strerror}") from None

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise StateError(
                f"{self.path}: state schema version {version} is newer than this logwatch"
                f" ({len(MIGRATIONS)}); upgrade logwatch or use another --state file"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(f"{self.path}: state database is locked or unusable: {exc}") from None
        try:
            yield self._db
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            # Disk full, I/O error: nothing of the batch is kept; the caller retries it.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise StateError(f"{self.path}: cannot write state: {exc}") from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    # -- cursors -------------------------------------------------------------------------

    def cursors(self) -> list[Cursor]:
        """Every saved cursor."""
        rows = self._db.execute(
            "SELECT dev, ino, head_len, head, path, offset, line FROM cursors"
        ).fetchall()
        return [
            Cursor(dev=r[0], ino=r[1], head_len=r[2], head=r[3], path=r[4], offset=r[5], line=r[6])
            for r in rows
        ]

    # -- the batch commit ----------------------------------------------------------------

    def commit_batch(
        self,
        *,
        cursors: Iterable[Cursor],
        forget: Iterable[tuple[int, int]] = (),
        changes: Iterable[Change],
        incidents: Iterable[Incident],
        grouper_state: dict[str, Any] | None,
        notifiers: Iterable[str],
        now: datetime,
    ) -> list[int]:
        """Cursors, incident rows, grouper snapshot and outbox rows in one transaction."""
        names = list(notifiers)
        ids: list[int] = []
        stamp = now.isoformat()
        with self.transaction() as db:
            for c in cursors:
                db.execute(
                    "INSERT INTO cursors (dev, ino, head_len, head, path, offset, line, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dev, ino) DO UPDATE SET"
                    " head_len=excluded.head_len, head=excluded.head, path=excluded.path,"
                    " offset=excluded.offset, line=excluded.line, updated=excluded.updated",
                    (c.dev, c.ino, c.head_len, c.head, c.path, c.offset, c.line, stamp),
                )
            for dev, ino in forget:
                db.execute("DELETE FROM cursors WHERE dev = ? AND ino = ?", (dev, ino))
            for incident in incidents:
                self._save_incident(db, incident)
            for change in changes:
                body = json.dumps(incident_dict(change.incident))
                cur = db.execute(
                    "INSERT INTO outbox (incident_id, kind, at, body, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (change.incident.id, change.kind, change.at.isoformat(), body, stamp),
                )
                row_id = int(cur.lastrowid or 0)
                ids.append(row_id)
                for name in names:
                    db.execute(
                        "INSERT INTO deliveries (outbox_id, notifier, status)"
                        " VALUES (?, ?, 'pending')",
                        (row_id, name),
                    )
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('committed_at', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (stamp,),
            )
            if grouper_state is not None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('grouper', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (json.dumps(grouper_state),),
                )
        return ids

    def _save_incident(self, db: sqlite3.Connection, incident: Incident) -> None:
        db.execute(
            "INSERT INTO incidents (id, category, target, status, first_seen, last_seen, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " category=excluded.category, target=excluded.target, status=excluded.status,"
            " first_seen=excluded.first_seen, last_seen=excluded.last_seen, body=excluded.body",
            (
                incident.id,
                incident.category,
                incident.target,
                incident.status,
                incident.first_seen.isoformat(),
                incident.last_seen.isoformat(),
                json.dumps(incident_dict(incident)),
            ),
        )

    def last_commit(self) -> datetime | None:
        """When the agent last committed a batch (None: it never ran on this state)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'committed_at'").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def grouper_state(self) -> dict[str, Any] | None:
        """The grouper snapshot of the last commit, if any."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'grouper'").fetchone()
        return json.loads(row[0]) if row else None

    def incidents(self, *, status: str | None = None, limit: int = 100) -> list[Incident]:
        """Incidents, newest first."""
        sql = "SELECT body FROM incidents"
        args: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY first_seen DESC LIMIT ?"
        rows = self._db.execute(sql, (*args, limit)).fetchall()
        return [incident_from_json(json.loads(r[0])) for r in rows]

    # -- outbox --------------------------------------------------------------------------

    def pending(self, notifier: str, *, now: datetime, limit: int = 50) -> list[OutboxRow]:
        """Rows this notifier has not delivered and may try now, oldest first."""
        rows = self._db.execute(
            "SELECT o.id, o.incident_id, o.kind, o.at, o.body, d.attempts, d.inflight"
            " FROM outbox o"
            " JOIN deliveries d ON d.outbox_id = o.id"
            " WHERE d.notifier = ? AND d.status = 'pending'"
            " AND (d.next_attempt IS NULL OR d.next_attempt <= ?)"
            " ORDER BY o.id LIMIT ?",
            (notifier, now.isoformat(), limit),
        ).fetchall()
        return [
            OutboxRow(
                id=r[0],
                incident_id=r[1],
                kind=r[2],
                at=datetime.fromisoformat(r[3]),
                incident=incident_from_json(json.loads(r[4])),
                attempts=r[5],
                uncertain=bool(r[6]),
            )
            for r in rows
        ]

    def first_pending(self, notifier: str) -> dict[str, int]:
        """Per incident, the oldest row this notifier still owes, due or not.

        Only that row may be sent: a later change must never overtake an earlier one that
        waits for its retry (a "resolved" posted before its "opened").
        """
        rows = self._db.execute(
            "SELECT o.incident_id, MIN(o.id) FROM outbox o JOIN deliveries d ON d.outbox_id = o.id"
            " WHERE d.notifier = ? AND d.status = 'pending' GROUP BY o.incident_id",
            (notifier,),
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def begin_attempt(self, outbox_id: int, notifier: str, *, now: datetime) -> None:
        """Record an attempt before it is made. A kill during the send leaves it in flight:
        after a restart it waits IN_FLIGHT_S, then checks whether it landed."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, inflight = 1, next_attempt = ?"
                " WHERE outbox_id = ? AND notifier = ?",
                ((now + timedelta(seconds=IN_FLIGHT_S)).isoformat(), outbox_id, notifier),
            )

    def mark(
        self,
        outbox_id: int,
        notifier: str,
        status: str,
        *,
        error: str | None = None,
        next_attempt: datetime | None = None,
        uncertain: bool = False,
    ) -> None:
        """Record a delivery outcome: 'sent', 'failed', or 'pending' with a next attempt."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = ?, error = ?, inflight = ?,"
                " next_attempt = ? WHERE outbox_id = ? AND notifier = ?",
                (
                    status,
                    error,
                    int(uncertain),
                    next_attempt.isoformat() if next_attempt else None,
                    outbox_id,
                    notifier,
                ),
            )

    def failures(self, limit: int = 20) -> list[tuple[str, str, str]]:
        """(incident id, notifier, error) of deliveries that failed for good."""
        rows = self._db.execute(
            "SELECT o.incident_id, d.notifier, d.error FROM deliveries d"
            " JOIN outbox o ON o.id = d.outbox_id WHERE d.status = 'failed'"
            " ORDER BY o.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [(r[0], r[1], r[2] or "") for r in rows]

    def thread(self, incident_id: str, notifier: str) -> tuple[str, str] | None:
        """(channel, ts) of an incident's root message for a notifier."""
        row = self._db.execute(
            "SELECT channel, ts FROM threads WHERE incident_id = ? AND notifier = ?",
            (incident_id, notifier),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def save_thread(self, incident_id: str, notifier: str, channel: str, ts: str) -> None:
        """Remember an incident's root message, so updates thread under it after restarts."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO threads (incident_id, notifier, channel, ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (incident_id, notifier) DO UPDATE SET channel=excluded.channel,"
                " ts=excluded.ts",
                (incident_id, notifier, channel, ts),
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Notified:
    """An incident change from the outbox, and where each notifier's delivery stands."""

    change: Change
    deliveries: dict[str, str]  # notifier -> pending, sent, failed (with its error)


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to a state database (the agent may be writing it)."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
        (version,) = db.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot read state database: {exc}") from None
    if version != len(MIGRATIONS):
        db.close()
        raise StateError(
            f"{path}: state schema version {version}, this logwatch reads {len(MIGRATIONS)}:"
            " run the agent of this version on it once, or use the matching logwatch"
        )
    return db


def incidents_since(db: sqlite3.Connection, since: datetime) -> list[Incident]:
    """Incidents whose last event is at or after `since`, oldest first (read-only)."""
    rows = db.execute("SELECT body FROM incidents").fetchall()
    found = [incident_from_json(json.loads(r[0])) for r in rows]
    return sorted((i for i in found if i.last_seen >= since), key=lambda i: (i.first_seen, i.id))


def changes_since(db: sqlite3.Connection, since: datetime) -> list[Notified]:
    """Outbox rows (incident changes) at or after `since`, oldest first, with their
    deliveries (read-only)."""
    rows = db.execute("SELECT id, kind, at, body FROM outbox ORDER BY id").fetchall()
    deliveries: dict[int, dict[str, str]] = {}
    for outbox_id, notifier, status, error in db.execute(
        "SELECT outbox_id, notifier, status, error FROM deliveries"
    ):
        deliveries.setdefault(outbox_id, {})[notifier] = (
            f"{status}: {error}" if status == "failed" and error else status
        )
    found = []
    for outbox_id, kind, at, body in rows:
        when = datetime.fromisoformat(at)
        if when < since or kind not in ("opened", "updated", "resolved"):
            continue
        change = Change(kind=kind, at=when, incident=incident_from_json(json.loads(body)))
        found.append(Notified(change=change, deliveries=deliveries.get(outbox_id, {})))
    return sorted(found, key=lambda n: n.change.at)
