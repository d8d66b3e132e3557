#!/usr/bin/env python3
"""Scan throughput: `logwatch scan --format json` against ripgrep and GNU grep.

Generates (or reuses) a benchmarks/make_corpus.py corpus, one plain file per log (--flat:
no gzip, so every tool reads the same bytes), then runs, alternately and at least 5 times
each, `logwatch scan --format json` (a subprocess: python -m logwatch), `rg -j1 -c -f
benchmarks/redis-patterns.txt` and `grep -E -c -f benchmarks/redis-patterns.txt` (LC_ALL=C)
over its files, and prints the median wall time, MB/s, the ratio logwatch/rg and logwatch's
peak RSS. The patterns match exactly the corpus's error lines (tests/test_corpus.py holds
them to it); the lines each tool counted are printed against truth.json's. A tool that is
not installed is skipped with a note. Not part of the test suite.

    python benchmarks/scan_throughput.py                  # 1G corpus, seed 1, cached
    python benchmarks/scan_throughput.py --size 200M --runs 7
    python benchmarks/scan_throughput.py --corpus /tmp/corpus --jobs 1   # make_corpus.py --flat
    python benchmarks/scan_throughput.py --reference      # the slow path, for comparison
    python benchmarks/scan_throughput.py --filters --baseline /tmp/old --no-grep
        # also logwatch with LOGWATCH_FILTER=aho-corasick, and the logwatch checked out in
        # /tmp/old (git archive REV | tar -x -C /tmp/old), in the same interleaved rounds

Each tool's CPU seconds (user + system of it and its children) are printed too: on a
shared machine they move less with the load than wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ROOT / "benchmarks" / "redis-patterns.txt"
CACHE = ROOT / "benchmarks" / "corpus"


def corpus_dir(size: str, seed: int) -> Path:
    """The cached flat corpus for (size, seed), generated on first use."""
    if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
        sys.path.insert(0, str(ROOT))
    from benchmarks.make_corpus import cached_corpus

    return cached_corpus(CACHE, size, seed, rotate=False, jobs=os.cpu_count() or 1)


def counted_lines(output: str) -> int:
    """The sum of `-c` counts: "file:N" per file (or "N" for one file)."""
    return sum(int(line.rsplit(":", 1)[-1]) for line in output.splitlines() if line.strip())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and stdout of one run (exit 0 or 1: grep and logwatch use
    both)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return wall, _children_cpu() - cpu, proc.stdout.decode()


# Runs cmd in a fresh interpreter whose only children are cmd and its descendants, so
# RUSAGE_CHILDREN's ru_maxrss there is the peak of the largest of them (parent or worker).
_RSS_PROBE = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss_kib(cmd: list[str], env: dict[str, str]) -> int:
    """Peak resident set (KiB) of the largest process of one run of cmd."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, *cmd],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return int(done.stdout.strip())


