"""The fast scan: literal search over big blocks, record assembly only around the hits.

Most of a busy app's log is healthy traffic that no rule can match: every rule needs one of
its literals in the record, so a block with none of them needs no lines, no records and no
timestamps. A multi-literal search (Aho-Corasick with SIMD, about 4 GB/s) finds the lines
that hold a literal; for each, assembly starts afresh at the last line before it that
carries a full date of its own (records.starts_dated_record: nothing before such a line
changes the records after it) and runs until the record holding the hit is complete. Those
records go through the same Matcher as the reference path. Large files are cut into
line-aligned ranges for a process pool; a record belongs to the range holding its first
literal, so each is matched once. Compressed files are decompressed, in a worker, to an
unlinked temporary file and scanned the same way.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from logwatch.config import Config
from logwatch.dating import Dating
from logwatch.fastrange import Look, RangeResult, RangeScanner, RangeTask
from logwatch.filebytes import FileBytes
from logwatch.model import Event
from logwatch.prefilter import AHO_CORASICK, HYPERSCAN, Finder, make_finder, needles
from logwatch.regexfilter import RuleFilter, make_rule_filter
from logwatch.rules import RulePack
from logwatch.sources.reader import compression_of, is_binary, open_log
from logwatch.stampshape import START

__all__ = ["FileScan", "Look", "needles", "scan_files"]

RANGE = 32 << 20  # a plain file over this is cut into ranges of about this size
_IN_PROCESS_BELOW = 16 << 20  # a scan this small is not worth starting a pool


@dataclass(frozen=True, slots=True, kw_only=True)
class FileScan:
    """The scan of one file: its events in file order and what the stats need."""

    family: int
    label: str
    events: list[Event]
    lines: int
    size: int
    last_time: datetime | None
    records: int
    binary: bool
    side: list[Any] = field(default_factory=list)  # what `look` kept of its records
    filter: str = AHO_CORASICK  # the engine that found the candidate lines


# Set in the parent before the pool forks, so workers inherit the compiled pack.
_STATE: tuple[Config, RulePack, Finder, RuleFilter | None, int] | None = None
_LOOK: Look | None = None


def scan_files(
    families: Sequence[Sequence[Path]],
    config: Config,
    pack: RulePack,
    *,
    jobs: int | None = None,
    dating: Mapping[Path, Dating] | None = None,
    labels: Mapping[Path, str] | None = None,
    extra: Sequence[bytes] = (),
    look: Look | None = None,
) -> Iterator[FileScan]:
    """Scan every file of every family, in order; Unsupported if the pack needs the reference.

    `dating` gives each file's reference time and stamp shape (logwatch.dating), as the
    reference path uses them; without it, the file's mtime and stamps at line starts.
    `extra` literals are searched too, and `look` sees every record assembled (with its
    event, if any); what it returns goes to FileScan.side. Without them nothing changes.
    """
    global _STATE, _LOOK
    words = [*needles(pack), *extra]
    finder = make_finder(words)
    # The rules' regexes pass over a literal's line only where no other record is wanted.
    rules = None
    if finder.name == HYPERSCAN and look is None and not extra:
        rules = make_rule_filter(pack)
    # A line longer than a block is searched in pieces that overlap by this much.
    _STATE = (config, pack, finder, rules, max(map(len, words)) - 1)
    _LOOK = look
    tasks = list(_plan(families, dating or {}, labels or {}))
    total = sum(_size(t.path) for t in tasks if t.last)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    workers = min(workers, len(tasks))
    results: Iterator[RangeResult]
    if workers <= 1 or total < _IN_PROCESS_BELOW:
        results = map(_run, tasks)
        yield from _collect(tasks, results)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        results = pool.imap(_run, tasks)
        yield from _collect(tasks, results)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _plan(
    families: Sequence[Sequence[Path]], dating: Mapping[Path, Dating], labels: Mapping[Path, str]
) -> Iterator[RangeTask]:
    for family, files in enumerate(families):
        for path in files:
            dated = dating.get(path)
            base = RangeTask(
                family=family,
                path=str(path),
                label=labels.get(path, str(path)),
                lo=0,
                hi=None,
                last=True,
                compressed=compression_of(path) is not None,  # SourceError as the reference
                file_time=dated.file_time if dated else None,
                shape=dated.shape if dated else START,
            )
            size = _size(str(path))
            if not base.compressed:
                with open(path, "rb") as fh:
                    if is_binary(fh.read(4096)):
                        yield replace(base, binary=True)
                        continue
            if base.compressed or size <= RANGE:
                yield base
                continue
            n = max(1, round(size / RANGE))
            cuts = [size * k // n for k in range(n + 1)]
            for k in range(n):
                last = k == n - 1
                yield replace(base, lo=cuts[k], hi=None if last else cuts[k + 1], last=last)


def _collect(tasks: list[RangeTask], results: Iterator[RangeResult]) -> Iterator[FileScan]:
    """Join the ranges of each file: absolute line numbers, totals; raise a worker's error."""
    current: list[tuple[RangeTask, RangeResult]] = []
    for task, result in zip(tasks, results, strict=True):
        if result.error is not None:
            raise result.error
        current.append((task, result))
        if not task.last:
            continue
        events: list[Event] = []
        base = 1  # line number of the range's first line
        for _, part in current:
            events.extend(replace(e, line=e.line + base) for e in part.events)
            base += part.newlines
        last = current[-1][1]
        lines = sum(part.newlines for _, part in current) + last.partial_last_line
        yield FileScan(
            family=task.family,
            label=task.label,
            events=events,
            lines=lines,
            size=last.size,
            last_time=last.last_time,
            records=sum(part.records for _, part in current),
            binary=any(part.binary for _, part in current),
            side=[item for _, part in current for item in part.side],
            filter=_STATE[2].name if _STATE is not None else AHO_CORASICK,
        )
        current = []


def _run(task: RangeTask) -> RangeResult:
    """A worker's entry: scan one task, returning errors as values to raise in the parent."""
    try:
        if task.binary:
            return RangeResult(binary=True)
        if task.compressed:
            return _run_compressed(task)
        with open(task.path, "rb") as fh:
            return _scan_file(task, fh)
    except Exception as exc:  # raised again in the parent, in file order
        return RangeResult(error=exc)


def _run_compressed(task: RangeTask) -> RangeResult:
    with tempfile.TemporaryFile(prefix="logwatch-") as tmp, open_log(Path(task.path)) as stream:
        shutil.copyfileobj(stream, tmp, 1 << 20)
        tmp.flush()
        return _scan_file(task, tmp)


def _scan_file(task: RangeTask, fh: BinaryIO) -> RangeResult:
    assert _STATE is not None
    config, pack, finder, rules, overlap = _STATE
    data = FileBytes(fh.fileno())
    result = RangeResult()
    if task.lo == 0 and is_binary(data.read(0, 4096)):
        result.binary = True
        return result
    scanner = RangeScanner(
        task, data, config, pack, finder, look=_LOOK, rules=rules, overlap=overlap
    )
    scanner.scan(result)
    return result
