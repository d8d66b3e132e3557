"""The agent's health: is its loop turning, can it write its state, do its notifiers deliver?

One object, updated by the main loop and read by the metrics server's thread (`/healthz`),
the heartbeat thread and the state snapshot that `logwatch status` reads. Readers get a
`Verdict`: "ok", "degraded" (notifications failing for good: alerts are not reaching
anyone) or "down" (the loop is stuck, or the state store cannot be written: nothing the
agent reads is kept). Times are monotonic seconds, passed in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

Level = Literal["ok", "degraded", "down"]
#: The loop wakes at least every tick (1 s); a batch is bounded. Longer than this: stuck.
STALL_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The agent's health and why."""

    level: Level
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Healthy enough to say so to a monitor (`/healthz` answers 200 unless down)."""
        return self.level == "ok"

    def line(self) -> str:
        """One line for a heartbeat's failure body or /healthz."""
        return self.level + (": " + "; ".join(self.reasons) if self.reasons else "")


class AgentHealth:
    """What the loop reports about itself; thread-safe."""

    def __init__(self, now: float, *, stall_s: float = STALL_S) -> None:
        self._lock = threading.Lock()
        self._stall_s = stall_s
        self._iterated = now
        self._state_error: str | None = None
        self._notifiers: dict[str, str] = {}  # notifier -> why its last delivery failed

    def iterated(self, now: float) -> None:
        """The loop went round once."""
        self._iterated = now

    def state_written(self) -> None:
        """A commit (or a check of the state file) succeeded."""
        with self._lock:
            self._state_error = None

    def state_failed(self, reason: str) -> None:
        """A commit or a check of the state file failed (disk full, read-only, deleted)."""
        with self._lock:
            self._state_error = reason

    def notifiers(self, failing: dict[str, str]) -> None:
        """Notifiers whose latest finished delivery failed for good, with the reason."""
        with self._lock:
            self._notifiers = dict(failing)

    def verdict(self, now: float) -> Verdict:
        """The health as of `now` (monotonic)."""
        with self._lock:
            state_error, failing = self._state_error, dict(self._notifiers)
        down = []
        if now - self._iterated > self._stall_s:
            down.append(f"main loop stuck for {now - self._iterated:.0f} s")
        if state_error:
            down.append(f"state store failing: {state_error}")
        if down:
            return Verdict(level="down", reasons=tuple(down))
        if failing:
            reasons = tuple(f"notifier {n} failing: {why}" for n, why in sorted(failing.items()))
            return Verdict(level="degraded", reasons=reasons)
        return Verdict(level="ok")
