#!/usr/bin/env python3
"""Scan make-corpus output and hold the incidents against its truth.json.

Every burst must be covered by one incident of its category, and no incident may stand
outside the bursts. Prints one line per burst and per stray incident, then a verdict.

    python benchmarks/corpus_truth.py --size 200M --seed 1 --seed 2 --seed 3
    python benchmarks/corpus_truth.py --corpus /tmp/corpus   # an existing corpus directory
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make-corpus"
CATEGORY = {
    "conn_refused": "connection",
    "dns": "connection",
    "conn_reset": "connection",
    "closed": "connection",
    "noauth": "auth",
    "wrongpass": "auth",
    "maxclients": "max_clients",
}


def category_of(kind: str) -> str:
    """The incident category a truth.json burst kind must produce."""
    return CATEGORY.get(kind, kind)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def compare(incidents: list[dict[str, Any]], truth: dict[str, Any]) -> list[str]:
    """Problems found: bursts not covered by exactly one incident of their category, strays."""
    problems = []
    used: set[str] = set()
    for burst in truth["bursts"]:
        start, end, want = _t(burst["start"]), _t(burst["end"]), category_of(burst["kind"])
        covering = [
            i
            for i in incidents
            if i["category"] == want and _t(i["first_seen"]) <= start and _t(i["last_seen"]) >= end
        ]
        overlapping = [
            i
            for i in incidents
            if _t(i["first_seen"]) <= end and _t(i["last_seen"]) >= start and i["category"] != want
        ]
        if len(covering) != 1:
            problems.append(
                f"burst {burst['id']} ({burst['kind']}): {len(covering)} covering incidents"
            )
        for other in overlapping:
            problems.append(
                f"burst {burst['id']} ({burst['kind']}): also {other['category']} incident"
            )
        used.update(i["id"] for i in covering + overlapping)
    for incident in incidents:
        if incident["id"] not in used:
            problems.append(
                f"stray incident {incident['category']} {incident['first_seen']}"
                f" ({incident['events']} events)"
            )
    return problems


def scan(corpus: Path) -> dict[str, Any]:
    """Run `logwatch scan --format json` on the corpus's two logs."""
    cmd = [
        sys.executable,
        "-m",
        "logwatch",
        "scan",
        "--format",
        "json",
        str(corpus / "app.log"),
        str(corpus / "app.jsonl"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode not in (0, 1):
        raise SystemExit(f"logwatch scan failed ({done.returncode}): {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="200M")
    parser.add_argument("--seed", type=int, action="append")
    parser.add_argument("--corpus", type=Path, help="use this existing corpus directory")
    args = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        corpora: list[tuple[str, Path]] = []
        if args.corpus:
            corpora.append((str(args.corpus), args.corpus))
        for seed in args.seed or ([] if args.corpus else [1]):
            out = Path(tmp) / f"seed{seed}"
            subprocess.run(
                [
                    sys.executable,
                    str(MAKE_CORPUS),
                    str(out),
                    "--size",
                    args.size,
                    "--seed",
                    str(seed),
                ],
                check=True,
                capture_output=True,
            )
            corpora.append((f"--size {args.size} --seed {seed}", out))
        for label, corpus in corpora:
            truth = json.loads((corpus / "truth.json").read_text())
            started = time.perf_counter()
            result = scan(corpus)
            wall = time.perf_counter() - started
            problems = compare(result["incidents"], truth)
            stats = result["stats"]
            print(
                f"{label}: {len(truth['bursts'])} bursts, {len(truth['isolated'])} isolated"
                f" errors, {len(result['incidents'])} incidents, {stats['bytes'] / 1e6:.0f} MB"
                f" in {wall:.1f}s "
                f"({stats['bytes'] / 1e6 / wall:.1f} MB/s): {'OK' if not problems else 'FAIL'}"
            )
            for problem in problems:
                print(f"  {problem}")
            failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
