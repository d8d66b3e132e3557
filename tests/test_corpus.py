"""The scan against the generated corpus's ground truth: every burst one incident, nothing else.

benchmarks/make_corpus.py writes a MorningAI-like log directory (rotated and gzipped files,
plain text and JSON lines, RQ's HH:MM:SS stamps, redis-server's log) with Redis outage
bursts of every category and isolated errors between them, and a truth.json that says
where each is. These tests hold both scan paths to that truth, and the truth to the text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchmarks.corpus_plan import CATEGORIES
from benchmarks.corpus_truth import check, compare
from benchmarks.make_corpus import read_lines, write_corpus
from logwatch.cli import main
from logwatch.dating import plan_dating
from logwatch.records import assemble
from logwatch.rules import load_rule_pack
from logwatch.sources.history import group_families, rotation_key
from logwatch.sources.reader import open_log
from logwatch.sources.reader import read_lines as read_log_lines

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ROOT / "benchmarks" / "redis-patterns.txt"
MB = 1 << 20


def scan(logs: Path, *options: str) -> dict[str, Any]:
    """The JSON report of `logwatch scan` over the directory (exit 1: incidents found)."""
    result = CliRunner().invoke(main, ["scan", "--format", "json", *options, str(logs)])
    assert result.exit_code == 1, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def without_timing(report: dict[str, Any]) -> dict[str, Any]:
    stats = dict(report["stats"])
    # records: those the rules ran on; filter: what found them (none: all were read)
    del stats["seconds"], stats["records"], stats["filter"]
    return {"incidents": report["incidents"], "stats": stats}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("corpus")
    write_corpus(out, size_bytes=4 * MB, seed=3, bursts=9, isolated=5)
    return out, json.loads((out / "truth.json").read_text())


@pytest.fixture(scope="module")
def report(corpus: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    out, truth = corpus
    return scan(out / truth["logs"])


@pytest.mark.parametrize(
    ("seed", "size"),
    [pytest.param(1, 4, id="seed1-4M"), pytest.param(5, 8, id="seed5-8M"),
     pytest.param(11, 12, id="seed11-12M")],
)  # fmt: skip
def test_every_burst_is_one_incident_on_both_paths(tmp_path: Path, seed: int, size: int) -> None:
    write_corpus(tmp_path, size_bytes=size * MB, seed=seed, bursts=10, isolated=4)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert {b["category"] for b in truth["bursts"]} == set(CATEGORIES)
    fast = scan(tmp_path / "logs")
    assert check(fast, truth) == []
    reference = scan(tmp_path / "logs", "--reference")
    assert without_timing(fast) == without_timing(reference)


def test_the_corpus_has_every_shape_the_scan_must_handle(
    corpus: tuple[Path, dict[str, Any]],
) -> None:
    _, truth = corpus
    files = truth["files"]
    with_errors = {name for name, f in files.items() if f["error_events"]}
    assert any(name.endswith(".gz") for name in with_errors)  # errors inside gzipped rotations
    assert any(".jsonl" in name for name in with_errors) and "worker.log" in with_errors
    assert "redis.log" in with_errors  # redis-server's own lines (the misconf burst)
    # A burst with events in two files of one family: the scan must join them across rotation.
    families = [{rotation_key(Path(name))[0] for name in b["files"]} for b in truth["bursts"]]
    assert any(len(b["files"]) > len(f) for b, f in zip(truth["bursts"], families, strict=True))
    assert {b["target"] for b in truth["bursts"]} == {"redis:6379", "redis"}
    assert len(truth["isolated"]) == 5
    pack_categories = {rule.category for rule in load_rule_pack().rules}
    assert set(CATEGORIES) <= pack_categories


def test_error_lines_are_exactly_the_lines_the_patterns_match(
    corpus: tuple[Path, dict[str, Any]],
) -> None:
    """benchmarks/redis-patterns.txt (grep -E, rg) finds the generator's error lines, no more."""
    out, truth = corpus
    patterns = [p for p in PATTERNS.read_text().splitlines() if p]
    signature = re.compile("|".join(f"(?:{p})" for p in patterns))
    for name, f in truth["files"].items():
        lines = list(read_lines(out / truth["logs"] / name))
        assert len(lines) == f["lines"], name
        found = [n for n, line in enumerate(lines, 1) if signature.search(line)]
        assert found == f["error_lines"], name
    assert (
        sum(len(f["error_lines"]) for f in truth["files"].values())
        == truth["totals"]["error_lines"]
    )


def test_the_scan_counts_every_event_and_line(
    corpus: tuple[Path, dict[str, Any]], report: dict[str, Any]
) -> None:
    _, truth = corpus
    assert check(report, truth) == []
    stats = report["stats"]
    assert stats["events"] == sum(b["error_events"] for b in truth["bursts"]) + len(
        truth["isolated"]
    )
    assert len(report["incidents"]) == len(truth["bursts"])


