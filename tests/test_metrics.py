"""The agent's metrics, /healthz, heartbeat, status and their config, with real parts:
prometheus-client's parser, a real HTTP server on loopback, a real tailer and state store."""

from __future__ import annotations

import http.server
import itertools
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from logwatch.config import build_config
from logwatch.errors import ConfigError
from logwatch.health import AgentHealth, Verdict
from logwatch.heartbeat import Heartbeat
from logwatch.metrics_http import MetricsServer
from logwatch.model import Change, Event, Incident, Severity
from logwatch.probe import ProbeResult
from logwatch.sources.tail import Tailer
from logwatch.status import read_status
from logwatch.store import StateStore
from logwatch.telemetry import OTHER, AgentMetrics, OutboxStat
from logwatch.watch_settings import HeartbeatSettings

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


def parse(registry_text: bytes) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(registry_text.decode())}


def incident(category: str = "connection", status: str = "open") -> Incident:
    return Incident(
        id=f"inc-{category}",
        category=category,
        target="redis:6379",
        severity=Severity.CRITICAL,
        status=status,  # type: ignore[arg-type]
        first_seen=NOW,
        last_seen=NOW,
        events=1,
        signatures={},
        sources={},
        rules={},
        samples=(),
        hint="",
    )


@pytest.fixture
def tailer() -> Iterator[Tailer]:
    t = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536)
    try:
        yield t
    finally:
        t.close()


# -- exposition ---------------------------------------------------------------------------


def test_exposition_parses_and_follows_prometheus_naming(tmp_path: Path, tailer: Tailer) -> None:
    log = tmp_path / "app.log"
    log.write_text("2026-03-01 04:00:00,000 ERROR x\n" * 10)
    t = tailer
    t.open(log, start="start")
    metrics = AgentMetrics(
        version="9.9", host="h", files=lambda: list(t.files.values()), redis_target="redis:6379"
    )
    metrics.read(t.read(), t.take_bytes_read())
    metrics.event(
        Event(time=NOW, source=str(log), line=1, rule="redis-oom", category="oom",
              severity=Severity.ERROR, target="redis:6379", signature="s", text="t")
    )  # fmt: skip
    metrics.committed([Change(kind="opened", at=NOW, incident=incident())], 0.004, [incident()])
    metrics.outbox([OutboxStat(notifier="slack", pending=2, failed=1, oldest_pending_s=40.0)])
    metrics.probed(
        ProbeResult(healthy=True, status="ok", summary="ok", target="redis:6379", checked_at=NOW,
                    latency_ms=0.5, details={"used_memory": 50, "maxmemory": 100, "role": "master",
                    "connected_clients": 5, "maxclients": 100, "rdb_last_bgsave_status": "ok",
                    "redis_version": "7.0"})
    )  # fmt: skip
    families = parse(generate_latest(metrics.registry))
    value = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    src = (("source", str(log)),)
    assert value[("logwatch_read_bytes_total", src)] == log.stat().st_size
    assert value[("logwatch_records_total", src)] == 9  # the last waits for more lines
    assert value[("logwatch_events_total", (("category", "oom"), ("rule", "redis-oom")))] == 1
    assert (
        value[("logwatch_incidents_open", (("category", "connection"), ("severity", "critical")))]
        == 1
    )
    assert value[("logwatch_outbox_pending", (("notifier", "slack"),))] == 2
    assert value[("logwatch_redis_up", (("target", "redis:6379"),))] == 1
    assert value[("logwatch_redis_memory_used_ratio", (("target", "redis:6379"),))] == 0.5
    assert value[("logwatch_redis_clients_used_ratio", (("target", "redis:6379"),))] == 0.05
    assert value[("logwatch_redis_ping_latency_seconds", (("target", "redis:6379"),))] == 0.0005
    assert value[("logwatch_agent_info", (("host", "h"), ("version", "9.9")))] == 1
    assert value[("logwatch_commit_duration_seconds_count", ())] == 1
    for f in families.values():
        assert f.name.startswith(("logwatch_", "process_")), f.name
        if f.type == "counter":
            assert any(s.name == f.name + "_total" for s in f.samples), f.name
        assert not f.name.endswith(("_ms", "_milliseconds", "_kb")), f.name  # base units


