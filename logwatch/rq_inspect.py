"""The RQ inspection's entry points: a bounded client for a Redis URL, the agent's
inspection of a resolved incident's window, and `logwatch probe --rq`'s section. The
URL's password never reaches a message: errors go through a `Redactor` that knows it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from logwatch.clock import Clock
from logwatch.model import Incident
from logwatch.redact import Redactor
from logwatch.rq_impact import Bounds, RqReader
from logwatch.rqview import RqImpact, render_rq_text, rq_to_json

__all__ = ["connect", "inspect_for_incident", "inspect_url", "rq_section"]

logger = logging.getLogger(__name__)


def connect(url: str, timeout_s: float) -> redis.Redis:
    """A client with bounded waits and no retries (raises ValueError for a bad URL)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def _redactor(url: str) -> Redactor:
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
        secrets = [unquote(s) for s in (parts.password, parts.username) if s]
    except ValueError:
        secrets = []
    return Redactor(secrets)


def inspect_url(
    url: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    timeout_s: float = 2.0,
    bounds: Bounds | None = None,
    clock: Clock | None = None,
) -> RqImpact | None:
    """Inspect the RQ keys of the Redis at `url`; Redis errors propagate."""
    client = connect(url, timeout_s)
    try:
        reader = RqReader(client, bounds=bounds, redact=_redactor(url), clock=clock)
        return reader.inspect(since=since, until=until)
    finally:
        client.close()


def inspect_for_incident(
    url: str | None,
    incident: Incident,
    *,
    timeout_s: float = 2.0,
    bounds: Bounds | None = None,
    clock: Clock | None = None,
) -> RqImpact | None:
    """RQ's state for a resolved incident's window; None when not possible. Never raises:
    it runs on the prober's thread, which must not die of it."""
    if not url:
        return None
    try:
        return inspect_url(
            url,
            since=incident.first_seen,
            until=incident.last_seen,
            timeout_s=timeout_s,
            bounds=bounds,
            clock=clock,
        )
    except Exception as exc:  # unreachable again, ACL, a key of another type
        logger.info("rq inspection skipped incident=%s: %s", incident.id, type(exc).__name__)
        return None


def rq_section(
    url: str, *, timeout_s: float = 2.0, clock: Clock | None = None
) -> tuple[str, dict[str, Any] | None]:
    """`logwatch probe --rq`: the text view and the JSON object (None without RQ keys)."""
    try:
        rq = inspect_url(url, timeout_s=timeout_s, clock=clock)
    except (redis.RedisError, OSError) as exc:
        why = _redactor(url)(f"{type(exc).__name__}: {exc}")
        return f"RQ: not read: {why}\n", {"error": why}
    if rq is None:
        return "RQ: no RQ keys in this Redis\n", None
    return render_rq_text(rq), rq_to_json(rq)
