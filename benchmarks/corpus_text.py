"""What the synthetic corpus's lines say: redis-py, RQ, gunicorn, Flask and redis-server wording.

Pure text for benchmarks/make_corpus.py: the Redis failures as redis-py 5.x and 3.5.3 print
them (as tests/samples/redis/*.log records them from live runs), the events a plan places
(errors and redis-server scenery) and the healthy traffic around them, with decoys whose
words resemble Redis errors (requests', psycopg's and paramiko's "Connection refused",
"Name or service not known", "Connection closed by server", an HTTP 401 "Authentication
required"). An error event's text says which of its lines carry the Redis error signature.
Over 400 lines because it is mostly wording tables and long log-line templates.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any, NamedTuple

HOST = "redis:6379"  # the endpoint redis-py names: logwatch's incident target
DEFAULT_TARGET = "redis"  # logwatch's target when no line names one
SP = "/usr/local/lib/python3.11/site-packages"


class Failure(NamedTuple):
    """One Redis failure: its category, and (class, str(exc)) in redis-py 5.x and 3.5.3."""

    category: str
    cls5: str
    msg5: str
    cls35: str
    msg35: str
    cause: str | None  # the socket error 5.x chains first ("During handling ...")
    side: str  # "connect" or "read": the frames its traceback shows


MISCONF = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to"
    " disk. Commands that may modify the data set are disabled, because this instance is"
    " configured to report errors during writes if RDB snapshotting fails"
    " (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the"
    " RDB error."
)
OOM = "command not allowed when used memory > 'maxmemory'."
WRONGPASS = "invalid username-password pair or user is disabled."
READONLY = "You can't write against a read only replica."
LOADING = "Redis is loading the dataset in memory"
REFUSED = f"Error 111 connecting to {HOST}. Connection refused."
CLOSED = "Connection closed by server."
# fmt: off
FAILURES: dict[str, Failure] = {
    "refused": Failure("connection", "ConnectionError", REFUSED, "ConnectionError", REFUSED,
                       "ConnectionRefusedError: [Errno 111] Connection refused", "connect"),
    "dns": Failure("connection", "ConnectionError",
                   f"Error -2 connecting to {HOST}. Name or service not known.", "ConnectionError",
                   f"Error -3 connecting to {HOST}. Temporary failure in name resolution.",
                   "socket.gaierror: [Errno -2] Name or service not known", "connect"),
    "reset": Failure("connection", "ConnectionError",
                     f"Error while reading from {HOST} : (104, 'Connection reset by peer')",
                     "ConnectionError",
                     "Error while reading from socket: (104, 'Connection reset by peer')",
                     "ConnectionResetError: [Errno 104] Connection reset by peer", "read"),
    "broken": Failure("connection", "ConnectionError",
                      "Error 32 while writing to socket. Broken pipe.", "ConnectionError",
                      "Error 104 while writing to socket. Connection reset by peer.", None, "read"),
    "closed": Failure("connection", "ConnectionError", CLOSED, "ConnectionError", CLOSED, None,
                      "read"),
    "read-timeout": Failure("timeout", "TimeoutError", f"Timeout reading from {HOST}",
                            "TimeoutError", "Timeout reading from socket",
                            "TimeoutError: timed out", "read"),
    "connect-timeout": Failure("timeout", "TimeoutError", "Timeout connecting to server",
                               "TimeoutError", "Timeout connecting to server",
                               "TimeoutError: timed out", "connect"),
    "noauth": Failure("auth", "AuthenticationError", "Authentication required.",
                      "AuthenticationError", "Authentication required.", None, "connect"),
    "wrongpass": Failure("auth", "AuthenticationError", WRONGPASS, "ResponseError",
                         "WRONGPASS " + WRONGPASS, None, "connect"),
    "oom": Failure("oom", "OutOfMemoryError", OOM, "ResponseError", "OOM " + OOM, None, "read"),
    "readonly": Failure("readonly", "ReadOnlyError", READONLY, "ReadOnlyError", READONLY, None,
                        "read"),
    "misconf": Failure("misconf", "ResponseError", MISCONF, "ResponseError", MISCONF, None,
                       "read"),
    "loading": Failure("loading", "BusyLoadingError", LOADING, "BusyLoadingError", LOADING,
                       None, "read"),
    "maxclients": Failure("max_clients", "ConnectionError", "max number of clients reached",
                          "ConnectionError", "max number of clients reached", None, "connect"),
}
# fmt: on
# redis-py's ConnectionError subclasses: an RQ worker loop retries these (TimeoutError is not one).
RETRIED = frozenset({"ConnectionError", "AuthenticationError", "BusyLoadingError"})


def message(failure: Failure, version: str) -> tuple[str, str]:
    """(class, str(exc)) in redis-py `version` ("5" or "3.5")."""
    return (failure.cls5, failure.msg5) if version == "5" else (failure.cls35, failure.msg35)


# -- events a plan places ---------------------------------------------------------------------

APP, JSONL, WORKER, REDIS = range(4)
FAMILIES = ("app.log", "app.jsonl", "worker.log", "redis.log")


class Planned(NamedTuple):
    """An event the plan places: a Redis error (in burst `burst`, 0 = isolated) or scenery."""

    ms: int  # epoch milliseconds as written (whole seconds under RQ's HH:MM:SS stamps)
    kind: str  # see KIND_FAMILY
    failure: str  # key of FAILURES ("" for scenery)
    version: str  # redis-py "5" or "3.5" (what the message says)
    burst: int
    errors: int  # error lines it writes: 0 for scenery, 2 for a wrapped traceback
    detail: int = 0  # retry: the seconds RQ waits; server: 0 the child's error, 1 the parent's


KIND_FAMILY = {
    "web-tb": APP,  # Flask "Exception on ..." with the redis-py traceback
    "web-warn": APP,  # the app's own warning quoting str(exc)
    "json": JSONL,  # python-json-logger record, with exc_info or the message in it
    "job-tb": WORKER,  # RQ job failure traceback
    "task-warn": WORKER,  # a task's own warning
    "retry": WORKER,  # RQ worker loop: could not connect to Redis instance
    "quit": WORKER,  # RQ worker: Redis connection timeout, quitting
    "server": REDIS,  # redis-server failing a BGSAVE
    "redis-down": REDIS,  # scenery: shutdown lines
    "redis-up": REDIS,  # scenery: start-up and loading lines
    "redis-replica": REDIS,  # scenery: turned into a replica
}
SECOND_STAMPS = frozenset({"job-tb", "retry", "quit"})  # RQ's HH:MM:SS: no milliseconds
NAMING_KINDS = frozenset({"web-tb", "web-warn", "json", "job-tb", "task-warn", "retry"})


def names_host(event: Planned) -> bool:
    """Whether the event's text names the Redis endpoint (so the incident's target is HOST)."""
    if event.kind not in NAMING_KINDS:
        return False
    return HOST in message(FAILURES[event.failure], event.version)[1]


# -- timestamps -------------------------------------------------------------------------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Stamps(NamedTuple):
    """One second's timestamp prefixes, in every format the corpus writes."""

    py: str  # Python logging: 2026-03-01 12:00:00 (then ,mmm)
    iso: str  # 2026-03-01T12:00:00 (then .mmm000+00:00)
    clf: str  # access log: 01/Mar/2026:12:00:00
    clock: str  # RQ: 12:00:00
    redis: str  # redis-server: 01 Mar 2026 12:00:00 (then .mmm)


