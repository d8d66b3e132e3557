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


@pytest.mark.parametrize("side_files", [False, True], ids=["rm-db", "rm-db-wal-shm"])
def test_a_deleted_state_is_rebuilt_whole_at_the_next_commit(
    tmp_path: Path, side_files: bool, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    follower = StateStore(path)  # the delivery thread's connection
    try:
        [first] = batch(store, 10)
        store.save_thread("inc-1", "slack", "C123", "1700000000.000100")
        path.unlink()
        if side_files:
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink()
        assert not path.exists()
        follower.mark(first, "slack", "pending", error="still down")  # the old file, still
        [second] = batch(store, 20, "updated")  # the commit notices, and rebuilds first
        assert path.exists()
        assert caplog.text.count("was deleted while the agent ran") == 1

        fresh = sqlite3.connect(path)
        try:
            tables = {
                t: fresh.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("cursors", "incidents", "outbox", "deliveries", "threads", "meta")
            }
        finally:
            fresh.close()
        assert tables == {"cursors": 1, "incidents": 1, "outbox": 2, "deliveries": 2,
                          "threads": 1, "meta": 2}  # fmt: skip
        # The follower uses the rebuilt file from its next use on.
        assert [r.id for r in follower.pending("slack", now=T0)] == [first, second]
        assert follower.thread("inc-1", "slack") == ("C123", "1700000000.000100")
        assert [c.offset for c in follower.cursors()] == [20]
        assert store.grouper_state() == {"live": []}
    finally:
        follower.close()
        store.close()


def test_a_deleted_state_behind_a_symlink_is_rebuilt_where_the_link_leads(tmp_path: Path) -> None:
    real = tmp_path / "disk" / "state.db"
    real.parent.mkdir()
    StateStore(real).close()
    link = tmp_path / "state.db"
    link.symlink_to(real)
    store = StateStore(link)
    try:
        batch(store, 10)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{real}{suffix}").unlink()
        batch(store, 20, "updated")
        assert link.is_symlink() and real.is_file()  # the link kept, its file rebuilt
        assert [c.offset for c in store.cursors()] == [20]
        assert Path(f"{real}-wal").exists() and not Path(f"{link}-wal").exists()
    finally:
        store.close()
