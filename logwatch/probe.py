"""Live Redis check for diagnosis: PING and INFO with short timeouts, never a write.

The runbook's first step is "confirm that the issue is with Redis". `run_probe` connects
with redis-py (no retries), times a PING, reads INFO and says in plain words what is wrong,
with the runbook steps that fit. The diagnosis itself (`diagnose_info`, `diagnose_error`)
is pure, so each state is testable from a captured INFO dict or exception.

Longer than a stage module should be: most of it is the wording of eleven diagnoses and
their runbook steps, which belong together.

The URL's password and username never leave this module: a `ProbeResult` holds only the
`host:port` target, and every text in it goes through a `Redactor` that knows them.
"""

from __future__ import annotations

import contextlib
import errno
import re
import socket
import ssl
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
NEAR = 0.9  # memory or clients at 90 % of the limit is "near"

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
class ProbeResult:
    """What a live check of one Redis found: a status code, one line, facts and runbook steps."""

    healthy: bool
    status: str  # ok refused dns timeout auth loading readonly oom max_clients persistence error
    summary: str
    target: str  # host:port, or the socket path for unix://
    checked_at: datetime
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    hint: str = ""


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


# -- diagnosis (pure) ---------------------------------------------------------------------


def _problems(info: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(status, short reason, summary tail) for each problem INFO shows, worst first."""
    found: list[tuple[str, str, str]] = []
    if info.get("loading"):
        perc, eta = info.get("loading_loaded_perc"), info.get("loading_eta_seconds")
        progress = f" ({perc}% done, about {eta} s left)" if perc is not None else ""
        found.append(
            (
                "loading",
                "loading the dataset",
                f"is loading its dataset into memory{progress}: commands fail with LOADING",
            )
        )
    if info.get("role") == "slave":
        primary = f"{info.get('master_host')}:{info.get('master_port')}"
        link = info.get("master_link_status", "unknown")
        state = "down" if link == "down" else link
        found.append(
            (
                "readonly",
                f"read-only replica (link to primary {state})",
                f"is a read-only replica of {primary} (link to its primary {state}):"
                " writes fail with READONLY",
            )
        )
    used, limit = _int(info.get("used_memory")), _int(info.get("maxmemory"))
    policy = str(info.get("maxmemory_policy", ""))
    if limit and used is not None and policy == "noeviction" and used >= NEAR * limit:
        pct = used * 100 // limit
        amount = f"{_size(used)} of {_size(limit)}"
        if used >= limit:
            tail = f"is at maxmemory ({amount}) with noeviction: writes fail with OOM"
            found.append(("oom", f"at maxmemory ({pct}%) with noeviction", tail))
        else:
            tail = f"is near maxmemory ({pct}%, {amount}) with noeviction: writes will soon fail"
            found.append(("oom", f"{pct}% of maxmemory with noeviction", tail))
    failed = [
        f"{key}:err"
        for key in ("rdb_last_bgsave_status", "aof_last_write_status", "aof_last_bgrewrite_status")
        if info.get(key) == "err"
    ]
    if failed:
        found.append(
            (
                "persistence",
                f"persistence failing ({', '.join(failed)})",
                f"cannot persist ({', '.join(failed)}): with stop-writes-on-bgsave-error"
                " (the default) writes fail with MISCONF",
            )
        )
    clients, maxclients = _int(info.get("connected_clients")), _int(info.get("maxclients"))
    if maxclients and clients is not None and clients >= NEAR * maxclients:
        found.append(
            (
                "max_clients",
                f"{clients} of {maxclients} clients connected",
                f"has {clients} of maxclients {maxclients} connections in use:"
                " new connections will be refused",
            )
        )
    return found


def diagnose_info(
    info: Mapping[str, Any],
    *,
    target: str,
    latency_ms: float | None,
    checked_at: datetime,
) -> ProbeResult:
    """The diagnosis of a Redis that answered, from its INFO fields (as redis-py parses them)."""
    details = _facts(info)
    if latency_ms is not None:
        details["latency_ms"] = round(latency_ms, 3)
    problems = _problems(info)
    if problems:
        status, reason, tail = problems[0]
        details["reason"] = reason
        if len(problems) > 1:
            details["also"] = [p[1] for p in problems[1:]]
        return ProbeResult(
            healthy=False,
            status=status,
            summary=f"Redis {target} {tail}",
            target=target,
            checked_at=checked_at,
            latency_ms=latency_ms,
            details=details,
            hint=HINTS[status],
        )
    version = info.get("redis_version")
    parts = [f"PING in {_ms(latency_ms)}"]
    if "role" in info:
        parts.append("primary" if info["role"] == "master" else str(info["role"]))
    used, limit = _int(info.get("used_memory")), _int(info.get("maxmemory"))
    if used is not None:
        parts.append(
            f"memory {_size(used)} of {_size(limit)}" if limit else f"memory {_size(used)}"
        )
    clients, maxclients = _int(info.get("connected_clients")), _int(info.get("maxclients"))
    if clients is not None:
        parts.append(f"{clients} of {maxclients} clients" if maxclients else f"{clients} clients")
    details["reason"] = f"answers PING in {_ms(latency_ms)}"
    name = f"Redis {version}" if version else "Redis"
    return ProbeResult(
        healthy=True,
        status="ok",
        summary=f"{name} at {target} is healthy: {', '.join(parts)}",
        target=target,
        checked_at=checked_at,
        latency_ms=latency_ms,
        details=details,
        hint=HINTS["ok"],
    )


_FACTS = (
    "redis_version",
    "role",
    "uptime_in_seconds",
    "connected_clients",
    "maxclients",
    "used_memory",
    "maxmemory",
    "maxmemory_policy",
    "loading",
    "loading_loaded_perc",
    "loading_eta_seconds",
    "rdb_last_bgsave_status",
    "aof_enabled",
    "aof_last_write_status",
    "aof_last_bgrewrite_status",
    "master_host",
    "master_port",
    "master_link_status",
    "connected_slaves",
    "info_error",
)


def _facts(info: Mapping[str, Any]) -> dict[str, Any]:
    facts = {key: info[key] for key in _FACTS if key in info}
    if not facts.get("loading"):  # loading:0 is noise on a healthy server
        for key in ("loading", "loading_loaded_perc", "loading_eta_seconds"):
            facts.pop(key, None)
    return facts


_AUTH_WORDS = (
    "noauth",
    "wrongpass",
    "authentication required",
    "invalid password",
    "invalid username-password",
    "hello must be called with the client already authenticated",
    "auth <password> called without",
)
_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
)


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError redis-py wrapped (it raises inside `except`, so it is the context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _classify(
    exc: BaseException, target: str, timeout_s: float, password_sent: bool, tls: bool
) -> tuple[str, str, str]:
    """(status, short reason, summary) for a failed connect or PING."""
    message = str(exc)
    low = message.lower()
    cause = _os_error(exc)
    unix = target.startswith("/")
    if isinstance(exc, redis.BusyLoadingError) or low.startswith("loading"):
        return (
            "loading",
            "loading the dataset",
            f"Redis {target} is loading its dataset into memory",
        )
    if isinstance(exc, redis.AuthenticationError) or any(w in low for w in _AUTH_WORDS):
        if password_sent:
            return (
                "auth",
                "authentication failed (wrong username or password)",
                f"Redis {target} rejects the username or password in REDIS_URL",
            )
        return (
            "auth",
            "authentication required",
            f"Redis {target} requires a password and REDIS_URL has none",
        )
    if "max number of clients" in low:
        return (
            "max_clients",
            "max number of clients reached",
            f"Redis {target} refuses new connections: max number of clients reached",
        )
    if isinstance(exc, redis.TimeoutError | socket.timeout) or isinstance(cause, TimeoutError):
        wait = f"{timeout_s:g} s"
        if "connecting" in low and tls:
            # rediss:// to a plain-text port also ends here: the server waits for a
            # command, the client for a TLS ServerHello.
            return (
                "timeout",
                f"no TLS connection within {wait}",
                f"Redis {target} does not complete a TLS connection within {wait}"
                " (host down, packets dropped, or the port does not speak TLS)",
            )
        if "connecting" in low:
            return (
                "timeout",
                f"no connection within {wait}",
                f"Redis {target} does not accept a connection within {wait}"
                " (host down, or packets dropped)",
            )
        return (
            "timeout",
            f"no answer within {wait}",
            f"Redis {target} accepts connections but does not answer within {wait}"
            " (hung, stopped or overloaded)",
        )
    if isinstance(cause, socket.gaierror) or any(w in low for w in _DNS_WORDS):
        host = target.rsplit(":", 1)[0]
        return "dns", "host name does not resolve", f"Redis host {host} does not resolve (DNS)"
    code = cause.errno if cause is not None else None
    if code == errno.ECONNREFUSED or "connection refused" in low:
        what = "unix socket " if unix else ""
        return "refused", "connection refused", f"Redis {what}{target} refuses connections"
    if unix and (code == errno.ENOENT or "no such file" in low):
        return (
            "refused",
            "unix socket missing",
            f"Redis unix socket {target} does not exist (is redis-server running with this"
            " unixsocket?)",
        )
    if unix and (code == errno.EACCES or "permission denied" in low):
        return (
            "refused",
            "permission denied on the unix socket",
            f"Redis unix socket {target}: permission denied (check unixsocketperm)",
        )
    if isinstance(cause, ssl.SSLError) or "ssl" in low:
        return "error", "TLS handshake failed", f"Redis {target}: TLS failed: {message}"
    return (
        "error",
        message or type(exc).__name__,
        f"Redis {target}: {message or type(exc).__name__}",
    )


def diagnose_error(
    exc: BaseException,
    *,
    target: str,
    timeout_s: float,
    checked_at: datetime,
    password_sent: bool = False,
    tls: bool = False,
    redactor: Redactor | None = None,
) -> ProbeResult:
    """The diagnosis of a Redis that could not be reached or refused the first command."""
    redact = redactor or Redactor()
    status, reason, summary = _classify(exc, target, timeout_s, password_sent, tls)
    details: dict[str, Any] = {
        "reason": redact(reason),
        "error": redact(f"{type(exc).__name__}: {exc}"),
    }
    return ProbeResult(
        healthy=False,
        status=status,
        summary=redact(summary),
        target=target,
        checked_at=checked_at,
        details=details,
        hint=HINTS[status],
    )


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
            summary = f"recovery confirmed: Redis answers PING in {_ms(result.latency_ms)}"
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
        summary = f"Redis answers PING in {_ms(result.latency_ms)}: {side}"
    else:
        summary = f"probe finds another problem: {reason}"
    details = {**result.details, "probe_summary": result.summary}
    return replace(result, summary=summary, details=details)


# -- output -------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def _ms(ms: float | None) -> str:
    if ms is None:
        return "? ms"
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


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
        if key in ("used_memory", "maxmemory") and _int(value) is not None:
            value = f"{_size(_int(value))} ({value} bytes)" if value else "no limit"
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
        from logwatch.rq_impact import rq_section

        extra_text, body["rq"] = rq_section(found.url, timeout_s=timeout_s, clock=clock)
        text += "\n" + extra_text
    if fmt == "json":
        text = json.dumps(body, indent=2, default=str) + "\n"
    return text, 0 if result.healthy else 1
