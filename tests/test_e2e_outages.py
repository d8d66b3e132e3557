"""End to end, with real parts: five ways a real redis-server breaks under a real app.

Each test starts its own redis-server (conftest's `redis_server`, never 6379), the
MorningAI app (real redis-py, a few requests a second) and a real `rq worker` writing
into a temporary `morningai/logs` (tests/outage_app.py), and the real `logwatch watch`
process with REDIS_URL set to that server (so it probes it) and Slack pointed at the
stand-in. It then breaks Redis, keeps it broken until the probe's confirmation reaches
Slack, repairs it, and asserts what an on-call engineer would see: one root message per
outage, for the right category, with the probe's verdict in the root itself (posted with
it, or edited in when the probe took longer than the root waits), and the root edited to
"resolved" after the repair with the recovery confirmed by a second probe, and the
all-clear broadcast to the channel.

Every wait is bounded; every process is stopped by its handle at teardown (the app and
the worker here, the agent here, redis-server by its fixture).

With LOGWATCH_REFRESH_EXAMPLES=1 each scenario that passes also copies its logs (app.log,
worker.log and redis-server's own log) to examples/outages/<category>/: the sample logs of
real outages that tests/test_examples.py scans on every run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from outage_app import PASSWORD, REPO, MorningAI
from slack_standin import TOKEN, Recorded, SlackStandin, slack_fixture  # noqa: F401 (fixture)
from test_agent import AgentProcess

from logwatch.notify.compose import CAUSES

# End to end: a real redis-server, app, RQ worker and agent; 6 to 11 s a test.
pytestmark = pytest.mark.slow

#: Read before the fixtures clear LOGWATCH_* from the environment.
REFRESH_EXAMPLES = os.environ.get("LOGWATCH_REFRESH_EXAMPLES") == "1"
EXAMPLES = REPO / "examples" / "outages"
CHANNEL = "#alerts"
QUIET = "3s"
#: Longest from breaking Redis to the root message (threshold, commit, one delivery).
OPEN_S = 20.0
#: Longest from the root to the probe's finding in its thread (a probe takes 2 s at most).
PROBE_S = 15.0
#: Longest from the repair to the resolved edit: the quiet period, RQ's last retry
#: (its backoff reaches 4-8 s), a tick and a delivery.
RESOLVE_S = 25.0
#: App tracebacks to see before repairing Redis.
APP_ERRORS = 5
#: A crashed RQ worker is restarted at most this often, like supervisord's backoff.
SUPERVISE_EVERY_S = 3.0


_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.M)
_RAISED = re.compile(r"^redis\.exceptions\.(\w+): ", re.M)


def _title(r: Recorded) -> str:
    """`ERROR: Redis connection errors on 127.0.0.1:6379` from a root's push text."""
    m = re.search(r"(\w+): Redis (.+?) on (\S+?) \(", str(r.body.get("text", "")))
    return f"{m[1]} {m[2]} on {m[3]}" if m else str(r.body.get("text", ""))[:80]


def _root_title(category: str, target: str) -> str:
    """What a root's push says of one cause: `Redis connection errors on 127.0.0.1:6379`."""
    return f"Redis {CAUSES.get(category, category + ' errors')} on {target}"


def _text(r: Recorded) -> str:
    """Everything a reader sees of a request: the fallback text and the blocks' text."""
    return f"{r.body.get('text', '')} {r.body.get('blocks', '')}"


