"""`logwatch probe`: each diagnosis against a real redis-server put in that state.

Every server is started by the `redis_server` fixture (conftest.py) on a free loopback port
and stopped at teardown; nothing here touches a Redis on 6379.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from logwatch.errors import ConfigError
from logwatch.probe import (
    ProbeResult,
    RedisUrl,
    diagnose_error,
    diagnose_info,
    probe_for_incident,
    probe_json,
    probe_line,
    read_env_file,
    render_probe_text,
    resolve_redis_url,
    run_probe,
    run_probe_command,
)

Start = Callable[..., Any]
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
PASSWORD = "pr0be-s3cret-pw"
USERNAME = "probe-user-x"
USER_PASSWORD = "us3r-s3cret-pw"


@contextmanager
def admin(url: str) -> Iterator[redis.Redis]:
    """A plain client for putting the server in a state; closed on exit."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()


def everything(result: ProbeResult) -> str:
    """Every way a result can be shown: text, JSON, repr."""
    return "\n".join(
        [render_probe_text(result), json.dumps(probe_json(result), default=str), repr(result)]
    )


def with_password(url: str, password: str, username: str = "") -> str:
    return url.replace("redis://", f"redis://{username}:{password}@")


# -- each state, against the real server ---------------------------------------------------


def test_healthy(redis_server: Start) -> None:
    server = redis_server()
    result = run_probe(server.url, 2.0)
    assert result.healthy and result.status == "ok"
    assert result.target == f"127.0.0.1:{server.port}"
    assert result.latency_ms is not None and 0 < result.latency_ms < 500
    assert result.details["role"] == "master"
    assert result.details["redis_version"]
    assert result.details["maxclients"] > 0
    assert result.summary.startswith(f"Redis {result.details['redis_version']} at 127.0.0.1:")
    assert "is healthy: PING in" in result.summary and "primary" in result.summary
    assert " of " not in result.summary.split("memory ")[1].split(",")[0]  # maxmemory 0
    text = render_probe_text(result)
    assert "status: ok" in text and "If the app still fails:" in text


def test_refused_when_server_stopped(redis_server: Start) -> None:
    server = redis_server()
    server.stop()
    started = time.monotonic()
    result = run_probe(server.url, 2.0)
    assert time.monotonic() - started < 1.9  # refused is immediate: no retry, no 2 s timeout
    assert (result.healthy, result.status) == (False, "refused")
    assert result.summary == f"Redis 127.0.0.1:{server.port} refuses connections"
    assert result.details["reason"] == "connection refused"
    assert "sudo systemctl restart redis.service" in result.hint
    assert "maintenance mode" in result.hint


def test_timeout_when_server_sigstopped(redis_server: Start) -> None:
    server = redis_server()
    server.pause()
    try:
        started = time.monotonic()
        result = run_probe(server.url, 0.3)
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    assert 0.25 < elapsed < 1.5
    assert (result.healthy, result.status) == (False, "timeout")
    assert result.details["reason"] == "no answer within 0.3 s"
    assert "accepts connections but does not answer within 0.3 s" in result.summary
    assert "stopped (state T" in result.hint
    assert run_probe(server.url, 2.0).healthy  # SIGCONT brings it back


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        pytest.param(None, "authentication required", id="no-password"),
        pytest.param(("", "wrong-password"), "wrong username or password", id="wrong-password"),
        pytest.param(
            (USERNAME, "wrong-password"), "wrong username or password", id="wrong-user-pw"
        ),
    ],
)
def test_auth(redis_server: Start, credentials: tuple[str, str] | None, reason: str) -> None:
    server = redis_server("--requirepass", PASSWORD)
    with admin(with_password(server.url, PASSWORD)) as r:
        r.acl_setuser(USERNAME, enabled=True, passwords=[f"+{USER_PASSWORD}"], commands=["+@all"])
    url = (
        server.url
        if credentials is None
        else with_password(server.url, credentials[1], credentials[0])
    )
    result = run_probe(url, 2.0)
    assert (result.healthy, result.status) == (False, "auth")
    assert reason in result.details["reason"]
    assert "requirepass" in result.hint
    shown = everything(result)
    assert PASSWORD not in shown and USER_PASSWORD not in shown and "wrong-password" not in shown
    assert USERNAME not in shown


