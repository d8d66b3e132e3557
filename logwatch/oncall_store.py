"""Silences and acknowledgements in the state store (StateStore mixes this in).

They live beside the incidents, not in the agent's memory: `logwatch silence add` run in
another process, and a button pressed in Slack, reach the agent through the store, and a
restart keeps them.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from logwatch.oncall import Ack, Silence

#: Schema of migration 3 (store.MIGRATIONS).
ONCALL_SCHEMA = """
    CREATE TABLE silences (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_by TEXT NOT NULL,
        reason TEXT NOT NULL, starts TEXT NOT NULL, ends TEXT,
        category TEXT, target TEXT, incident_id TEXT,
        created TEXT NOT NULL, expired TEXT, expired_by TEXT
    );
    CREATE TABLE acks (
        incident_id TEXT PRIMARY KEY, created_by TEXT NOT NULL, at TEXT NOT NULL
    );
    CREATE INDEX incidents_outage ON incidents (json_extract(body, '$.outage'));
"""

_COLUMNS = "id, kind, created_by, reason, starts, ends, category, target, incident_id"


def new_silence_id() -> str:
    """`sil-3f2a9c01`: short enough to type in `logwatch silence expire`."""
    return "sil-" + secrets.token_hex(4)


def _silence(row: tuple[Any, ...]) -> Silence:
    return Silence(
        id=row[0],
        kind=row[1],
        by=row[2],
        reason=row[3],
        starts=datetime.fromisoformat(row[4]),
        ends=datetime.fromisoformat(row[5]) if row[5] else None,
        category=row[6],
        target=row[7],
        incident=row[8],
    )


class OnCallQueries:
    """Silence and acknowledgement reads and writes over the store's connection."""

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError  # StateStore._rows

    def transaction(self, *, restore: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (StateStore.transaction)."""
        raise NotImplementedError

    def add_silence(self, silence: Silence, *, now: datetime) -> None:
        """Record a silence."""
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO silences ({_COLUMNS}, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    silence.id,
                    silence.kind,
                    silence.by,
                    silence.reason,
                    silence.starts.isoformat(),
                    silence.ends.isoformat() if silence.ends else None,
                    silence.category,
                    silence.target,
                    silence.incident,
                    now.isoformat(),
                ),
            )

    def silences(self, *, now: datetime, expired: bool = False) -> list[Silence]:
        """Silences in force or still to come at `now` (and, with `expired`, those over)."""
        rows = self._rows(f"SELECT {_COLUMNS}, expired FROM silences ORDER BY starts, id")
        found = []
        for row in rows:
            over = row[9] is not None or (row[5] is not None and row[5] <= now.isoformat())
            if expired or not over:
                found.append(_silence(row))
        return found

    def silence(self, silence_id: str) -> tuple[Silence, str | None] | None:
        """A silence by id, with when it was expired by hand (None: it was not)."""
        rows = self._rows(f"SELECT {_COLUMNS}, expired FROM silences WHERE id = ?", (silence_id,))
        return (_silence(rows[0]), rows[0][9]) if rows else None

    def expire_silences(self, ids: Iterable[str], *, now: datetime, by: str) -> list[str]:
        """End silences now; returns the ids that were still in force."""
        ended = []
        with self.transaction() as db:
            for silence_id in ids:
                cur = db.execute(
                    "UPDATE silences SET expired = ?, expired_by = ?"
                    " WHERE id = ? AND expired IS NULL AND (ends IS NULL OR ends > ?)",
                    (now.isoformat(), by, silence_id, now.isoformat()),
                )
                if cur.rowcount:
                    ended.append(silence_id)
        return ended

    def add_ack(self, incident_id: str, ack: Ack) -> bool:
        """Record an acknowledgement; the first one stands. True if it is new."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO acks (incident_id, created_by, at) VALUES (?, ?, ?)"
                " ON CONFLICT (incident_id) DO NOTHING",
                (incident_id, ack.by, ack.at.isoformat()),
            )
            return bool(cur.rowcount)

    def acks(self, incident_ids: Iterable[str]) -> dict[str, Ack]:
        """The acknowledgements of these incidents."""
        ids = list(incident_ids)
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self._rows(
            f"SELECT incident_id, created_by, at FROM acks WHERE incident_id IN ({marks})",
            tuple(ids),
        )
        return {r[0]: Ack(by=r[1], at=datetime.fromisoformat(r[2])) for r in rows}
