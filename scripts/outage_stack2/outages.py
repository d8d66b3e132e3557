"""How each outage is made and repaired, against the app's redis-server and the stack.

An Outage's `make` breaks Redis and returns once it is broken; `hold` keeps it broken for
its length (a loop for the ones that must be repeated); `repair` undoes it. Each says
which category of incident it should be, and which log files should show it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from outage_stack2.server import RedisPrimary, free_port
from outage_stack2.stack import REDIS_HOST, Stack

PASSWORD = "s3cr3t-example-2"  # obviously fake; the app's REDIS_URL carries it
NEW_PASSWORD = "rotated-example-3"


@dataclass
class Lab:
    """What an outage acts on."""

    server: RedisPrimary
    stack: Stack
    big_rdb: Path
    notes: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _admin: redis.Redis | None = None

    def admin(self) -> redis.Redis:
        """One connection, kept: it stays authenticated while the password is rotated and
        is spared by CLIENT KILL ... SKIPME yes and by maxclients."""
        if self._admin is None:
            self._admin = self.client(timeout=5.0)
        return self._admin

    def client(self, timeout: float | None, db: int = 0) -> redis.Redis:
        """A new client with the password (one connection, made on first use)."""
        return redis.Redis(
            host="127.0.0.1",
            port=self.server.port,
            password=PASSWORD,
            db=db,
            socket_timeout=timeout,
            single_connection_client=True,
        )

    def target(self) -> str:
        return f"{REDIS_HOST}:{self.server.port}"

    def background(self, fn: Callable[[], Any]) -> None:
        t = threading.Thread(target=fn, daemon=True)
        t.start()
        self._threads.append(t)

    def join(self) -> None:
        for t in self._threads:
            t.join(timeout=60)
        self._threads.clear()


@dataclass
class Outage:
    """One way to break Redis."""

    id: str
    category: str
    what: str
    seconds: float
    make: Callable[[Lab], None]
    repair: Callable[[Lab], None]
    hold: Callable[[Lab, float], None] | None = None
    named: bool = False  # the errors name host:port (the incident's target)
    also: tuple[str, ...] = ()  # categories of incidents linked to this one
    may_link: tuple[str, ...] = ()  # ... that may be, when enough lines show them
    files: tuple[str, ...] = ()


APP_FILES = ("django.log", "feedapi.log", "beat.stderr.log", "rqworker.stderr.log")


def _kill(lab: Lab) -> None:
    lab.server.kill()


def _restart(lab: Lab) -> None:
    lab.server.start()


def _stop(lab: Lab) -> None:
    lab.server.signal(signal.SIGSTOP)


def _cont(lab: Lab) -> None:
    lab.server.signal(signal.SIGCONT)


def _restart_app(lab: Lab) -> None:
    """A deploy: supervisord restarts every program, which all connect anew."""
    lab.background(lambda: lab.stack.ctl("restart", "all"))


def _rotate_password(lab: Lab) -> None:
    lab.admin().config_set("requirepass", NEW_PASSWORD)
    _restart_app(lab)


def _restore_password(lab: Lab) -> None:
    lab.admin().config_set("requirepass", PASSWORD)  # still authenticated from before


def _client_kill_loop(lab: Lab, seconds: float) -> None:
    admin = lab.admin()
    deadline = time.monotonic() + seconds
    rotated = False
    while time.monotonic() < deadline:
        admin.client_kill_filter(_type="normal", skipme=True)
        if not rotated and time.monotonic() > deadline - seconds / 2:
            lab.stack.logrotate()  # the nightly rotation happens to run now
            lab.notes.append("django.log rotated and compressed by logrotate mid-outage")
            rotated = True
        time.sleep(0.25)


def _nothing(lab: Lab) -> None:
    pass


def _fill_memory(lab: Lab) -> None:
    admin = lab.admin()
    for i in range(6):
        admin.set(f"import:ballast:{i}", b"\0" * 256 * 1024)
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1mb")


def _free_memory(lab: Lab) -> None:
    admin = lab.admin()
    admin.config_set("maxmemory", "0")
    admin.delete(*[f"import:ballast:{i}" for i in range(6)])


def _debug_sleep(seconds: float) -> Callable[[Lab], None]:
    def make(lab: Lab) -> None:
        admin = lab.client(timeout=seconds + 30)
        lab.background(lambda: admin.execute_command("DEBUG", "SLEEP", seconds))
        time.sleep(0.05)

    return make


def _replicaof_dead(lab: Lab) -> None:
    dead = free_port()  # a primary that is gone: nothing listens there
    lab.admin().execute_command("REPLICAOF", "127.0.0.1", dead)
    lab.notes.append(f"REPLICAOF 127.0.0.1 {dead} (nothing listens there)")


def _replicaof_hold(lab: Lab, seconds: float) -> None:
    time.sleep(seconds / 2)
    lab.stack.logrotate()
    lab.notes.append("django.log rotated and compressed by logrotate mid-outage")
    time.sleep(seconds / 2)


def _replicaof_no_one(lab: Lab) -> None:
    lab.admin().execute_command("REPLICAOF", "NO", "ONE")


def _max_clients(lab: Lab) -> None:
    lab.admin().config_set("maxclients", "1")  # below what is connected: no new client
    _restart_app(lab)


def _max_clients_back(lab: Lab) -> None:
    lab.admin().config_set("maxclients", "10000")


def _unresolve(lab: Lab) -> None:
    lab.stack.resolve_redis_host(False)
    # Pooled connections would go on working: the server closes them once, as a Redis
    # restart or an idle timeout would, so every client has to look the name up again.
    lab.admin().client_kill_filter(_type="normal", skipme=True)


def _resolve(lab: Lab) -> None:
    lab.stack.resolve_redis_host(True)


def _break_disk(lab: Lab) -> None:
    os.chmod(lab.server.dir, 0o555)  # redis-server runs as nobody: it can no longer write
    admin = lab.admin()
    admin.config_set("save", "3600 1")  # MISCONF needs a save point
    admin.bgsave()


def _fix_disk(lab: Lab) -> None:
    os.chmod(lab.server.dir, 0o755)
    admin = lab.admin()
    admin.bgsave()
    deadline = time.monotonic() + 30
    while admin.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.1)
    admin.config_set("save", "")


def _restart_big(lab: Lab) -> None:
    lab.server.place_rdb(lab.big_rdb)
    lab.server.stop()
    lab.server.start(wait_loaded=False)


def _wait_loaded(lab: Lab, seconds: float) -> None:
    admin = lab.admin()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if admin.info("persistence")["loading"] == 0:
                return
        except redis.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("redis-server still loading after 120 s")


def _drop_big(lab: Lab) -> None:
    lab.client(timeout=30, db=9).flushdb(asynchronous=True)
    (lab.server.dir / "dump.rdb").unlink(missing_ok=True)


SERVER = ("redis-server.log",)

#: What each outage's errors say, to check which files show it.
WORDING: dict[str, str] = {
    "kill": r"Error 111 connecting to|Connection refused",
    "sigstop": r"Timeout reading from|Timeout connecting to",
    "password": r"invalid username-password pair|WRONGPASS",
    "client-kill": r"Connection closed by server|Error \d* ?while (?:reading from|writing to)",
    "oom": r"used memory > 'maxmemory'",
    "debug-sleep": r"Timeout reading from|Timeout connecting to",
    "replicaof": r"read only replica|UNBLOCKED force unblock|Error condition on socket for SYNC",
    "maxclients": r"max number of clients reached",
    "dns": r"Name or service not known|Temporary failure in name resolution",
    "bgsave": r"MISCONF|unable to persist|Background saving error|Failed opening the temp RDB",
    "loading": r"loading the dataset in memory|BusyLoadingError",
}

OUTAGES: list[Outage] = [
    Outage("kill", "connection", "redis-server SIGKILLed, restarted on the same port",
           7, _kill, _restart, named=True, files=APP_FILES),
    Outage("sigstop", "timeout", "redis-server SIGSTOPped (SIGCONT at the end)",
           9, _stop, _cont, named=True, files=APP_FILES),
    Outage("password", "auth", "requirepass rotated, then a deploy restarts every program "
           "with the old one", 8, _rotate_password, _restore_password, files=APP_FILES),
    Outage("client-kill", "connection", "CLIENT KILL TYPE normal every 0.25 s",
           7, _nothing, _nothing, hold=_client_kill_loop, named=True, files=APP_FILES),
    Outage("oom", "oom", "1.5 MB of ballast, then maxmemory 1mb with noeviction",
           7, _fill_memory, _free_memory, files=APP_FILES),
    Outage("debug-sleep", "timeout", "DEBUG SLEEP 9 (the server blocks)",
           9, _debug_sleep(9), _nothing, named=True, files=APP_FILES),
    Outage("replicaof", "readonly", "REPLICAOF a dead primary, then REPLICAOF NO ONE",
           8, _replicaof_dead, _replicaof_no_one, hold=_replicaof_hold,
           also=("replication",), files=APP_FILES + SERVER),
    Outage("maxclients", "max_clients", "CONFIG SET maxclients 1 (below the connected "
           "count), then a deploy restarts every program", 8, _max_clients, _max_clients_back,
           may_link=("connection",), files=APP_FILES),
    Outage("dns", "connection", f"{REDIS_HOST} removed from the app's /etc/hosts, "
           "connections dropped once", 7, _unresolve, _resolve, named=True, files=APP_FILES),
    Outage("bgsave", "misconf", "data dir made read-only for redis-server, BGSAVE fails",
           7, _break_disk, _fix_disk, files=APP_FILES + SERVER),
    Outage("loading", "loading", "restart with a 6M-key RDB, queried while it loads",
           0, _restart_big, _drop_big, hold=_wait_loaded, may_link=("connection",),
           files=APP_FILES),
]  # fmt: skip