@dataclass
class Rig:
    """One scenario's parts: the server, the app and worker, the agent and Slack."""

    server: Any
    app: MorningAI
    agent: AgentProcess
    slack: SlackStandin
    notes: list[str] = field(default_factory=list)
    _supervised_at: float = 0.0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def admin(self) -> redis.Redis:
        """A client that works before, during and after the auth scenario's password."""
        # RESP3 HELLO AUTH is accepted by a default user without a password, so one client
        # with the password outlives `requirepass` being set and cleared.
        return redis.Redis(host="127.0.0.1", port=self.server.port, password=PASSWORD)

    # -- what Slack received -------------------------------------------------------------

    def roots(self, category: str | None = None) -> list[Recorded]:
        """Root messages (chat.postMessage outside a thread), of one category if given."""
        title = _root_title(category, self.target) if category else "Redis "
        return [
            r
            for r in self.slack.calls("chat.postMessage")
            if "thread_ts" not in r.body and title in str(r.body.get("text", ""))
        ]

    def root_ts(self, category: str) -> str:
        """The ts Slack gave the category's root message."""
        title = _root_title(category, self.target)
        found = [
            ts
            for (_, ts), m in dict(self.slack.messages).items()
            if "thread_ts" not in m and title in str(m.get("text", ""))
        ]
        assert len(found) == 1, f"{len(found)} root messages for {title}: {self.summary()}"
        return found[0]

    def thread(self, ts: str) -> list[Recorded]:
        """Replies in the thread of `ts` and edits of it, in order."""
        return [
            r
            for r in self.slack.requests
            if r.body.get("thread_ts") == ts
            or (r.api_method == "chat.update" and r.body.get("ts") == ts)
        ]

    def summary(self) -> str:
        """One line per request, for failure messages and the report."""
        lines = []
        for r in self.slack.requests:
            where = f"thread {r.body['thread_ts']}" if r.body.get("thread_ts") else "root"
            if r.api_method == "chat.update":
                where = f"edit {r.body.get('ts')}"
            lines.append(f"  {r.api_method} {where}: {str(r.body.get('text', ''))[:160]}")
        return "\n".join(lines)

    # -- waiting -------------------------------------------------------------------------

    def supervise(self) -> None:
        """Restart a crashed RQ worker (as supervisord would), at most every few seconds."""
        now = time.monotonic()
        if now - self._supervised_at >= SUPERVISE_EVERY_S:
            self._supervised_at = now
            if self.app.supervise():
                self.notes.append("rq worker exited; restarted")

    def wait(self, ready: Callable[[], bool], timeout: float, what: str) -> float:
        """Wait (bounded) for `ready`; returns the monotonic time it became true."""
        deadline = time.monotonic() + timeout
        while True:
            if self.slack.wait_for(lambda _: ready(), timeout=0.1):
                return time.monotonic()
            assert self.agent.proc is not None and self.agent.proc.poll() is None, (
                f"agent exited: {self.agent.log()[-2000:]}"
            )
            self.supervise()
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout:g}s waiting for {what}\nslack:\n{self.summary()}"
                    f"\nagent:\n{self.agent.log()[-2500:]}\n{self.app.tails()}"
                )

    def app_errors(self, exception: str) -> int:
        """How many app.log records so far end in `redis.exceptions.<exception>`.

        The last exception of a chained traceback is the one the request failed with.
        """
        records = _RECORD_START.split(self.app.app_log.read_text(errors="replace"))
        return sum(1 for r in records if _RAISED.findall(r)[-1:] == [exception])

    def wait_root(self, category: str) -> float:
        """Wait for the category's root message; returns when the stand-in had it."""
        return self.wait(lambda: bool(self.roots(category)), OPEN_S, f"a {category} root")

    def wait_in_thread(self, ts: str, words: str, timeout: float, what: str) -> Recorded:
        """Wait for a reply to, or an edit of, `ts` whose text contains `words`."""

        def found() -> list[Recorded]:
            return [r for r in self.thread(ts) if words in _text(r)]

        self.wait(lambda: bool(found()), timeout, what)
        return found()[0]


@pytest.fixture
def rig(
    tmp_path: Path,
    redis_server: Callable[..., Any],
    slack: SlackStandin,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Rig]:
    """A real redis-server, the app and worker on it, and the agent watching their logs."""
    server = redis_server()
    for name in [k for k in os.environ if k.startswith(("SLACK_", "LOGWATCH_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("LOGWATCH_SLACK_CHANNEL", CHANNEL)
    monkeypatch.setenv("LOGWATCH_SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{server.port}/0")
    pythonpath = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(REPO), pythonpath) if p))
    logs = tmp_path / "morningai" / "logs"
    logs.mkdir(parents=True)
    # AgentProcess passes its own --quiet-period first; click keeps the last one given.
    agent = AgentProcess(tmp_path, logs, "--quiet-period", QUIET)
    app = MorningAI(server.port, logs)
    try:
        agent.start()
        app.start()
        app.wait_healthy()
        yield Rig(server=server, app=app, agent=agent, slack=slack)
    finally:
        app.stop()
        with contextlib.suppress(Exception):
            agent.stop()
        agent.kill()