def _mutations() -> list[Any]:
    """Ways a scan could be wrong, each applied to a correct report."""

    def drop(r: dict[str, Any]) -> None:  # a burst missed
        del r["incidents"][2]

    def merge(r: dict[str, Any]) -> None:  # two bursts in one incident
        first, second = r["incidents"][0], r["incidents"].pop(1)
        first["last_seen"], first["events"] = (
            second["last_seen"],
            first["events"] + second["events"],
        )

    def split(r: dict[str, Any]) -> None:  # a burst in two incidents
        r["incidents"].append(
            dict(r["incidents"][0], id="inc-split", first_seen=r["incidents"][0]["last_seen"])
        )

    def one_event_short(r: dict[str, Any]) -> None:
        r["incidents"][3]["events"] -= 1

    def late_start(r: dict[str, Any]) -> None:  # opened an event late: the first one lost
        r["incidents"][1]["first_seen"] = r["incidents"][1]["last_seen"]

    def wrong_category(r: dict[str, Any]) -> None:
        r["incidents"][0]["category"] = "busy"

    def wrong_target(r: dict[str, Any]) -> None:
        for incident in r["incidents"]:
            incident["target"] = "10.0.0.9:6379"

    def stray(r: dict[str, Any]) -> None:  # isolated errors opened an incident
        r["incidents"].append(dict(r["incidents"][0], id="inc-stray", first_seen="2020-01-01T00:00:00+00:00",
                                   last_seen="2020-01-01T00:00:01+00:00"))  # fmt: skip

    def event_uncounted(r: dict[str, Any]) -> None:
        r["stats"]["events"] -= 1

    def file_unread(r: dict[str, Any]) -> None:  # a rotated .gz skipped
        r["stats"]["files"] -= 1
        r["stats"]["lines"] -= 100

    return [pytest.param(f, id=f.__name__) for f in (drop, merge, split, one_event_short, late_start,
            wrong_category, wrong_target, stray, event_uncounted, file_unread)]  # fmt: skip


@pytest.mark.parametrize("mutate", _mutations())
def test_the_checker_catches_a_wrong_scan(
    report: dict[str, Any], corpus: tuple[Path, dict[str, Any]], mutate: Any
) -> None:
    _, truth = corpus
    broken = json.loads(json.dumps(report))
    mutate(broken)
    assert check(broken, truth) != []


def test_a_quiet_period_longer_than_the_gaps_merges_bursts_and_the_checker_says_so(
    corpus: tuple[Path, dict[str, Any]],
) -> None:
    """9 bursts hold one category twice: incidents that never resolve merge them."""
    out, truth = corpus
    merged = scan(out / truth["logs"], "--quiet-period", "2d")
    problems = compare(merged["incidents"], truth)
    repeated = [c for c in CATEGORIES if sum(b["category"] == c for b in truth["bursts"]) > 1]
    assert repeated and any(repeated[0] in p and "last_seen" in p for p in problems), problems


@pytest.mark.parametrize(
    "rotate_at",
    [
        pytest.param("00:00", id="midnight"),
        pytest.param("06:25", id="debian-cron-daily"),
    ],
)
def test_every_record_is_dated_within_its_file(tmp_path: Path, rotate_at: str) -> None:
    """RQ's HH:MM:SS lines take their date from around them and from the scan's other files
    (logwatch.dating); in a worker.log rotated daily (so spanning a whole day, its first
    clock just after its mtime's clock) every record falls inside the file, whatever the
    files' mtimes say (they are set to a week later here, as a copy would have them)."""
    # A busy worker and two days of logs: worker.log.1 runs from just after the rotation
    # time to just before it the next day, as logrotate leaves it (seed 3: its first line,
    # 06:25:16, is RQ's HH:MM:SS; its last write 06:24:51).
    write_corpus(
        tmp_path,
        size_bytes=12 * MB,
        seed=3,
        bursts=3,
        isolated=2,
        rate_per_min=40,
        rotate_at=rotate_at,
    )
    truth = json.loads((tmp_path / "truth.json").read_text())
    logs = sorted((tmp_path / "logs").iterdir())
    later = (datetime.fromisoformat(truth["end"]) + timedelta(days=7)).timestamp()
    for path in logs:
        os.utime(path, (later, later))
    dating = plan_dating([f.files for f in group_families(logs)], UTC)
    spans = 0
    for name, written in truth["files"].items():
        path = tmp_path / "logs" / name
        first = datetime.fromisoformat(written["first"]).replace(microsecond=0)
        last = datetime.fromisoformat(written["last"])
        spans += last - first > timedelta(hours=23)
        with open_log(path) as stream:
            records = assemble(
                read_log_lines(stream),
                source=name,
                file_time=dating[path].file_time,
                shape=dating[path].shape,
            )
            outside = [(r.line, r.time) for r in records if not first <= r.time <= last]
        assert outside == [], name
    assert spans >= 2  # worker.log.1 at least, and app.log.1


def test_same_arguments_same_bytes_whatever_the_jobs(tmp_path: Path) -> None:
    """The CLI with one process and with a pool of two, and the function: identical files."""

    def digests(out: Path) -> dict[str, str]:
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*")) if p.is_file()}  # fmt: skip

    script = ROOT / "benchmarks" / "make_corpus.py"
    for jobs in (1, 2):
        cmd = [sys.executable, str(script), str(tmp_path / f"j{jobs}"), "--size", "4M", "--seed", "9",
               "--bursts", "3", "--isolated", "2", "--jobs", str(jobs)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    write_corpus(tmp_path / "fn", size_bytes=4 * MB, seed=9, bursts=3, isolated=2)
    write_corpus(tmp_path / "other", size_bytes=4 * MB, seed=10, bursts=3, isolated=2)
    one = digests(tmp_path / "j1")
    assert len(json.loads((tmp_path / "j1" / "truth.json").read_text())["files"]) + 1 == len(one)
    assert one == digests(tmp_path / "j2") == digests(tmp_path / "fn")
    assert digests(tmp_path / "other")["logs/app.log"] != one["logs/app.log"]
