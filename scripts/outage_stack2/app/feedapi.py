"""The FastAPI "items" service: redis.asyncio, structlog JSON lines into LOG_DIR/feedapi.log.

Run by uvicorn under supervisord. A Redis error is a 503 and one JSON line at "error" with
the exception's text and its traceback (structlog's format_exc_info).
"""

from __future__ import annotations

import os
from pathlib import Path

import redis
import redis.asyncio
import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse

LOG = open(Path(os.environ["LOG_DIR"]) / "feedapi.log", "a", buffering=1)  # noqa: SIM115
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ],
    logger_factory=structlog.WriteLoggerFactory(file=LOG),
    cache_logger_on_first_use=True,
)
log = structlog.get_logger("feedapi")
client = redis.asyncio.Redis.from_url(
    os.environ["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2
)
app = FastAPI()
_served = 0


@app.on_event("startup")
async def started() -> None:
    log.info("started", service="feedapi", redis_py=redis.__version__, pid=os.getpid())


@app.get("/items/{item}")
async def item(item: int) -> JSONResponse:
    """Read-through cache of one item; a counter of views."""
    global _served
    _served += 1
    key = f"item:{item}"
    try:
        value = await client.get(key)
        if value is None:
            value = f"item {item}".encode()
            await client.set(key, value, ex=20)
        views = await client.incr(f"views:{item}")
    except redis.RedisError as exc:
        log.error("redis_error", path=f"/items/{item}", error=str(exc), exc_info=True)
        return JSONResponse({"error": "unavailable"}, status_code=503)
    if _served % 25 == 0:
        log.info("served", path=f"/items/{item}", views=views, note="from the redis cache")
    return JSONResponse({"item": item, "value": value.decode(), "views": views})