def test_incidents_open_drops_to_zero_rather_than_vanishing() -> None:
    metrics = AgentMetrics(version="1", host="h")
    metrics.committed([], 0.001, [incident("oom")])
    metrics.committed([], 0.001, [incident("oom", status="resolved")])
    f = parse(generate_latest(metrics.registry))["logwatch_incidents_open"]
    assert [(s.labels["category"], s.value) for s in f.samples] == [("oom", 0)]


@pytest.mark.slow
def test_label_cardinality_stays_bounded_with_10000_files_followed(
    tmp_path: Path, tailer: Tailer
) -> None:
    t = tailer
    for n in range(10_000):
        path = tmp_path / f"d{n % 50}" / f"worker-{n}.log"
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            f"2026-03-01 04:00:00,000 INFO started {n}\n2026-03-01 04:00:01,000 INFO up\n"
        )
        t.open(path, start="start", hold=False)
    assert len(t.files) == 10_000
    metrics = AgentMetrics(
        version="1", host="h", max_sources=100, files=lambda: list(t.files.values())
    )
    metrics.read(t.read(), t.take_bytes_read())
    families = parse(generate_latest(metrics.registry))
    assert families["logwatch_files_followed"].samples[0].value == 10_000
    for name in ("logwatch_read_bytes", "logwatch_records", "logwatch_source_lag_bytes",
                 "logwatch_source_lag_seconds", "logwatch_source_last_log_timestamp_seconds"):  # fmt: skip
        samples = [s for s in families[name].samples if "source" in s.labels]
        sources = {s.labels["source"] for s in samples}
        assert len(sources) == 101 and OTHER in sources, name
    read = {s.labels["source"]: s.value for s in families["logwatch_records"].samples
            if s.name == "logwatch_records_total"}  # fmt: skip
    assert sum(read.values()) == 10_000 and read[OTHER] == 9_900  # nothing lost to the cap


def test_rotated_names_share_their_live_files_label() -> None:
    metrics = AgentMetrics(version="1", host="h", max_sources=2)
    labels = [metrics.labels(p) for p in
              ("logs/app.log", "logs/app.log.1", "logs/app.log.2.gz", "logs/app.log-20260301",
               "logs/worker.log", "logs/third.log")]  # fmt: skip
    assert labels == ["logs/app.log"] * 4 + ["logs/worker.log", OTHER]


# -- /healthz and /metrics over HTTP ------------------------------------------------------


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_healthz_answers_200_while_the_loop_turns_and_503_when_state_fails() -> None:
    clock = [0.0]
    health = AgentHealth(clock[0], stall_s=60)
    metrics = AgentMetrics(version="1", host="h")
    server = MetricsServer("127.0.0.1", 0, metrics.registry, lambda: health.verdict(clock[0]))
    server.start()
    try:
        base = f"http://127.0.0.1:{server.address[1]}"
        assert get(base + "/healthz") == (200, "ok\n")
        health.state_failed("state.db: disk full")
        status, body = get(base + "/healthz")
        assert status == 503 and "state store failing: state.db: disk full" in body
        health.state_written()
        clock[0] = 61.0  # no iteration for over a minute
        status, body = get(base + "/healthz")
        assert status == 503 and "main loop stuck" in body
        health.iterated(61.0)
        health.notifiers({"slack": "invalid_auth"})
        assert get(base + "/healthz")[0] == 200  # degraded, not down: the loop commits
        status, text = get(base + "/metrics")
        assert status == 200 and "logwatch_agent_info" in text
        assert get(base + "/nothing")[0] == 404
    finally:
        server.stop()


