"""RQ job functions for the MorningAI example (imported by the ``rq worker`` process).

``scripts/make_examples.py`` enqueues these by dotted name (``example_tasks.refresh_feed``)
and starts the worker with ``scripts/`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("morningai.tasks")


def refresh_feed(user_id: int) -> int:
    """Pretend to rebuild a user's feed; returns the number of items."""
    time.sleep(0.05)
    items = 10 + user_id % 7
    logger.info("refreshed feed user=%s items=%s", user_id, items)
    return items


def send_digest(user_id: int) -> str:
    """Pretend to send the morning digest e-mail."""
    time.sleep(0.05)
    return f"digest sent to user {user_id}"