def test_right_credentials_are_healthy_and_never_shown(redis_server: Start) -> None:
    server = redis_server("--requirepass", PASSWORD)
    with admin(with_password(server.url, PASSWORD)) as r:
        r.acl_setuser(USERNAME, enabled=True, passwords=[f"+{USER_PASSWORD}"], commands=["+@all"])
    for url in (
        with_password(server.url, PASSWORD),
        with_password(server.url, USER_PASSWORD, USERNAME),
    ):
        result = run_probe(url, 2.0)
        assert result.healthy, result.summary
        shown = everything(result)
        for secret in (PASSWORD, USER_PASSWORD, USERNAME):
            assert secret not in shown


def test_loading_live(redis_server: Start) -> None:
    """A real LOADING: a saved dataset reloaded with a per-key delay (a debug config)."""
    server = redis_server()
    with admin(server.url) as r:
        pipe = r.pipeline(transaction=False)
        for i in range(500):
            pipe.set(f"key:{i}", b"x" * 1024)
        pipe.execute()
        r.save()
    server.stop()
    # 500 keys x 4 ms = 2 s of loading; events processed every 1 KiB so clients get -LOADING.
    slow_load = ["--key-load-delay", "4000", "--loading-process-events-interval-bytes", "1024"]
    server.start(server.port, extra_args=slow_load, wait_loaded=False)
    result = run_probe(server.url, 1.0)
    assert (result.healthy, result.status) == (False, "loading"), result.summary
    assert result.details["loading"] == 1
    assert 0 <= result.details["loading_loaded_perc"] < 100
    assert "is loading its dataset into memory (" in result.summary
    assert "commands fail with LOADING" in result.summary


# Captured from redis-server 7.0.15 during the live test above (INFO persistence).
LOADING_INFO = {
    "loading": 1,
    "async_loading": 0,
    "loading_start_time": 1795694385,
    "loading_total_bytes": 56985,
    "loading_rdb_used_mem": 3677120,
    "loading_loaded_bytes": 29695,
    "loading_loaded_perc": 52.11,
    "loading_eta_seconds": 1,
    "rdb_last_bgsave_status": "ok",
}


def test_loading_from_captured_info_and_exception() -> None:
    result = diagnose_info(LOADING_INFO, target="10.0.0.5:6379", latency_ms=None, checked_at=NOW)
    assert result.status == "loading"
    assert result.summary == (
        "Redis 10.0.0.5:6379 is loading its dataset into memory (52.11% done, about 1 s left):"
        " commands fail with LOADING"
    )
    exc = redis.BusyLoadingError("Redis is loading the dataset in memory")
    result = diagnose_error(exc, target="10.0.0.5:6379", timeout_s=2, checked_at=NOW)
    assert (result.status, result.details["reason"]) == ("loading", "loading the dataset")


def test_readonly_replica_of_unreachable_primary(redis_server: Start, refused_port: int) -> None:
    server = redis_server()
    unused = refused_port
    with admin(server.url) as r:
        r.replicaof("127.0.0.1", unused)
    result = run_probe(server.url, 2.0)
    assert (result.healthy, result.status) == (False, "readonly")
    assert result.summary == (
        f"Redis 127.0.0.1:{server.port} is a read-only replica of 127.0.0.1:{unused}"
        " (link to its primary down): writes fail with READONLY"
    )
    assert result.details["master_link_status"] == "down"
    assert "REPLICAOF NO ONE" in result.hint


