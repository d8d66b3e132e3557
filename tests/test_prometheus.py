"""A real Prometheus (Debian's `prometheus`) scrapes a real agent through a Redis outage.

The test starts Prometheus on a reserved loopback port with its own config and data
directory, and stops it by its handle; it asks Prometheus's HTTP API, not the agent, what
it saw: the event counter rising, `logwatch_redis_up` going 1 -> 0 -> 1, the incident gauge.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import release_ports, reserve_port
from test_watching_agent import healthy_line, refused_line
from watch_rig import WatchedAgent

SKIP_ENV = "LOGWATCH_SKIP_PROMETHEUS_TESTS"


def require_prometheus() -> str:
    path = shutil.which("prometheus")
    if path is None:
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"prometheus not on PATH and {SKIP_ENV}=1")
        pytest.fail(
            "prometheus is not on PATH; this test starts a real one (Debian/Ubuntu:"
            f" `apt-get install prometheus`), or set {SKIP_ENV}=1 to skip it (CI never does).",
            pytrace=False,
        )
    return path


class Prometheus:
    """One prometheus process on 127.0.0.1:port, scraping `target` every second."""

    def __init__(self, executable: str, root: Path, port: int, target: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        root.mkdir(parents=True, exist_ok=True)
        config = root / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: logwatch\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = root / "prometheus.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    executable,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait(lambda: self._ready(), 60, "prometheus ready")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as answer:
            body = json.loads(answer.read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, None when it has no result."""
        result = self.api("query", query=expr)
        return float(result[0]["value"][1]) if result else None

    def wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            if ready():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def ports() -> Iterator[Callable[[], int]]:
    taken: list[int] = []

    def take() -> int:
        taken.append(reserve_port())
        return taken[-1]

    yield take
    release_ports(taken)


@pytest.mark.slow
def test_prometheus_sees_the_outage_events_redis_up_and_the_incident(
    tmp_path: Path, redis_server: Callable[..., Any], ports: Callable[[], int]
) -> None:
    executable = require_prometheus()
    server = redis_server()
    metrics_port, prom_port = ports(), ports()
    agent = WatchedAgent(
        tmp_path / "agent",
        f'[logwatch]\nredis_url = "redis://127.0.0.1:{server.port}/0"\n'
        'probe_interval = "1s"\nprobe_failures = 2\n'
        f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
        '[incidents]\nquiet_period = "4s"\n',
    )
    app_log = agent.logs / "app.log"
    app_log.write_text(healthy_line())
    prometheus: Prometheus | None = None
    try:
        agent.start()
        prometheus = Prometheus(
            executable, tmp_path / "prom", prom_port, f"127.0.0.1:{metrics_port}"
        )
        p = prometheus
        p.wait(lambda: p.value('up{job="logwatch"}') == 1, 60, "the first scrape")
        p.wait(lambda: p.value("logwatch_redis_up") == 1, 30, "redis up")
        started = time.time()

        server.kill()
        p.wait(lambda: p.value("logwatch_redis_up") == 0, 30, "redis_up 0")
        events = "sum(logwatch_events_total)"
        with open(app_log, "a") as fh:
            fh.write(refused_line(server.port) * 3)
        p.wait(lambda: (p.value(events) or 0) >= 3, 30, "the first events")
        first = p.value(events) or 0
        with open(app_log, "a") as fh:
            fh.write(refused_line(server.port) * 5)
        p.wait(lambda: (p.value(events) or 0) >= first + 5, 30, "the event counter rising")
        p.wait(
            lambda: p.value('logwatch_incidents_open{category="connection"}') == 1,
            30,
            "the incident gauge",
        )

        server.restart()
        p.wait(lambda: p.value("logwatch_redis_up") == 1, 30, "redis up again")
        p.wait(
            lambda: p.value('logwatch_incidents_open{category="connection"}') == 0,
            30,
            "the incident resolved",
        )

        def history() -> list[str]:
            [series] = p.api(
                "query_range",
                query="logwatch_redis_up",
                start=str(started - 1),
                end=str(time.time()),
                step="0.5",
            )
            seen = [v for _, v in series["values"]]
            return [v for i, v in enumerate(seen) if i == 0 or seen[i - 1] != v]

        # The range's last step can fall just before the sample an instant query sees.
        p.wait(lambda: history() == ["1", "0", "1"], 10, "up, down, up in the TSDB")
        [series] = p.api("query", query="logwatch_redis_up")
        assert series["metric"]["target"] == f"127.0.0.1:{server.port}"
        assert p.value('logwatch_agent_info{job="logwatch"}') == 1
        assert (p.value('sum(logwatch_incident_changes_total{kind="opened"})') or 0) >= 1
    finally:
        if prometheus is not None:
            prometheus.stop()
        agent.kill()
