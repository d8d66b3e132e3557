#!/usr/bin/env python3
"""Report size and time: `logwatch scan --format html|markdown` against `--format json`.

For each of the example logs (examples/outages, examples/morningai/logs) and for a
benchmarks/make_corpus.py corpus (1 GB, seed 1, rotated and gzipped as a server leaves
them; cached in benchmarks/corpus/), runs `logwatch scan` (a subprocess: python -m
logwatch) with --format json (the fast path searching the rule pack's literals only),
html and markdown (the fast path also searching the error-looking words and the access
logs' 5xx, see logwatch/lookout.py), and --reference html (every record read) unless
--no-reference, and prints the median wall seconds of --runs runs, the output's size and
the largest process's peak RSS. Then, in this process, the time to render the page from
the scan's result alone. Not part of the test suite.

    python benchmarks/report_html.py                      # examples + 1G corpus, seed 1
    python benchmarks/report_html.py --size 200M --runs 3
    python benchmarks/report_html.py --no-corpus          # the examples only
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "corpus"

# A fresh interpreter whose only children are the command's: RUSAGE_CHILDREN's ru_maxrss
# is then the peak of the largest process of the run (the scan or one of its workers).
_RSS_PROBE = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def corpus_dir(size: str, seed: int) -> Path:
    """The cached rotated corpus for (size, seed), generated on first use."""
    if __package__ in (None, ""):
        sys.path.insert(0, str(ROOT))
    from benchmarks.make_corpus import cached_corpus

    return cached_corpus(CACHE, size, seed, rotate=True, jobs=os.cpu_count() or 1) / "logs"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run (exit 0 or 1)."""
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:6])}... failed: {done.stderr.decode()[-2000:]}")
    return time.perf_counter() - started


def peak_rss_mib(cmd: list[str], env: dict[str, str]) -> float:
    """Peak RSS (MiB) of the largest process of one run of cmd."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, *cmd],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return int(done.stdout.strip()) / 1024


def render_only(path: Path, quiet: str | None) -> tuple[float, float]:
    """(scan seconds, render seconds) of the html report, in this process."""
    if __package__ in (None, ""):
        sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    from logwatch.config import load_config
    from logwatch.durations import parse_duration
    from logwatch.report_html import render_html
    from logwatch.reporting import collector, night_of_scan, report_files
    from logwatch.rules import load_rule_pack
    from logwatch.scan import scan
    from logwatch.sources.history import expand_paths

    config = load_config(None, {})
    if quiet:
        grouping = replace(config.grouping, quiet_period_s=parse_duration(quiet, what="quiet"))
        config = replace(config, grouping=grouping)
    pack = load_rule_pack(config.rule_files, include_builtin=True)
    started = time.perf_counter()
    families = expand_paths([str(path)])
    files = report_files(families, {})
    gathered = collector(files, config)
    result = scan(families, config, pack, observer=gathered)
    night = night_of_scan(gathered, result, files, config, since=None, until=None, reference=False)
    scanned = time.perf_counter()
    render_html(night, tz=config.timezone)
    return scanned - started, time.perf_counter() - scanned


def measure(name: str, path: Path, args: argparse.Namespace, quiet: str | None) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "logwatch", "scan", "--exit-zero"]
    if quiet:
        base += ["--quiet-period", quiet]
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    print(f"\n{name}: {path} ({size / 1e6:,.1f} MB on disk)")
    print(f"  {'run':22} {'median s':>9} {'output':>11} {'peak RSS':>10}")
    variants = [("json", ["--format", "json"]), ("html", ["--format", "html"])]
    variants.append(("markdown", ["--format", "markdown"]))
    if args.reference:
        variants.append(("html --reference", ["--format", "html", "--reference"]))
    with tempfile.TemporaryDirectory() as tmp:
        for label, options in variants:
            out = Path(tmp) / "out"
            cmd = [*base, *options, "--output", str(out), str(path)]
            runs = 1 if "--reference" in options and name == "corpus" else args.runs
            walls = [timed(cmd, env) for _ in range(runs)]
            rss = peak_rss_mib(cmd, env) if args.rss else float("nan")
            print(
                f"  {label:22} {statistics.median(walls):9.2f} {out.stat().st_size / 1e3:9,.1f} KB"
                f" {rss:7,.0f} MiB"
            )
    scan_s, render_s = render_only(path, quiet)
    print(f"  in process: scan with the observer {scan_s:.2f} s, render_html {render_s:.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="1G", help="corpus size (default 1G)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant (default 3)")
    parser.add_argument("--no-corpus", dest="corpus", action="store_false")
    parser.add_argument("--no-reference", dest="reference", action="store_false")
    parser.add_argument("--no-rss", dest="rss", action="store_false", help="skip the RSS run")
    args = parser.parse_args()
    print(f"logwatch report benchmark, {os.cpu_count()} cores, median of {args.runs} runs")
    measure("outages", ROOT / "examples" / "outages", args, "3s")
    measure("morningai", ROOT / "examples" / "morningai" / "logs", args, "3s")
    if args.corpus:
        measure("corpus", corpus_dir(args.size, args.seed), args, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
