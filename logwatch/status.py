"""`logwatch status`: the agent's health from its state store, for people and checks.

Read-only (a `mode=ro` connection; the agent may be writing): the health snapshot the
agent writes every few seconds (watching.py), its last commit, the outbox per notifier,
the notifications that failed for good, and each followed file's unread bytes (its saved
cursor against the file's size now). Exit codes for a monitoring check (Nagios' meaning):
0 ok, 1 degraded (notifications failing or stuck, a large backlog), 2 down (no state, the
agent not running or stuck, or its state store failing).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from logwatch.errors import StateError
from logwatch.health import Level
from logwatch.history_store import open_read_only
from logwatch.outbox_store import OutboxQueries

#: An owed notification older than this means delivery is stuck.
STUCK_S = 300.0
#: More unread than this (bytes, all files) is a backlog worth saying.
LAG_DEGRADED = 64 * 1024 * 1024
CODES: dict[Level, int] = {"ok": 0, "degraded": 1, "down": 2}
SHOWN = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLag:
    """A followed file's unread bytes, from its saved cursor."""

    path: str
    unread: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxDepth:
    """One notifier's outbox."""

    notifier: str
    pending: int
    failed: int
    oldest_pending_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """What `logwatch status` says."""

    level: Level
    reasons: tuple[str, ...]
    state: str
    now: datetime
    last_commit: datetime | None = None
    health: dict[str, Any] | None = None
    files: tuple[FileLag, ...] = ()
    outbox: tuple[OutboxDepth, ...] = ()
    failures: tuple[tuple[str, str, str], ...] = field(default=())

    @property
    def code(self) -> int:
        """The exit code."""
        return CODES[self.level]


class _ReadOnly(OutboxQueries):
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return self._db.execute(sql, args).fetchall()


def read_status(path: Path, now: datetime) -> Status:
    """The agent's status from the state database at `path` (read-only)."""
    if not path.exists():
        return Status(
            level="down",
            reasons=(f"no state database at {path} (has `logwatch watch` run?)",),
            state=str(path),
            now=now,
        )
    try:
        db = open_read_only(path)
    except StateError as exc:
        return Status(level="down", reasons=(str(exc),), state=str(path), now=now)
    try:
        q = _ReadOnly(db)
        meta = dict(q._rows("SELECT key, value FROM meta WHERE key IN ('committed_at', 'health')"))
        cursors = q._rows("SELECT path, dev, ino, offset FROM cursors")
        outbox = tuple(
            OutboxDepth(
                notifier=name,
                pending=pending,
                failed=failed,
                oldest_pending_s=(now - oldest).total_seconds() if oldest else None,
            )
            for name, pending, failed, oldest in q.outbox_depth()
        )
        failures = tuple(q.failures(limit=SHOWN))
    except sqlite3.Error as exc:
        return Status(
            level="down", reasons=(f"{path}: cannot read state: {exc}",), state=str(path), now=now
        )
    finally:
        db.close()
    committed = datetime.fromisoformat(meta["committed_at"]) if "committed_at" in meta else None
    health = json.loads(meta["health"]) if "health" in meta else None
    files = tuple(sorted(_lags(cursors), key=lambda f: -f.unread))
    level, reasons = _judge(health, now, outbox, files)
    return Status(
        level=level,
        reasons=reasons,
        state=str(path),
        now=now,
        last_commit=committed,
        health=health,
        files=files,
        outbox=outbox,
        failures=failures,
    )


def _lags(cursors: list[Any]) -> list[FileLag]:
    found = []
    for path, dev, ino, offset in cursors:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino):  # else rotated away: read under its new name
            found.append(FileLag(path=path, unread=max(st.st_size - offset, 0)))
    return found


