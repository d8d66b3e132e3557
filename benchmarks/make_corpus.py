#!/usr/bin/env python3
"""make_corpus: deterministic logs of a Flask/gunicorn + RQ app on one Redis, with outages.

"morningai" is a Flask app behind gunicorn and RQ workers, all on one Redis. Mostly healthy
traffic, plus Redis outage bursts of every category of the built-in rule pack
(config/rules/redis.toml) in redis-py 3.5 and 5.x wording, and isolated single Redis errors
between them. corpus_plan.py decides what happens when, corpus_text.py words it; this
module renders the plan in parallel chunks, writes the files and the truth. Writes

    OUTDIR/logs/app.log.2.gz app.log.1 app.log    Flask app + gunicorn; rotated mid-burst
    OUTDIR/logs/app.jsonl.2.gz .1 app.jsonl       python-json-logger lines with exc_info
    OUTDIR/logs/worker.log[.N[.gz]]               RQ workers (HH:MM:SS stamps), rotated daily
    OUTDIR/logs/redis.log                         redis-server's own log
    OUTDIR/truth.json                             every burst and isolated error, per file

An error event is one record logwatch should match (a traceback, a line, a JSON line); an
error line is a line with a Redis error signature: exactly the lines that
benchmarks/redis-patterns.txt matches. Bursts are MIN_GAP_S apart (far more than logwatch's
default quiet period plus reopen window), so each is one incident; isolated errors sit
mid-gap, alone, below every rule's threshold. Same arguments => byte-identical files, for
any --jobs. Python stdlib only; --size counts uncompressed bytes, met within a few percent.

    python benchmarks/make_corpus.py OUTDIR --size 1G --seed 1 [--bursts 20 --isolated 10]
    python benchmarks/make_corpus.py OUTDIR --size 12M --flat   # one file per log, no gzip
    python benchmarks/make_corpus.py OUTDIR --size 60M --rate 200 --rotate-at 06:25
        # worker.log rotated as Debian's cron.daily does: files from 06:25 to 06:25
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import multiprocessing
import os
import random
import re
import shutil
import struct
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus_plan import CATEGORIES, CHUNK, Plan, make_plan
from benchmarks.corpus_text import (
    DEFAULT_TARGET,
    FAILURES,
    HOST,
    KIND_FAMILY,
    Planned,
    healthy_renderer,
    names_host,
    render_planned,
    stamps_of,
)

GENERATOR = "logwatch benchmarks/make_corpus.py 1"
DEFAULT_START = datetime(2026, 3, 1, tzinfo=UTC)


# -- rendering chunks (in worker processes) -----------------------------------------------------


class ChunkTask(NamedTuple):
    """One unit of work: the healthy events of a time window, and the planned ones in it."""

    seed: int
    index: int
    t0: int
    t1: int
    count: int
    planned: list[Planned]
    cuts: list[list[int]]
    family_files: list[list[int]]
    gzip: list[bool]  # per file


class FilePart(NamedTuple):
    """A chunk's bytes for one file."""

    raw: bytes
    deflated: bytes | None  # raw deflate, sync-flushed (a .gz file's piece)
    lines: int
    first_ms: int
    last_ms: int


class Placed(NamedTuple):
    """Where a planned error landed: file, its record's line, its error lines (0-based)."""

    file: int
    record: int
    errors: tuple[int, ...]


class ChunkOut(NamedTuple):
    """A rendered chunk: its part of each file, and where its planned errors are."""

    parts: dict[int, FilePart]
    placed: list[Placed]  # in the order of the task's planned errors; lines chunk-relative


