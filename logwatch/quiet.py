"""Quiet logs: a followed log that stops writing opens a `log_quiet` incident.

An RQ worker that died writes no error: its log just stops. Like ElastAlert's flatline
rules, a file is expected to write at least every `within`:

- `[[expect]] path = "worker*.log"  within = "10m"`: files whose name (or, for a pattern
  with a "/", whose path) matches;
- otherwise `[quiet] default_within`: "auto" (the default) expects a file seen writing
  steadily to go on: one that wrote at least AUTO_WRITES times over at least AUTO_WATCH_S
  of watching must write again within max(AUTO_FLOOR_S, AUTO_FACTOR x its longest gap);
  "off" watches only [[expect]] files; a duration applies to every followed file.

A file is a path, not an inode: the file logrotate renames away (worker.log.1) stops
writing by design and is never expected to (rotated names are left out of the default),
while the new worker.log carries on the path's rhythm. A path that is no longer followed
(deleted, never recreated) stays silent and is still watched if an [[expect]] names it.
The clock is the files' mtime against the agent's clock, so a log silent since before the
agent started is found at once. Pure: file times and the time now are passed in.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from logwatch.conditions import CheckRule, Condition
from logwatch.model import Incident, Severity
from logwatch.sources.history import rotation_key
from logwatch.watch_settings import Expectation, QuietPolicy

CATEGORY = "log_quiet"
RULE = "logwatch.log_quiet"
AUTO_WRITES = 20
AUTO_WATCH_S = 3600.0
AUTO_FLOOR_S = 1800.0
AUTO_FACTOR = 4.0
MAX_CHECK_S = 10.0
MIN_CHECK_S = 0.2
HINT = """A log that normally writes has gone silent: the process writing it may be dead.
1. Is the process running? RQ: `rq info -u $REDIS_URL`, `supervisorctl status` or
   `systemctl status rq-worker@*`; gunicorn: `systemctl status gunicorn`.
2. Is it stuck? A worker blocked on Redis logs nothing: check the Redis incidents too.
3. Is logging broken? Disk full (`df -h`), log file permissions, a logging config that
   now writes elsewhere (a rotation that did not reopen the file: `ls -l /proc/PID/fd`)."""


def check_rules() -> dict[str, CheckRule]:
    """The grouping policy of quiet-log events."""
    return {RULE: CheckRule(id=RULE, hint=HINT)}


@dataclass(frozen=True, slots=True, kw_only=True)
class FileTime:
    """A followed file and the mtime (epoch seconds) its last check saw; None: not yet."""

    path: str
    mtime: float | None


@dataclass(slots=True)
class _Stream:
    mtime: float
    first_seen: float
    writes: int = 0
    longest_gap: float = 0.0
    silent: bool = False  # silent past its deadline: that gap is not learned as normal


class QuietWatch:
    """Which followed logs have been silent longer than they should be."""

    def __init__(self, policy: QuietPolicy) -> None:
        self._policy = policy
        self._streams: dict[str, _Stream] = {}
        shortest = min((e.within_s for e in policy.expectations), default=MAX_CHECK_S * 4)
        if policy.default == "fixed":
            shortest = min(shortest, policy.default_within_s)
        # Often enough that a silence is found within a quarter of its allowance.
        self.check_s = min(MAX_CHECK_S, max(MIN_CHECK_S, shortest / 4))

    def check(self, files: Iterable[FileTime], now: float) -> dict[str, Condition]:
        """The quiet conditions as of `now` (epoch seconds), learning each file's rhythm."""
        seen: set[str] = set()
        for f in files:
            seen.add(f.path)
            if f.mtime is None:
                continue
            stream = self._streams.get(f.path)
            if stream is None:
                self._streams[f.path] = _Stream(mtime=f.mtime, first_seen=now)
            elif f.mtime != stream.mtime:
                if not stream.silent:
                    stream.longest_gap = max(stream.longest_gap, f.mtime - stream.mtime)
                stream.writes += 1
                stream.mtime, stream.silent = f.mtime, False
        found: dict[str, Condition] = {}
        for path in list(self._streams):
            stream = self._streams[path]
            expected = self._expectation(path)
            within = expected.within_s if expected else self._default_within(path, stream)
            if within is None:
                if path not in seen:
                    del self._streams[path]  # gone, and nobody expects it
                continue
            silent_s = now - stream.mtime
            if silent_s > within:
                stream.silent = True
                found[f"quiet:{path}"] = _condition(path, silent_s, within, expected)
        return found

    def adopt(self, incident: Incident) -> str | None:
        """The key of an open log_quiet incident (after a restart)."""
        return f"quiet:{incident.target}" if incident.category == CATEGORY else None

    def _expectation(self, path: str) -> Expectation | None:
        name = Path(path).name
        for e in self._policy.expectations:
            if fnmatch.fnmatchcase(path if "/" in e.pattern else name, e.pattern):
                return e
        return None

    def _default_within(self, path: str, stream: _Stream) -> float | None:
        policy = self._policy
        if policy.default == "off" or rotation_key(Path(path))[1][0] != 2:
            return None  # off, or a rotated name (app.log.1): silent by design
        if policy.default == "fixed":
            return policy.default_within_s
        if stream.writes < AUTO_WRITES or stream.mtime - stream.first_seen < AUTO_WATCH_S:
            return None  # not seen writing steadily for long enough
        return max(AUTO_FLOOR_S, AUTO_FACTOR * stream.longest_gap)


def _condition(
    path: str, silent_s: float, within_s: float, expected: Expectation | None
) -> Condition:
    name = Path(path).name
    who = expected.name if expected and expected.name else ("RQ worker" if "worker" in name else "")
    what = f"{who} log {path}" if who else f"log {path}"
    doubt = "worker dead or logging broken?" if who else "process dead or logging broken?"
    return Condition(
        key=f"quiet:{path}",
        category=CATEGORY,
        target=path,
        rule=RULE,
        severity=Severity.WARNING,
        source=path,
        signature=f"log silent for more than {_span(within_s)}",
        text=f"{what} silent for {_span(silent_s)}: {doubt}",
    )


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
