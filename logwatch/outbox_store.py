"""The outbox half of the state store: rows owed per notifier, attempts, outcomes, threads.

StateStore mixes this in and owns the connection; the main loop writes outbox rows in the
batch commit (store.py), the delivery side reads them and records what became of each.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from logwatch.impact import impact_from_json
from logwatch.model import Incident, Severity
from logwatch.oncall import ack_from_json, silence_from_json

#: How long after its client stopped waiting (its timeout) a request may still land. An
#: attempt whose answer never came (killed mid-send, timed out) is not tried again before
#: `timeout + IN_FLIGHT_S` from its start: by then it has surely settled, and a look-up
#: tells whether it landed.
IN_FLIGHT_S = 15.0


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
    created: datetime | None = None  # when the loop committed it


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
        jobs=impact_from_json(data.get("jobs")),
        # Absent from the bodies older versions wrote.
        active_s=_active_s(data),
        outage="" if data.get("outage") in (None, data["id"]) else str(data["outage"]),
        probed_at=datetime.fromisoformat(probed) if (probed := data.get("probed_at")) else None,
        recovery=data.get("recovery", ""),
        ack=ack_from_json(data.get("acknowledged")),
        silence=silence_from_json(data.get("silenced")),
    )


def _active_s(data: dict[str, Any]) -> float | None:
    """Active seconds; None (the whole span) when absent or the same as the span."""
    active = data.get("active_s")
    if active is None or active == data.get("duration_s"):
        return None
    return float(active)


class OutboxQueries:
    """Outbox reads and writes over the store's checked connection (see StateStore)."""

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError  # StateStore._rows

    def transaction(self, *, restore: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (StateStore.transaction)."""
        raise NotImplementedError

    def pending(self, notifier: str, *, now: datetime, limit: int = 50) -> list[OutboxRow]:
        """Rows this notifier has not delivered and may try now, oldest first."""
        rows = self._rows(
            "SELECT o.id, o.incident_id, o.kind, o.at, o.body, d.attempts, d.inflight, o.created"
            " FROM outbox o"
            " JOIN deliveries d ON d.outbox_id = o.id"
            " WHERE d.notifier = ? AND d.status = 'pending'"
            " AND (d.next_attempt IS NULL OR d.next_attempt <= ?)"
            " ORDER BY o.id LIMIT ?",
            (notifier, now.isoformat(), limit),
        )
        return [
            OutboxRow(
                id=r[0],
                incident_id=r[1],
                kind=r[2],
                at=datetime.fromisoformat(r[3]),
                incident=incident_from_json(json.loads(r[4])),
                attempts=r[5],
                uncertain=bool(r[6]),
                created=datetime.fromisoformat(r[7]),
            )
            for r in rows
        ]

    def first_pending(self, notifier: str) -> dict[str, int]:
        """Per incident, the oldest row this notifier still owes, due or not.

        Only that row may be sent: a later change must never overtake an earlier one that
        waits for its retry (a "resolved" posted before its "opened").
        """
        rows = self._rows(
            "SELECT o.incident_id, MIN(o.id) FROM outbox o JOIN deliveries d ON d.outbox_id = o.id"
            " WHERE d.notifier = ? AND d.status = 'pending' GROUP BY o.incident_id",
            (notifier,),
        )
        return {r[0]: r[1] for r in rows}

    def begin_attempt(
        self, outbox_id: int, notifier: str, *, now: datetime, settle_s: float = IN_FLIGHT_S
    ) -> None:
        """Record an attempt before it is made. A kill during the send leaves it in flight:
        after a restart it waits until the request has settled (`settle_s` from `now`:
        the notifier's timeout plus IN_FLIGHT_S), then checks whether it landed."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, inflight = 1, next_attempt = ?"
                " WHERE outbox_id = ? AND notifier = ?",
                ((now + timedelta(seconds=settle_s)).isoformat(), outbox_id, notifier),
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
        rows = self._rows(
            "SELECT o.incident_id, d.notifier, d.error FROM deliveries d"
            " JOIN outbox o ON o.id = d.outbox_id WHERE d.status = 'failed'"
            " ORDER BY o.id DESC LIMIT ?",
            (limit,),
        )
        return [(r[0], r[1], r[2] or "") for r in rows]

    def delivered_before(self, incident_id: str, notifier: str, row_id: int) -> Incident | None:
        """The incident as this notifier last delivered it before outbox row `row_id`."""
        rows = self._rows(
            "SELECT o.body FROM outbox o JOIN deliveries d ON d.outbox_id = o.id"
            " WHERE o.incident_id = ? AND d.notifier = ? AND d.status = 'sent' AND o.id < ?"
            " ORDER BY o.id DESC LIMIT 1",
            (incident_id, notifier, row_id),
        )
        return incident_from_json(json.loads(rows[0][0])) if rows else None

    def outage_members(self, outage_id: str) -> list[Incident]:
        """The incidents of one outage (one thread) as last committed: its root and those
        linked to it."""
        rows = self._rows(
            "SELECT body FROM incidents WHERE id = ? OR json_extract(body, '$.outage') = ?",
            (outage_id, outage_id),
        )
        return [incident_from_json(json.loads(r[0])) for r in rows]

    def notified(self, incident_id: str, notifiers: list[str]) -> bool:
        """True when a change of the incident was delivered, or is owed, to one of these."""
        if not notifiers:
            return False
        marks = ", ".join("?" for _ in notifiers)
        rows = self._rows(
            "SELECT 1 FROM outbox o JOIN deliveries d ON d.outbox_id = o.id WHERE"
            f" o.incident_id = ? AND d.notifier IN ({marks}) AND d.status != 'failed' LIMIT 1",
            (incident_id, *notifiers),
        )
        return bool(rows)

    def last_notified(self, incident_id: str, kinds: tuple[str, ...]) -> datetime | None:
        """When the latest outbox row of these kinds for the incident was written."""
        marks = ", ".join("?" for _ in kinds)
        rows = self._rows(
            f"SELECT MAX(created) FROM outbox WHERE incident_id = ? AND kind IN ({marks})",
            (incident_id, *kinds),
        )
        return datetime.fromisoformat(rows[0][0]) if rows and rows[0][0] else None

    def outbox_depth(self) -> list[tuple[str, int, int, datetime | None]]:
        """Per notifier: (name, rows owed, rows failed for good, when the oldest owed row
        was committed)."""
        rows = self._rows(
            "SELECT d.notifier, SUM(d.status = 'pending'), SUM(d.status = 'failed'),"
            " MIN(CASE WHEN d.status = 'pending' THEN o.created END)"
            " FROM deliveries d JOIN outbox o ON o.id = d.outbox_id"
            " WHERE d.status IN ('pending', 'failed') GROUP BY d.notifier ORDER BY d.notifier"
        )
        return [
            (r[0], int(r[1] or 0), int(r[2] or 0), datetime.fromisoformat(r[3]) if r[3] else None)
            for r in rows
        ]

    def failing_notifiers(self) -> dict[str, str]:
        """Notifiers whose latest finished delivery failed for good, with its error: an
        alert sent after a failure that went through clears it."""
        rows = self._rows(
            "SELECT d.notifier, d.status, d.error FROM deliveries d JOIN ("
            " SELECT notifier, MAX(outbox_id) AS last FROM deliveries"
            " WHERE status IN ('sent', 'failed') GROUP BY notifier"
            ") l ON l.notifier = d.notifier AND l.last = d.outbox_id"
        )
        return {r[0]: r[2] or "failed" for r in rows if r[1] == "failed"}

    def thread(self, incident_id: str, notifier: str) -> tuple[str, str] | None:
        """(channel, ts) of an incident's root message for a notifier."""
        rows = self._rows(
            "SELECT channel, ts FROM threads WHERE incident_id = ? AND notifier = ?",
            (incident_id, notifier),
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def save_thread(self, incident_id: str, notifier: str, channel: str, ts: str) -> None:
        """Remember an incident's root message, so updates thread under it after restarts."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO threads (incident_id, notifier, channel, ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (incident_id, notifier) DO UPDATE SET channel=excluded.channel,"
                " ts=excluded.ts",
                (incident_id, notifier, channel, ts),
            )
