"""The active Redis check: the configured Redis probed every `probe_interval`, logs or not.

At 4 a.m. with no traffic the app writes nothing, so a dead Redis would go unnoticed until
the first user. `ActiveProbe` runs the same read-only PING and INFO as `logwatch probe`
(probe.run_probe, bounded by its timeout, no retries) on its own thread; the loop takes the
results, exports them as metrics, and feeds them to `ProbeWatch`, which turns
`failures` failed probes in a row into a condition (conditions.py) of the diagnosed
category: an incident with source `probe` that the app's errors join when it starts
failing too, resolved by the first probe that finds Redis healthy again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from logwatch.clock import Clock, SystemClock
from logwatch.conditions import CheckRule, Condition
from logwatch.model import Incident, Severity
from logwatch.probe import ProbeResult
from logwatch.runbook import HINTS

logger = logging.getLogger(__name__)

RULE = "logwatch.probe"
SOURCE = "probe"
#: The rule-pack category a failed probe's status stands for.
STATUS_CATEGORY: dict[str, str] = {
    "refused": "connection",
    "dns": "connection",
    "error": "connection",
    "timeout": "timeout",
    "auth": "auth",
    "oom": "oom",
    "readonly": "readonly",
    "persistence": "misconf",
    "loading": "loading",
    "max_clients": "max_clients",
}
CRITICAL = frozenset({"refused", "dns", "error", "timeout", "auth"})

ProbeFn = Callable[..., ProbeResult]


def check_rules() -> dict[str, CheckRule]:
    """The grouping policy of probe events, one rule per status for its runbook steps."""
    return {f"{RULE}.{s}": CheckRule(id=f"{RULE}.{s}", hint=HINTS[s]) for s in STATUS_CATEGORY}


def category_of(result: ProbeResult) -> str:
    """The incident category of a failed probe; a connect timeout is a connection failure."""
    if result.status == "timeout" and "connection" in str(result.details.get("reason", "")):
        return "connection"
    return STATUS_CATEGORY.get(result.status, "connection")


class ProbeWatch:
    """Failed probes in a row -> the condition they hold open; a healthy probe clears it."""

    def __init__(self, target: str, *, failures: int) -> None:
        self.target = target  # the incident target: the one lines naming no endpoint get
        self._needed = failures
        self._failed = 0

    def feed(self, result: ProbeResult) -> dict[str, Condition] | None:
        """The conditions after this probe; None while failures are too few to say."""
        if result.healthy:
            self._failed = 0
            return {}
        self._failed += 1
        if self._failed < self._needed:
            return None
        category = category_of(result)
        condition = Condition(
            key=f"probe:{category}",
            category=category,
            target=self.target,
            rule=f"{RULE}.{result.status if result.status in STATUS_CATEGORY else 'error'}",
            severity=Severity.CRITICAL if result.status in CRITICAL else Severity.ERROR,
            source=SOURCE,
            signature=f"active check: {result.status}",
            text=f"active check ({self._failed} failed in a row): {result.summary}",
        )
        return {condition.key: condition}

    def adopt(self, incident: Incident) -> str | None:
        """The key of an open incident the probe held before a restart."""
        if SOURCE in incident.sources and incident.target == self.target:
            return f"probe:{incident.category}"
        return None


class ActiveProbe:
    """Probes one Redis every `interval_s` on its own thread; the loop collects results."""

    def __init__(
        self,
        url: str,
        interval_s: float,
        *,
        timeout_s: float = 2.0,
        clock: Clock | None = None,
        probe: ProbeFn | None = None,
    ) -> None:
        self._url = url
        self._interval_s = interval_s
        self._timeout_s = min(timeout_s, max(interval_s / 2, 0.1))
        self._clock = clock or SystemClock()
        if probe is None:
            from logwatch.probe import run_probe

            probe = run_probe
        self._probe = probe
        self._results: queue.Queue[ProbeResult] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logwatch-active-probe", daemon=True)
        self.latest: ProbeResult | None = None  # read by the metrics thread

    def start(self) -> None:
        """Probe now, then every interval."""
        self._thread.start()

    def stop(self) -> None:
        """Let the current probe finish (bounded by its timeout) and stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._timeout_s * 4 + 1)

    def results(self) -> list[ProbeResult]:
        """The probes finished since the last call, oldest first."""
        found = []
        while True:
            try:
                found.append(self._results.get_nowait())
            except queue.Empty:
                return found

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = self._probe(self._url, self._timeout_s, clock=self._clock)
            except Exception as exc:  # a malformed URL is refused by the config; the rest
                result = ProbeResult(
                    healthy=False,
                    status="error",
                    summary=f"not probed: {type(exc).__name__}",
                    target="redis",
                    checked_at=self._clock.now(),
                    details={"reason": "probe failed"},
                )
            if result.healthy != (self.latest.healthy if self.latest else True):
                logger.info("active check status=%s: %s", result.status, result.summary)
            self.latest = result
            self._results.put(result)
            self._stop.wait(self._interval_s)
