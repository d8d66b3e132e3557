"""Watching the watcher: what the agent tells about itself, and the checks that need no log.

The agent's loop calls this one object at a few points (what it read, each event, each
commit or failed commit, once per iteration); it runs, off the loop, the metrics server,
the active Redis check and the heartbeat, and in the loop the quiet-log check, the
incidents the checks hold open (conditions.py) and, every HEALTH_S, the health snapshot
that `logwatch status` reads from the state store.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from logwatch import __version__
from logwatch.clock import Clock
from logwatch.conditions import CheckRule, Conditions
from logwatch.errors import StateError
from logwatch.grouping import Grouper
from logwatch.health import AgentHealth, Verdict
from logwatch.heartbeat import Heartbeat
from logwatch.model import Change, Event, Incident
from logwatch.probe import ProbeResult
from logwatch.quiet import FileTime, QuietWatch
from logwatch.redis_watch import ActiveProbe, ProbeWatch
from logwatch.sources.followed import FileRecords, TailedFile
from logwatch.store import StateStore
from logwatch.watch_settings import WatchSettings, is_loopback

if TYPE_CHECKING:
    from logwatch.metrics_http import MetricsServer
    from logwatch.telemetry import AgentMetrics

logger = logging.getLogger(__name__)

HEALTH_S = 5.0  # how often the health snapshot is written to the state store
HEALTH_KEY = "health"
LAGGING_SHOWN = 10  # files in the snapshot's lag list


def check_rules() -> dict[str, CheckRule]:
    """The grouping policies of the checks' events (for the engine's rule map)."""
    from logwatch import quiet, redis_watch

    return {**redis_watch.check_rules(), **quiet.check_rules()}


class Watching:
    """The agent's self-monitoring, owned by the agent's loop."""

    def __init__(
        self,
        settings: WatchSettings,
        *,
        files: Callable[[], Iterable[TailedFile]],
        take_bytes_read: Callable[[], Mapping[str, int]],
        clock: Clock,
        redis_url: str | None,
        redis_target: str,
        quiet_period_s: float,
        host: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._files = files
        self._take_bytes_read = take_bytes_read
        self._clock = clock
        self._monotonic = monotonic
        self._host = host
        self.health = AgentHealth(monotonic())
        # Held incidents get an event well within the quiet period, so they stay open.
        refresh_s = max(quiet_period_s / 3, 0.1)
        self.metrics: AgentMetrics | None = None
        self.server: MetricsServer | None = None
        if settings.metrics.listen is not None:
            from logwatch.telemetry import AgentMetrics

            self.metrics = AgentMetrics(
                version=__version__,
                host=host,
                max_sources=settings.metrics.max_sources,
                files=files,
                redis_target=redis_target if redis_url else None,
            )
        self.active: ActiveProbe | None = None
        if redis_url and settings.probe_interval_s > 0:
            self.active = ActiveProbe(redis_url, settings.probe_interval_s, clock=clock)
        self._probe_watch = ProbeWatch(redis_target, failures=settings.probe_failures)
        self._probe_held = Conditions(refresh_s=refresh_s, adopt=self._probe_watch.adopt)
        self._quiet = QuietWatch(settings.quiet)
        self._quiet_held = Conditions(refresh_s=refresh_s, adopt=self._quiet.adopt)
        self.heartbeat: Heartbeat | None = None
        if settings.heartbeat.url:
            self.heartbeat = Heartbeat(settings.heartbeat, self.verdict)
        self.last_probe: ProbeResult | None = None
        self._next_quiet = 0.0
        self._next_health = 0.0

    # -- threads ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the metrics server, the active check and the heartbeat."""
        listen = self._settings.metrics.listen
        if listen is not None and self.metrics is not None:
            from logwatch.metrics_http import MetricsServer

            self.server = MetricsServer(listen[0], listen[1], self.metrics.registry, self.verdict)
            host, port = self.server.address
            if not is_loopback(host):
                logger.warning(
                    "metrics listen on %s, not loopback: anyone who reaches it"
                    " can read the agent's metrics",
                    host,
                )
            self.server.start()
            logger.info("metrics listening on http://%s:%d/metrics", host, port)
        if self.active is not None:
            self.active.start()
        if self.heartbeat is not None:
            self.heartbeat.start()
            logger.info(
                "heartbeat every %gs to %s",
                self._settings.heartbeat.interval_s,
                self.heartbeat.host,
            )

    def stop(self, store: StateStore | None = None) -> None:
        """Stop what start() started; say in the state store that the agent stopped."""
        for part in (self.heartbeat, self.active, self.server):
            if part is not None:
                part.stop()
        if store is not None:
            snapshot = {**self.snapshot(self._clock.now()), "stopped": True}
            try:
                store.save_meta(HEALTH_KEY, json.dumps(snapshot))
            except StateError as exc:  # the state is failing: status says so from its age
                logger.info("health not saved at stop: %s", exc)

    def verdict(self) -> Verdict:
        """The agent's health now (any thread)."""
        return self.health.verdict(self._monotonic())

    # -- from the loop ---------------------------------------------------------------------

    def read(self, batches: list[FileRecords]) -> None:
        """What one read of the files gave."""
        taken = self._take_bytes_read()
        if self.metrics is not None:
            self.metrics.read(batches, taken)

    def event(self, event: Event) -> None:
        """A record a rule matched."""
        if self.metrics is not None:
            self.metrics.event(event)

    def committed(
        self, changes: list[Change], seconds: float, live: Callable[[], Iterable[Incident]]
    ) -> None:
        """A batch was committed in `seconds`; `live` gives the grouper's incidents."""
        self.health.state_written()
        if self.metrics is not None:
            self.metrics.committed(changes, seconds, live())

    def state_failed(self, reason: str) -> None:
        """A commit, or a check of the state file, failed."""
        self.health.state_failed(reason)
        if self.metrics is not None:
            self.metrics.commit_failures.inc()

    def delivered(self, notifier: str, seconds: float) -> None:
        """A notification was delivered (from a delivery thread)."""
        if self.metrics is not None:
            self.metrics.delivered(notifier, seconds)

    def tick(self, grouper: Grouper, store: StateStore) -> list[Change]:
        """Once per loop iteration: the checks' changes; the health snapshot when due.
        Raises StateError when the snapshot cannot be written."""
        mono = self._monotonic()
        self.health.iterated(mono)
        now = self._clock.now()
        changes: list[Change] = []
        if self.active is not None:
            for result in self.active.results():
                if self.last_probe is None or self.last_probe.status != result.status:
                    self._next_health = 0.0  # `logwatch status` hears of it at once
                self.last_probe = result
                if self.metrics is not None:
                    self.metrics.probed(result)
                active = self._probe_watch.feed(result)
                if active is not None:
                    changes += self._probe_held.sync(active, now, grouper)
            changes += self._probe_held.refresh(now, grouper)
        if mono >= self._next_quiet:
            self._next_quiet = mono + self._quiet.check_s
            quiet = self._quiet.check(self._file_times(), now.timestamp())
            changes += self._quiet_held.sync(quiet, now, grouper)
        else:
            changes += self._quiet_held.refresh(now, grouper)
        if mono >= self._next_health:
            self._next_health = mono + HEALTH_S
            self._write_health(store, now)
        return changes

    def _file_times(self) -> list[FileTime]:
        return [
            FileTime(path=str(t.path), mtime=t.stat_seen[1] / 1e9 if t.stat_seen[1] >= 0 else None)
            for t in self._files()
        ]

    def _write_health(self, store: StateStore, now: datetime) -> None:
        depth = store.outbox_depth()
        self.health.notifiers(store.failing_notifiers())
        if self.metrics is not None:
            from logwatch.telemetry import OutboxStat

            self.metrics.outbox(
                OutboxStat(
                    notifier=name,
                    pending=pending,
                    failed=failed,
                    oldest_pending_s=(now - oldest).total_seconds() if oldest else None,
                )
                for name, pending, failed, oldest in depth
            )
        store.save_meta(HEALTH_KEY, json.dumps(self.snapshot(now)))
        self.health.state_written()

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """What `logwatch status` reads: the verdict, lag, the last probe, the heartbeat."""
        verdict = self.verdict()
        files = list(self._files())
        lagging = sorted(
            ((str(t.path), t.size_seen - t.offset) for t in files if t.size_seen > t.offset),
            key=lambda x: -x[1],
        )
        probe = self.last_probe
        return {
            "at": now.isoformat(),
            "pid": os.getpid(),
            "host": self._host,
            "version": __version__,
            "level": verdict.level,
            "reasons": list(verdict.reasons),
            "files": len(files),
            "lag_bytes": sum(b for _, b in lagging),
            "lagging": [{"path": p, "bytes": b} for p, b in lagging[:LAGGING_SHOWN]],
            "probe": None
            if probe is None
            else {
                "healthy": probe.healthy,
                "status": probe.status,
                "summary": probe.summary,
                "checked_at": probe.checked_at.isoformat(),
            },
            "held": [*self._probe_held.held, *self._quiet_held.held],
            "heartbeat": None if self.heartbeat is None else self.heartbeat.host,
            "stale_after_s": HEALTH_S * 4,
        }
