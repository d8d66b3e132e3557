"""The host's side of the fleet: its durable outbox rows, told to the fleet store.

The agent's loop commits each incident change to the local sqlite outbox as always; the
`fleet` notifier below is what delivers those rows, into PostgreSQL. A row the store did
not take stays in the local outbox and is replayed when the store is back; the store
applies each (host, incident, row) once, so a replay after an answer was lost is a no-op.

A PostgreSQL outage must not silence a Redis outage: once the store has been unreachable
for `fallback_after`, the host sends its rows to Slack itself, marked as its own, and
keeps the root it posted; the fleet incident adopts that root when the row reaches the
store, so the thread goes on there without a second root.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from logwatch.fleet.settings import FleetSettings
from logwatch.logs import NOTICE
from logwatch.notify import Delivered, Failed, Notification, Notifier, Outcome, Retry, ThreadRef
from logwatch.store.postgres import HostChange, PostgresStore, StoreUnavailable
from logwatch.store.sqlite import StateStore

logger = logging.getLogger(__name__)

ALONE = "@alone"  # suffix of the local thread names of roots a host posted on its own
RETRY_S = 1.0  # reconnecting is cheap: the link tries again every second


class Reachability:
    """When the fleet store last answered and since when it has not (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None

    def ok(self) -> None:
        """It answered."""
        with self._lock:
            if self._down_since is not None:
                logger.log(NOTICE, "fleet store reachable again")
            self._down_since = None

    def failed(self, reason: str) -> None:
        """It did not."""
        with self._lock:
            if self._down_since is None:
                logger.error("fleet store unreachable: %s", reason)
                self._down_since = self._clock()

    def down_for(self) -> float:
        """Seconds since the store last failed after answering (0 while it answers)."""
        with self._lock:
            return 0.0 if self._down_since is None else self._clock() - self._down_since


class FleetLink:
    """A notifier that delivers the host's outbox rows into the fleet store."""

    name = "fleet"
    stands_in_for_remote = True  # silences and routing treat it as Slack's stand-in
    timeout_s = 3.0
    max_backoff_s = RETRY_S  # the outbox retries it every second, not with Slack's backoff

    def __init__(
        self,
        store: PostgresStore,
        settings: FleetSettings,
        *,
        state: Path,
        notifiers: Sequence[str],
        alone: Sequence[Notifier],
        reach: Reachability,
        on_queued: Callable[[], None],
    ) -> None:
        self._store = store
        self._settings = settings
        self._state = state
        self._notifiers = tuple(notifiers)
        self._alone = list(alone)
        self._reach = reach
        self._on_queued = on_queued
        self._local: StateStore | None = None  # opened on the delivery thread that calls us

    def close(self) -> None:
        """Close the local state connection this link opened."""
        if self._local is not None:
            self._local.close()
            self._local = None

    def _state_store(self) -> StateStore:
        if self._local is None:
            self._local = StateStore(self._state)
        return self._local

    def send(self, n: Notification) -> Outcome:
        """Apply the row to the fleet store; without it for too long, notify alone."""
        local = self._state_store()
        fallback: dict[str, ThreadRef] = {}
        for notifier in self._alone:
            posted = local.thread(n.incident.id, notifier.name + ALONE)
            if posted is not None:
                fallback[notifier.name] = ThreadRef(channel=posted[0], ts=posted[1])
        change = HostChange(
            host=self._settings.host,
            key=f"{n.incident.id}#{n.id}",
            kind=n.kind,
            incident=n.incident,
            notifiers=self._notifiers,
            fallback=fallback,
        )
        try:
            applied = self._store.apply(
                change,
                min_hosts=self._settings.min_hosts,
                reopen_window_s=self._settings.reopen_window_s,
            )
        except StoreUnavailable as exc:
            self._reach.failed(str(exc))
            if self._reach.down_for() >= self._settings.fallback_after_s:
                self._send_alone(n, local)
            return Retry(after_s=RETRY_S, reason=str(exc))
        self._reach.ok()
        if applied.adopted:
            logger.log(NOTICE, "fleet incident %s: adopting this host's root", applied.incident_id)
        if applied.queued:
            self._on_queued()
        return Delivered()

    def _send_alone(self, n: Notification, local: StateStore) -> None:
        """Tell Slack directly, once per row: the store has been away too long."""
        done = f"fleet-alone:{n.id}"
        if local.meta(done) is not None:
            return
        for notifier in self._alone:
            thread_name = notifier.name + ALONE
            posted = local.thread(n.incident.id, thread_name)
            note = Notification(
                kind=n.kind,
                incident=n.incident,
                at=n.at,
                id=n.id,
                thread=ThreadRef(channel=posted[0], ts=posted[1]) if posted else None,
            )
            try:
                outcome = notifier.send(note)
            except Exception as exc:  # a notifier bug must not stop the replay
                outcome = Retry(after_s=RETRY_S, reason=f"internal error: {exc}")
            if isinstance(outcome, Retry):
                return  # tried again with the next retry of the row
            if isinstance(outcome, Delivered) and outcome.thread and posted is None:
                local.save_thread(
                    n.incident.id, thread_name, outcome.thread.channel, outcome.thread.ts
                )
            if isinstance(outcome, Failed):
                logger.error("fleet fallback failed notifier=%s: %s", notifier.name, outcome.reason)
        logger.log(
            NOTICE,
            "fleet store unreachable for %.0fs: notified alone incident=%s kind=%s",
            self._reach.down_for(),
            n.incident.id,
            n.kind,
        )
        local.save_meta(done, "sent")
