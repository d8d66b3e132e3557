"""The one-off scan: historical files through the engine, by the records' own time."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from logwatch.config import Config
from logwatch.model import Event, Incident
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.rules import RulePack
from logwatch.sources.history import LogFamily

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
) -> ScanReport:
    """Scan the families; their streams are merged by log time so grouping sees one timeline."""
    started = time.perf_counter()
    engine = Engine(config, pack)
    stats = Stats()
    streams = [
        _family_items(n, family, engine, config, stats, since, until, on_file)
        for n, family in enumerate(families)
    ]
    last: datetime | None = None
    for when, _kind, _stream, _seq, event in heapq.merge(*streams):
        if event is None:
            engine.tick(when)
        else:
            stats.events += 1
            engine.add(event)
        last = when if last is None else max(last, when)
    if last is not None:
        engine.tick(last)
    stats.seconds = time.perf_counter() - started
    return ScanReport(
        incidents=engine.grouper.incidents(),
        stats=stats,
        isolated_events=engine.grouper.isolated_events(),
    )


def _family_items(
    stream: int,
    family: LogFamily,
    engine: Engine,
    config: Config,
    stats: Stats,
    since: datetime | None,
    until: datetime | None,
    on_file: Callable[[str], None] | None,
) -> Iterator[Item]:
    seq = 0
    next_mark: datetime | None = None
    for path in family.files:
        if on_file is not None:
            on_file(str(path))
        for record in read_records(path, config, stats):
            when = record.time
            if (since is not None and when < since) or (until is not None and when > until):
                continue
            seq += 1
            event = engine.match(record)
            if event is not None:
                yield (when, 1, stream, seq, event)
            elif next_mark is None or when >= next_mark:
                yield (when, 0, stream, seq, None)
                next_mark = when + MARK_EVERY
