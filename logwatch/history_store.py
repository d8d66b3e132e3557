"""Read-only queries of the agent's state database, for `logwatch report`: incidents and the
changes the outbox recorded, with where each notifier's delivery stands. Opens its own
read-only connection (the agent may be writing) and never migrates or writes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from logwatch.errors import StateError
from logwatch.model import Change, Incident
from logwatch.store import MIGRATIONS, incident_from_json


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