@pytest.mark.parametrize(
    ("ratio", "phrase"),
    [
        pytest.param(1 / 0.95, "is near maxmemory (", id="near"),
        pytest.param(0.5, "is at maxmemory (", id="at"),
    ],
)
def test_oom(redis_server: Start, ratio: float, phrase: str) -> None:
    server = redis_server()
    with admin(server.url) as r:
        r.set("ballast", b"x" * 300_000)
    with admin(server.url) as r:  # a fresh client: the 300 kB query buffer is gone
        used = int(r.info("memory")["used_memory"])
        r.config_set("maxmemory-policy", "noeviction")
        r.config_set("maxmemory", int(used * ratio))
    result = run_probe(server.url, 2.0)
    assert (result.healthy, result.status) == (False, "oom"), result.summary
    assert phrase in result.summary and "with noeviction" in result.summary
    assert result.details["maxmemory_policy"] == "noeviction"
    assert "Raise maxmemory" in result.hint


def test_near_maxmemory_with_eviction_is_healthy(redis_server: Start) -> None:
    server = redis_server()
    with admin(server.url) as r:
        used = int(r.info("memory")["used_memory"])
        r.config_set("maxmemory-policy", "allkeys-lru")
        r.config_set("maxmemory", int(used / 0.95))
    result = run_probe(server.url, 2.0)
    assert result.healthy, result.summary


def test_max_clients_near(redis_server: Start) -> None:
    server = redis_server()
    with admin(server.url) as r:
        r.config_set("maxclients", 10)
    with ExitStack() as held:
        for _ in range(8):  # + the probe's own connection = 9 of 10
            held.enter_context(admin(server.url)).ping()
        result = run_probe(server.url, 2.0)
    assert (result.healthy, result.status) == (False, "max_clients"), result.summary
    assert "has 9 of maxclients 10 connections in use" in result.summary


def test_max_clients_reached(redis_server: Start) -> None:
    server = redis_server()
    with admin(server.url) as r:
        r.config_set("maxclients", 2)
    with ExitStack() as held:
        for _ in range(2):
            held.enter_context(admin(server.url)).ping()
        result = run_probe(server.url, 2.0)
    assert (result.healthy, result.status) == (False, "max_clients")
    assert result.summary.endswith("refuses new connections: max number of clients reached")


def test_persistence_failing(redis_server: Start) -> None:
    server = redis_server("--enable-protected-configs", "yes")
    with admin(server.url) as r:
        r.config_set("dir", "/proc")  # nobody, not even root, can create a file there
        r.bgsave()
        deadline = time.monotonic() + 10
        while r.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r.info("persistence")["rdb_last_bgsave_status"] == "err"
    result = run_probe(server.url, 2.0)
    assert (result.healthy, result.status) == (False, "persistence")
    assert "cannot persist (rdb_last_bgsave_status:err)" in result.summary
    assert "MISCONF" in result.summary and "BGSAVE" in result.hint


def test_dns_failure() -> None:
    result = run_probe("redis://no-such-host.invalid:6379/0", 2.0)
    assert (result.healthy, result.status) == (False, "dns")
    assert result.summary == "Redis host no-such-host.invalid does not resolve (DNS)"
    assert "getent hosts" in result.hint


def test_unix_socket_missing(tmp_path: Path) -> None:
    path = tmp_path / "redis.sock"
    result = run_probe(f"unix://{path}", 2.0)
    assert (result.healthy, result.status) == (False, "refused")
    assert result.target == str(path)
    assert result.details["reason"] == "unix socket missing"
    assert "does not exist" in result.summary


def test_unix_socket_healthy(redis_server: Start, tmp_path: Path) -> None:
    path = tmp_path / "redis.sock"
    redis_server("--unixsocket", str(path), "--unixsocketperm", "700")
    result = run_probe(f"unix://{path}?db=0", 2.0)
    assert result.healthy and result.target == str(path)


def test_several_problems_worst_first() -> None:
    info = {
        "role": "slave",
        "master_host": "10.0.0.9",
        "master_port": 6379,
        "master_link_status": "up",
        "used_memory": 100,
        "maxmemory": 100,
        "maxmemory_policy": "noeviction",
        "rdb_last_bgsave_status": "err",
    }
    result = diagnose_info(info, target="r:6379", latency_ms=0.2, checked_at=NOW)
    assert result.status == "readonly"
    assert "(link to its primary up)" in result.summary
    assert result.details["also"] == [
        "at maxmemory (100%) with noeviction",
        "persistence failing (rdb_last_bgsave_status:err)",
    ]


