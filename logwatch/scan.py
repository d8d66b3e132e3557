"""The one-off scan: historical files through the engine, by the records' own time.

Two paths give the same report. The reference reads every line into records and matches
each (pipeline.read_records); the fast path (fastscan) searches big blocks for the rules'
literals and assembles records only around the hits, on a process pool. Both group the
events of all families merged by log time, then let time run to the end of the scan: the
latest time of a file's last record (or --until, if earlier).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from logwatch.config import Config
from logwatch.dating import Dating, plan_dating
from logwatch.lookout import Sighting
from logwatch.model import Change, Event, Incident, Record, UndatedEvidence
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.rules import RulePack
from logwatch.sources.container import wrapped_by_runtime
from logwatch.sources.history import LogFamily

logger = logging.getLogger(__name__)

# A family's stream carries its events and, every MARK_EVERY of log time, a time mark, so
# quiet periods are seen even in files that hold no Redis errors at all.
MARK_EVERY = timedelta(seconds=1)

Item = tuple[
    datetime, int, int, int, Event | None
]  # (time, kind, stream, seq, event); kind 0 = mark


class ScanObserver(Protocol):
    """Sees what a scan reads beyond its incidents (the html and markdown reports)."""

    @property
    def needles(self) -> Sequence[bytes]:
        """Literals the fast path must search too, for `look` to see their records."""
        ...

    def look(self, record: Record, event: Event | None) -> Sighting | None:
        """What to keep of a dated record in range (runs in the fast path's workers)."""
        ...

    def sighted(self, sighting: Sighting) -> None:
        """A kept record, in no particular order."""
        ...

    def grouped(self, event: Event | None, changes: Sequence[Change]) -> None:
        """An event given to grouping (None: time passed), and the changes it caused."""
        ...

    def ended(self, end: datetime | None) -> None:
        """The scan's end: the latest last record of a file, or --until if earlier."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """What a scan found."""

    incidents: list[Incident]
    stats: Stats
    isolated_events: int  # matched events that never reached an opening threshold
    dating: dict[str, str] = field(default_factory=dict)  # file -> how its records were dated
    undated: list[UndatedEvidence] = field(default_factory=list)


def scan(
    families: list[LogFamily],
    config: Config,
    pack: RulePack,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    on_file: Callable[[str], None] | None = None,
    reference: bool = False,
    jobs: int | None = None,
    date_of_time_only: date | None = None,
    labels: Mapping[Path, str] | None = None,
    observer: ScanObserver | None = None,
    streams: Sequence[Iterable[Record]] = (),
) -> ScanReport:
    """Scan the families; their streams are merged by log time so grouping sees one timeline.

    `reference` takes the slow path that reads every record; `jobs` caps the fast path's
    worker processes (default: one per core); `date_of_time_only` is the date of files
    whose stamps have no date (--date); `labels` names files by what the user gave (a
    copy of standard input is `<stdin>`); `observer` sees events, changes and the
    records it asks for (ScanObserver); `streams` are records read elsewhere (the
    journal), each in time order, merged with the files'.
    """
    started = time.perf_counter()
    engine = Engine(config, pack, jobs=False)
    stats = Stats()
    dating = plan_dating([f.files for f in families], config.timezone, given=date_of_time_only)
    names = dict(labels or {})
    run = _Run(
        engine=engine,
        config=config,
        stats=stats,
        dating=dating,
        labels=names,
        since=since,
        until=until,
        observer=observer,
    )
    # Container logs are unwrapped record by record: the fast path reads raw bytes.
    wrapped = any(wrapped_by_runtime(f.files[-1]) for f in families)
    if reference or wrapped or streams or not _fast_supported(pack):
        _reference(families, run, on_file, streams)
    else:
        _fast(families, run, pack, on_file, jobs)
    end = max(run.ends, default=None)
    if end is not None and until is not None:
        end = min(end, until)
    if end is not None:
        changes = engine.tick(end)
        if observer is not None:
            observer.grouped(None, changes)
    if observer is not None:
        observer.ended(end)
    stats.seconds = time.perf_counter() - started
    incidents = engine.grouper.incidents()
    return ScanReport(
        incidents=incidents,
        stats=stats,
        isolated_events=engine.grouper.isolated_events(),
        dating={run.label(path): d.how for path, d in dating.items()},
        undated=undated_evidence(run.undated, incidents),
    )


@dataclass(slots=True, kw_only=True)
class _Run:
    """What both paths share while they read: the engine, the dating, what they found."""

    engine: Engine
    config: Config
    stats: Stats
    dating: dict[Path, Dating]
    labels: dict[Path, str]
    since: datetime | None
    until: datetime | None
    observer: ScanObserver | None = None
    ends: list[datetime] = field(default_factory=list)  # the time of each file's last record
    undated: list[Event] = field(default_factory=list)  # events of files with no stamps
    _undated: set[str] | None = None  # labels of the files with no stamps

    def label(self, path: Path) -> str:
        return self.labels.get(path, str(path))

    def undated_file(self, label: str) -> bool:
        if self._undated is None:
            self._undated = {self.label(p) for p, d in self.dating.items() if d.undated}
        return label in self._undated

    def in_range(self, when: datetime) -> bool:
        return (self.since is None or when >= self.since) and (
            self.until is None or when <= self.until
        )


def undated_evidence(events: Iterable[Event], incidents: list[Incident]) -> list[UndatedEvidence]:
    """Undated events grouped by signature, each beside the incidents sharing it."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.signature, []).append(event)
    found = []
    for signature, group in groups.items():
        first = group[0]
        found.append(
            UndatedEvidence(
                category=first.category,
                rule=first.rule,
                signature=signature,
                events=len(group),
                sources=dict(Counter(e.source for e in group).most_common()),
                sample=first.text,
                incidents=tuple(i.id for i in incidents if signature in i.signatures),
            )
        )
    return sorted(found, key=lambda u: (-u.events, u.signature))


def _fast_supported(pack: RulePack) -> bool:
    from logwatch.prefilter import Unsupported, needles

    try:
        needles(pack)
    except Unsupported as exc:
        logger.info("fast scan not possible, reading every record: %s", exc)
        return False
    return True


def _fast(
    families: list[LogFamily],
    run: _Run,
    pack: RulePack,
    on_file: Callable[[str], None] | None,
    jobs: int | None,
) -> None:
    from logwatch.fastscan import scan_files

    stats = run.stats
    events: list[list[Event]] = [[] for _ in families]
    files = [f.files for f in families]
    observer = run.observer
    for found in scan_files(
        files,
        run.config,
        pack,
        jobs=jobs,
        dating=run.dating,
        labels=run.labels,
        extra=observer.needles if observer is not None else (),
        look=observer.look if observer is not None else None,
    ):
        if on_file is not None:
            on_file(found.label)
        if found.binary:
            reason = f"{found.label}: binary file, skipped"
            logger.warning("%s", reason)
            stats.skipped.append(reason)
            continue
        stats.files += 1
        stats.bytes += found.size
        stats.lines += found.lines
        stats.records += found.records
        stats.filter = found.filter
        if run.undated_file(found.label):
            run.undated += found.events
            stats.events += len(found.events)
            continue
        if found.last_time is not None:
            run.ends.append(found.last_time)
        events[found.family].extend(e for e in found.events if run.in_range(e.time))
        if run.observer is not None:
            for seen in found.side:
                if run.in_range(seen.time):
                    run.observer.sighted(seen)
    streams = [_event_items(n, family) for n, family in enumerate(events)]
    for _when, _kind, _stream, _seq, event in heapq.merge(*streams):
        stats.events += 1
        changes = run.engine.add(event)
        if run.observer is not None:
            run.observer.grouped(event, changes)


def _event_items(
    stream: int, events: list[Event]
) -> Iterator[tuple[datetime, int, int, int, Event]]:
    """A family's events as the reference's stream items (without its time marks)."""
    for seq, event in enumerate(events):
        yield (event.time, 1, stream, seq, event)


def _reference(
    families: list[LogFamily],
    run: _Run,
    on_file: Callable[[str], None] | None,
    extra: Sequence[Iterable[Record]] = (),
) -> None:
    streams = [_family_items(n, family, run, on_file) for n, family in enumerate(families)]
    streams += [_record_items(len(families) + n, r, run) for n, r in enumerate(extra)]
    observer = run.observer
    for when, _kind, _stream, _seq, event in heapq.merge(*streams):
        if event is None:
            changes = run.engine.tick(when)
        else:
            run.stats.events += 1
            changes = run.engine.add(event)
        if observer is not None and (event is not None or changes):
            observer.grouped(event, changes)


def _family_items(
    stream: int, family: LogFamily, run: _Run, on_file: Callable[[str], None] | None
) -> Iterator[Item]:
    seq = 0
    next_mark: datetime | None = None
    engine = run.engine
    for path in family.files:
        label = run.label(path)
        if on_file is not None:
            on_file(label)
        dating = run.dating.get(path)
        if dating is not None and dating.undated:
            for record in read_records(path, run.config, run.stats, dating, label=label):
                event = engine.match(record)
                if event is not None:
                    run.undated.append(event)
                    run.stats.events += 1
            continue
        last: datetime | None = None
        for record in read_records(path, run.config, run.stats, dating, label=label):
            when = last = record.time
            if not run.in_range(when):
                continue
            seq += 1
            event = engine.match(record)
            if run.observer is not None:
                seen = run.observer.look(record, event)
                if seen is not None:
                    run.observer.sighted(seen)
            if event is not None:
                yield (when, 1, stream, seq, event)
            elif next_mark is None or when >= next_mark:
                yield (when, 0, stream, seq, None)
                next_mark = when + MARK_EVERY
        if last is not None:
            run.ends.append(last)


def _record_items(stream: int, records: Iterable[Record], run: _Run) -> Iterator[Item]:
    """A stream of records read elsewhere (the journal) as the reference's items."""
    last: datetime | None = None
    for seq, record in enumerate(records):
        run.stats.records += 1
        run.stats.lines += record.lines
        when = last = record.time
        if not run.in_range(when):
            continue
        event = run.engine.match(record)
        yield (when, 1 if event is not None else 0, stream, seq, event)
    if last is not None:
        run.ends.append(last)