def check_outage(
    rig: Rig,
    category: str,
    exception: str,
    confirmation: str,
    break_redis: Callable[[], None],
    repair_redis: Callable[[], None],
    *,
    also: tuple[Callable[[], bool], str] | None = None,
) -> float:
    """Break, wait for the root and the probe's confirmation, repair, wait for the resolve.

    Redis stays broken until the probe has confirmed it and the app has logged a few
    `exception` tracebacks (a short outage would otherwise be all RQ worker lines).

    Returns the seconds from the break to the stand-in receiving the root message.
    """
    assert not rig.roots(), f"an incident before the outage:\n{rig.summary()}"
    errors_before = rig.app_errors(exception)
    broken_at = time.monotonic()
    break_redis()
    posted_at = rig.wait_root(category)
    ts = rig.root_ts(category)
    verdict = f"confirmed: {confirmation}"

    def in_root() -> list[Recorded]:
        posted = [r for r in rig.roots(category) if verdict in _text(r)]
        edited = [
            r for r in rig.thread(ts) if r.api_method == "chat.update" and verdict in _text(r)
        ]
        return posted + edited

    rig.wait(lambda: bool(in_root()), PROBE_S, "the probe's verdict in the root")
    probe = in_root()[0]
    rig.wait(
        lambda: rig.app_errors(exception) >= errors_before + APP_ERRORS,
        OPEN_S,
        f"{APP_ERRORS} {exception} tracebacks in app.log",
    )
    if also is not None:
        rig.wait(also[0], OPEN_S, also[1])
    repair_redis()
    resolved = rig.wait_in_thread(ts, "RESOLVED", RESOLVE_S, "the root edited to resolved")
    recovered = rig.wait_in_thread(ts, "recovery confirmed", PROBE_S, "the recovery probe")

    def broadcast() -> list[Recorded]:
        return [r for r in rig.thread(ts) if r.body.get("reply_broadcast")
                and "RESOLVED" in str(r.body.get("text"))]  # fmt: skip

    rig.wait(lambda: bool(broadcast()), RESOLVE_S, "the all-clear broadcast to the channel")

    roots = rig.roots(category)
    assert len(roots) == 1, f"{len(roots)} {category} roots:\n{rig.summary()}"
    all_roots = [r for r in rig.slack.calls("chat.postMessage") if "thread_ts" not in r.body]
    assert len(all_roots) == 1, f"one outage, {len(all_roots)} roots:\n{rig.summary()}"
    assert resolved.api_method == "chat.update" and "Resolved" in _text(resolved)
    assert "What to do" not in _text(resolved)  # no runbook in the all-clear
    [allclear] = broadcast()
    assert "RESOLVED" in allclear.body["text"]
    assert rig.thread(ts).index(resolved) <= rig.thread(ts).index(recovered)
    opened = [
        c
        for c in rig.agent.changes()
        if c["type"] == "incident.opened" and c["incident"]["category"] == category
    ]
    assert len(opened) == 1, f"{category} opened {len(opened)} times: {opened}"
    final = [c for c in rig.agent.changes() if c["incident"]["id"] == opened[0]["incident"]["id"]]
    assert final[-1]["incident"]["status"] == "resolved"
    assert final[-1]["incident"]["reopened"] == 0
    assert final[-1]["incident"]["target"] == rig.target
    assert str(rig.app.app_log) in final[-1]["incident"]["sources"]

    if REFRESH_EXAMPLES:
        refresh_example(rig, category)
    others = [_title(r) for r in rig.roots() if r.body.get("text") != roots[0].body.get("text")]
    latency = posted_at - broken_at
    print(
        f"\n[{category}] root {latency:.2f}s after the break, from"
        f" {sorted(Path(s).name for s in opened[0]['incident']['sources'])};"
        f" {probe.api_method} {probe.body.get('text')!r}; other roots: {others or 'none'};"
        f" {'; '.join(rig.notes) or 'rq worker stayed up'}\n{rig.summary()}"
    )
    return latency