def stamps_of(second: int) -> Stamps:
    """The prefixes for an epoch second (UTC)."""
    tm = time.gmtime(second)
    py = time.strftime("%Y-%m-%d %H:%M:%S", tm)
    day, mon, year, clock = py[8:10], MONTHS[tm.tm_mon - 1], py[:4], py[11:]
    return Stamps(
        py,
        f"{py[:10]}T{clock}",
        f"{day}/{mon}/{year}:{clock}",
        clock,
        f"{day} {mon} {year} {clock}",
    )


# -- tracebacks -------------------------------------------------------------------------------


def frames(*specs: tuple[str, int, str, str]) -> list[str]:
    """Traceback frame lines for (file, line, function, source) tuples."""
    out = []
    for path, line, func, source in specs:
        full = path if path.startswith("/app") else f"{SP}/{path}"
        out += [f'  File "{full}", line {line}, in {func}', f"    {source}"]
    return out


# fmt: off
FLASK = frames(
    ("flask/app.py", 1473, "wsgi_app", "response = self.full_dispatch_request()"),
    ("flask/app.py", 882, "full_dispatch_request", "rv = self.handle_user_exception(e)"),
    ("flask/app.py", 880, "full_dispatch_request", "rv = self.dispatch_request()"),
    ("flask/app.py", 865, "dispatch_request",
     "return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)"),
)
VIEWS = [  # (method, path, redis command, key, frames of the view)
    ("GET", "/api/v1/feed", "GET", "feed:{}:v3", frames(
        ("/app/morningai/views/feed.py", 57, "get_feed", 'cached = cache.get(f"feed:{user_id}:v3")'))),
    ("GET", "/api/v1/recommendations", "HGETALL", "recs:{}", frames(
        ("/app/morningai/views/recs.py", 31, "recommendations", 'recs = r.hgetall(f"recs:{user_id}")'))),
    ("POST", "/api/v1/events", "XADD", "events:{}", frames(
        ("/app/morningai/views/events.py", 22, "ingest",
         'r.xadd(f"events:{user_id}", payload, maxlen=10000)'))),
    ("POST", "/api/v1/digest/subscribe", "SET", "sub:{}", frames(
        ("/app/morningai/views/digest.py", 44, "subscribe", "q.enqueue(send_digest, user_id=user_id)"),
        ("rq/queue.py", 1010, "enqueue", "return self.enqueue_call("))),
]
CLIENT = {
    "connect": frames(
        ("redis/client.py", 559, "execute_command", "return self._execute_command(*args, **options)"),
        ("redis/client.py", 565, "_execute_command",
         "conn = self.connection or pool.get_connection(command_name, **options)"),
        ("redis/connection.py", 1422, "get_connection", "connection.connect()"),
        ("redis/connection.py", 363, "connect", "raise ConnectionError(self._error_message(e))")),
    "read": frames(
        ("redis/client.py", 559, "execute_command", "return self._execute_command(*args, **options)"),
        ("redis/client.py", 577, "_execute_command", "lambda: self._send_command_parse_response("),
        ("redis/client.py", 595, "parse_response", "response = connection.read_response()"),
        ("redis/connection.py", 616, "read_response", "raise response")),
}
SOCKET = {
    "connect": frames(
        ("redis/connection.py", 357, "connect", "sock = self.retry.call_with_retry("),
        ("redis/retry.py", 62, "call_with_retry", "return do()"),
        ("redis/connection.py", 358, "<lambda>",
         "lambda: self._connect(), lambda error: self.disconnect(error)"),
        ("redis/connection.py", 727, "_connect", "sock.connect(socket_address)")),
    "read": frames(
        ("redis/connection.py", 500, "read_response",
         "response = self._parser.read_response(disable_decoding=disable_decoding)"),
        ("redis/_parsers/resp2.py", 15, "read_response",
         "result = self._read_response(disable_decoding=disable_decoding)"),
        ("redis/_parsers/socket.py", 65, "_read_from_socket",
         "data = self._sock.recv(socket_read_size)")),
}
RQ_JOB = {
    "3.5": frames(  # rq 1.16
        ("rq/worker.py", 1428, "perform_job", "rv = job.perform()"),
        ("rq/job.py", 1278, "perform", "self._result = self._execute()"),
        ("rq/job.py", 1315, "_execute", "result = self.func(*self.args, **self.kwargs)"),
        ("/app/morningai/tasks.py", 88, "send_digest", 'r.hset(f"digest:{user_id}", mapping=payload)'),
        ("redis/client.py", 901, "execute_command",
         "return self.parse_response(conn, command_name, **options)"),
        ("redis/connection.py", 756, "read_response", "raise response")),
    "5": frames(  # rq 3.0
        ("rq/worker/base.py", 1491, "perform_job", "rv = job.perform()"),
        ("rq/job.py", 1387, "perform", "self._result = self._execute()"),
        ("rq/job.py", 1424, "_execute", "result = self.func(*self.args, **self.kwargs)"),
        ("/app/morningai/tasks.py", 88, "send_digest", 'r.hset(f"digest:{user_id}", mapping=payload)'),
        ("redis/client.py", 577, "_execute_command", "lambda: self._send_command_parse_response("),
        ("redis/connection.py", 616, "read_response", "raise response")),
}
DECOY_TRACEBACKS = [  # not Redis, but the words look alike: none may be matched
    [*frames(("/app/morningai/mail.py", 61, "send",
              "resp = requests.post(SENDGRID_URL, json=msg, timeout=5)"),
             ("requests/adapters.py", 519, "send", "raise ConnectionError(e, request=request)")),
     "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.sendgrid.com', port=443):"
     " Max retries exceeded with url: /v3/mail/send (Caused by NewConnectionError('<urllib3."
     "connection.HTTPSConnection object at 0x7f3a2c1d0e50>: Failed to establish a new"
     " connection: [Errno 111] Connection refused'))"],
    [*frames(("/app/morningai/db.py", 19, "connect", "return psycopg2.connect(DSN)"),
             ("psycopg2/__init__.py", 122, "connect",
              "conn = _connect(dsn, connection_factory=connection_factory, **kwasync)")),
     'psycopg2.OperationalError: could not translate host name "postgres" to address: Name or'
     " service not known"],
    [*frames(("/app/morningai/ml.py", 40, "score", "r = session.post(SCORER_URL, json=batch)"),
             ("requests/adapters.py", 501, "send", "raise ConnectionError(err, request=request)")),
     "requests.exceptions.ConnectionError: ('Connection aborted.', ConnectionResetError(104,"
     " 'Connection reset by peer'))"],
    [*frames(("/app/morningai/views/profile.py", 73, "profile", 'tz = prefs["timezone"]')),
     "KeyError: 'timezone'"],
    [*frames(("/app/morningai/calendar.py", 112, "fetch", "data = self.sock.recv(65536)")),
     "TimeoutError: timed out"],
    [*frames(("/app/morningai/db.py", 44, "session", "conn = engine.connect()"),
             ("sqlalchemy/pool/impl.py", 157, "_do_get", "raise exc.TimeoutError(")),
     "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection"
     " timed out, timeout 30.00"],
]
SFTP_DECOY = [
    *frames(("/app/morningai/export.py", 30, "upload", "sftp = paramiko.SFTPClient.from_transport(t)"),
            ("paramiko/transport.py", 2224, "_check_banner", "raise SSHException(")),
    "paramiko.ssh_exception.SSHException: Connection closed by server",
]
# fmt: on


