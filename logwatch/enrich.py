"""Enrichment: a live probe of the Redis behind a new or resolved incident, off the loop.

The alert that says "Redis 10.0.0.5:6379 refuses connections (checked 2 s ago)" saves the
on-call engineer the first ten minutes. Probes run on a worker thread, bounded in time; the
main loop collects their findings and turns them into incident updates. Only the Redis of
the configured REDIS_URL is ever probed: a log line cannot make the agent connect anywhere.
Once a resolved incident's Redis answers again, its RQ keys are read (rq_impact, bounded
and read-only) for what the outage did to the jobs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from logwatch.clock import Clock, SystemClock
from logwatch.config import redis_target
from logwatch.errors import LogwatchError
from logwatch.model import Change, Finding, Incident
from logwatch.rqview import RqImpact

logger = logging.getLogger(__name__)

ProbeFn = Callable[..., object]
InspectFn = Callable[..., RqImpact | None]
#: Longest an RQ inspection may take (rq_impact.Bounds.max_seconds), for stop()'s wait.
INSPECT_S = 3.0


class Prober:
    """Probes the configured Redis when an incident on it opens or resolves."""

    def __init__(
        self,
        url: str | None,
        *,
        timeout_s: float = 2.0,
        clock: Clock | None = None,
        probe: ProbeFn | None = None,
        inspect: InspectFn | None = None,
    ) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._clock = clock or SystemClock()
        if probe is None:
            from logwatch.probe import probe_for_incident

            probe = probe_for_incident
        self._probe = probe
        if inspect is None:
            from logwatch.rq_inspect import inspect_for_incident

            inspect = inspect_for_incident
        self._inspect = inspect
        try:
            self._target = redis_target(url) if url else None
        except LogwatchError:
            self._target = None
        self._jobs: queue.Queue[Change | None] = queue.Queue()
        self._found: queue.Queue[tuple[str, Finding, datetime]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="logwatch-probe", daemon=True)
        self._started = False

    @property
    def enabled(self) -> bool:
        """True when a Redis URL is known to probe."""
        return self._target is not None

    def submit(self, change: Change) -> bool:
        """Probe for an opened or resolved incident on the configured Redis; True if asked."""
        if not self.enabled or change.kind not in ("opened", "resolved"):
            return False
        if change.incident.target != self._target:
            return False
        if not self._started:
            self._started = True
            self._thread.start()
        self._jobs.put(change)
        return True

    def findings(self) -> list[tuple[str, Finding, datetime]]:
        """(incident id, finding, checked at) of the probes finished since the last call."""
        found = []
        while True:
            try:
                found.append(self._found.get_nowait())
            except queue.Empty:
                return found

    def stop(self) -> None:
        """Let the current probe finish (it is bounded) and stop the thread."""
        if self._started:
            self._jobs.put(None)
            self._thread.join(timeout=self._timeout_s * 4 + INSPECT_S + 1)

    def _run(self) -> None:
        while (change := self._jobs.get()) is not None:
            incident = change.incident
            resolved = change.kind == "resolved"
            healthy = False
            try:
                result = self._probe(
                    incident.category,
                    incident.target,
                    self._url,
                    self._timeout_s,
                    resolved=resolved,
                    clock=self._clock,
                )
                summary = str(getattr(result, "summary", result))
                healthy = bool(getattr(result, "healthy", False))
            except Exception as exc:  # a probe must never take the agent down
                summary = f"not probed: {type(exc).__name__}"
            rq = self._jobs_after(incident) if resolved and healthy else None
            checked = self._clock.now()
            logger.info("probe incident=%s: %s", incident.id, summary)
            # When it was checked travels beside the summary (Incident.probed_at), so a
            # message can say how fresh it is rather than repeat a stale "checked" time.
            finding = Finding(summary=summary, rq=rq, recovery=resolved, healthy=healthy)
            self._found.put((incident.id, finding, checked))

    def _jobs_after(self, incident: Incident) -> RqImpact | None:
        """What RQ's keys say once Redis answers again; None when it holds none."""
        try:
            rq = self._inspect(self._url, incident, timeout_s=self._timeout_s, clock=self._clock)
        except Exception as exc:  # inspect_for_incident never raises; a stand-in might
            logger.info("rq inspection failed incident=%s: %s", incident.id, type(exc).__name__)
            return None
        if rq is not None:
            logger.info(
                "rq inspection incident=%s failed=%d abandoned=%d keys=%d seconds=%.3f",
                incident.id,
                rq.failed,
                rq.abandoned,
                rq.keys_read,
                rq.seconds,
            )
        return rq
