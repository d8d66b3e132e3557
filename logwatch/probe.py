"""Live Redis check for diagnosis: PING and INFO with short timeouts, never a write.

The runbook's first step is "confirm that the issue is with Redis". `run_probe` connects
with redis-py (no retries), times a PING, reads INFO and says in plain words what is wrong,
with the runbook steps that fit. The diagnosis itself is pure and lives in
`logwatch.diagnosis`, so each state is testable from a captured INFO dict or exception.

The URL's password and username never leave this module: a `ProbeResult` holds only the
`host:port` target, and every text in it goes through a `Redactor` that knows them.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from logwatch.clock import Clock, SystemClock
from logwatch.diagnosis import (
    ProbeResult,
    diagnose_error,
    diagnose_info,
    human_size,
    int_or_none,
    ms_text,
)
from logwatch.errors import ConfigError
from logwatch.redact import Redactor
from logwatch.runbook import HINTS

__all__ = [
    "ProbeResult",
    "RedisUrl",
    "diagnose_error",
    "diagnose_info",
    "probe_for_incident",
    "probe_json",
    "probe_line",
    "read_env_file",
    "render_probe_text",
    "resolve_redis_url",
    "run_probe",
    "run_probe_command",
]

DEFAULT_TIMEOUT_S = 2.0

#: Which probe statuses confirm an incident of each rule-pack category.
CONFIRMS: dict[str, frozenset[str]] = {
    "connection": frozenset({"refused", "dns", "timeout"}),
    "timeout": frozenset({"timeout"}),
    "auth": frozenset({"auth"}),
    "oom": frozenset({"oom"}),
    "readonly": frozenset({"readonly"}),
    "misconf": frozenset({"persistence"}),
    "persistence": frozenset({"persistence"}),
    "loading": frozenset({"loading"}),
    "max_clients": frozenset({"max_clients"}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisUrl:
    """A Redis URL and where it came from (argument, environment, .env file, config)."""

    url: str = field(repr=False)
    source: str


# -- where the URL comes from -------------------------------------------------------------

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?REDIS_URL\s*=\s*(.*?)\s*$")


def read_env_file(path: Path) -> str | None:
    """REDIS_URL from a dotenv file (`export `, quotes, `#` comments); the last one wins."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    value: str | None = None
    for line in text.splitlines():
        if m := _ENV_LINE.match(line):
            raw = m.group(1)
            if raw[:1] in ("'", '"'):
                end = raw.find(raw[0], 1)
                value = raw[1:end] if end != -1 else raw[1:]
            else:
                # As in python-dotenv: `#` starts a comment only after whitespace, so a
                # password with a `#` in it survives.
                value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
    return value or None


def resolve_redis_url(
    argument: str | None,
    *,
    env: Mapping[str, str],
    env_file: Path | None = None,
    configured: Callable[[], str | None] | None = None,
) -> RedisUrl:
    """The URL from the argument, else REDIS_URL in `env`, else the .env file, else the config."""
    if argument:
        return RedisUrl(url=argument, source="argument")
    if env.get("REDIS_URL"):
        return RedisUrl(url=env["REDIS_URL"], source="REDIS_URL in the environment")
    path = env_file if env_file is not None else Path(".env")
    if (env_file is not None or path.is_file()) and (url := read_env_file(path)):
        return RedisUrl(url=url, source=f"REDIS_URL in {path}")
    if configured is not None and (url := configured()):
        return RedisUrl(url=url, source="redis_url in the config")
    raise ConfigError(
        "no Redis URL: give one (logwatch probe redis://host:6379/0), set REDIS_URL, or put"
        " REDIS_URL in the app's .env (--env-file PATH)"
    )


@dataclass(frozen=True, slots=True)
class _Endpoint:
    target: str
    tls: bool
    host: str | None = field(repr=False)
    username: str | None = field(repr=False)
    password: str | None = field(repr=False)