def scan_options(env: dict[str, str], jobs: int | None, reference: bool) -> list[str]:
    """--jobs / --reference for `logwatch scan`, when this version's CLI has them."""
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "scan", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    options: list[str] = []
    for flag, wanted, value in (
        ("--jobs", jobs is not None, [str(jobs)]),
        ("--reference", reference, []),
    ):
        if not wanted:
            continue
        if flag in done.stdout:
            options += [flag, *value]
        else:
            print(f"note: this logwatch scan has no {flag} option; running without it")
    return options


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="corpus size (default 1G)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, help="an existing make_corpus.py --flat directory")
    parser.add_argument("--runs", type=int, default=5, help="runs of each tool (default 5)")
    parser.add_argument("--jobs", type=int, help="logwatch worker processes (--jobs)")
    parser.add_argument("--reference", action="store_true", help="time the slow path")
    parser.add_argument(
        "--filters", action="store_true", help="also logwatch with LOGWATCH_FILTER=aho-corasick"
    )
    parser.add_argument("--baseline", type=Path, help="also the logwatch checked out there")
    parser.add_argument("--no-grep", action="store_true", help="leave GNU grep out")
    args = parser.parse_args()
    corpus = args.corpus or corpus_dir(args.size, args.seed)
    truth = json.loads((corpus / "truth.json").read_text())
    files = [str(corpus / truth["logs"] / name) for name in truth["files"]]
    if any(name.endswith(".gz") for name in truth["files"]):
        print("note: gzipped files: grep and rg read them compressed (use a --flat corpus)")
    size_mb = sum(os.path.getsize(f) for f in files) / 1e6
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    options = scan_options(env, args.jobs, args.reference)
    scan_cmd = [sys.executable, "-m", "logwatch", "scan", "--format", "json", *options, *files]
    tools: dict[str, list[str]] = {"logwatch": scan_cmd}
    envs: dict[str, dict[str, str]] = {}
    if args.filters:
        tools["logwatch (aho-corasick)"] = scan_cmd
        envs["logwatch (aho-corasick)"] = dict(env, LOGWATCH_FILTER="aho-corasick")
    if args.baseline is not None:  # first on sys.path: before an editable install's finder
        tools["logwatch (baseline)"] = [
            sys.executable,
            "-c",
            "import runpy, sys; sys.path.insert(0, sys.argv.pop(1));"
            " runpy.run_module('logwatch', run_name='__main__', alter_sys=True)",
            str(args.baseline.resolve()),
            *scan_cmd[3:],
        ]
    for name, cmd in (
        ("rg -j1", ["rg", "-j1", "-c", "-f", str(PATTERNS), *files]),
        ("grep -E", ["grep", "-E", "-c", "-f", str(PATTERNS), *files]),
    ):
        if name == "grep -E" and args.no_grep:
            continue
        if shutil.which(cmd[0]) is None:
            print(f"note: {cmd[0]} is not installed; skipped")
        else:
            tools[name] = cmd
    for path in files:  # warm the page cache: the figures are for a warm cache
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass
    times: dict[str, list[float]] = {name: [] for name in tools}
    cpus: dict[str, list[float]] = {name: [] for name in tools}
    ratios: dict[str, list[float]] = {name: [] for name in tools}  # to rg, round by round
    report: dict[str, object] = {}
    counted: dict[str, int] = {}
    for n in range(args.runs):
        for name, cmd in tools.items():
            wall, cpu, out = run_timed(cmd, envs.get(name, env))
            times[name].append(wall)
            cpus[name].append(cpu)
            if name == "logwatch" and n == 0:
                report = json.loads(out)
            elif n == 0 and not name.startswith("logwatch"):
                counted[name] = counted_lines(out)
        if "rg -j1" in tools:
            for name in tools:
                ratios[name].append(times[name][-1] / times["rg -j1"][-1])
    print(f"corpus {corpus}: {size_mb:.0f} MB, {args.runs} runs each, median wall time")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        cpu = statistics.median(cpus[name])
        print(f"  {name:24s} {median:7.3f} s  {size_mb / median:7.1f} MB/s  {cpu:6.2f} CPU-s")
    if "rg -j1" in medians:
        for name in tools:
            if name.startswith("logwatch"):
                print(
                    f"  ratio {name} / rg -j1: {medians[name] / medians['rg -j1']:.2f}"
                    f" (median of rounds {statistics.median(ratios[name]):.2f},"
                    f" best {min(ratios[name]):.2f})"
                )
    for name in tools:
        if name.startswith("logwatch"):
            rss = peak_rss_kib(tools[name], envs.get(name, env))
            print(f"  {name} peak RSS (largest process): {rss / 1024:.0f} MiB")
    stats = report.get("stats", {}) if isinstance(report, dict) else {}
    incidents = report.get("incidents", []) if isinstance(report, dict) else []
    print(f"  logwatch found {len(incidents)} incidents; stats {stats}")
    print(
        f"  error lines: truth.json {truth['totals']['error_lines']},"
        + "".join(f" {name} {count}," for name, count in counted.items()).rstrip(",")
    )
    print(
        f"  error events: truth.json {truth['totals']['error_events']},"
        f" logwatch {stats.get('events') if isinstance(stats, dict) else None}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