# -- errors as redis-py versions word them ---------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "reason"),
    [
        pytest.param(
            redis.ConnectionError("Error 111 connecting to 10.0.0.5:6379. Connection refused."),
            "refused",
            "connection refused",
            id="refused-message-only",
        ),
        pytest.param(
            redis.ConnectionError(
                "Error -3 connecting to redis:6379. Temporary failure in name resolution."
            ),
            "dns",
            "host name does not resolve",
            id="dns-eai-again",
        ),
        pytest.param(
            redis.TimeoutError("Timeout connecting to server"),
            "timeout",
            "no connection within 2 s",
            id="connect-timeout",
        ),
        pytest.param(
            redis.TimeoutError("Timeout reading from socket"),
            "timeout",
            "no answer within 2 s",
            id="read-timeout",
        ),
        pytest.param(
            redis.ResponseError("NOAUTH Authentication required."),
            "auth",
            "authentication required",
            id="noauth-old-redis-py",
        ),
        pytest.param(
            redis.AuthenticationError("Authentication required."),
            "auth",
            "authentication required",
            id="noauth",
        ),
        pytest.param(
            redis.AuthenticationError(
                "HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used"
            ),
            "auth",
            "authentication required",
            id="hello-noauth-redis-py-8",
        ),
        pytest.param(
            redis.ConnectionError("max number of clients reached"),
            "max_clients",
            "max number of clients reached",
            id="max-clients",
        ),
        pytest.param(
            redis.ConnectionError("Connection closed by server."),
            "error",
            "Connection closed by server.",
            id="closed",
        ),
    ],
)
def test_error_wordings(exc: Exception, status: str, reason: str) -> None:
    result = diagnose_error(exc, target="10.0.0.5:6379", timeout_s=2, checked_at=NOW)
    assert (result.healthy, result.status, result.details["reason"]) == (False, status, reason)
    assert result.hint


def test_rediss_to_a_plain_text_port(redis_server: Start) -> None:
    server = redis_server()
    result = run_probe(server.url.replace("redis://", "rediss://"), 0.3)
    assert (result.status, result.details["reason"]) == (
        "timeout",
        "no TLS connection within 0.3 s",
    )
    assert "or the port does not speak TLS" in result.summary


def test_wrong_password_wording() -> None:
    exc = redis.AuthenticationError("invalid username-password pair or user is disabled.")
    result = diagnose_error(exc, target="h:1", timeout_s=2, checked_at=NOW, password_sent=True)
    assert result.details["reason"] == "authentication failed (wrong username or password)"


# -- where the URL comes from ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("REDIS_URL=redis://h:1/0\n", "redis://h:1/0", id="plain"),
        pytest.param(
            'export REDIS_URL="redis://:p w@h:1/0"\n',
            "redis://:p w@h:1/0",
            id="export-double-quotes",
        ),
        pytest.param(
            "REDIS_URL='redis://h:1/0'  # the cache\n", "redis://h:1/0", id="single-quotes-comment"
        ),
        pytest.param("REDIS_URL=redis://h:1/0 # the cache\n", "redis://h:1/0", id="inline-comment"),
        pytest.param(
            "REDIS_URL=redis://:pa#ss@h:1/0\n", "redis://:pa#ss@h:1/0", id="hash-in-password"
        ),
        pytest.param("  REDIS_URL = redis://h:1/0  \n", "redis://h:1/0", id="spaces"),
        pytest.param(
            "REDIS_URL=redis://a:1\nREDIS_URL=redis://b:2\n", "redis://b:2", id="last-wins"
        ),
        pytest.param(
            "# REDIS_URL=redis://old:1\nOTHER_REDIS_URL=redis://x:1\n",
            None,
            id="comment-and-other-key",
        ),
        pytest.param("REDIS_URL=\n", None, id="empty"),
        pytest.param(
            "SECRET_KEY=x\r\nREDIS_URL=rediss://u:p@h:6380/1\r\n",
            "rediss://u:p@h:6380/1",
            id="crlf-rediss",
        ),
    ],
)
def test_env_file(tmp_path: Path, text: str, expected: str | None) -> None:
    path = tmp_path / ".env"
    path.write_bytes(text.encode())
    assert read_env_file(path) == expected


