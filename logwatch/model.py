"""Values that cross pipeline stages: lines, records, events, incidents, changes.

Every value is frozen; timestamps are aware UTC datetimes, durations float seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Literal

from logwatch.impact import JobImpact
from logwatch.oncall import Ack, Silence
from logwatch.rqview import RqImpact


class Severity(IntEnum):
    """How bad a rule's match is; ordered so max() gives the worst."""

    INFO = 10
    WARNING = 20
    ERROR = 30
    CRITICAL = 40

    @property
    def label(self) -> str:
        """Lower-case name used in config, JSON and messages."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Severity from its lower-case name; ValueError for anything else."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of {names})") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    """One complete line of a log file, decoded, without its newline."""

    text: str
    number: int  # 1-based line number within the (decompressed) stream
    offset: int  # byte offset of the line's first byte
    end: int  # byte offset just past the line's newline
    truncated: bool = False  # the line was longer than the reader's bound


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One log entry: a timestamped line plus its continuation lines (tracebacks)."""

    source: str  # the file it came from, as the user named it
    line: int  # number of its first line
    offset: int  # byte offset of its first line
    end: int  # byte offset just past its last line
    time: datetime  # the record's own time (aware UTC); inherited or file time if it has none
    text: str  # the lines joined by "\n"; for JSON lines, message and traceback fields
    lines: int = 1  # how many lines it spans in the file
    truncated: bool = False  # lines or bytes were dropped to keep it bounded
    timed: bool = True  # False when time was inherited or taken from the file, not parsed


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A record that a rule matched."""

    time: datetime
    source: str
    line: int
    rule: str
    category: str
    severity: Severity
    target: str  # Redis endpoint "host:port", or the configured default
    signature: str  # normalised text: ids, numbers, hosts masked
    text: str  # the matched line, redacted
    fields: Mapping[str, str] = field(default_factory=dict)


IncidentStatus = Literal["open", "resolved"]
#: "reminder": an unacknowledged critical incident is still open (remote notifiers only).
ChangeKind = Literal["opened", "updated", "resolved", "reminder"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """A snapshot of an incident: events with one (category, target), close in time."""

    id: str
    category: str
    target: str
    severity: Severity
    status: IncidentStatus
    first_seen: datetime
    last_seen: datetime
    events: int
    signatures: Mapping[str, int]
    sources: Mapping[str, int]
    rules: Mapping[str, int]
    samples: tuple[str, ...]
    hint: str
    resolved_at: datetime | None = None
    reopened: int = 0  # times it came back after resolving
    linked: tuple[str, ...] = ()  # ids of incidents on the same target at the same time
    diagnosis: str = ""  # what a live probe of the Redis said ("confirmed: connection refused")
    jobs: JobImpact | None = None  # lost enqueues, failed jobs, workers (logs, then Redis)
    active_s: float | None = None  # sum of the open stretches (None: the whole span)
    outage: str = ""  # id of the incident whose Slack thread it shares ("" : its own)
    probed_at: datetime | None = None  # when the probe behind `diagnosis` ran
    recovery: str = ""  # what the probe said once it resolved ("recovery confirmed: ...")
    ack: Ack | None = None  # who said "I'm on it"
    silence: Silence | None = None  # what mutes its notifications now

    @property
    def duration_s(self) -> float:
        """Seconds from the first to the last event."""
        return (self.last_seen - self.first_seen).total_seconds()

    @property
    def active_duration_s(self) -> float:
        """Seconds it was open: the sum of its stretches, without the gaps between them."""
        return self.duration_s if self.active_s is None else self.active_s

    @property
    def thread_key(self) -> str:
        """The incident whose notification thread this one's changes go to."""
        return self.outage or self.id


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What the prober found for an incident: the probe's summary, and RQ's state after."""

    summary: str
    rq: RqImpact | None = None
    recovery: bool = False  # probed because it resolved (or to confirm it has recovered)
    healthy: bool | None = None  # Redis answered PING (None: unknown)


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """An incident opened, updated or resolved at a (log) time."""

    kind: ChangeKind
    at: datetime
    incident: Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class UndatedEvidence:
    """Matches of one signature in files with no timestamps at all (supervisor-captured
    stderr, uvicorn's default format): evidence with no time of its own, so never part of
    an incident, reported beside the incidents that share its signature."""

    category: str
    rule: str
    signature: str
    events: int
    sources: Mapping[str, int]
    sample: str
    incidents: tuple[str, ...] = ()  # ids of incidents with the same signature