def traceback_lines(failure: Failure, view: list[str], version: str, wrapped: str) -> list[str]:
    """A redis-py traceback as Flask logs it: the socket cause chained first (5.x), the app's
    own exception last when it wraps the Redis one."""
    cls, msg = message(failure, version)
    out = []
    if failure.cause is not None and version == "5":
        out += ["Traceback (most recent call last):", *SOCKET[failure.side], failure.cause, ""]
        out += ["During handling of the above exception, another exception occurred:", ""]
    out += ["Traceback (most recent call last):", *FLASK, *view, *CLIENT[failure.side]]
    out.append(f"redis.exceptions.{cls}: {msg}")
    if wrapped:
        out += ["", "The above exception was the direct cause of the following exception:", ""]
        out += ["Traceback (most recent call last):", *FLASK, *view]
        out.append(f"morningai.errors.CacheUnavailable: {wrapped} ({cls}: {msg})")
    return out


# -- planned events -----------------------------------------------------------------------------

TASKS = ["send_digest", "refresh_feed", "score_articles", "sync_calendar", "generate_summary"]
WORKERS = {
    "3.5": "rq:worker:1c4e2a9d5f0c4b6e8a7d3c2b1a0f9e8d",
    "5": "7f3b10e2c9d84e5fa1b2c3d4e5f60718",
}