def test_url_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text("REDIS_URL=redis://from-dotenv:1/0\n")
    env = {"REDIS_URL": "redis://from-env:1/0"}
    config = lambda: "redis://from-config:1/0"  # noqa: E731

    def resolve(arg: str | None, env: dict[str, str], env_file: Path | None) -> RedisUrl:
        return resolve_redis_url(arg, env=env, env_file=env_file, configured=config)

    assert resolve("redis://arg:1/0", env, dotenv).url == "redis://arg:1/0"
    assert resolve(None, env, dotenv).source == "REDIS_URL in the environment"
    assert resolve(None, {}, dotenv) == RedisUrl(
        url="redis://from-dotenv:1/0", source=f"REDIS_URL in {dotenv}"
    )
    monkeypatch.chdir(tmp_path)
    assert resolve(None, {}, None).source == "redis_url in the config"  # no ./.env
    (tmp_path / ".env").write_text("export REDIS_URL=redis://cwd:1/0\n")
    assert resolve(None, {}, None).url == "redis://cwd:1/0"
    assert "from-dotenv" not in repr(resolve(None, {}, dotenv))  # the URL is never in a repr


def test_url_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"no Redis URL: .*--env-file"):
        resolve_redis_url(None, env={})
    with pytest.raises(ConfigError, match=r"missing\.env: cannot read"):
        resolve_redis_url(None, env={}, env_file=tmp_path / "missing.env")
    for bad in ("http://h:1", "localhost:6379", "unix://", f"redis://u:{PASSWORD}@h:port/0"):
        with pytest.raises(ConfigError) as info:
            run_probe(bad, 1.0)
        assert PASSWORD not in str(info.value) and str(info.value).startswith("REDIS_URL: ")


# -- for the agent ---------------------------------------------------------------------------


def test_probe_for_incident_confirms_and_recovers(redis_server: Start) -> None:
    server = redis_server()
    target = f"127.0.0.1:{server.port}"
    healthy = probe_for_incident("connection", target, server.url, 1.0)
    assert healthy.healthy
    assert healthy.summary.startswith("Redis answers PING in ")
    assert healthy.summary.endswith(
        "ms: errors may be on the client side (network, credentials, DNS)"
    )
    auth = probe_for_incident("auth", target, server.url, 1.0)
    assert "the failing clients may use other credentials" in auth.summary
    assert probe_for_incident(
        "connection", target, server.url, 1.0, resolved=True
    ).summary.startswith("recovery confirmed: Redis answers PING in ")
    server.stop()
    assert (
        probe_for_incident("connection", target, server.url, 1.0).summary
        == "confirmed: connection refused"
    )
    assert probe_for_incident("oom", target, server.url, 1.0).summary == (
        "probe finds another problem: connection refused"
    )
    not_back = probe_for_incident("connection", target, server.url, 1.0, resolved=True)
    assert not_back.summary == "not recovered: connection refused"
    assert not_back.details["probe_summary"] == f"Redis {target} refuses connections"
    # Only the target known: the probe goes to redis://target.
    assert (
        probe_for_incident("connection", target, None, 1.0).summary
        == "confirmed: connection refused"
    )


def test_probe_for_incident_timeout_is_bounded_in_a_worker_thread(redis_server: Start) -> None:
    server = redis_server()
    results: list[ProbeResult] = []
    server.pause()
    try:
        worker = threading.Thread(
            target=lambda: results.append(
                probe_for_incident("timeout", f"127.0.0.1:{server.port}", server.url, 0.3)
            ),
            name="probe-worker",
        )
        started = time.monotonic()
        worker.start()
        worker.join(5)
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    assert not worker.is_alive() and elapsed < 1.5
    assert results[0].summary == "confirmed: no answer within 0.3 s"


