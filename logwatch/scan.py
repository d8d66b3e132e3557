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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from logwatch.config import Config
from logwatch.model import Event, Incident
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.rules import RulePack
from logwatch.sources.history import LogFamily

logger = logging.getLogger(__name__)

# A family's stream carries its events and, every MARK_EVERY of log time, a time mark, so
# quiet periods are seen even in files that hold no Redis errors at all.
MARK_EVERY = timedelta(seconds=1)

Item = tuple[
    datetime, int, int, int, Event | None
]  # (time, kind, stream, seq, event); kind 0 = mark


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """What a scan found."""

    incidents: list[Incident]
    stats: Stats
    isolated_events: int  # matched events that never reached an opening threshold


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
) -> ScanReport:
    """Scan the families; their streams are merged by log time so grouping sees one timeline.

    `reference` takes the slow path that reads every record; `jobs` caps the fast path's
    worker processes (default: one per core).
    """
    started = time.perf_counter()
    engine = Engine(config, pack)
    stats = Stats()
    ends: list[datetime] = []  # the time of each file's last record
    if reference or not _fast_supported(pack):
        _reference(families, engine, config, stats, ends, since, until, on_file)
    else:
        _fast(families, engine, config, pack, stats, ends, since, until, on_file, jobs)
    end = max(ends, default=None)
    if end is not None and until is not None:
        end = min(end, until)
    if end is not None:
        engine.tick(end)
    stats.seconds = time.perf_counter() - started
    return ScanReport(
        incidents=engine.grouper.incidents(),
        stats=stats,
        isolated_events=engine.grouper.isolated_events(),
    )


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
    engine: Engine,
    config: Config,
    pack: RulePack,
    stats: Stats,
    ends: list[datetime],
    since: datetime | None,
    until: datetime | None,
    on_file: Callable[[str], None] | None,
    jobs: int | None,
) -> None:
    from logwatch.fastscan import scan_files

    events: list[list[Event]] = [[] for _ in families]
    for found in scan_files([f.files for f in families], config, pack, jobs=jobs):
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
        if found.last_time is not None:
            ends.append(found.last_time)
        events[found.family].extend(
            e
            for e in found.events
            if (since is None or e.time >= since) and (until is None or e.time <= until)
        )
    streams = [_event_items(n, family) for n, family in enumerate(events)]
    for _when, _kind, _stream, _seq, event in heapq.merge(*streams):
        stats.events += 1
        engine.add(event)


def _event_items(
    stream: int, events: list[Event]
) -> Iterator[tuple[datetime, int, int, int, Event]]:
    """A family's events as the reference's stream items (without its time marks)."""
    for seq, event in enumerate(events):
        yield (event.time, 1, stream, seq, event)


def _reference(
    families: list[LogFamily],
    engine: Engine,
    config: Config,
    stats: Stats,
    ends: list[datetime],
    since: datetime | None,
    until: datetime | None,
    on_file: Callable[[str], None] | None,
) -> None:
    streams = [
        _family_items(n, family, engine, config, stats, ends, since, until, on_file)
        for n, family in enumerate(families)
    ]
    for when, _kind, _stream, _seq, event in heapq.merge(*streams):
        if event is None:
            engine.tick(when)
        else:
            stats.events += 1
            engine.add(event)


def _family_items(
    stream: int,
    family: LogFamily,
    engine: Engine,
    config: Config,
    stats: Stats,
    ends: list[datetime],
    since: datetime | None,
    until: datetime | None,
    on_file: Callable[[str], None] | None,
) -> Iterator[Item]:
    seq = 0
    next_mark: datetime | None = None
    for path in family.files:
        if on_file is not None:
            on_file(str(path))
        last: datetime | None = None
        for record in read_records(path, config, stats):
            when = last = record.time
            if (since is not None and when < since) or (until is not None and when > until):
                continue
            seq += 1
            event = engine.match(record)
            if event is not None:
                yield (when, 1, stream, seq, event)
            elif next_mark is None or when >= next_mark:
                yield (when, 0, stream, seq, None)
                next_mark = when + MARK_EVERY
        if last is not None:
            ends.append(last)
