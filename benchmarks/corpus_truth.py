#!/usr/bin/env python3
"""Scan make_corpus output and hold the report against its truth.json.

Every burst must be exactly one incident: of its category and target, from its first error
event to its last, counting all of its events; no other incident may touch it, and none may
stand outside the bursts. The scan must count every error event written (isolated ones
included) and read every line of every file, rotated and gzipped ones too. Prints one line
per corpus and one per problem; exit 1 on any problem.

    python benchmarks/corpus_truth.py --size 200M --seed 1 --seed 2
    python benchmarks/corpus_truth.py --size 50M --seed 3 --reference   # the slow path
    python benchmarks/corpus_truth.py --corpus /tmp/corpus              # an existing one
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def compare(incidents: list[dict[str, Any]], truth: dict[str, Any]) -> list[str]:
    """Problems: a burst that is not exactly one incident, an incident outside the bursts."""
    problems = []
    used: set[str] = set()
    for burst in truth["bursts"]:
        start, end = _t(burst["start"]), _t(burst["end"])
        name = f"burst {burst['id']} ({burst['category']} {burst['start']})"
        touching = [
            i for i in incidents if _t(i["first_seen"]) <= end and _t(i["last_seen"]) >= start
        ]
        used.update(i["id"] for i in touching)
        if not touching:
            problems.append(f"{name}: no incident")
        for i in touching:
            what = {
                "category": (i["category"], burst["category"]),
                "target": (i["target"], burst["target"]),
                "first_seen": (_t(i["first_seen"]), start),
                "last_seen": (_t(i["last_seen"]), end),
                "events": (i["events"], burst["error_events"]),
            }
            wrong = [f"{k} {got} (want {want})" for k, (got, want) in what.items() if got != want]
            if len(touching) > 1:
                wrong.insert(0, f"one of {len(touching)} incidents")
            if wrong:
                problems.append(f"{name}: {', '.join(str(w) for w in wrong)}")
    for i in incidents:
        if i["id"] not in used:
            problems.append(
                f"stray incident {i['category']} {i['target']} {i['first_seen']}"
                f" ({i['events']} events)"
            )
    return problems


def check(report: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    """compare(), plus: every error event counted, every byte and line of every file read."""
    problems = compare(report["incidents"], truth)
    stats, totals = report["stats"], truth["totals"]
    for got, want in (("events", "error_events"), ("lines", "lines"), ("bytes", "raw_bytes")):
        if stats[got] != totals[want]:
            problems.append(f"{got}: scan counted {stats[got]}, corpus has {totals[want]}")
    if stats["files"] != len(truth["files"]):
        problems.append(f"files: scan read {stats['files']}, corpus has {len(truth['files'])}")
    return problems


def scan(logs: Path, reference: bool = False) -> tuple[dict[str, Any], float]:
    """`logwatch scan --format json` of the directory, and its wall time."""
    cmd = [sys.executable, "-m", "logwatch", "scan", "--format", "json", str(logs)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    done = subprocess.run(
        cmd + (["--reference"] if reference else []),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"logwatch scan failed ({done.returncode}): {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result, wall


def main() -> int:
    if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
        sys.path.insert(0, str(ROOT))
    from benchmarks.make_corpus import parse_size, write_corpus

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="200M", help="corpus size (default 200M)")
    parser.add_argument("--seed", type=int, action="append", help="repeatable (default 1)")
    parser.add_argument("--corpus", type=Path, help="an existing make_corpus directory")
    parser.add_argument("--reference", action="store_true", help="scan with --reference")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="generator jobs")
    args = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        corpora: list[tuple[str, Path]] = [(str(args.corpus), args.corpus)] if args.corpus else []
        for seed in args.seed or ([] if args.corpus else [1]):
            out = Path(tmp) / f"seed{seed}"
            write_corpus(out, size_bytes=parse_size(args.size), seed=seed, jobs=args.jobs)
            corpora.append((f"--size {args.size} --seed {seed}", out))
        for label, corpus in corpora:
            truth = json.loads((corpus / "truth.json").read_text())
            report, wall = scan(corpus / truth["logs"], args.reference)
            problems = check(report, truth)
            stats = report["stats"]
            print(
                f"{label}: {len(truth['bursts'])} bursts, {len(truth['isolated'])} isolated,"
                f" {truth['totals']['error_events']} error events; {len(report['incidents'])}"
                f" incidents, {stats['events']} events, {stats['bytes'] / 1e6:.0f} MB in"
                f" {wall:.1f} s ({stats['bytes'] / 1e6 / wall:.1f} MB/s):"
                f" {'FAIL' if problems else 'OK'}"
            )
            for problem in problems:
                print(f"  {problem}")
            failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
