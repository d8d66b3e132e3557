"""Enrichment: a live probe of the Redis behind a new or resolved incident, off the loop.

The alert that says "Redis 10.0.0.5:6379 refuses connections (checked 2 s ago)" saves the
on-call engineer the first ten minutes. Probes run on a worker thread, bounded in time; the
main loop collects their findings and turns them into incident updates. Only the Redis of
the configured REDIS_URL is ever probed: a log line cannot make the agent connect anywhere.
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
from logwatch.model import Change

logger = logging.getLogger(__name__)

ProbeFn = Callable[..., object]


class Prober:
    """Probes the configured Redis when an incident on it opens or resolves."""

    def __init__(
        self,
        url: str | None,
        *,
        timeout_s: float = 2.0,
        clock: Clock | None = None,
        probe: ProbeFn | None = None,
    ) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._clock = clock or SystemClock()
        if probe is None:
            from logwatch.probe import probe_for_incident

            probe = probe_for_incident
        self._probe = probe
        try:
            self._target = redis_target(url) if url else None
        except LogwatchError:
            self._target = None
        self._jobs: queue.Queue[Change | None] = queue.Queue()
        self._found: queue.Queue[tuple[str, str, datetime]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="logwatch-probe", daemon=True)
        self._started = False

    @property
    def enabled(self) -> bool:
        """True when a Redis URL is known to probe."""
        return self._target is not None

    def submit(self, change: Change) -> None:
        """Probe for an opened or resolved incident on the configured Redis."""
        if not self.enabled or change.kind == "updated":
            return
        if change.incident.target != self._target:
            return
        if not self._started:
            self._started = True
            self._thread.start()
        self._jobs.put(change)

    def findings(self) -> list[tuple[str, str, datetime]]:
        """(incident id, diagnosis, checked at) of the probes finished since the last call."""
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
            self._thread.join(timeout=self._timeout_s * 3 + 1)

    def _run(self) -> None:
        while (change := self._jobs.get()) is not None:
            incident = change.incident
            try:
                result = self._probe(
                    incident.category,
                    incident.target,
                    self._url,
                    self._timeout_s,
                    resolved=change.kind == "resolved",
                    clock=self._clock,
                )
                summary = str(getattr(result, "summary", result))
            except Exception as exc:  # a probe must never take the agent down
                summary = f"not probed: {type(exc).__name__}"
            checked = self._clock.now()
            logger.info("probe incident=%s: %s", incident.id, summary)
            self._found.put((incident.id, f"{summary} (checked {checked:%H:%M:%S} UTC)", checked))