class Rendered(NamedTuple):
    """A planned event's text and where in it its record and error lines are."""

    text: str  # whole lines, each ending in a newline
    record: int  # index of the line that starts the record logwatch should match
    errors: tuple[int, ...]  # indices of the lines that carry a Redis error signature


def render_planned(ev: Planned, st: Stamps, rnd: random.Random) -> Rendered:
    """The text of one planned event (error or scenery) at its time."""
    ms = ev.ms % 1000
    if ev.kind.startswith("redis-"):
        return Rendered(_scenery(ev.kind, f"{st.redis}.{ms:03d}", rnd), 0, ())
    if ev.kind == "server":
        return _server_error(ev, f"{st.redis}.{ms:03d}", rnd)
    failure = FAILURES[ev.failure]
    cls, msg = message(failure, ev.version)
    head = f"{st.py},{ms:03d}"
    u = 1000 + rnd.randrange(90000)
    method, path, op, key, view = VIEWS[rnd.randrange(len(VIEWS))]
    key = key.format(u)
    if ev.kind == "web-warn":
        return Rendered(
            f"{head} WARNING [morningai.cache] redis {op} {key} failed ({cls}: {msg});"
            " falling back to postgres\n",
            0,
            (0,),
        )
    if ev.kind == "task-warn":
        task = TASKS[rnd.randrange(len(TASKS))]
        return Rendered(
            f"{head} WARNING [morningai.tasks] {task} user={u}: redis HSET digest:{u} failed"
            f" ({cls}: {msg}), will retry\n",
            0,
            (0,),
        )
    if ev.kind == "retry":
        if ev.version == "3.5":  # rq 1.16 (1.8 - 2.4)
            line = f"Could not connect to Redis instance: {msg} Retrying in {ev.detail} seconds..."
        else:  # rq 3.0 (>= 2.4.1)
            line = (
                f"Worker {WORKERS['5']}: could not connect to Redis instance: {msg}"
                f" retrying in {ev.detail} seconds..."
            )
        return Rendered(f"{st.clock} {line}\n", 0, (0,))
    if ev.kind == "quit":  # then its supervisor starts it again
        name, release = WORKERS[ev.version], "1.16.2" if ev.version == "3.5" else "3.0.0"
        started = f"{name} started" if ev.version == "3.5" else f"{name}: started"
        pid = 100 + rnd.randrange(900)
        return Rendered(
            f"{st.clock} Worker {name}: Redis connection timeout, quitting...\n"
            f"{st.clock} Worker {started} with PID {pid}, version {release}\n",
            0,
            (0,),
        )
    if ev.kind == "job-tb":
        job = f"{rnd.getrandbits(128):032x}"
        if ev.version == "3.5":
            first = f"{st.clock} [Job {job}]: exception raised while executing"
        else:
            first = f"{st.clock} Worker {WORKERS['5']}: job {job}: exception raised while executing"
        # RQ logs the formatted traceback, newline included: a blank line follows.
        lines = [f"{first} (morningai.tasks.send_digest)", "Traceback (most recent call last):"]
        lines += [*RQ_JOB[ev.version], f"redis.exceptions.{cls}: {msg}", ""]
        return Rendered("\n".join(lines) + "\n", 0, (len(lines) - 2,))
    wrapped = f"redis {op} {key} failed" if ev.errors == 2 else ""
    tb = traceback_lines(failure, view, ev.version, wrapped)
    if ev.kind == "json":
        record: dict[str, Any] = {
            "asctime": head,
            "levelname": "ERROR",
            "name": "morningai.cache",
            "message": f"redis {op} {key} failed",
        }
        if rnd.random() < 0.5:  # logger.exception(): python-json-logger's exc_info
            record["exc_info"] = "\n".join(tb)
        else:  # logger.error(f"... failed: {exc}", extra={"error_type": ...})
            record["message"] += f": {msg}"
            record["error_type"] = cls
        record["request_id"] = f"{rnd.getrandbits(64):016x}"
        record["timestamp"] = f"{st.iso}.{ms:03d}000+00:00"
        return Rendered(json.dumps(record) + "\n", 0, (0,))
    lines = [f"{head} ERROR [morningai] Exception on {path} [{method}]", *tb]
    errors = tuple(i for i, line in enumerate(lines) if msg in line and not line.startswith(" "))
    return Rendered("\n".join(lines) + "\n", 0, errors)


