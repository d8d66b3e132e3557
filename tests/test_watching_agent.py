"""The real agent watching itself and Redis: an outage with silent logs, a worker log that
stops, the heartbeat, /healthz and `logwatch status` (real redis-server, real HTTP)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_metrics import PingStandIn
from watch_rig import WatchedAgent

INTERVAL_S = 2.0


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def healthy_line() -> str:
    return f"{stamp()} INFO [morningai.api] 200 GET /healthz 1.2ms\n"


def refused_line(port: int) -> str:
    return (
        f"{stamp()} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3/site-packages/redis/connection.py", line 369, in connect\n'
        "    raise ConnectionError(self._error_message(e))\n"
        f"redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:{port}. Connection refused.\n"
    )


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Callable[..., WatchedAgent]]:
    made: list[WatchedAgent] = []

    def make(config: str, **kw: Any) -> WatchedAgent:
        agent = WatchedAgent(tmp_path / f"a{len(made)}", config, **kw)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.kill()


def status(agent: WatchedAgent) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "--config", str(agent.config), "status",
         "--state", str(agent.state)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return done.returncode, done.stdout


@pytest.mark.slow
def test_redis_killed_while_the_app_logs_nothing_opens_an_incident_within_three_intervals(
    agents: Callable[..., WatchedAgent], redis_server: Callable[..., Any]
) -> None:
    server = redis_server()
    a = agents(
        f'[logwatch]\nredis_url = "redis://:pw-not-shown@127.0.0.1:{server.port}/0"\n'
        f'probe_interval = "{INTERVAL_S}s"\nprobe_failures = 2\n'
        '[metrics]\nlisten = "127.0.0.1:0"\n'
        '[incidents]\nquiet_period = "3s"\n'
    )
    (a.logs / "app.log").write_text(healthy_line())
    a.start()
    a.wait_until(lambda: "logwatch_redis_up{" in a.get("/metrics")[1], what="a first probe")
    assert f'logwatch_redis_up{{target="127.0.0.1:{server.port}"}} 1.0' in a.get("/metrics")[1]
    assert a.get("/healthz") == (200, "ok\n")
    server.kill()  # and the app writes nothing at all
    took = a.wait_until(
        lambda: any(c["type"] == "incident.opened" for c in a.changes()),
        timeout=INTERVAL_S * 3 + 5,
        what="the active check's incident",
    )
    assert took <= INTERVAL_S * 3, took
    [opened] = [c["incident"] for c in a.changes() if c["type"] == "incident.opened"]
    assert opened["category"] == "connection" and opened["sources"] == {"probe": 1}
    assert opened["target"] == f"127.0.0.1:{server.port}"
    code, text = status(a)
    assert code == 0 and "UNHEALTHY (refused)" in text, text  # the agent is fine; Redis is not
    # The app starts failing too: its errors join the probe's incident.
    with open(a.logs / "app.log", "a") as fh:
        fh.write(refused_line(server.port) * 3)
    a.wait_until(lambda: "logwatch_events_total{" in a.get("/metrics")[1], what="events counted")
    server.restart()
    a.wait_until(
        lambda: any(c["type"] == "incident.resolved" for c in a.changes()),
        timeout=INTERVAL_S * 3 + 10,
        what="recovery",
    )
    ids = {c["incident"]["id"] for c in a.changes()}
    assert len(ids) == 1  # one incident: the probe's, joined by the logs
    last = a.changes()[-1]["incident"]
    assert set(last["sources"]) == {"probe", str(a.logs / "app.log")}
    assert a.stop() == 0
    assert "pw-not-shown" not in a.jsonl.read_text() + a.log()
    code, text = status(a)
    assert code == 2 and "the agent stopped" in text


@pytest.mark.slow
def test_a_worker_log_that_stops_opens_log_quiet_and_writing_again_resolves_it(
    agents: Callable[..., WatchedAgent],
) -> None:
    a = agents('[[expect]]\npath = "worker*.log"\nwithin = "2s"\nname = "RQ worker"\n')
    worker = a.logs / "worker-1.log"
    worker.write_text(healthy_line())
    (a.logs / "web.log").write_text(healthy_line())  # silent too, but nobody expects it
    a.start()
    for _ in range(8):  # the worker writes for a while, every 0.25 s
        with open(worker, "a") as fh:
            fh.write(healthy_line())
        time.sleep(0.25)
    assert a.changes() == []
    stopped = time.monotonic()
    a.wait_until(lambda: a.changes() != [], timeout=15, what="log_quiet")
    assert time.monotonic() - stopped >= 2.0
    [opened] = a.changes()
    assert opened["type"] == "incident.opened"
    assert opened["incident"]["category"] == "log_quiet"
    assert opened["incident"]["target"] == str(worker)
    assert "RQ worker log" in opened["incident"]["samples"][0]
    with open(worker, "a") as fh:
        fh.write(healthy_line())
    a.wait_until(lambda: a.changes()[-1]["type"] == "incident.resolved", what="resolved")
    assert a.stop() == 0


def unprivileged() -> tuple[str, ...]:
    """A command prefix under which chmod 0400 binds the agent (root ignores file modes)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: chmod 0400 cannot bind the agent")
    drop = "-dac_override,-dac_read_search"
    return (setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}")


@pytest.mark.slow
def test_heartbeat_pings_while_healthy_and_signals_failure_when_the_state_is_unwritable(
    agents: Callable[..., WatchedAgent], tmp_path: Path
) -> None:
    stand_in = PingStandIn()
    try:
        a = agents(
            f'[heartbeat]\nurl = "{stand_in.url}"\ninterval = "0.5s"\n'
            '[metrics]\nlisten = "127.0.0.1:0"\n',
            prefix=unprivileged(),
        )
        (a.logs / "app.log").write_text(healthy_line())
        a.start()
        hits = [stand_in.next() for _ in range(4)]
        assert {h[0] for h in hits} == {"/ping/0f1e-secret"}
        gaps = [b[2] - a_[2] for a_, b in itertools.pairwise(hits)]
        assert all(0.3 <= g <= 2.0 for g in gaps), gaps
        files = [p for p in (Path(f"{a.state}{s}") for s in ("", "-wal", "-shm")) if p.exists()]
        for f in files:
            f.chmod(0o400)
        try:
            while (hit := stand_in.next(timeout=20))[0] == "/ping/0f1e-secret":
                pass
            assert hit[0] == "/ping/0f1e-secret/fail"
            assert hit[1].startswith("down: state store failing") and "read-only" in hit[1]
            assert a.get("/healthz")[0] == 503
            # The snapshot the agent can no longer write ages: status says down once stale.
            a.wait_until(lambda: status(a)[0] == 2, timeout=40, what="status down")
        finally:
            for f in files:
                f.chmod(0o600)
        while stand_in.next(timeout=20)[0] != "/ping/0f1e-secret":
            pass  # healthy again: plain pings
        assert a.get("/healthz")[0] == 200
        assert a.stop() == 0
        assert "0f1e-secret" not in a.log()
    finally:
        stand_in.stop()
