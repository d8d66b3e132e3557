"""The only place the stages are wired: file -> lines -> records -> events -> changes."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from logwatch.config import Config
from logwatch.dating import Dating
from logwatch.grouping import Grouper, RulePolicy
from logwatch.impact import classify
from logwatch.matching import Matcher
from logwatch.model import Change, Event, Record
from logwatch.redact import Redactor
from logwatch.rules import RulePack
from logwatch.sources.container import make_assembler
from logwatch.sources.reader import file_mtime, is_binary, open_log, read_lines
from logwatch.stampshape import START

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Stats:
    """What a run read; the `stats` object of the JSON output."""

    files: int = 0
    bytes: int = 0
    lines: int = 0
    records: int = 0
    events: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # one-line reasons, for warnings
    # What found the records the rules ran on: "hyperscan" or "aho-corasick" (the fast
    # scan's literal search), "none" (every record read).
    filter: str = "none"

    def as_dict(self) -> dict[str, int | float | str]:
        """The contract's stats object."""
        return {
            "files": self.files,
            "bytes": self.bytes,
            "lines": self.lines,
            "records": self.records,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "filter": self.filter,
        }


class Engine:
    """Matching and grouping, shared by the scan and the agent."""

    def __init__(
        self,
        config: Config,
        pack: RulePack,
        *,
        state: Mapping[str, Any] | None = None,
        jobs: bool = True,
        checks: Mapping[str, RulePolicy] | None = None,
    ) -> None:
        # The agent counts job signals; a scan does not (its fast path reads only around
        # rule literals, in parallel processes, so its two paths would disagree).
        self.jobs = jobs
        # The agent's checks (an active probe, quiet logs) group events of their own rules.
        self._checks: Mapping[str, RulePolicy] = checks or {}
        self.redact = Redactor(config.secrets)
        self.matcher = self._matcher(config, pack)
        self.grouper = Grouper(self._rules(pack), config.grouping, state=state)

    def _matcher(self, config: Config, pack: RulePack) -> Matcher:
        return Matcher(pack, default_target=config.grouping.default_target, redact=self.redact)

    def _rules(self, pack: RulePack) -> dict[str, RulePolicy]:
        return {**self._checks, **{rule.id: rule for rule in pack.rules}}

    def reload(self, config: Config, pack: RulePack) -> None:
        """New config and rules; open incidents and pending bursts carry over."""
        state = self.grouper.snapshot()
        self.redact = Redactor(config.secrets)
        self.matcher = self._matcher(config, pack)
        self.grouper = Grouper(self._rules(pack), config.grouping, state=state)

    def match(self, record: Record, rules: AbstractSet[int] | None = None) -> Event | None:
        """The event for a record, or None; a record that tells of jobs or workers (a
        failed enqueue, a 500, a worker quitting, matched or not) is counted for the
        incidents open at its time (impact.classify, Grouper.note). `rules`: for a record
        of one line, the rules that can match it (Matcher.match)."""
        event = self.matcher.match(record, rules)
        if not self.jobs:
            return event
        signal = classify(record.text, record.time, redis_error=event is not None)
        if signal is not None:
            self.grouper.note(signal)
        return event

    def add(self, event: Event) -> list[Change]:
        """Group one event."""
        return self.grouper.add(event)

    def tick(self, now: datetime) -> list[Change]:
        """Let (log) time pass: resolves incidents gone quiet."""
        return self.grouper.tick(now)


def read_records(
    path: Path,
    config: Config,
    stats: Stats,
    dating: Dating | None = None,
    *,
    label: str | None = None,
) -> Iterator[Record]:
    """Every record of one log file (compressed or not); skips binary and unreadable files.

    `dating` gives the file's reference time and stamp shape (default: its mtime, stamps
    at line starts); `label` is the file's name in records and messages (default: path)."""
    label = label or str(path)
    try:
        stream = open_log(path)
    except OSError as exc:  # SourceError is raised for the common cases; this is the rest
        _skip(stats, f"{label}: cannot read: {exc.strerror or exc}")
        return
    with stream:
        head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
        if is_binary(head):
            _skip(stats, f"{label}: binary file, skipped")
            return
        stats.files += 1
        assembler = make_assembler(
            head,
            path=path,
            source=label,
            file_time=dating.file_time if dating else file_mtime(path),
            tz=config.timezone,
            max_lines=config.max_record_lines,
            max_bytes=config.max_record_bytes,
            shape=dating.shape if dating else START,
        )
        last_end = 0
        for line in read_lines(stream, max_line_bytes=config.max_line_bytes, final=True):
            stats.lines += 1
            last_end = line.end
            for record in assembler.feed(line):
                stats.records += 1
                yield record
        for record in assembler.flush():
            stats.records += 1
            yield record
        stats.bytes += last_end


def _skip(stats: Stats, reason: str) -> None:
    logger.warning("%s", reason)
    stats.skipped.append(reason)