def _server_error(ev: Planned, at: str, rnd: random.Random) -> Rendered:
    """redis-server failing a BGSAVE (retried every 5 s): the child's error, then the verdict."""
    if ev.detail == 1:
        return Rendered(f"1:M {at} # Background saving error\n", 0, (0,))
    pid = 4000 + rnd.randrange(5000)
    if rnd.random() < 0.7:
        error = f"{pid}:C {at} # Write error saving DB on disk: No space left on device"
    else:
        error = (
            f"{pid}:C {at} # Failed opening the temp RDB file temp-{pid}.rdb (in server root dir"
            " /data) for saving: Permission denied"
        )
    text = (
        f"1:M {at} * 1 changes in 3600 seconds. Saving...\n"
        f"1:M {at} * Background saving started by pid {pid}\n{error}\n"
    )
    return Rendered(text, 2, (2,))


def _scenery(kind: str, at: str, rnd: random.Random) -> str:
    """redis-server's own lines around an outage: none of them is an error."""
    role = "M"
    if kind == "redis-down":
        lines = ["# User requested shutdown...", "* Saving the final RDB snapshot before exiting."]
        lines += ["* DB saved on disk", "# Redis is now ready to exit, bye bye..."]
    elif kind == "redis-up":
        lines = ["* Server initialized", "* Loading RDB produced by version 7.0.15"]
        lines += [f"* RDB age {rnd.randrange(5, 90)} seconds"]
        lines += [
            f"* Done loading RDB, keys loaded: {rnd.randrange(10**5, 10**7)}, keys expired: 0."
        ]
        lines += [f"* DB loaded from disk: {rnd.uniform(1, 99):.3f} seconds"]
        lines += ["* Ready to accept connections tcp"]
    else:
        role = "S"
        lines = [
            "* Before turning into a replica, using my own master parameters to synthesize a"
            " cached master: I may be able to synchronize with the new master with just a partial"
            " transfer.",
            "* Connecting to MASTER redis-2:6379",
            "* MASTER <-> REPLICA sync started",
            "* Master replied to PING, replication can continue...",
            "* MASTER <-> REPLICA sync: Finished with success",
        ]
    return "".join(f"1:{role} {at} {line}\n" for line in lines)


