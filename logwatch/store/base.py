"""What the agent's loop needs from a state store, whichever backend holds it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from logwatch.model import Change, Incident

if TYPE_CHECKING:
    from logwatch.store.sqlite import Cursor


class AgentStore(Protocol):
    """Cursors, incidents, the grouper snapshot and the outbox, committed together."""

    def cursors(self) -> list[Cursor]:
        """Every saved file cursor."""
        ...

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
        """One batch in one transaction; returns the new outbox row ids."""
        ...

    def last_commit(self) -> datetime | None:
        """When the agent last committed (None: never)."""
        ...

    def grouper_state(self) -> dict[str, Any] | None:
        """The grouper snapshot of the last commit."""
        ...

    def save_meta(self, key: str, value: str) -> None:
        """One value about the agent's health."""
        ...

    def incidents(self, *, status: str | None = None, limit: int = 100) -> list[Incident]:
        """Incidents, newest first."""
        ...

    def check_file(self) -> None:
        """The store is still where it was (a deleted sqlite file is rebuilt)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
