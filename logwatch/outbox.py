"""Delivery of outbox rows to notifiers: retries with backoff, order kept per incident.

Rows are written by the main loop in the same transaction as the incident change that
caused them; this module only reads them, sends, and records the outcome. A notifier
returns Delivered, Retry(after_s) or Failed(reason) and never raises for delivery
problems; an exception from one is treated as a retry, so a bug cannot crash the agent.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from logwatch.errors import StateError
from logwatch.logs import NOTICE
from logwatch.notify import Delivered, Failed, Notification, Notifier, Retry, ThreadRef
from logwatch.redact import Redactor
from logwatch.store import IN_FLIGHT_S, OutboxRow, StateStore

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0  # an alert is urgent: retry at least every 30 s
MAX_AGE = timedelta(days=2)  # give up on a notification this old (ElastAlert's alert_time_limit)


def backoff_s(
    attempts: int,
    *,
    base_s: float = 1.0,
    rng: Callable[[], float] = random.random,
    cap_s: float = MAX_BACKOFF_S,
) -> float:
    """Exponential backoff with full jitter: 1, 2, 4 ... capped at `cap_s` (MAX_BACKOFF_S)."""
    ceiling = min(cap_s, base_s * 2.0 ** min(attempts, 20))
    return ceiling / 2 + ceiling / 2 * rng()


def _timeout_s(notifier: Notifier) -> float:
    """How long the notifier waits for an answer (0 for local ones that cannot hang)."""
    value = getattr(notifier, "timeout_s", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


class Outbox:
    """Sends due rows to each notifier; one instance per thread that delivers."""

    def __init__(
        self,
        store: StateStore,
        notifiers: Sequence[Notifier],
        *,
        clock: Callable[[], datetime],
        redact: Redactor,
        owns_store: bool = False,
        in_flight_s: float = IN_FLIGHT_S,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self._store = store
        self._in_flight_s = in_flight_s
        self._owns_store = owns_store
        self._notifiers = list(notifiers)
        self._clock = clock
        self._redact = redact
        self._reported: set[tuple[int, str]] = set()
        self._failed: set[tuple[str, str]] = set()  # (notifier, reason) said as an error
        self._observe = observe  # (notifier, seconds from commit to delivery), for metrics

    def check_notifiers(self) -> None:
        """Ask each notifier that can (Slack, webhook) whether it will work: one line each,
        a warning for a problem; the agent goes on either way."""
        for notifier in self._notifiers:
            check = getattr(notifier, "check", None)
            if check is None:
                continue
            try:
                ok, line = check()
            except Exception as exc:  # a check must never stop delivery
                ok, line = False, f"{notifier.name}: start-up check failed: {exc}"
            logger.log(NOTICE if ok else logging.WARNING, "%s", self._redact(line))

    def _notification(self, row: OutboxRow, name: str) -> Notification:
        """The row with what the notifier needs to phrase it: its thread (or its outage's),
        the incident as last delivered, and the others of its outage."""
        key = row.incident.thread_key
        thread = self._store.thread(row.incident_id, name)
        if thread is None and key != row.incident_id:
            thread = self._store.thread(key, name)
        others = tuple(
            i for i in self._store.outage_members(key) if i.id != row.incident_id
        )  # fmt: skip
        return Notification(
            kind=row.kind,  # type: ignore[arg-type]
            incident=row.incident,
            at=row.at,
            id=row.id,
            thread=ThreadRef(channel=thread[0], ts=thread[1]) if thread else None,
            uncertain=row.uncertain,
            before=self._store.delivered_before(row.incident_id, name, row.id),
            outage=others,
        )

    def close(self) -> None:
        """Close the store connection if this outbox opened it."""
        if self._owns_store:
            self._store.close()

    def deliver_due(self) -> int:
        """Try every due row once; returns how many were delivered."""
        delivered = 0
        for notifier in self._notifiers:
            first = self._store.first_pending(notifier.name)
            blocked: set[str] = set()  # an incident with a row waiting keeps its later rows back
            for row in self._store.pending(notifier.name, now=self._clock(), limit=200):
                if row.incident_id in blocked or first.get(row.incident_id, row.id) != row.id:
                    continue
                # An incident linked to an earlier one shares its thread: it waits for the
                # changes of that one still owed, so that it finds the root posted.
                key = row.incident.thread_key
                if key in blocked or first.get(key, row.id) < row.id:
                    continue
                notification = self._notification(row, notifier.name)
                # An unanswered request may land until the notifier's timeout plus
                # IN_FLIGHT_S after it began; no attempt of the same row comes before that.
                settle = timedelta(seconds=_timeout_s(notifier) + self._in_flight_s)
                started = self._clock()
                self._store.begin_attempt(
                    row.id, notifier.name, now=started, settle_s=settle.total_seconds()
                )
                try:
                    outcome = notifier.send(notification)
                except Exception as exc:  # a notifier bug must not stop delivery for the rest
                    outcome = Retry(
                        after_s=backoff_s(row.attempts), reason=f"internal error: {exc}"
                    )
                now = self._clock()  # Retry-After counts from the answer, not from the pass
                if not isinstance(outcome, Retry):
                    first.pop(row.incident_id, None)  # the incident's next row may go now
                if isinstance(outcome, Delivered):
                    if outcome.thread is not None:
                        self._store.save_thread(
                            row.incident_id,
                            notifier.name,
                            outcome.thread.channel,
                            outcome.thread.ts,
                        )
                    self._store.mark(row.id, notifier.name, "sent")
                    if self._observe is not None and row.created is not None:
                        self._observe(notifier.name, (now - row.created).total_seconds())
                    logger.info(
                        "notification sent notifier=%s incident=%s kind=%s",
                        notifier.name,
                        row.incident_id,
                        row.kind,
                    )
                    delivered += 1
                elif isinstance(outcome, Failed) or now - row.at > MAX_AGE:
                    reason = self._redact(
                        outcome.reason if isinstance(outcome, Failed | Retry) else "failed"
                    )
                    self._store.mark(row.id, notifier.name, "failed", error=reason)
                    # A wrong channel fails every change the same way: said once as an
                    # error, the repeats at INFO (`logwatch incidents` lists them all).
                    again = (notifier.name, reason) in self._failed
                    self._failed.add((notifier.name, reason))
                    logger.log(
                        logging.INFO if again else logging.ERROR,
                        "notification failed notifier=%s incident=%s: %s%s",
                        notifier.name,
                        row.incident_id,
                        reason,
                        " (as before)" if again else "",
                    )
                else:
                    # A notifier may cap its backoff (the fleet link: reconnecting is cheap).
                    cap = getattr(notifier, "max_backoff_s", MAX_BACKOFF_S)
                    wait = max(outcome.after_s, backoff_s(row.attempts, cap_s=float(cap)))
                    next_attempt = now + timedelta(seconds=wait)
                    if outcome.uncertain:
                        # Sent, no answer (a timeout): Slack may still be taking it. Asking
                        # whether it landed before it has settled would find nothing and
                        # post a second root.
                        next_attempt = max(next_attempt, started + settle)
                    self._store.mark(
                        row.id,
                        notifier.name,
                        "pending",
                        error=self._redact(outcome.reason),
                        next_attempt=next_attempt,
                        uncertain=outcome.uncertain,
                    )
                    if (row.id, notifier.name) not in self._reported:
                        self._reported.add((row.id, notifier.name))
                        logger.warning(
                            "notification delayed notifier=%s incident=%s: %s (retrying)",
                            notifier.name,
                            row.incident_id,
                            self._redact(outcome.reason),
                        )
                    blocked.add(row.incident_id)
        return delivered


class DeliveryThread:
    """Runs an Outbox on its own thread, woken when the main loop commits new rows."""

    def __init__(self, outbox_factory: Callable[[], Outbox], *, idle_s: float = 1.0) -> None:
        self._factory = outbox_factory
        self._idle_s = idle_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logwatch-delivery", daemon=True)

    def start(self) -> None:
        """Start delivering."""
        self._thread.start()

    def wake(self) -> None:
        """New rows were committed: deliver now rather than at the next idle tick."""
        self._wake.set()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Finish the current attempt and stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        outbox: Outbox | None = None
        unusable = ""  # the state's last one-line complaint, said once until it recovers
        try:
            while not self._stop.is_set():
                try:
                    if outbox is None:
                        outbox = self._factory()  # sqlite connections belong to their thread
                        check = getattr(outbox, "check_notifiers", None)
                        if check is not None:
                            check()  # once, before the first delivery
                    outbox.deliver_due()
                    unusable = ""
                except StateError as exc:
                    # Read-only, deleted, locked: rows wait in the state; one line, not a
                    # traceback a second.
                    if str(exc) != unusable:
                        unusable = str(exc)
                        logger.error("delivery paused, will retry: %s", exc)
                except Exception:  # one broad except per iteration: delivery goes on
                    logger.exception("delivery loop error")
                self._wake.wait(self._idle_s)
                self._wake.clear()
        finally:
            if outbox is not None:
                outbox.close()
