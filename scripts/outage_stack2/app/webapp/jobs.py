"""RQ jobs run by `manage.py rqworker` (django-rq)."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("webapp.jobs")


def refresh_feed(user: int) -> int:
    """Pretend to rebuild a user's feed."""
    time.sleep(0.02)
    return 10 + user % 7


def rebuild_redis_leaderboard(user: int) -> None:
    """A job with "redis" in its name that fails on bad data, not on Redis."""
    raise ValueError(f"leaderboard row for user {user} has no score (redis key lb:{user})")