def test_metrics_on_a_port_in_use_is_a_one_line_config_error() -> None:
    metrics = AgentMetrics(version="1", host="h")
    first = MetricsServer("127.0.0.1", 0, metrics.registry, lambda: Verdict(level="ok"))
    try:
        with pytest.raises(ConfigError, match=r"metrics: cannot listen on 127\.0\.0\.1:\d+"):
            MetricsServer(
                "127.0.0.1", first.address[1], metrics.registry, lambda: Verdict(level="ok")
            )
    finally:
        first.stop()


# -- heartbeat ----------------------------------------------------------------------------


class PingStandIn:
    """A healthchecks.io-like endpoint on 127.0.0.1: records (path, body, monotonic time)."""

    def __init__(self) -> None:
        self.hits: queue.Queue[tuple[str, str, float]] = queue.Queue()
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size).decode() if size else ""
                hits.put((self.path, body, time.monotonic()))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/0f1e-secret"

    def next(self, timeout: float = 10.0) -> tuple[str, str, float]:
        return self.hits.get(timeout=timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def ping_stand_in() -> Iterator[PingStandIn]:
    stand_in = PingStandIn()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def test_heartbeat_pings_at_its_interval_and_signals_failure_with_the_reason(
    ping_stand_in: PingStandIn,
) -> None:
    verdict = [Verdict(level="ok")]
    beat = Heartbeat(HeartbeatSettings(url=ping_stand_in.url, interval_s=0.3), lambda: verdict[0])
    beat.start()
    try:
        times = [ping_stand_in.next()[2] for _ in range(4)]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(0.25 <= g <= 1.5 for g in gaps), gaps
        verdict[0] = Verdict(level="down", reasons=("state store failing: read-only",))
        while (hit := ping_stand_in.next())[0] == "/ping/0f1e-secret":
            pass
        assert (
            hit[0] == "/ping/0f1e-secret/fail" and hit[1] == "down: state store failing: read-only"
        )
    finally:
        beat.stop()


def test_heartbeat_to_a_dead_endpoint_is_said_once_without_its_secret(
    caplog: pytest.LogCaptureFixture, refused_port: int
) -> None:
    url = f"http://127.0.0.1:{refused_port}/ping/0f1e-secret"
    beat = Heartbeat(
        HeartbeatSettings(url=url, interval_s=1, timeout_s=1), lambda: Verdict(level="ok")
    )
    with caplog.at_level("WARNING", logger="logwatch"):
        beat.beat()
        beat.beat()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and f"127.0.0.1:{refused_port}" in said[0]
    assert "secret" not in said[0]


# -- config -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"metrics": {"listen": "host"}},
            "[metrics] listen: expected an address like 127.0.0.1:9464 or a port, got 'host'",
            id="listen",
        ),
        pytest.param(
            {"metrics": {"listen": 70000}}, "[metrics] listen: expected an address", id="port-range"
        ),
        pytest.param({"metrics": {"nope": 1}}, "[metrics] unknown key 'nope'", id="unknown-key"),
        pytest.param(
            {"heartbeat": {"url": "ftp://x/secret-token"}},
            "[heartbeat] url: expected an http:// or https:// URL",
            id="url",
        ),
        pytest.param(
            {"heartbeat": {"url": 5}},
            "[heartbeat] url: expected a non-empty string, got an integer",
            id="url-type",
        ),
        pytest.param(
            {"heartbeat": {"interval": "0s"}},
            "[heartbeat] interval: must be more than 0",
            id="interval",
        ),
        pytest.param(
            {"quiet": {"default_within": "soon"}},
            '[quiet] default_within: expected "auto", "off" or a duration',
            id="default",
        ),
        pytest.param(
            {"expect": [{"path": "w*.log"}]}, "[[expect]] #1: within is required", id="within"
        ),
        pytest.param({"expect": [{"within": "5m"}]}, "[[expect]] #1: path is required", id="path"),
        pytest.param(
            {"expect": [{"path": "w", "within": "5m", "x": 1}]},
            "[[expect]] #1: unknown key 'x'",
            id="expect-key",
        ),
        pytest.param(
            {"logwatch": {"probe_failures": 0}},
            "[logwatch] probe_failures: expected a positive integer, got 0",
            id="failures",
        ),
        pytest.param(
            {"logwatch": {"probe_interval": "often"}},
            "[logwatch] probe_interval: invalid duration",
            id="interval-probe",
        ),
    ],
)
def test_watch_settings_errors_are_one_line_and_name_the_key(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(data, {}, source="lw.toml")
    text = str(info.value)
    assert text.startswith("lw.toml: ") and message in text and "\n" not in text
    assert "secret-token" not in text


def test_a_bare_port_listens_on_loopback_and_the_heartbeat_url_is_a_secret() -> None:
    url = "https://hc-ping.com/0f1e-secret"
    cfg = build_config({"metrics": {"listen": ":9464"}, "heartbeat": {"url": url}}, {}, source="x")
    assert cfg.watching.metrics.listen == ("127.0.0.1", 9464)
    assert cfg.watching.heartbeat.fail_url == url + "/fail"
    assert url in cfg.secrets and "secret" not in repr(cfg)
    assert build_config({}, {}, source="x").watching.metrics.listen is None  # off by default


# -- status ---------------------------------------------------------------------------------


def health(at: datetime, **extra: Any) -> str:
    return json.dumps({"at": at.isoformat(), "pid": 1, "host": "h", "version": "1",
                       "level": "ok", "reasons": [], "stale_after_s": 20, **extra})  # fmt: skip


@pytest.mark.parametrize(
    ("snapshot", "outbox_age_s", "level"),
    [
        pytest.param(health(NOW - timedelta(seconds=3)), None, "ok", id="ok"),
        pytest.param(health(NOW - timedelta(minutes=5)), None, "down", id="stale"),
        pytest.param(health(NOW, stopped=True), None, "down", id="stopped"),
        pytest.param(
            health(NOW, level="down", reasons=["state store failing: x"]), None, "down", id="state"
        ),
        pytest.param(
            health(NOW, level="degraded", reasons=["notifier slack failing: x"]),
            None,
            "degraded",
            id="notifier",
        ),
        pytest.param(health(NOW), 600.0, "degraded", id="outbox-stuck"),
        pytest.param(health(NOW), 30.0, "ok", id="outbox-moving"),
        pytest.param(None, None, "down", id="never"),
    ],
)
def test_status_levels(
    tmp_path: Path, snapshot: str | None, outbox_age_s: float | None, level: str
) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    try:
        if snapshot is not None:
            store.save_meta("health", snapshot)
        if outbox_age_s is not None:
            store.commit_batch(
                cursors=[], changes=[Change(kind="opened", at=NOW, incident=incident())],
                incidents=[], grouper_state=None, notifiers=["slack"],
                now=NOW - timedelta(seconds=outbox_age_s),
            )  # fmt: skip
    finally:
        store.close()
    before = path.read_bytes()
    found = read_status(path, NOW)
    assert found.level == level, found.reasons
    assert found.code == {"ok": 0, "degraded": 1, "down": 2}[level]
    assert path.read_bytes() == before  # read-only


def test_status_without_a_state_database_is_down(tmp_path: Path) -> None:
    found = read_status(tmp_path / "none.db", NOW)
    assert found.code == 2 and "no state database" in found.reasons[0]
    assert not (tmp_path / "none.db").exists()


def test_a_notifier_fails_for_good_until_a_later_delivery_goes_through(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    try:

        def commit() -> int:
            change = Change(kind="opened", at=NOW, incident=incident())
            [row] = store.commit_batch(
                cursors=[], changes=[change], incidents=[], grouper_state=None,
                notifiers=["slack", "webhook"], now=NOW,
            )  # fmt: skip
            return row

        first = commit()
        store.mark(first, "slack", "failed", error="invalid_auth")
        store.mark(first, "webhook", "sent")
        assert store.failing_notifiers() == {"slack": "invalid_auth"}
        assert store.outbox_depth() == [("slack", 0, 1, None)]
        second = commit()
        assert store.failing_notifiers() == {"slack": "invalid_auth"}  # still owed: unknown
        store.mark(second, "slack", "sent")
        assert store.failing_notifiers() == {}
    finally:
        store.close()
