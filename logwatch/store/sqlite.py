"""The sqlite backend (WAL): file cursors, incidents, grouper state and the outbox.

Everything a batch changes commits in one transaction, after complete records only: a
crash re-reads at most the uncommitted batch and never loses or repeats an incident or a
notification. The schema is versioned with PRAGMA user_version and migrated forward.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from logwatch.errors import StateError
from logwatch.model import Change, Incident
from logwatch.oncall_store import ONCALL_SCHEMA, OnCallQueries
from logwatch.outbox_store import IN_FLIGHT_S, OutboxQueries, OutboxRow, incident_from_json
from logwatch.report import incident_dict
from logwatch.statefile import StateFile

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
    # 3: silences and acknowledgements (oncall_store.py), shared by every process on the file
    ONCALL_SCHEMA,
)


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


__all__ = [
    "IN_FLIGHT_S",
    "MIGRATIONS",
    "Cursor",
    "OutboxRow",
    "StateStore",
    "default_state_path",
    "incident_from_json",
]


def default_state_path(env: dict[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/logwatch/state.db (~/.local/state/logwatch/state.db)."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "logwatch" / "state.db"


class StateStore(OutboxQueries, OnCallQueries):
    """The sqlite state; each thread that uses it opens its own StateStore."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = StateFile(path)  # created private, checked sound and writable
        try:
            self._migrate()
        except BaseException:
            self._file.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self._file.close()

    def check_file(self) -> None:
        """The file still at its path and writable; rebuilt there now if it was deleted.

        A commit does the same; this is for a loop with nothing to commit for a while, so
        that a kill before its next commit does not find the state gone.
        """
        self._file.connection(restore=True)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """A read; a database that fails under it is a StateError, not a traceback."""
        try:
            return self._file.connection().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: cannot read state: {exc}") from None

    def _migrate(self) -> None:
        ((version,),) = self._rows("PRAGMA user_version")
        if version > len(MIGRATIONS):
            raise StateError(
                f"{self.path}: state schema version {version} is newer than this logwatch"
                f" ({len(MIGRATIONS)}); upgrade logwatch or use another --state file"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self, *, restore: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

        `restore`: the caller commits the agent's batches, so if the file was deleted it
        writes the whole database to a fresh file at the path first (statefile.StateFile).
        """
        db = self._file.connection(restore=restore)
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(f"{self.path}: state database is locked or unusable: {exc}") from None
        try:
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            # Disk full, I/O error: nothing of the batch is kept; the caller retries it.
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise StateError(f"{self.path}: cannot write state: {exc}") from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    # -- cursors -------------------------------------------------------------------------

    def cursors(self) -> list[Cursor]:
        """Every saved cursor."""
        rows = self._rows("SELECT dev, ino, head_len, head, path, offset, line FROM cursors")
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
        deliver_to: Callable[[Change], Iterable[str]] | None = None,
    ) -> list[int]:
        """Cursors, incident rows, grouper snapshot and outbox rows in one transaction.

        `deliver_to` picks the notifiers of each change (a silenced incident's change goes
        to the local record only); default: all of `notifiers`.
        """
        names = list(notifiers)
        ids: list[int] = []
        stamp = now.isoformat()
        with self.transaction(restore=True) as db:
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
                for name in names if deliver_to is None else deliver_to(change):
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
        rows = self._rows("SELECT value FROM meta WHERE key = 'committed_at'")
        return datetime.fromisoformat(rows[0][0]) if rows else None

    def save_meta(self, key: str, value: str) -> None:
        """One value of the meta table in its own transaction (the agent's health)."""
        with self.transaction(restore=True) as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def meta(self, key: str) -> str | None:
        """One value of the meta table (None: never saved)."""
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def grouper_state(self) -> dict[str, Any] | None:
        """The grouper snapshot of the last commit, if any."""
        rows = self._rows("SELECT value FROM meta WHERE key = 'grouper'")
        return json.loads(rows[0][0]) if rows else None

    def incidents(self, *, status: str | None = None, limit: int = 100) -> list[Incident]:
        """Incidents, newest first."""
        sql = "SELECT body FROM incidents"
        args: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY first_seen DESC LIMIT ?"
        rows = self._rows(sql, (*args, limit))
        return [incident_from_json(json.loads(r[0])) for r in rows]