def refresh_example(rig: Rig, category: str) -> None:
    """This outage's logs, as they are now, into examples/outages/<category>/."""
    out = EXAMPLES / category
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in (rig.app.app_log, rig.app.worker_log):
        shutil.copyfile(path, out / path.name)
    if rig.server.logfile is not None and rig.server.logfile.exists():
        shutil.copyfile(rig.server.logfile, out / "redis-server.log")


def test_redis_killed_then_restarted_is_one_connection_incident(rig: Rig) -> None:
    check_outage(
        rig,
        "connection",
        "ConnectionError",
        "connection refused",
        rig.server.kill,
        rig.server.restart,
        also=(lambda: failed_enqueues(rig) >= 3, "3 failed enqueues in app.log"),
    )
    check_jobs(rig, "connection")


def failed_enqueues(rig: Rig) -> int:
    """The app's enqueues that failed with a Redis error so far, by app.log's tracebacks."""
    return sum(
        1
        for record in _RECORD_START.split(rig.app.app_log.read_text(errors="replace"))
        if "failed to enqueue" in record and _RAISED.search(record)
    )


def check_jobs(rig: Rig, category: str) -> None:
    """The resolved root says what the outage did to the jobs: the app's failed enqueues
    as app.log counts them, and what RQ's keys said once Redis answered again."""
    ts = rig.root_ts(category)
    edit = rig.wait_in_thread(ts, "Redis restarted", PROBE_S, "the RQ impact in the resolved root")
    failed = failed_enqueues(rig)
    log = rig.app.app_log.read_text(errors="replace")
    text = _text(edit)
    assert edit.api_method == "chat.update" and "RESOLVED" in text
    assert f"During the outage {failed:,} enqueues failed" in text, text
    errors = len(re.findall(r"^\S+ \S+ INFO \[morningai.api\] GET /api/v1/feed\S* 500 ", log, re.M))
    assert f"{errors:,} HTTP 500 responses (GET /api/v1/feed: {errors:,})" in text, text
    # The server was killed without persistence: the check says what that lost.
    assert "Redis restarted" in text and "without AOF" in text, text
    jobs = re.search(r"Jobs\*: ([^']*)", text)
    print(f"[jobs] app.log: {failed} failed enqueues; resolved root: {jobs[1] if jobs else text}")


def test_redis_stopped_then_continued_is_one_timeout_incident(rig: Rig) -> None:
    check_outage(
        rig, "timeout", "TimeoutError", "no answer within", rig.server.pause, rig.server.resume
    )


def test_requirepass_changed_is_one_auth_incident(rig: Rig) -> None:
    admin = rig.admin()

    def change_password() -> None:
        admin.config_set("requirepass", PASSWORD)
        admin.client_kill_filter(_type="normal", skipme=True)

    try:
        check_outage(
            rig,
            "auth",
            "AuthenticationError",
            "authentication required",
            change_password,
            lambda: admin.config_set("requirepass", ""),
        )
    finally:
        admin.close()


def test_maxmemory_reached_with_noeviction_is_one_oom_incident(rig: Rig) -> None:
    admin = rig.admin()
    ballast = [f"import:ballast:{i}" for i in range(6)]

    def fill_memory() -> None:
        for key in ballast:
            admin.set(key, b"\0" * 256 * 1024)
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", "1mb")

    def free_memory() -> None:
        admin.config_set("maxmemory", "0")
        admin.delete(*ballast)

    try:
        check_outage(rig, "oom", "OutOfMemoryError", "at maxmemory", fill_memory, free_memory)
    finally:
        admin.close()


def test_replicaof_an_unreachable_primary_is_one_readonly_incident(
    rig: Rig, refused_port: int
) -> None:
    admin = rig.admin()
    nowhere = refused_port  # nothing listens there: the link to the "primary" stays down
    try:
        check_outage(
            rig,
            "readonly",
            "ReadOnlyError",
            "read-only replica",
            lambda: admin.replicaof("127.0.0.1", nowhere),
            lambda: admin.replicaof("NO", "ONE"),
        )
    finally:
        admin.close()
