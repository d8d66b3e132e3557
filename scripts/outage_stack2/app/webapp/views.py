"""Views: a Redis-cached feed, an RQ enqueue, and a PostgreSQL report (PostgreSQL is down).

Redis errors are left to Django: an unhandled exception is a 500 that the `django.request`
logger writes as "Internal Server Error: /feed/3/" with its traceback, as on a real site.
"""

from __future__ import annotations

import logging
import random

import django_rq
import psycopg
import requests
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("webapp.views")
_served = 0


def feed(request: HttpRequest, user: int) -> HttpResponse:
    """Cached feed; on a miss, asks the recommender (a dead service) and falls back."""
    global _served
    _served += 1
    key = f"feed:{user}"
    items = cache.get(key)
    if items is None:
        try:
            reply = requests.get(f"{settings.RECOMMENDER_URL}/recommend/{user}", timeout=1)
            items = reply.json()
        except requests.RequestException as exc:
            if _served % 5 == 0:  # the recommender has been down for days: said now and then
                logger.warning("recommender unavailable, serving the fallback feed: %s", exc)
            items = [f"item-{user}-{n}" for n in range(5)]
        cache.set(key, items, timeout=20)
    if _served % 25 == 0:
        logger.info("feed served user=%s from the redis cache (%d items)", user, len(items))
    return JsonResponse({"user": user, "items": items})


def enqueue(request: HttpRequest, user: int) -> HttpResponse:
    """Enqueue a feed refresh, and now and then the leaderboard job that always fails."""
    queue = django_rq.get_queue("default")
    if random.random() < 0.25:
        job = queue.enqueue("webapp.jobs.rebuild_redis_leaderboard", user)
    else:
        job = queue.enqueue("webapp.jobs.refresh_feed", user)
    return JsonResponse({"job": job.id})


def report(request: HttpRequest) -> HttpResponse:
    """A report from PostgreSQL, which is not running: psycopg's OperationalError, a 500."""
    dsn = f"host=127.0.0.1 port={settings.PG_PORT} dbname=reports user=web connect_timeout=2"
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT count(*) FROM orders").fetchall()
    return JsonResponse({"orders": rows[0][0]})
