"""Notifiers: what the outbox calls to tell people about an incident change.

A notifier never raises for a delivery problem: it returns `Delivered`, `Retry` or
`Failed` and the outbox decides what to do (errors are values at the sink, like
fluent-bit's OK/RETRY flush results).

Delivery is at least once. The outbox row id travels in `Notification.id`, but Slack's
chat.postMessage has no idempotency key, so a post that Slack accepted and whose answer
was lost (a timeout after the request was written) is posted again on retry. Every other
call is idempotent (chat.update of the root) or done before that single non-idempotent
post, so the window is one message, at most once per lost answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from logwatch.model import Incident, Severity

#: "reminder": an unacknowledged critical incident is still open (a reply that mentions).
NotificationKind = Literal["opened", "updated", "resolved", "reminder", "test"]
KINDS: tuple[NotificationKind, ...] = ("opened", "updated", "resolved", "test")


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadRef:
    """Slack's root message of an incident: updates reply in its thread, resolve edits it."""

    channel: str  # the channel id Slack answered with (chat.update needs the id, not a name)
    ts: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """One incident change to deliver, as the outbox hands it to a notifier."""

    kind: NotificationKind
    incident: Incident
    at: datetime  # when the change happened (log time), aware UTC
    id: int  # the outbox row id, stable across retries and restarts
    thread: ThreadRef | None = None  # this notifier's root message for the incident, if any
    uncertain: bool = (
        False  # an earlier attempt got no answer (killed, timed out): it may have landed
    )
    before: Incident | None = None  # the incident as this notifier last delivered it
    outage: tuple[Incident, ...] = ()  # the other incidents sharing its thread, as they are now


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """The receiver accepted it; `thread` is the root to persist for later changes."""

    thread: ThreadRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """Not delivered, try again: no sooner than `after_s` (Retry-After, or a backoff hint)."""

    after_s: float
    reason: str
    uncertain: bool = False  # the request went out and no answer came (timeout): it may have landed


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """Not delivered and retrying will not help (bad token, unknown channel...)."""

    reason: str


Outcome: TypeAlias = Delivered | Retry | Failed


class Notifier(Protocol):
    """Something that delivers notifications; one per configured destination."""

    @property
    def name(self) -> str:
        """Stable name (`slack`, `webhook`, `command`, `console`, `jsonl`) for state and logs."""
        ...

    def send(self, n: Notification) -> Outcome:
        """Deliver one notification; never raises for a delivery problem."""
        ...


@runtime_checkable
class Closeable(Protocol):
    """A notifier that holds a resource (an open file) to release at shutdown."""

    def close(self) -> None:
        """Release the resource; idempotent."""
        ...


def make_test_notification(at: datetime, *, id: int = 0) -> Notification:
    """What `logwatch notify-test` sends: a clearly labelled sample incident."""
    incident = Incident(
        id="inc-test",
        category="connection",
        target="redis:6379",
        severity=Severity.INFO,
        status="open",
        first_seen=at,
        last_seen=at,
        events=1,
        signatures={"logwatch notify-test": 1},
        sources={"logwatch notify-test": 1},
        rules={"notify-test": 1},
        samples=("logwatch notify-test: this is a test, Redis is fine",),
        hint="Nothing to do: this is a test message.",
    )
    return Notification(kind="test", incident=incident, at=at, id=id)


def close_notifiers(notifiers: Iterable[object]) -> None:
    """Close every notifier that holds a resource."""
    for notifier in notifiers:
        if isinstance(notifier, Closeable):
            notifier.close()


__all__ = [
    "KINDS",
    "Closeable",
    "Delivered",
    "Failed",
    "Notification",
    "NotificationKind",
    "Notifier",
    "Outcome",
    "Retry",
    "ThreadRef",
    "close_notifiers",
    "make_test_notification",
]