def render_chunk(task: ChunkTask) -> ChunkOut:
    """Healthy events at random times in the window, the planned ones merged in by time."""
    rnd = random.Random(f"{task.seed}:{task.index}")
    rand, t0, span = rnd.random, task.t0, task.t1 - task.t0
    times = sorted(t0 + int(span * rand()) for _ in range(task.count))
    healthy = healthy_renderer(rnd)
    texts: dict[int, list[str]] = {}
    lines: dict[int, int] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    placed: list[Placed] = []
    routes = list(zip(task.cuts, task.family_files, strict=True))
    current: list[int] = []
    next_cut = -1
    second, st = -1, stamps_of(0)

    def emit(family: int, text: str, ms: int) -> tuple[int, int]:
        """Append to the family's file at `ms`: (file, the text's first line in the chunk)."""
        nonlocal current, next_cut
        if ms >= next_cut:  # a rotation passed (or the first call): route again
            current = [files[bisect.bisect_right(cuts, ms)] for cuts, files in routes]
            next_cut = min((c for cuts in task.cuts for c in cuts if c > ms), default=1 << 62)
        fid = current[family]
        at = lines.get(fid)
        if at is None:
            at, first[fid], texts[fid] = 0, ms, []
        texts[fid].append(text)
        lines[fid] = at + text.count("\n")
        last[fid] = ms
        return fid, at

    def place(ev: Planned) -> None:
        """Render a planned event and note where its record and error lines went."""
        out = render_planned(ev, stamps_of(ev.ms // 1000), rnd)
        fid, at = emit(KIND_FAMILY[ev.kind], out.text, ev.ms)
        if ev.errors:
            placed.append(Placed(fid, at + out.record, tuple(at + e for e in out.errors)))

    pending = task.planned
    p = 0
    for t in times:
        while p < len(pending) and pending[p].ms <= t:
            place(pending[p])
            p += 1
        if t // 1000 != second:  # the hot path: stamps made once a second
            second = t // 1000
            st = stamps_of(second)
        family, text = healthy(st, t % 1000)
        emit(family, text, t)
    for ev in pending[p:]:  # planned events after the window's last healthy one
        place(ev)
    parts = {}
    for fid, pieces in texts.items():
        raw = "".join(pieces).encode()
        deflated = None
        if task.gzip[fid]:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            deflated = packer.compress(raw) + packer.flush(zlib.Z_SYNC_FLUSH)
        parts[fid] = FilePart(raw, deflated, lines[fid], first[fid], last[fid])
    return ChunkOut(parts, placed)


# -- writing and the truth ----------------------------------------------------------------------


class _Output:
    """One file: plain, or one gzip member made of the chunks' sync-flushed deflate pieces."""

    def __init__(self, path: Path, gzipped: bool) -> None:
        self.path = path
        self.gzipped = gzipped
        self.fh = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.crc = 0
        self.raw_bytes = 0
        self.lines = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        if gzipped:  # no name, mtime 0: the bytes depend on the content only
            self.fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")

    def write(self, part: FilePart) -> None:
        if part.deflated is not None:
            self.fh.write(part.deflated)
            self.crc = zlib.crc32(part.raw, self.crc)
        else:
            self.fh.write(part.raw)
        self.raw_bytes += len(part.raw)
        self.lines += part.lines
        self.first_ms = part.first_ms if self.first_ms is None else self.first_ms
        self.last_ms = part.last_ms

    def close(self) -> None:
        if self.gzipped:  # a final empty block, then CRC-32 and size
            self.fh.write(b"\x03\x00" + struct.pack("<II", self.crc, self.raw_bytes & 0xFFFFFFFF))
        self.fh.close()
        if self.last_ms is not None:  # as a log is left: modified at its last write
            os.utime(self.path, (self.last_ms / 1000, self.last_ms / 1000))


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@dataclass(slots=True, kw_only=True)
class BurstTruth:
    """A burst as written: exactly one incident of `category` on `target` must be it."""

    id: int
    category: str
    story: str
    target: str
    start: str  # first error event's time as written
    end: str  # last error event's time as written
    error_events: int
    error_lines: int
    files: dict[str, int]  # error events per file


@dataclass(slots=True, kw_only=True)
class IsolatedTruth:
    """A single Redis error between bursts: an event, but below every threshold."""

    time: str
    category: str
    failure: str
    file: str
    line: int


@dataclass(slots=True, kw_only=True)
class FileTruth:
    """One written file; line numbers are 1-based, in the decompressed text."""

    bytes: int
    raw_bytes: int
    lines: int
    first: str | None
    last: str | None
    error_events: list[int] = field(default_factory=list)  # first line of each error record
    error_lines: list[int] = field(default_factory=list)  # lines with a Redis error signature


@dataclass(slots=True, kw_only=True)
class Truth:
    """What the corpus holds; truth.json is its JSON form."""

    generator: str
    args: dict[str, Any]
    logs: str  # the directory to scan, beside truth.json
    start: str
    end: str
    files: dict[str, FileTruth]
    bursts: list[BurstTruth]
    isolated: list[IsolatedTruth]
    totals: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        """The truth.json object."""
        return asdict(self)


def parse_size(text: str) -> int:
    """'12M' -> bytes (K, M, G are KiB, MiB, GiB); ValueError naming the value."""
    s = text.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    try:
        value = int(float(s.rstrip("KMG")) * mult)
    except ValueError:
        raise ValueError(f"size {text!r}: expected a number with K, M or G") from None
    if value < 64 << 10:
        raise ValueError(f"size {text!r}: at least 64K")
    return value


def write_corpus(
    outdir: Path | str,
    *,
    size_bytes: int,
    seed: int = 1,
    bursts: int | None = None,
    isolated: int | None = None,
    start: datetime = DEFAULT_START,
    rate_per_min: float = 5000.0,
    rotate: bool = True,
    rotate_at: str = "00:00",
    jobs: int = 1,
) -> Truth:
    """Write (replace) OUTDIR/logs/ and OUTDIR/truth.json; the same arguments, the same bytes.

    `bursts` defaults to one per 50 MiB, at least one per category; `isolated` to one per
    100 MiB, at least 3. `rotate` False writes one plain file per log; `rotate_at` (HH:MM
    UTC) is when worker.log rotates each day (Debian's cron.daily logrotate: 06:25).
    """
    hours, _, minutes = rotate_at.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"rotate_at {rotate_at!r}: expected HH:MM")
    n_bursts = max(len(CATEGORIES), round(size_bytes / (50 << 20))) if bursts is None else bursts
    n_isolated = max(3, round(size_bytes / (100 << 20))) if isolated is None else isolated
    if n_bursts < 0 or n_isolated < 0:
        raise ValueError(f"bursts {n_bursts}, isolated {n_isolated}: must not be negative")

    def plan_for(healthy: int) -> Plan:
        return make_plan(
            healthy=max(100, healthy),
            seed=seed,
            bursts=n_bursts,
            isolated=n_isolated,
            start=start,
            rate_per_min=rate_per_min,
            rotate=rotate,
            rotate_at_s=int(hours) * 3600 + int(minutes) * 60,
        )

    # The errors' share grows with the traffic: plan until the healthy rest settles.
    mean = _mean_healthy_bytes(seed)
    plan = plan_for(int(size_bytes / mean))
    for _ in range(6):
        healthy = int((size_bytes - _error_bytes(plan)) / mean)
        if abs(healthy - plan.healthy) <= plan.healthy // 500:
            break
        plan = plan_for(healthy)
    logs = Path(outdir) / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # a directory scan must see this corpus's files only
    logs.mkdir(parents=True)
    gz = [name.endswith(".gz") for name in plan.files]
    outputs = [_Output(logs / name, z) for name, z in zip(plan.files, gz, strict=True)]
    tasks = _tasks(plan, seed, gz)
    placed: list[Placed] = []
    pool = multiprocessing.Pool(jobs) if jobs > 1 and len(tasks) > 1 else None
    try:
        for result in pool.imap(render_chunk, tasks) if pool else map(render_chunk, tasks):
            for p in result.placed:  # chunk lines -> file lines, 1-based
                offset = outputs[p.file].lines + 1
                placed.append(
                    Placed(p.file, offset + p.record, tuple(offset + e for e in p.errors))
                )
            for fid, part in sorted(result.parts.items()):
                outputs[fid].write(part)
    finally:
        if pool is not None:
            pool.terminate()
        for output in outputs:
            output.close()
    args = {
        "size": size_bytes,
        "seed": seed,
        "bursts": n_bursts,
        "isolated": n_isolated,
        "start": start.isoformat(),
        "rate_per_min": rate_per_min,
        "rotate": rotate,
        "rotate_at": rotate_at,
    }
    truth = _truth(plan, outputs, placed, logs.name, args)
    with open(Path(outdir) / "truth.json", "w", encoding="utf-8") as fh:
        json.dump(truth.as_json(), fh, indent=1)
        fh.write("\n")
    return truth


def _mean_healthy_bytes(seed: int) -> float:
    """Mean bytes of a healthy event, measured on a sample (the same for the same seed)."""
    render = healthy_renderer(random.Random(f"calibrate:{seed}"))
    st = stamps_of(int(DEFAULT_START.timestamp()))
    return sum(len(render(st, i % 1000)[1].encode()) for i in range(4000)) / 4000


def _error_bytes(plan: Plan) -> int:
    """About what the plan's events weigh (mean sizes measured: a Flask traceback ~2 KB)."""
    sizes = {"web-tb": 1960, "job-tb": 1000, "json": 1090, "redis-up": 390, "redis-replica": 490}
    return sum(sizes.get(ev.kind, 180) for ev in plan.events)


def _tasks(plan: Plan, seed: int, gz: list[bool]) -> list[ChunkTask]:
    times = [ev.ms for ev in plan.events]
    last = len(plan.bounds) - 2
    tasks = []
    for k in range(last + 1):
        t0, t1 = plan.bounds[k], plan.bounds[k + 1]
        lo = 0 if k == 0 else bisect.bisect_left(times, t0)
        hi = len(times) if k == last else bisect.bisect_left(times, t1)
        count = min(CHUNK, plan.healthy - k * CHUNK)
        events = plan.events[lo:hi]
        tasks.append(ChunkTask(seed, k, t0, t1, count, events, plan.cuts, plan.family_files, gz))
    return tasks


def _truth(
    plan: Plan, outputs: list[_Output], placed: list[Placed], logs: str, args: dict[str, Any]
) -> Truth:
    names = plan.files
    files = {
        name: FileTruth(
            bytes=os.path.getsize(out.path),
            raw_bytes=out.raw_bytes,
            lines=out.lines,
            first=None if out.first_ms is None else iso(out.first_ms),
            last=None if out.last_ms is None else iso(out.last_ms),
        )
        for name, out in zip(names, outputs, strict=True)
    }
    errors = [ev for ev in plan.events if ev.errors]
    if len(errors) != len(placed):
        raise AssertionError(f"{len(errors)} errors planned, {len(placed)} written")
    bursts = {
        b.id: BurstTruth(
            id=b.id,
            category=b.category,
            story=b.story,
            target=DEFAULT_TARGET,
            start="",
            end="",
            error_events=0,
            error_lines=0,
            files={},
        )
        for b in plan.bursts
    }
    spans: dict[int, list[int]] = {}
    isolated = []
    for ev, (fid, record, lines) in zip(errors, placed, strict=True):
        name = names[fid]
        files[name].error_events.append(record)
        files[name].error_lines.extend(lines)
        category = FAILURES[ev.failure].category
        if ev.burst == 0:
            isolated.append(
                IsolatedTruth(
                    time=iso(ev.ms), category=category, failure=ev.failure, file=name, line=record
                )
            )
            continue
        burst = bursts[ev.burst]
        burst.error_events += 1
        burst.error_lines += len(lines)
        burst.files[name] = burst.files.get(name, 0) + 1
        if names_host(ev):  # an unnamed event joins its category's named incident
            burst.target = HOST
        spans.setdefault(ev.burst, []).append(ev.ms)
    for bid, times in spans.items():
        bursts[bid].start, bursts[bid].end = iso(min(times)), iso(max(times))
    for f in files.values():
        f.error_events.sort()
        f.error_lines.sort()
    totals = {
        "bytes": sum(f.bytes for f in files.values()),
        "raw_bytes": sum(f.raw_bytes for f in files.values()),
        "lines": sum(f.lines for f in files.values()),
        "error_events": len(errors),
        "error_lines": sum(len(f.error_lines) for f in files.values()),
        "bursts": len(bursts),
        "isolated": len(isolated),
    }
    return Truth(
        generator=GENERATOR,
        args=args,
        logs=logs,
        start=iso(plan.start_ms),
        end=iso(plan.end_ms),
        files=files,
        bursts=list(bursts.values()),
        isolated=isolated,
        totals=totals,
    )


def cached_corpus(cache: Path, size: str, seed: int, *, rotate: bool, jobs: int = 1) -> Path:
    """The corpus for (size, seed) under `cache` (benchmarks/corpus/), written on first use or
    when this generator changed since (truth.json says which wrote it)."""
    out = cache / f"{size}-s{seed}{'' if rotate else '-flat'}"
    truth = out / "truth.json"
    if truth.exists() and json.loads(truth.read_text()).get("generator") == GENERATOR:
        return out
    print(f"generating corpus {out} (--size {size} --seed {seed}) ...", flush=True)
    shutil.rmtree(out, ignore_errors=True)  # truth.json comes last: a half-written one has none
    write_corpus(out, size_bytes=parse_size(size), seed=seed, rotate=rotate, jobs=jobs)
    return out


def read_lines(path: Path) -> Iterator[str]:
    """The lines of a corpus file (decompressed), without their newlines."""
    with (gzip.open if path.name.endswith(".gz") else open)(
        path, "rt", encoding="utf-8", newline="\n"
    ) as fh:
        for line in fh:
            yield line.removesuffix("\n")


def _count(text: str) -> int:
    """A non-negative whole number, for --bursts and --isolated."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number, 0 or more")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--size", default="1G", help="uncompressed bytes, K/M/G (default 1G)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bursts", type=_count, help="outage bursts (default: 1 per 50 MiB, >= 8)")
    parser.add_argument(
        "--isolated", type=_count, help="isolated errors (default: 1 per 100 MiB, >= 3)"
    )
    parser.add_argument("--start", default=DEFAULT_START.isoformat(), help="ISO 8601 start (UTC)")
    parser.add_argument(
        "--rate", type=float, default=5000.0, help="events/min at peak (default 5000)"
    )
    parser.add_argument("--flat", action="store_true", help="one plain file per log: no rotation")
    parser.add_argument("--rotate-at", default="00:00", help="worker.log's daily rotation, HH:MM")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    args = parser.parse_args(argv)
    try:
        size = parse_size(args.size)
    except ValueError as exc:
        parser.error(f"--size: {exc}")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", args.rotate_at):
        parser.error(f"--rotate-at {args.rotate_at!r}: expected HH:MM")
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        parser.error(f"--start {args.start!r}: expected ISO 8601, e.g. 2026-03-01T00:00:00+00:00")
    began = time.perf_counter()
    truth = write_corpus(
        args.outdir,
        size_bytes=size,
        seed=args.seed,
        bursts=args.bursts,
        isolated=args.isolated,
        start=start if start.tzinfo else start.replace(tzinfo=UTC),
        rate_per_min=args.rate,
        rotate=not args.flat,
        rotate_at=args.rotate_at,
        jobs=max(1, args.jobs),
    )
    wall = time.perf_counter() - began
    t = truth.totals
    print(
        f"{args.outdir}: {t['raw_bytes'] / 1e6:.1f} MB ({t['bytes'] / 1e6:.1f} MB on disk) in"
        f" {len(truth.files)} files, {t['lines']} lines; {t['bursts']} bursts, {t['isolated']}"
        f" isolated, {t['error_events']} error events; {wall:.1f} s,"
        f" {t['raw_bytes'] / 1e6 / wall:.1f} MB/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
