"""The sqlite state: versioned schema, one-transaction batches, failures that lose nothing."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logwatch.errors import StateError
from logwatch.model import Change, Incident, Severity
from logwatch.store import MIGRATIONS, Cursor, StateStore
from logwatch.store.sqlite import default_state_path

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


# -- a restart reads back what was committed, nothing more, nothing twice --------------


def _incident(id: str, *, status: str = "open", minute: int = 0) -> Incident:
    when = T0.replace(minute=minute)
    return replace(incident(), id=id, status=status, first_seen=when, last_seen=when)  # type: ignore[arg-type]


def _cursor(ino: int, offset: int, *, path: str = "app.log", line: int = 3) -> Cursor:
    return Cursor(dev=1, ino=ino, head_len=4, head=f"h{ino}", path=path, offset=offset, line=line)


def test_a_batch_reads_back_whole_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    assert store.last_commit() is None and store.grouper_state() is None
    assert store.cursors() == [] and store.incidents() == []
    a, b = _incident("inc-a", minute=1), _incident("inc-b", status="resolved", minute=2)
    ids = store.commit_batch(
        cursors=[_cursor(2, 10), _cursor(3, 99, path="worker.log", line=7)],
        changes=[
            Change(kind="opened", at=T0, incident=a),
            Change(kind="resolved", at=T0, incident=b),
        ],
        incidents=[a, b],
        grouper_state={"live": ["x"]},
        notifiers=["slack", "webhook"],
        now=T0.replace(second=30),
        # A silenced incident's change goes to the local record only.
        deliver_to=lambda change: ["slack"] if change.incident.id == "inc-a" else [],
    )
    store.close()

    store = StateStore(path)  # the restart
    try:
        assert sorted(store.cursors(), key=lambda c: c.ino) == [
            _cursor(2, 10),
            _cursor(3, 99, path="worker.log", line=7),
        ]
        assert store.incidents() == [b, a]  # newest first
        assert store.incidents(status="open") == [a]
        assert store.incidents(status="resolved") == [b]
        assert store.incidents(limit=1) == [b]
        assert store.grouper_state() == {"live": ["x"]}
        assert store.last_commit() == T0.replace(second=30)
        [row] = store.pending("slack", now=T0)
        assert (row.id, row.incident_id, row.kind, row.incident) == (ids[0], "inc-a", "opened", a)
        assert row.created == T0.replace(second=30)
        assert store.pending("webhook", now=T0) == []
        assert len(ids) == 2 and ids[0] != ids[1]
    finally:
        store.close()


def test_a_later_batch_moves_cursors_and_incidents_and_forgets_files(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    try:
        a = _incident("inc-a")
        store.commit_batch(
            cursors=[_cursor(2, 10), _cursor(3, 20)], changes=[], incidents=[a],
            grouper_state={"live": [1]}, notifiers=["slack"], now=T0,
        )  # fmt: skip
        moved = Cursor(dev=1, ino=2, head_len=8, head="other", path="app.log.1", offset=50, line=9)
        resolved = replace(a, status="resolved", last_seen=T0.replace(minute=5), events=7)
        store.commit_batch(
            cursors=[moved], forget=[(1, 3), (9, 9)], changes=[], incidents=[resolved],
            grouper_state=None, notifiers=["slack"], now=T0.replace(minute=6),
        )  # fmt: skip
        assert store.cursors() == [moved]  # every field updated; the rotated-away file gone
        assert store.incidents() == [resolved]
        assert store.incidents(status="open") == []
        assert store.grouper_state() == {"live": [1]}  # no new snapshot: the last kept
        assert store.last_commit() == T0.replace(minute=6)
        assert store.pending("slack", now=T0) == []  # no changes, no notifications
    finally:
        store.close()


def test_a_forgotten_cursor_is_only_that_file(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    try:
        cursors = [Cursor(dev=d, ino=i, head_len=1, head="h", path="p", offset=1, line=1)
                   for d, i in ((1, 1), (1, 2), (2, 1))]  # fmt: skip
        store.commit_batch(cursors=cursors, changes=[], incidents=[], grouper_state=None,
                           notifiers=[], now=T0)  # fmt: skip
        store.commit_batch(cursors=[], forget=[(1, 2)], changes=[], incidents=[],
                           grouper_state=None, notifiers=[], now=T0)  # fmt: skip
        assert sorted((c.dev, c.ino) for c in store.cursors()) == [(1, 1), (2, 1)]
    finally:
        store.close()


def test_meta_values_survive_a_restart_and_are_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    assert store.meta("health") is None
    store.save_meta("health", "ok")
    store.save_meta("other", "1")
    store.save_meta("health", "degraded")
    store.close()
    store = StateStore(path)
    try:
        assert (store.meta("health"), store.meta("other"), store.meta("nope")) == (
            "degraded", "1", None,
        )  # fmt: skip
    finally:
        store.close()


def test_the_default_state_path_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_state_path({"XDG_STATE_HOME": "/srv/st"}) == Path("/srv/st/logwatch/state.db")
    monkeypatch.setenv("HOME", "/home/op")
    expected = Path("/home/op/.local/state/logwatch/state.db")
    assert default_state_path({}) == expected
    assert default_state_path({"XDG_STATE_HOME": ""}) == expected
    monkeypatch.setenv("XDG_STATE_HOME", "/var/st")
    assert default_state_path() == Path("/var/st/logwatch/state.db")


def test_a_state_deleted_while_idle_is_rebuilt_by_check_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    try:
        batch(store, 10)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store.check_file()
        assert path.exists()
        other = StateStore(path)
        try:
            assert [c.offset for c in other.cursors()] == [10]
            assert len(other.pending("slack", now=T0)) == 1
        finally:
            other.close()
    finally:
        store.close()


def test_a_locked_state_is_one_error_and_a_failed_batch_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    holder = sqlite3.connect(path, timeout=0)
    try:
        batch(store, 10)
        holder.execute("BEGIN IMMEDIATE")
        store._file.connection().execute("PRAGMA busy_timeout = 0")
        with pytest.raises(StateError, match=r"state\.db: state database is locked or unusable"):
            batch(store, 20)
        holder.execute("ROLLBACK")

        class Boom(Exception):
            pass

        with pytest.raises(Boom), store.transaction() as db:  # not a database error
            db.execute("DELETE FROM cursors")
            raise Boom
        assert [c.offset for c in store.cursors()] == [10]  # rolled back
        batch(store, 30)  # and the store still takes batches
        assert [c.offset for c in store.cursors()] == [30]
    finally:
        holder.close()
        store.close()


def test_a_read_of_a_broken_state_is_one_error(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    try:
        store._file.connection().execute("DROP TABLE cursors")
        with pytest.raises(StateError, match=r"state\.db: cannot read state: no such table"):
            store.cursors()
    finally:
        store.close()


def test_a_state_deleted_before_a_meta_save_is_rebuilt_whole(tmp_path: Path) -> None:
    """The agent's health is saved between batches: a state deleted under it is written
    back whole at the path, not left missing until the next batch."""
    path = tmp_path / "state.db"
    store = StateStore(path)
    try:
        batch(store, 10)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store.save_meta("health", "ok")
        assert path.exists()
        other = StateStore(path)
        try:
            assert other.meta("health") == "ok"
            assert [c.offset for c in other.cursors()] == [10]
        finally:
            other.close()
    finally:
        store.close()