# -- healthy traffic ----------------------------------------------------------------------------

WARN_DECOYS = [  # (logger, message): warnings with Redis-like words that are not Redis errors
    ("api", "slow request {m} {p} took {n}ms"),
    ("auth", "401 Authentication required for /api/v1/admin/users (token expired) user={u}"),
    ("auth", "login failed: invalid password for user={u}"),
    ("api", "rate limit exceeded user={u} bucket=api"),
    ("ml", "could not connect to scorer instance: timeout, retrying in 2 seconds..."),
    ("calendar", "timeout while reading from calendar API after 30s"),
    ("api", "You can't write to an archived feed user={u}"),
    ("worker", "command not allowed: job exceeds memory limit of 512MB"),
    ("config", "misconfigured: SNAPSHOT_DIR is not set, snapshots disabled"),
    ("probe", "connected_clients:{n} maxclients:10000"),
]
PATHS = [("GET", "/api/v1/feed"), ("GET", "/api/v1/recommendations"), ("POST", "/api/v1/events"),
         ("GET", "/api/v1/profile"), ("GET", "/api/v1/search"),
         ("POST", "/api/v1/digest/subscribe"), ("GET", "/healthz")]  # fmt: skip
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Mobile/15E148 MorningAI/4.2.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/122.0.0.0 Safari/537.36",
    "okhttp/4.12.0",
    "kube-probe/1.29",
    "python-requests/2.31.0",
]
NAMES = ["José Müller", "Zoë Łukasiewicz", "Nguyễn Văn An", "Chloé Dubois", "Björn Ås", "Ana Lima"]


