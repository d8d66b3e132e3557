"""The sqlite state: versioned schema, one-transaction batches, failures that lose nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logwatch.errors import StateError
from logwatch.model import Change, Incident, Severity
from logwatch.store import MIGRATIONS, Cursor, StateStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def incident(events: int = 2) -> Incident:
    return Incident(
        id="inc-1", category="connection", target="redis:6379", severity=Severity.CRITICAL,
        status="open", first_seen=T0, last_seen=T0, events=events, signatures={"s": events},
        sources={"app.log": events}, rules={"connection-refused": events}, samples=("x",),
        hint="restart",
    )  # fmt: skip


def batch(store: StateStore, offset: int, kind: str = "opened") -> list[int]:
    inc = incident()
    return store.commit_batch(
        cursors=[Cursor(dev=1, ino=2, head_len=4, head="h", path="app.log", offset=offset, line=3)],
        changes=[Change(kind=kind, at=T0, incident=inc)],  # type: ignore[arg-type]
        incidents=[inc],
        grouper_state={"live": []},
        notifiers=["slack"],
        now=T0,
    )


def test_schema_is_versioned_and_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")  # a version-1 database
    db.close()
    store = StateStore(path)
    try:
        (version,) = store._file.connection().execute("PRAGMA user_version").fetchone()
        assert version == len(MIGRATIONS)
        batch(store, 10)
        assert [r.uncertain for r in store.pending("slack", now=T0)] == [False]
    finally:
        store.close()


def test_newer_schema_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(StateError, match="newer than this logwatch"):
        StateStore(path)


def test_failed_commit_keeps_nothing_and_a_retry_succeeds(tmp_path: Path) -> None:
    """Disk full while committing: the batch is refused whole and can be retried."""
    store = StateStore(tmp_path / "state.db")
    try:
        batch(store, 10)
        store._file.connection().execute(
            "PRAGMA query_only = 1"
        )  # every write now fails, like a full disk
        with pytest.raises(StateError, match=r"state\.db"):
            batch(store, 20, "updated")
        store._file.connection().execute("PRAGMA query_only = 0")
        assert [c.offset for c in store.cursors()] == [10]  # nothing of the failed batch
        assert len(store.pending("slack", now=T0)) == 1
        batch(store, 20, "updated")
        assert [c.offset for c in store.cursors()] == [20]
        assert [r.kind for r in store.pending("slack", now=T0)] == ["opened", "updated"]
    finally:
        store.close()


def test_only_the_oldest_pending_row_of_an_incident_may_go(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    try:
        first = batch(store, 1)[0]
        batch(store, 2, "resolved")
        assert store.first_pending("slack") == {"inc-1": first}
        store.mark(first, "slack", "sent")
        assert store.first_pending("slack") == {"inc-1": first + 1}
    finally:
        store.close()
