#!/usr/bin/env python3
"""What the state file's safety checks cost: the integrity check on open, the guard per use.

Builds state databases with N notifications (each an outbox row with its incident JSON, a
delivery per notifier, an incident row and a cursor), then times, on each:

- `StateStore(path)`: open, including `PRAGMA quick_check` on a read-only connection
  (statefile.check_integrity), median of 5 opens, and the check alone;
- one guarded read (`store.cursors()`: the identity stat and writability checks of
  statefile.StateFile.connection plus the query) against the same query on the bare
  connection, per call over 20,000 calls;
- one batch commit (a cursor, an incident, an outbox row) with its guard.

Not part of the test suite.

    python benchmarks/state_checks.py                  # 1,000, 10,000 and 100,000 rows
    python benchmarks/state_checks.py --rows 50000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from logwatch.model import Change, Incident, Severity  # noqa: E402 (after the path)
from logwatch.statefile import check_integrity  # noqa: E402
from logwatch.store import Cursor, StateStore  # noqa: E402

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def incident(n: int) -> Incident:
    """A realistic incident: a few signatures and five 300-character samples."""
    return Incident(
        id=f"inc-{n:08x}", category="connection", target=f"10.0.{n % 250}.{n % 7}:6379",
        severity=Severity.CRITICAL, status="open", first_seen=T0, last_seen=T0, events=n + 2,
        signatures={f"connection-refused: Error <int> connecting to <host> {i}": 9
                    for i in range(4)},
        sources={"logs/app.log": n, "logs/worker.log": 2}, rules={"connection-refused": n + 2},
        samples=tuple("redis.exceptions.ConnectionError: " + "x" * 266 for _ in range(5)),
        hint="Redis is not accepting connections.",
    )  # fmt: skip


def commit(store: StateStore, first: int, count: int, notifiers: list[str]) -> None:
    """One batch: a cursor, `count` incidents and their "opened" outbox rows."""
    changes = [
        Change(kind="opened", at=T0 + timedelta(seconds=n), incident=incident(n))
        for n in range(first, first + count)
    ]
    cursor = Cursor(dev=1, ino=2, head_len=64, head="h" * 64, path="app.log", offset=first,
                    line=first)  # fmt: skip
    store.commit_batch(cursors=[cursor], changes=changes, incidents=[c.incident for c in changes],
                       grouper_state={"live": []}, notifiers=notifiers, now=T0)  # fmt: skip


def build(path: Path, rows: int) -> None:
    store = StateStore(path)
    try:
        for start in range(0, rows, 500):
            commit(store, start, min(500, rows - start), ["slack", "jsonl"])
    finally:
        store.close()


def timed(fn: object, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append")
    args = parser.parse_args()
    print(f"{'rows':>8} {'size MB':>8} {'open ms':>8} {'check ms':>9} "
          f"{'guarded read us':>16} {'bare read us':>13} {'commit ms':>10}")  # fmt: skip
    for rows in args.rows or [1_000, 10_000, 100_000]:
        with tempfile.TemporaryDirectory() as tmp:
            print(measure(Path(tmp) / "state.db", rows))


def measure(path: Path, rows: int) -> str:
    """One line of the table for a state of `rows` notifications."""
    build(path, rows)
    size_mb = path.stat().st_size / 1e6
    open_s = timed(lambda: StateStore(path).close(), 5)
    check_s = timed(lambda: check_integrity(path), 5)
    store = StateStore(path)
    try:
        guarded = timed(store.cursors, 20_000)
        bare = store._file.connection()
        sql = "SELECT dev, ino, head_len, head, path, offset, line FROM cursors"
        raw = timed(lambda: bare.execute(sql).fetchall(), 20_000)
        one = timed(lambda: commit(store, rows, 1, ["slack"]), 200)
    finally:
        store.close()
    return (f"{rows:>8,} {size_mb:>8.1f} {open_s * 1e3:>8.1f} {check_s * 1e3:>9.1f} "
            f"{guarded * 1e6:>16.1f} {raw * 1e6:>13.1f} {one * 1e3:>10.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
