"""Django settings: Redis cache and django-rq on REDIS_URL, Django's documented verbose logs.

Everything comes from the environment that scripts/make_examples_2.py gives supervisord:
REDIS_URL (a host name that the script can make stop resolving), LOG_DIR, PG_PORT (a
PostgreSQL port where nothing listens) and RECOMMENDER_URL (a dead HTTP service).
"""

from __future__ import annotations

import os
from pathlib import Path

REDIS_URL = os.environ["REDIS_URL"]
LOG_DIR = Path(os.environ["LOG_DIR"])
PG_PORT = int(os.environ["PG_PORT"])
RECOMMENDER_URL = os.environ["RECOMMENDER_URL"]

SECRET_KEY = "example-only-not-a-secret"  # an example site on loopback
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
INSTALLED_APPS = ["django.contrib.contenttypes", "django_rq", "webapp"]
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
TIME_ZONE = "UTC"

# Django's own Redis cache backend (redis-py underneath), 2 s socket timeouts.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
}

RQ_QUEUES = {
    "default": {
        "URL": REDIS_URL,
        "DEFAULT_TIMEOUT": 60,
    }
}

# The "verbose" formatter of Django's logging how-to, and django-rq's README console
# format for the worker (RQ's time-only stamps).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "verbose": {
            "format": "{levelname} {asctime} {module} {process:d} {thread:d} {message}",
            "style": "{",
        },
        "rq_console": {"format": "%(asctime)s %(message)s", "datefmt": "%H:%M:%S"},
    },
    "handlers": {
        "file": {
            "class": "logging.FileHandler",
            "filename": str(LOG_DIR / "django.log"),
            "formatter": "verbose",
        },
        "rq_console": {"class": "logging.StreamHandler", "formatter": "rq_console"},
    },
    "loggers": {
        "django": {"handlers": ["file"], "level": "INFO", "propagate": False},
        "webapp": {"handlers": ["file"], "level": "INFO", "propagate": False},
        "rq.worker": {"handlers": ["rq_console"], "level": "INFO", "propagate": False},
    },
}