def _judge(
    health: dict[str, Any] | None,
    now: datetime,
    outbox: tuple[OutboxDepth, ...],
    files: tuple[FileLag, ...],
) -> tuple[Level, tuple[str, ...]]:
    if health is None:
        return "down", ("the agent never wrote its health (not running, or an older logwatch)",)
    if health.get("stopped"):
        return "down", (f"the agent stopped at {health['at']}",)
    age = (now - datetime.fromisoformat(health["at"])).total_seconds()
    if age > float(health.get("stale_after_s", 20.0)):
        return "down", (f"the agent was last heard from {_ago(age)} (not running, or stuck)",)
    if health.get("level") == "down":
        return "down", tuple(health.get("reasons", ()))
    reasons = list(health.get("reasons", ()))
    for depth in outbox:
        if depth.oldest_pending_s is not None and depth.oldest_pending_s > STUCK_S:
            reasons.append(
                f"outbox stuck: {depth.pending} notifications for {depth.notifier}, oldest"
                f" {_ago(depth.oldest_pending_s)}"
            )
    unread = sum(f.unread for f in files)
    if unread > LAG_DEGRADED:
        reasons.append(f"backlog: {_size(unread)} not read yet")
    return ("degraded" if reasons else "ok"), tuple(reasons)


def render_status(status: Status) -> str:
    """The terminal view."""
    h = status.health or {}
    lines = [f"logwatch status: {status.level.upper()}  (state {status.state})"]
    lines += [f"  ! {reason}" for reason in status.reasons]
    if h:
        age = (status.now - datetime.fromisoformat(h["at"])).total_seconds()
        lines.append(
            f"  agent:        pid {h.get('pid')} on {h.get('host')}, logwatch {h.get('version')},"
            f" last heard {_ago(age)}"
        )
    if status.last_commit is not None:
        age = (status.now - status.last_commit).total_seconds()
        lines.append(
            f"  last commit:  {status.last_commit.isoformat(timespec='seconds')} ({_ago(age)})"
        )
    unread = sum(f.unread for f in status.files)
    lines.append(f"  files:        {len(status.files)} with a cursor, {_size(unread)} unread")
    for f in [f for f in status.files if f.unread][:SHOWN]:
        lines.append(f"    {f.path}: {_size(f.unread)} unread")
    for d in status.outbox:
        oldest = f", oldest {_ago(d.oldest_pending_s)}" if d.oldest_pending_s is not None else ""
        lines.append(
            f"  outbox:       {d.notifier}: {d.pending} pending{oldest}, {d.failed} failed"
        )
    if not status.outbox:
        lines.append("  outbox:       empty")
    probe = h.get("probe")
    if probe:
        age = (status.now - datetime.fromisoformat(probe["checked_at"])).total_seconds()
        verdict = "healthy" if probe["healthy"] else f"UNHEALTHY ({probe['status']})"
        lines.append(f"  active check: {verdict}: {probe['summary']} (checked {_ago(age)})")
    elif h:
        lines.append("  active check: off (no REDIS_URL, probe = false or probe_interval = 0)")
    if h.get("held"):
        lines.append(f"  held open:    {', '.join(h['held'])}")
    if h.get("heartbeat"):
        lines.append(f"  heartbeat:    to {h['heartbeat']}")
    for incident_id, notifier, error in status.failures:
        lines.append(f"  failed notification: {incident_id} via {notifier}: {error}")
    return "\n".join(lines) + "\n"


def status_json(status: Status) -> dict[str, Any]:
    """The JSON object of `logwatch status --format json`."""
    return {
        "status": status.level,
        "code": status.code,
        "reasons": list(status.reasons),
        "state": status.state,
        "last_commit": status.last_commit.isoformat() if status.last_commit else None,
        "agent": status.health,
        "files": [{"path": f.path, "unread_bytes": f.unread} for f in status.files[:100]],
        "unread_bytes": sum(f.unread for f in status.files),
        "outbox": [
            {
                "notifier": d.notifier,
                "pending": d.pending,
                "failed": d.failed,
                "oldest_pending_s": d.oldest_pending_s,
            }
            for d in status.outbox
        ],
        "failed_notifications": [
            {"incident": i, "notifier": n, "error": e} for i, n, e in status.failures
        ],
    }


def _ago(seconds: float) -> str:
    if seconds < 1.5:
        return "just now"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"
