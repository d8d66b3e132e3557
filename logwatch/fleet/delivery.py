"""The fleet's notifications: any agent delivers them, exactly one at a time per row.

An agent claims the oldest due row (`FOR UPDATE SKIP LOCKED`, so two agents never take
the same one) with a lease longer than its notifier can take to answer. Killed mid-send,
it never marks the row: the lease runs out, another agent claims it, and since the row
has been tried before it is sent as `uncertain`: the Slack notifier first looks for the
root the dead agent may have posted (by the row id in the message metadata) rather than
post a second. The root's `ts` is stored on the fleet incident, so every agent threads
under the same message.

The same thread also says the agent is alive (heartbeat) and resolves incidents whose
hosts all went quiet or stopped reporting (sweep).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from logwatch import __version__
from logwatch.fleet.link import Reachability
from logwatch.fleet.merge import hosts_line
from logwatch.fleet.settings import FleetSettings
from logwatch.logs import NOTICE
from logwatch.notify import Delivered, Failed, Notification, Notifier, Retry
from logwatch.outbox import backoff_s
from logwatch.redact import Redactor
from logwatch.store.postgres import Claim, PostgresStore, StoreUnavailable

logger = logging.getLogger(__name__)

PRUNE_S = 3600.0  # how often an agent forgets week-old replay keys and sent notifications


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentHealth:
    """What the heartbeat tells the fleet about this agent."""

    last_commit: datetime | None
    lag_s: float | None  # how long the oldest row owed to the fleet store has waited
    outbox_depth: int  # rows owed to the fleet store


class FleetDelivery:
    """Heartbeat, sweep and delivery of claimed fleet notifications, on its own thread."""

    def __init__(
        self,
        store: PostgresStore,
        settings: FleetSettings,
        notifiers: Sequence[Notifier],
        *,
        reach: Reachability,
        health: Callable[[], AgentHealth],
        redact: Redactor,
        on_exit: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._notifiers = {n.name: n for n in notifiers}
        self._reach = reach
        self._health = health
        self._redact = redact
        self._on_exit = on_exit  # releases what `health` opened, on this thread
        longest = max((float(getattr(n, "timeout_s", 0.0)) for n in notifiers), default=0.0)
        # A live agent's request has always been answered or given up before its lease ends.
        self.lease_s = max(settings.lease_s, longest + 2.0)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logwatch-fleet", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wake(self) -> None:
        """A notification was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish the current send and stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s)

    def _check_notifiers(self) -> None:
        """Each notifier that can says whether it will work: one line each, at start."""
        for notifier in self._notifiers.values():
            check = getattr(notifier, "check", None)
            if check is None:
                continue
            try:
                ok, line = check()
            except Exception as exc:  # a check must never stop delivery
                ok, line = False, f"{notifier.name}: start-up check failed: {exc}"
            logger.log(NOTICE if ok else logging.WARNING, "%s", self._redact(line))

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._on_exit()

    def _loop(self) -> None:
        s = self._settings
        next_beat = next_sweep = 0.0
        next_prune = time.monotonic() + PRUNE_S
        said = ""
        self._check_notifiers()
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_beat:
                    h = self._health()
                    self._store.heartbeat(
                        s.host,
                        version=__version__,
                        last_commit=h.last_commit,
                        lag_s=h.lag_s,
                        outbox_depth=h.outbox_depth,
                    )
                    next_beat = now + s.heartbeat_s
                if now >= next_sweep:
                    self._store.sweep(
                        deadline_s=s.host_deadline_s,
                        min_hosts=s.min_hosts,
                        notifiers=list(self._notifiers),
                    )
                    next_sweep = now + min(s.host_deadline_s / 4, 5.0)
                if now >= next_prune:
                    self._store.prune()
                    next_prune = now + PRUNE_S
                while not self._stop.is_set() and self.deliver_one():
                    pass
                self._reach.ok()
                said = ""
            except StoreUnavailable as exc:
                self._reach.failed(str(exc))
                if str(exc) != said:
                    said = str(exc)
                    logger.warning("fleet delivery paused: %s", exc)
            except Exception:  # one broad except per iteration: delivery goes on
                logger.exception("fleet delivery loop error")
            self._wake.wait(s.poll_s)
            self._wake.clear()

    def deliver_one(self) -> bool:
        """Claim and send one due notification; False when there was none."""
        claim = self._store.claim(self._settings.host, list(self._notifiers), lease_s=self.lease_s)
        if claim is None:
            return False
        notifier = self._notifiers[claim.notifier]
        outcome = self._send(notifier, claim)
        if isinstance(outcome, Delivered):
            thread = outcome.thread if claim.thread is None else None
            if self._store.delivered(claim, self._settings.host, thread):
                logger.info(
                    "fleet notification sent notifier=%s incident=%s kind=%s",
                    claim.notifier,
                    claim.incident.id,
                    claim.kind,
                )
        elif isinstance(outcome, Retry):
            wait = max(outcome.after_s, backoff_s(claim.attempts))
            self._store.undelivered(
                claim, self._settings.host, retry_after_s=wait, error=self._redact(outcome.reason)
            )
        else:
            logger.error("fleet notification failed: %s", self._redact(outcome.reason))
            self._store.undelivered(
                claim, self._settings.host, retry_after_s=None, error=self._redact(outcome.reason)
            )
        return True

    def _send(self, notifier: Notifier, claim: Claim) -> Delivered | Retry | Failed:
        style = getattr(notifier, "style", None)
        if style is not None:
            # The root names the affected hosts, and is edited when that changes.
            line = hosts_line(claim.hosts, claim.known)
            notifier.style = replace(style, host=line, edit_root_on_update=True)  # type: ignore[attr-defined]
        n = Notification(
            kind=claim.kind,  # type: ignore[arg-type]
            incident=claim.incident,
            at=claim.incident.last_seen,
            id=claim.id,
            thread=claim.thread,
            uncertain=claim.attempts > 1,  # tried before: it may have landed
        )
        try:
            return notifier.send(n)
        except Exception as exc:  # a notifier bug must not stop delivery
            return Retry(after_s=backoff_s(claim.attempts), reason=f"internal error: {exc}")