@pytest.mark.parametrize(
    ("target", "url", "summary"),
    [
        pytest.param("redis", None, "not probed: no Redis URL known for redis", id="no-url"),
        pytest.param(
            "h:1",
            "http://h:1",
            "not probed: REDIS_URL: not a redis://, rediss:// or unix:// URL",
            id="bad-scheme",
        ),
        pytest.param(
            "h:1",
            f"redis://:{PASSWORD}@h:x/0",
            "not probed: REDIS_URL: invalid URL (check the host and port)",
            id="bad-port",
        ),
    ],
)
def test_probe_for_incident_never_raises(target: str, url: str | None, summary: str) -> None:
    result = probe_for_incident("connection", target, url, 0.5)
    assert (result.healthy, result.status, result.summary) == (False, "error", summary)
    assert PASSWORD not in everything(result)


def test_probe_line_says_how_old() -> None:
    result = diagnose_error(
        redis.ConnectionError("Error 111 connecting to 10.0.0.5:6379. Connection refused."),
        target="10.0.0.5:6379",
        timeout_s=2,
        checked_at=NOW,
    )
    assert probe_line(result, NOW) == "Redis 10.0.0.5:6379 refuses connections (checked just now)"
    assert probe_line(result, NOW + timedelta(seconds=2)).endswith("(checked 2 s ago)")
    assert probe_line(result, NOW + timedelta(minutes=5)).endswith("(checked 5 min ago)")


# -- the command's body ----------------------------------------------------------------------


def test_command_exit_codes_and_json(redis_server: Start, tmp_path: Path) -> None:
    server = redis_server("--requirepass", PASSWORD)
    dotenv = tmp_path / ".env"
    dotenv.write_text(f'export REDIS_URL="{with_password(server.url, PASSWORD)}"\n')
    text, code = run_probe_command(None, env={}, env_file=dotenv)
    assert code == 0 and "is healthy" in text and f"source: REDIS_URL in {dotenv}" in text
    assert PASSWORD not in text
    out, code = run_probe_command(None, env={"REDIS_URL": server.url}, fmt="json", timeout_s=1.0)
    data = json.loads(out)
    assert code == 1
    assert set(data) == {
        "healthy",
        "status",
        "summary",
        "target",
        "latency_ms",
        "checked_at",
        "details",
        "hint",
    }
    assert (data["healthy"], data["status"], data["target"]) == (
        False,
        "auth",
        f"127.0.0.1:{server.port}",
    )
    assert data["details"]["source"] == "REDIS_URL in the environment"
    datetime.fromisoformat(data["checked_at"])


# -- the fixtures themselves -----------------------------------------------------------------

META_TESTS = """\
import threading, time
import conftest

conftest.THREAD_JOIN_S = 0.2

def test_leaks_a_thread():
    threading.Thread(target=time.sleep, args=(5,), name="leaky", daemon=True).start()

def test_thread_that_ends_in_time():
    threading.Thread(target=time.sleep, args=(0.05,), name="quick").start()

def test_needs_redis(redis_server):
    redis_server()
"""


@pytest.mark.parametrize(
    ("skip", "outcome"),
    [
        pytest.param("", "2 passed, 2 errors", id="fails"),
        pytest.param("1", "2 passed, 1 skipped, 1 error", id="opted-out"),
    ],
)
def test_fixtures_without_redis_server(tmp_path: Path, skip: str, outcome: str) -> None:
    """No redis-server on PATH: the test fails saying how to install it, unless opted out;
    and a leaked thread is an error of the test that leaked it."""
    (tmp_path / "test_meta.py").write_text(META_TESTS)
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {
        **os.environ,
        "PATH": str(empty),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        ),
        "LOGWATCH_SKIP_REDIS_TESTS": skip,
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "conftest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_meta.py"),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = proc.stdout + proc.stderr
    assert outcome in out, out
    assert "test leaked 1 thread(s): leaky (daemon=True)" in out
    if not skip:
        assert "apt-get install redis-server" in out
