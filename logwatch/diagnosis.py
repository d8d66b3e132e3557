"""Diagnosis of a Redis, pure: from a captured INFO dict or the exception of a failed connect.

What `logwatch probe` and the agent's probe say in plain words, with the runbook steps that
fit (`logwatch.runbook.HINTS`). No I/O here, so each state is testable from data; the live
check that feeds it is `logwatch.probe`. Most of it is the wording of eleven diagnoses.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from logwatch.redact import Redactor
from logwatch.runbook import HINTS

__all__ = ["ProbeResult", "diagnose_error", "diagnose_info", "human_size", "int_or_none", "ms_text"]

NEAR = 0.9  # memory or clients at 90 % of the limit is "near"


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


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def ms_text(ms: float | None) -> str:
    if ms is None:
        return "? ms"
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


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
    used, limit = int_or_none(info.get("used_memory")), int_or_none(info.get("maxmemory"))
    policy = str(info.get("maxmemory_policy", ""))
    if limit and used is not None and policy == "noeviction" and used >= NEAR * limit:
        pct = used * 100 // limit
        amount = f"{human_size(used)} of {human_size(limit)}"
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
    clients = int_or_none(info.get("connected_clients"))
    maxclients = int_or_none(info.get("maxclients"))
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
    parts = [f"PING in {ms_text(latency_ms)}"]
    if "role" in info:
        parts.append("primary" if info["role"] == "master" else str(info["role"]))
    used, limit = int_or_none(info.get("used_memory")), int_or_none(info.get("maxmemory"))
    if used is not None:
        parts.append(
            f"memory {human_size(used)} of {human_size(limit)}"
            if limit
            else f"memory {human_size(used)}"
        )
    clients = int_or_none(info.get("connected_clients"))
    maxclients = int_or_none(info.get("maxclients"))
    if clients is not None:
        parts.append(f"{clients} of {maxclients} clients" if maxclients else f"{clients} clients")
    details["reason"] = f"answers PING in {ms_text(latency_ms)}"
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
