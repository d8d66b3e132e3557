"""The agent's Prometheus metrics (prometheus-client), with label sets that stay bounded.

Counters and histograms are updated by the main loop as it reads, matches and commits;
what describes the present (lag per source, incidents open, outbox depth, the last Redis
probe) is computed when Prometheus scrapes, on the server's thread, from values the loop
publishes whole (a dict or result replaced, never mutated in place) and from the tailer's
files (a list copy, then plain int reads: a scrape may see one file a read behind).

Labels: `source` is a log's family (app.log.1 counts as app.log), as the user named it;
past `max_sources` distinct families the rest share `source="other"`, so 10,000 files
make at most max_sources + 1 series per metric. `rule` and `category` come from the rule
pack, `notifier` from the config, `target` is the one configured Redis: all bounded by
configuration, never by log content. No signature or line text is ever a label.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from logwatch.model import Change, Event, Incident
from logwatch.probe import ProbeResult
from logwatch.sources.followed import FileRecords, TailedFile
from logwatch.sources.history import rotation_key
from logwatch.sources.identity import FileId

OTHER = "other"
_PATH_CACHE = 100_000  # path -> label lookups kept (a family's rotated names are many)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxStat:
    """One notifier's outbox: rows owed, rows failed for good, the oldest owed row's age."""

    notifier: str
    pending: int
    failed: int
    oldest_pending_s: float | None


class SourceLabels:
    """The bounded `source` label of a file path (thread-safe)."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._families: set[str] = set()
        self._paths: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, path: str) -> str:
        label = self._paths.get(path)
        if label is not None:
            return label
        family = rotation_key(Path(path))[0]
        with self._lock:
            if family in self._families or len(self._families) < self._cap:
                self._families.add(family)
                label = family
            else:
                label = OTHER
            if len(self._paths) >= _PATH_CACHE:
                self._paths.clear()
            self._paths[path] = label
        return label