def healthy_renderer(rnd: random.Random) -> Callable[[Stamps, int], tuple[int, str]]:
    """A function (stamps, ms) -> (family, text) that draws one healthy event.

    Hot: most of a corpus is this, so it is one chain of f-strings over local names.
    """
    rand, bits = rnd.random, rnd.getrandbits
    old, new = WORKERS["3.5"][10:], WORKERS["5"]

    def event(st: Stamps, ms: int) -> tuple[int, str]:
        x = rand() * 100
        head = f"{st.py},{ms:03d}"
        m, p = PATHS[int(rand() * 7)]
        u = 1000 + int(rand() * 90000)
        if x < 24:
            status = 200 if rand() < 0.98 else 201
            took = f"{int(rand() * 80) + 2}.{int(rand() * 10)}ms"
            return (
                APP,
                f"{head} INFO [morningai.api] {status} {m} {p} user={u} req={bits(64):016x} {took}\n",
            )
        if x < 44:
            ip, status, size = (
                f"10.0.{int(rand() * 8)}.{int(rand() * 250)}",
                200 if rand() < 0.97 else 404,
                int(rand() * 9000) + 120,
            )
            return (
                APP,
                f'{ip} - - [{st.clf} +0000] "{m} {p}?page={int(rand() * 5)} HTTP/1.1" {status} {size} "-" "{AGENTS[int(rand() * 5)]}"\n',
            )
        if x < 54:
            return (
                APP,
                f"{head} DEBUG [morningai.cache] cache hit key=feed:{u}:v3 ttl={int(rand() * 300)}s backend=redis\n",
            )
        if x < 57:
            return (
                APP,
                f"{head} DEBUG [morningai.cache] cache miss key=profile:{u} loaded from postgres in {int(rand() * 40)}.{int(rand() * 10)}ms\n",
            )
        if x < 58.2:
            logger, text = WARN_DECOYS[int(rand() * len(WARN_DECOYS))]
            return (
                APP,
                f"{head} WARNING [morningai.{logger}] {text.format(m=m, p=p, u=u, n=int(rand() * 3000) + 1000)}\n",
            )
        if x < 58.35:
            tb = "\n".join(FLASK + DECOY_TRACEBACKS[int(rand() * len(DECOY_TRACEBACKS))])
            return (
                APP,
                f"{head} ERROR [morningai] Exception on {p} [{m}]\nTraceback (most recent call last):\n{tb}\n",
            )
        if x < 58.4:  # gunicorn's own log
            pid = int(rand() * 60) + 70
            return (
                APP,
                f"[{st.py} +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:{pid - 60})\n[{st.py} +0000] [{pid}] [INFO] Booting worker with pid: {pid}\n",
            )
        if x < 59:
            return (
                APP,
                f'{head} INFO [morningai.api] profile updated user={u} display_name="{NAMES[int(rand() * 6)]}"\n',
            )
        if x < 60:
            return (
                APP,
                f"{head} INFO [morningai.jobs] enqueued morningai.tasks.{TASKS[int(rand() * 5)]} job_id={bits(128):032x} queue=default\n",
            )
        if x < 75:  # python-json-logger
            took = f"{int(rand() * 80) + 2}.{int(rand() * 10)}"
            return (
                JSONL,
                f'{{"asctime": "{head}", "levelname": "INFO", "name": "morningai.api", "message": "request", "method": "{m}", "path": "{p}", "status": 200, "duration_ms": {took}, "user_id": {u}, "request_id": "{bits(64):016x}", "timestamp": "{st.iso}.{ms:03d}000+00:00"}}\n',
            )
        if x < 80:
            return (
                JSONL,
                f'{{"asctime": "{head}", "levelname": "DEBUG", "name": "morningai.cache", "message": "cache hit", "backend": "redis", "key": "feed:{u}:v3", "ttl": {int(rand() * 300)}, "request_id": "{bits(64):016x}", "timestamp": "{st.iso}.{ms:03d}000+00:00"}}\n',
            )
        if x < 92:  # an RQ job: rq 1.16 or rq 3.0 wording, HH:MM:SS stamps
            job, c = f"{bits(128):032x}", st.clock
            desc, took = (
                f"morningai.tasks.{TASKS[int(rand() * 5)]}(user_id={u})",
                f"0:00:0{int(rand() * 4)}.{int(rand() * 1e6):06d}",
            )
            if rand() < 0.5:
                return (
                    WORKER,
                    f"{c} default: {desc} ({job})\n{c} Successfully completed {desc} job in {took}s on worker {old}\n{c} default: Job OK ({job})\n{c} Result is kept for 500 seconds\n",
                )
            return (
                WORKER,
                f"{c} Worker {new}: default: {desc} ({job})\n{c} Successfully completed {desc} job in {took}s on worker {new}\n{c} Worker {new}: default: Job OK ({job})\n{c} Worker {new}: job {job} result is kept for 500 seconds\n",
            )
        if x < 99.93:
            return (
                WORKER,
                f"{head} INFO [morningai.tasks] {TASKS[int(rand() * 5)]} done user={u} items={int(rand() * 40)}\n",
            )
        if x < 99.95:
            return (
                WORKER,
                f"{head} ERROR [morningai.export] upload failed\nTraceback (most recent call last):\n"
                + "\n".join(SFTP_DECOY)
                + "\n",
            )
        if x < 99.99:
            return WORKER, f"{st.clock} Cleaning registries for queue: default\n"
        pid, at = 4000 + int(rand() * 5000), f"{st.redis}.{ms:03d}"
        return REDIS, (
            f"1:M {at} * 100 changes in 300 seconds. Saving...\n1:M {at} * Background saving started by pid {pid}\n"
            f"{pid}:C {at} * DB saved on disk\n{pid}:C {at} * Fork CoW for RDB: current 1 MB, peak 1 MB, average 1 MB\n"
            f"1:M {at} * Background saving terminated with success\n"
        )

    return event
