"""Active time of an incident: the sum of its open stretches, not the span of its events.

An incident that resolves and reopens (Redis down 32 s, up 3 min, down 21 s) was active
53 s, not 3 min 53 s: the healthy gap between the two outages is not part of it. A
stretch runs from the first event of an opening to the last event before it resolved.
Pure: times are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class ActiveTime:
    """Seconds of the closed stretches, and when the current (or last) stretch began."""

    closed_s: float
    since: datetime  # first event of the current stretch (or of the last one, once resolved)
    open: bool = True

    def close(self, last_seen: datetime) -> None:
        """The incident resolved: its stretch ends at its last event."""
        if self.open:
            self.closed_s += max(0.0, (last_seen - self.since).total_seconds())
            self.open = False

    def reopen(self, first: datetime) -> None:
        """Events are back: a new stretch begins at the first of them."""
        if not self.open:
            self.since = first
            self.open = True

    def total_s(self, last_seen: datetime) -> float:
        """Active seconds as of the incident's last event."""
        running = (last_seen - self.since).total_seconds() if self.open else 0.0
        return self.closed_s + max(0.0, running)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the grouper snapshot."""
        return {"closed_s": self.closed_s, "since": self.since.isoformat(), "open": self.open}

    @classmethod
    def restore(
        cls, data: Mapping[str, Any] | None, *, first_seen: datetime, last_seen: datetime,
        status: str,
    ) -> ActiveTime:  # fmt: skip
        """From a snapshot; an older snapshot (no key) counts the whole span as one stretch."""
        if data:
            return cls(
                closed_s=float(data["closed_s"]),
                since=datetime.fromisoformat(data["since"]),
                open=bool(data["open"]),
            )
        active = cls(closed_s=0.0, since=first_seen)
        if status != "open":
            active.close(last_seen)
        return active