class AgentMetrics:
    """Every metric of the agent, in its own registry (nothing global)."""

    def __init__(
        self,
        *,
        version: str,
        host: str,
        max_sources: int = 100,
        files: Callable[[], Iterable[TailedFile]] = tuple,
        redis_target: str | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.labels = SourceLabels(max_sources)
        self._files = files
        self._redis_target = redis_target
        r = self.registry
        self.read_bytes = Counter(
            "logwatch_read_bytes", "Bytes of log read, per source.", ["source"], registry=r
        )
        self.records = Counter(
            "logwatch_records", "Log records assembled, per source.", ["source"], registry=r
        )
        self.events = Counter(
            "logwatch_events",
            "Records a rule matched, per rule and category.",
            ["rule", "category"],
            registry=r,
        )
        self.changes = Counter(
            "logwatch_incident_changes",
            "Incident changes committed (opened, updated, resolved), per category.",
            ["kind", "category"],
            registry=r,
        )
        self.commit = Histogram(
            "logwatch_commit_duration_seconds",
            "Time to commit one batch (cursors, incidents, outbox) to the state store.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.commit_failures = Counter(
            "logwatch_commit_failures", "Commits that failed (and were retried).", registry=r
        )
        self.last_commit = Gauge(
            "logwatch_last_commit_timestamp_seconds",
            "When the agent last wrote its state store (Unix time).",
            registry=r,
        )
        self.delivery = Histogram(
            "logwatch_delivery_latency_seconds",
            "From the commit of an incident change to its delivery, per notifier.",
            ["notifier"],
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
            registry=r,
        )
        Info("logwatch_agent", "The agent's version and host.", registry=r).info(
            {"version": version, "host": host}
        )
        ProcessCollector(registry=r)
        self._lock = threading.Lock()
        self._log_time: dict[FileId, float] = {}  # last log time read per file (Unix time)
        self._open: dict[tuple[str, str], int] = {}
        self._outbox: tuple[OutboxStat, ...] = ()
        self._probe: ProbeResult | None = None
        self._probes: Tally[str] = Tally()
        r.register(_Present(self))

    # -- from the loop ---------------------------------------------------------------------

    def read(self, batches: Iterable[FileRecords], bytes_read: Mapping[str, int]) -> None:
        """Records (and their log time) and bytes one read gave, per file."""
        for path, n in bytes_read.items():
            self.read_bytes.labels(self.labels(path)).inc(n)
        latest: dict[FileId, float] = {}
        for batch in batches:
            if not batch.records:
                continue
            self.records.labels(self.labels(str(batch.path))).inc(len(batch.records))
            latest[batch.file] = max(r.time for r in batch.records).timestamp()
        if latest:
            with self._lock:
                for file, when in latest.items():
                    self._log_time[file] = max(when, self._log_time.get(file, when))

    def event(self, event: Event) -> None:
        """A record a rule matched."""
        self.events.labels(event.rule, event.category).inc()

    def committed(
        self, changes: Iterable[Change], seconds: float, incidents: Iterable[Incident]
    ) -> None:
        """A commit took `seconds` and saved these changes; `incidents` are the live ones."""
        self.commit.observe(seconds)
        self.last_commit.set_to_current_time()
        for change in changes:
            self.changes.labels(change.kind, change.incident.category).inc()
        counts: dict[tuple[str, str], int] = dict.fromkeys(self._open, 0)  # 0, not gone
        for incident in incidents:
            if incident.status == "open":
                key = (incident.category, incident.severity.label)
                counts[key] = counts.get(key, 0) + 1
        self._open = counts

    def outbox(self, stats: Iterable[OutboxStat]) -> None:
        """The outbox as the loop last counted it."""
        self._outbox = tuple(stats)

    def probed(self, result: ProbeResult) -> None:
        """An active check's result."""
        self._probes[result.status] += 1
        self._probe = result

    def delivered(self, notifier: str, seconds: float) -> None:
        """A notification reached its notifier `seconds` after its commit (delivery thread)."""
        self.delivery.labels(notifier).observe(max(seconds, 0.0))

    # -- for the scrape ------------------------------------------------------------------

    def present(self) -> Iterator[Metric]:
        """The gauges of the present moment."""
        yield from self._file_metrics()
        open_ = GaugeMetricFamily(
            "logwatch_incidents_open",
            "Incidents open, per category and severity.",
            labels=["category", "severity"],
        )
        for (category, severity), n in sorted(self._open.items()):
            open_.add_metric([category, severity], n)
        yield open_
        yield from self._outbox_metrics()
        yield from self._redis_metrics()

    def _file_metrics(self) -> Iterator[Metric]:
        files = list(self._files())  # one copy of the tailer's list; attributes are ints
        with self._lock:
            followed = {t.file for t in files}
            for gone in [f for f in self._log_time if f not in followed]:
                del self._log_time[gone]
            log_time = dict(self._log_time)
        now, mono = time.time(), time.monotonic()
        lag_bytes: dict[str, int] = defaultdict(int)
        lag_s: dict[str, float] = defaultdict(float)
        last: dict[str, float] = {}
        for t in files:
            label = self.labels(str(t.path))
            behind = max(t.size_seen - t.offset, 0)
            lag_bytes[label] += behind
            when = log_time.get(t.file)
            if when is not None:
                last[label] = max(when, last.get(label, when))
            if behind:
                # Seconds of log time behind: since the last record read from it; a file
                # nothing was read from yet counts from when it was last caught up.
                waiting = now - when if when is not None else mono - (t.caught_up_at or mono)
                lag_s[label] = max(lag_s[label], waiting)
            else:
                lag_s[label] = max(lag_s[label], 0.0)
        yield _gauge("logwatch_files_followed", "Files the agent follows.", len(files))
        yield _by_source(
            "logwatch_source_lag_bytes", "Bytes written and not read yet, per source.", lag_bytes
        )
        yield _by_source(
            "logwatch_source_lag_seconds",
            "How far reading is behind, in seconds of log time, per source (worst file).",
            lag_s,
        )
        yield _by_source(
            "logwatch_source_last_log_timestamp_seconds",
            "Log time of the last record read, per source (Unix time).",
            last,
        )

    def _outbox_metrics(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "logwatch_outbox_pending", "Notifications owed, per notifier.", labels=["notifier"]
        )
        failed = GaugeMetricFamily(
            "logwatch_outbox_failed",
            "Notifications that failed for good, per notifier.",
            labels=["notifier"],
        )
        oldest = GaugeMetricFamily(
            "logwatch_outbox_oldest_pending_seconds",
            "Age of the oldest notification owed, per notifier (0: none).",
            labels=["notifier"],
        )
        for stat in self._outbox:
            pending.add_metric([stat.notifier], stat.pending)
            failed.add_metric([stat.notifier], stat.failed)
            oldest.add_metric([stat.notifier], stat.oldest_pending_s or 0.0)
        yield from (pending, failed, oldest)

    def _redis_metrics(self) -> Iterator[Metric]:
        result, target = self._probe, self._redis_target
        if target is None:
            return
        probes = CounterMetricFamily(
            "logwatch_redis_probes",
            "Active checks of the configured Redis, per result status.",
            labels=["target", "status"],
        )
        for status, n in sorted(self._probes.copy().items()):
            probes.add_metric([target, status], n)
        yield probes
        if result is None:
            return
        facts: dict[str, Any] = result.details
        answered = result.latency_ms is not None
        yield _gauge(
            "logwatch_redis_up",
            "1 when the last active check's PING was answered, else 0.",
            1 if answered else 0,
            target,
        )
        yield _gauge(
            "logwatch_redis_healthy",
            "1 when the last active check found nothing wrong, else 0.",
            1 if result.healthy else 0,
            target,
        )
        yield _gauge(
            "logwatch_redis_last_probe_timestamp_seconds",
            "When the last active check ran (Unix time).",
            result.checked_at.timestamp(),
            target,
        )
        diagnosis = GaugeMetricFamily(
            "logwatch_redis_status",
            "The last active check's diagnosis (1 for the current status).",
            labels=["target", "status"],
        )
        diagnosis.add_metric([target, result.status], 1)
        yield diagnosis
        if answered:
            yield _gauge(
                "logwatch_redis_ping_latency_seconds",
                "PING round trip of the last active check.",
                (result.latency_ms or 0.0) / 1000,
                target,
            )
        yield from _info_metrics(facts, target)


def _info_metrics(facts: Mapping[str, Any], target: str) -> Iterator[Metric]:
    """Gauges from the INFO fields of a probe that got an answer."""
    used, limit = _number(facts.get("used_memory")), _number(facts.get("maxmemory"))
    if used is not None and limit:
        yield _gauge(
            "logwatch_redis_memory_used_ratio",
            "used_memory / maxmemory (absent without a maxmemory).",
            used / limit,
            target,
        )
    clients, maxclients = _number(facts.get("connected_clients")), _number(facts.get("maxclients"))
    if clients is not None and maxclients:
        yield _gauge(
            "logwatch_redis_clients_used_ratio",
            "connected_clients / maxclients.",
            clients / maxclients,
            target,
        )
    if "rdb_last_bgsave_status" in facts:
        yield _gauge(
            "logwatch_redis_rdb_last_bgsave_ok",
            "1 when rdb_last_bgsave_status is ok, 0 when err.",
            1 if facts["rdb_last_bgsave_status"] == "ok" else 0,
            target,
        )
    if "role" in facts:
        role = GaugeMetricFamily(
            "logwatch_redis_role",
            "The server's role (1 for the current one).",
            labels=["target", "role"],
        )
        role.add_metric([target, str(facts["role"])[:32]], 1)
        yield role
    if "redis_version" in facts or "role" in facts:  # INFO answered: loading:0 is dropped
        yield _gauge(
            "logwatch_redis_loading",
            "1 while the server loads its dataset.",
            1 if facts.get("loading") else 0,
            target,
        )


class _Present(Collector):
    """The scrape-time part of AgentMetrics, as a prometheus-client collector."""

    def __init__(self, metrics: AgentMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.present()

    def describe(self) -> Iterator[Metric]:
        return iter(())  # computed at scrape time: nothing to check for clashes ahead


def _gauge(name: str, doc: str, value: float, target: str | None = None) -> GaugeMetricFamily:
    if target is None:
        return GaugeMetricFamily(name, doc, value=value)
    g = GaugeMetricFamily(name, doc, labels=["target"])
    g.add_metric([target], value)
    return g


def _by_source(name: str, doc: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=["source"])
    for label, value in sorted(values.items()):
        g.add_metric([label], value)
    return g


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