def _endpoint(url: str) -> _Endpoint:
    """Target and credentials of a Redis URL; ConfigError never quotes the URL itself."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        query = parse_qs(parts.query)
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        if not password and query.get("password"):
            password = query["password"][0]
        if scheme == "unix":
            if not parts.path:
                raise ConfigError("REDIS_URL: unix:// URL without a socket path")
            return _Endpoint(parts.path, False, None, username, password)
        if scheme not in ("redis", "rediss"):
            raise ConfigError("REDIS_URL: not a redis://, rediss:// or unix:// URL")
        host = parts.hostname or "localhost"
        port = parts.port or 6379
    except ValueError:
        raise ConfigError("REDIS_URL: invalid URL (check the host and port)") from None
    shown = f"[{host}]" if ":" in host else host
    return _Endpoint(f"{shown}:{port}", scheme == "rediss", host, username, password)


# -- the probe ----------------------------------------------------------------------------


def run_probe(
    url: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    clock: Clock | None = None,
    source: str | None = None,
) -> ProbeResult:
    """Connect, PING, read INFO and diagnose. Raises ConfigError only for a malformed URL.

    Waits at most `timeout_s` to connect and `timeout_s` for each reply, without retries:
    an unreachable or hung Redis is reported after about `timeout_s`.
    """
    endpoint = _endpoint(url)
    redactor = Redactor([s for s in (endpoint.password, endpoint.username) if s])
    checked_at = (clock or SystemClock()).now()
    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
    except (ValueError, TypeError, redis.RedisError) as exc:
        raise ConfigError(f"REDIS_URL: {redactor(str(exc))}") from None
    try:
        result = _probe(client, endpoint, timeout_s, checked_at, redactor)
    finally:
        client.close()
    if source:
        result = replace(result, details={**result.details, "source": source})
    return result


def _probe(
    client: redis.Redis,
    endpoint: _Endpoint,
    timeout_s: float,
    checked_at: datetime,
    redactor: Redactor,
) -> ProbeResult:
    target = endpoint.target
    try:
        client.ping()  # connects and authenticates
        started = time.perf_counter()
        client.ping()
        latency_ms = (time.perf_counter() - started) * 1000
    except redis.BusyLoadingError as exc:
        info: dict[str, Any] = {}
        with contextlib.suppress(redis.RedisError, OSError):
            info = dict(client.info("persistence"))  # INFO is allowed while loading
        if info.get("loading"):
            return diagnose_info(info, target=target, latency_ms=None, checked_at=checked_at)
        return diagnose_error(exc, target=target, timeout_s=timeout_s, checked_at=checked_at)
    except (redis.RedisError, OSError) as exc:
        return diagnose_error(
            exc,
            target=target,
            timeout_s=timeout_s,
            checked_at=checked_at,
            password_sent=bool(endpoint.password),
            tls=endpoint.tls,
            redactor=redactor,
        )
    try:
        info = dict(client.info())
    except (redis.RedisError, OSError) as exc:
        # INFO can be renamed or denied by ACL on managed services; PING answered.
        info = {"info_error": redactor(str(exc))}
    if "maxclients" not in info and "info_error" not in info:
        try:  # Redis < 7 has no maxclients in INFO
            reply = client.config_get("maxclients")
            info["maxclients"] = int(str(reply["maxclients"]))
        except (redis.RedisError, OSError, KeyError, TypeError, ValueError):
            pass
    return diagnose_info(info, target=target, latency_ms=latency_ms, checked_at=checked_at)


# -- for the agent ------------------------------------------------------------------------


def probe_for_incident(
    category: str,
    target: str,
    url: str | None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    resolved: bool = False,
    clock: Clock | None = None,
) -> ProbeResult:
    """Probe the Redis of an incident and phrase the result as a confirmation. Never raises.

    On open: "confirmed: connection refused", or "Redis answers PING in 0.3 ms: errors may
    be on the client side ...". With `resolved=True`: "recovery confirmed: ..." or
    "not recovered: ...". Bounded like `run_probe`; meant for a worker thread.
    """
    checked_at = (clock or SystemClock()).now()
    if not url and re.fullmatch(r"[^\s/:@]+:\d+|\[[0-9a-fA-F:.]+\]:\d+", target or ""):
        url = f"redis://{target}"
    if not url:
        return ProbeResult(
            healthy=False,
            status="error",
            summary=f"not probed: no Redis URL known for {target}",
            target=target,
            checked_at=checked_at,
            details={"reason": "no Redis URL"},
            hint=HINTS["error"],
        )
    try:
        result = run_probe(url, timeout_s, clock=clock)
    except Exception as exc:  # the agent's worker must never die of a probe
        return ProbeResult(
            healthy=False,
            status="error",
            summary=f"not probed: {exc if isinstance(exc, ConfigError) else type(exc).__name__}",
            target=target,
            checked_at=checked_at,
            details={"reason": "probe failed"},
            hint=HINTS["error"],
        )
    reason = str(result.details.get("reason", result.status))
    if resolved:
        if result.healthy:
            summary = f"recovery confirmed: Redis answers PING in {ms_text(result.latency_ms)}"
        else:
            summary = f"not recovered: {reason}"
    elif result.status in CONFIRMS.get(category, frozenset()):
        summary = f"confirmed: {reason}"
    elif result.healthy:
        side = (
            "the failing clients may use other credentials (check REDIS_URL in the app's .env)"
            if category == "auth"
            else "errors may be on the client side (network, credentials, DNS)"
        )
        summary = f"Redis answers PING in {ms_text(result.latency_ms)}: {side}"
    else:
        summary = f"probe finds another problem: {reason}"
    details = {**result.details, "probe_summary": result.summary}
    return replace(result, summary=summary, details=details)


# -- output -------------------------------------------------------------------------------


def _age(seconds: float) -> str:
    if seconds < 1.5:
        return "just now"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


def probe_line(result: ProbeResult, now: datetime) -> str:
    """The summary with its age: "Redis 10.0.0.5:6379 refuses connections (checked 2 s ago)"."""
    age = max((now - result.checked_at).total_seconds(), 0.0)
    return f"{result.summary} (checked {_age(age)})"


_LABELS = {
    "redis_version": "version",
    "uptime_in_seconds": "uptime (s)",
    "connected_clients": "clients",
    "used_memory": "used memory",
    "maxmemory_policy": "policy",
    "latency_ms": "PING (ms)",
}


def render_probe_text(result: ProbeResult) -> str:
    """The terminal view: the verdict, the facts, then what to do."""
    lines = [result.summary, f"  status: {result.status}", f"  target: {result.target}"]
    for key, value in result.details.items():
        if key == "reason":
            continue
        if key in ("used_memory", "maxmemory") and int_or_none(value) is not None:
            value = f"{human_size(int_or_none(value))} ({value} bytes)" if value else "no limit"
        elif isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        lines.append(f"  {_LABELS.get(key, key.replace('_', ' '))}: {value}")
    lines.append(f"  checked at: {result.checked_at.isoformat(timespec='seconds')}")
    if result.hint:
        lines += ["", "What to do:" if not result.healthy else "If the app still fails:"]
        lines += result.hint.splitlines()[1:]
    return "\n".join(lines) + "\n"


def probe_json(result: ProbeResult) -> dict[str, Any]:
    """The JSON object of `logwatch probe --format json`."""
    return {
        "healthy": result.healthy,
        "status": result.status,
        "summary": result.summary,
        "target": result.target,
        "latency_ms": None if result.latency_ms is None else round(result.latency_ms, 3),
        "checked_at": result.checked_at.isoformat(),
        "details": result.details,
        "hint": result.hint,
    }


def run_probe_command(
    argument: str | None,
    *,
    env: Mapping[str, str],
    env_file: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    fmt: str = "table",
    configured: Callable[[], str | None] | None = None,
    clock: Clock | None = None,
    rq: bool = False,
) -> tuple[str, int]:
    """What `logwatch probe` prints and its exit code (0 healthy, 1 unhealthy); with `rq`,
    RQ's queues, registries and workers too (`rq` in the JSON, null without RQ keys).

    Raises ConfigError (exit 2) when no URL is found or it is malformed.
    """
    import json

    found = resolve_redis_url(argument, env=env, env_file=env_file, configured=configured)
    result = run_probe(found.url, timeout_s, clock=clock, source=found.source)
    body = probe_json(result)
    text = render_probe_text(result)
    if rq and result.healthy:
        from logwatch.rq_inspect import rq_section

        extra_text, body["rq"] = rq_section(found.url, timeout_s=timeout_s, clock=clock)
        text += "\n" + extra_text
    if fmt == "json":
        text = json.dumps(body, indent=2, default=str) + "\n"
    return text, 0 if result.healthy else 1
