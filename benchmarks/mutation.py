"""Mutation testing of the modules that carry logwatch's promises; prints the score per module.

    python benchmarks/mutation.py [--module grouping ...] [--jobs N] [--diffs]

Each module is mutated by mutmut (3.x) and checked by the FAST tests that cover it (the
table below, `-m "not slow"`): a mutant no test fails "survived". A survivor gets a test,
or a line in benchmarks/mutation-equivalent.md saying why no test can tell it apart
(the mutated line is quoted there; an entry whose line no longer matches counts as a
survivor again). Not part of CI: a module takes from half a minute to several minutes.

Needs mutmut: `pip install -e '.[mutation]'`. The configuration is here, not in
pyproject: each module runs in its own directory under .mutation/ (git-ignored) holding
links to the sources and a pyproject.toml with its [tool.mutmut] table, so runs of
different modules neither share caches nor see each other's verdicts. Every run starts
afresh: mutmut's caches would keep the verdicts of tests since changed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".mutation"
EQUIVALENT = REPO / "benchmarks" / "mutation-equivalent.md"


class Target(NamedTuple):
    """A module to mutate and the fast tests that hold it to its promises."""

    path: str
    tests: tuple[str, ...]
    deselect: tuple[str, ...] = ()  # slow tests of those files
    args: tuple[str, ...] = ()  # more pytest arguments, for every run
    env: tuple[tuple[str, str], ...] = ()  # environment of the test runs
    postgres: bool = False  # one throwaway PostgreSQL for the whole run (tests/pg_rig.py)


MODULES: dict[str, Target] = {
    "grouping": Target(
        "logwatch/grouping.py",
        # On call's and impact's unit tests hold diagnose, confirm_recovery, note, quiet_open.
        (
            "tests/test_grouping.py",
            "tests/test_grouping_model.py",
            "tests/test_oncall.py",
            "tests/test_impact.py",
        ),
    ),
    "outbox": Target("logwatch/outbox.py", ("tests/test_outbox.py",)),
    "tail": Target(
        "logwatch/sources/tail.py",
        (
            "tests/test_tail.py",
            "tests/test_tail_line_numbers.py",
            "tests/test_tail_model.py",
            "tests/test_tail_paths.py",
            "tests/test_tail_said.py",
            "tests/test_tail_edges.py",
            "tests/test_tail_reads.py",
            "tests/test_tail_young.py",
        ),
        # The tail's stateful model, in a short seeded run (400 examples take half a minute).
        args=("--hypothesis-seed=0",),
        env=(("LOGWATCH_MODEL_EXAMPLES", "25"),),
    ),
    "store": Target("logwatch/store/sqlite.py", ("tests/test_store.py", "tests/test_outbox.py")),
    "slack": Target("logwatch/notify/slack.py", ("tests/test_notify_slack.py",)),
    "sdk": Target("logwatch/notify/sdk.py", ("tests/test_notify_slack.py",)),
    # The fleet: its pure merge, and the PostgreSQL store (its tests start their own server).
    "fleet_merge": Target("logwatch/fleet/merge.py", ("tests/test_fleet_merge.py",)),
    "fleet_link": Target("logwatch/fleet/link.py", ("tests/test_fleet_merge.py",)),
    "store_postgres": Target(
        "logwatch/store/postgres.py",
        ("tests/test_fleet_store.py", "tests/test_fleet_outbox.py", "tests/test_fleet_apply.py"),
        postgres=True,
    ),
    "store_pg_outbox": Target(
        "logwatch/store/pg_outbox.py",
        ("tests/test_fleet_store.py", "tests/test_fleet_outbox.py"),
        postgres=True,
    ),
    "redact": Target("logwatch/redact.py", ("tests/test_redact.py",)),
    "timestamps": Target("logwatch/timestamps.py", ("tests/test_timestamps.py",)),
    "records": Target("logwatch/records.py", ("tests/test_records.py", "tests/test_time_only.py")),
    # The fast scan: its random logs cut anywhere against the reference (test_fast_ranges,
    # in a short seeded run), and the corpora, filters and pass-overs against it.
    "fastscan": Target(
        "logwatch/fastscan.py",
        (
            "tests/test_fast_ranges.py",
            "tests/test_fastscan.py",
            "tests/test_passover.py",
            "tests/test_prefilter.py",
        ),
        args=("--hypothesis-seed=0",),
        env=(("LOGWATCH_RANGES_EXAMPLES", "80"),),
    ),
    "fastrange": Target(
        "logwatch/fastrange.py",
        (
            "tests/test_fast_ranges.py",
            "tests/test_fastscan.py",
            "tests/test_passover.py",
            "tests/test_prefilter.py",
        ),
        args=("--hypothesis-seed=0",),
        env=(("LOGWATCH_RANGES_EXAMPLES", "80"),),
    ),
    "filebytes": Target(
        "logwatch/filebytes.py",
        ("tests/test_filebytes.py", "tests/test_fast_ranges.py", "tests/test_fastscan.py"),
        args=("--hypothesis-seed=0",),
        env=(("LOGWATCH_RANGES_EXAMPLES", "80"),),
    ),
    "passover": Target("logwatch/passover.py", ("tests/test_passover.py", "tests/test_skim.py")),
    "regexfilter": Target(
        "logwatch/regexfilter.py",
        (
            "tests/test_regexfilter.py",
            "tests/test_regexfilter_translate.py",
            "tests/test_regexfilter_filter.py",
        ),
        # The properties in a short seeded run (a tenth of their examples): a mutant that
        # hangs the translation is stopped after a multiple of the tests' time.
        args=("--hypothesis-seed=0",),
        env=(("LOGWATCH_REGEXFILTER_EXAMPLES", "10"),),
    ),
    "leanrecords": Target(
        "logwatch/leanrecords.py",
        ("tests/test_leanrecords.py",),
        # The property in a short seeded run (its 400 examples take 8 s a mutant).
        args=("--hypothesis-seed=0",),
        env=(("LOGWATCH_LEAN_EXAMPLES", "100"),),
    ),
    "shapes": Target("logwatch/shapes.py", ("tests/test_shapes.py",)),
    "dating": Target("logwatch/dating.py", ("tests/test_dating.py", "tests/test_time_only.py")),
    "stampshape": Target("logwatch/stampshape.py", ("tests/test_stampshape.py",)),
    "logtime": Target("logwatch/sources/logtime.py", ("tests/test_tail_logtime.py",)),
}

# mutmut's exit codes (mutmut.stats.status_by_exit_code), grouped as this report counts them.
KILLED = {1, 3}
TIMEOUT = {36, 24, -24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
LINKED = ("logwatch", "tests", "scripts", "config", "benchmarks", "examples")


class Score(NamedTuple):
    """One module's verdicts."""

    module: str
    total: int
    killed: int  # a test failed (or timed out: the mutant hung a test)
    survived: list[str]  # mutant names, equivalent ones left out
    equivalent: list[str]
    uncovered: int  # no selected test runs the mutated function
    other: int  # suspicious, segfault, not checked
    seconds: float
    diffs: dict[str, str]  # of every survivor


def mutmut_table(target: Target) -> str:
    selection = [*target.tests, "-m", "not slow", *(f"--deselect={t}" for t in target.deselect)]
    every_run = ["-p", "no:cacheprovider", "-q", "--hypothesis-profile=mutation", *target.args]
    return "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["logwatch"]',
            f"only_mutate = {json.dumps([target.path])}",
            f"pytest_add_cli_args_test_selection = {json.dumps(selection)}",
            f"pytest_add_cli_args = {json.dumps(every_run)}",
            'also_copy = ["scripts", "config", "benchmarks", "examples"]',
            "use_git_change_detection = false",
            "",
        ]
    )


def prepare(module: str, target: Target) -> Path:
    """A fresh working directory for one module: links to the sources, its own config."""
    workdir = WORK / module
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name in LINKED:
        (workdir / name).symlink_to(REPO / name, target_is_directory=True)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (workdir / "pyproject.toml").write_text(pyproject + mutmut_table(target), encoding="utf-8")
    return workdir


def equivalents() -> dict[str, str]:
    """Mutant name -> the mutated line as quoted in mutation-equivalent.md."""
    found: dict[str, str] = {}
    if not EQUIVALENT.exists():
        return found
    for row in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*`(.+?)`\s*\|", row)
        if m:  # a | in a table cell is written \|
            found[m.group(1)] = m.group(2).replace("\\|", "|")
    return found


def mutant_diffs(workdir: Path, target: Target, names: list[str]) -> dict[str, str]:
    """Each mutant's unified diff, as `mutmut show` prints it (read in this process)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    with contextlib.chdir(workdir):
        return {name: get_diff_for_mutant(name, path=target.path) for name in names}


def mutated_line(diff: str) -> str:
    """The added line of a mutant's diff (its first, for a multi-line change)."""
    lines = diff.splitlines()
    added = [x[1:].strip() for x in lines if x.startswith("+") and not x.startswith("+++")]
    if added:
        return added[0]
    removed = [x[1:].strip() for x in lines if x.startswith("-") and not x.startswith("---")]
    return "deleted: " + (removed[0] if removed else "?")


@contextlib.contextmanager
def postgres(target: Target) -> Iterator[dict[str, str]]:
    """For a module whose tests need PostgreSQL, one throwaway cluster for the whole run
    (mutmut runs a test session per mutant: a cluster each would take most of the run);
    stopped and removed at the end. The environment that lends it to the sessions."""
    if not target.postgres:
        yield {}
        return
    sys.path[:0] = [str(REPO / "scripts")]
    from postgres_server import PostgresServer
    from redis_server import free_port

    server = PostgresServer(free_port())
    try:
        server.start()
        yield {"LOGWATCH_TEST_POSTGRES_PORT": str(server.port)}  # tests/pg_rig.py
    finally:
        server.cleanup()


def run(module: str, target: Target, jobs: int) -> Score:
    workdir = prepare(module, target)
    log = workdir / "run.log"
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out, postgres(target) as lent:
        proc = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)],
            cwd=workdir,
            env={**os.environ, **dict(target.env), **lent},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    meta = workdir / "mutants" / (target.path + ".meta")
    if proc.returncode != 0 or not meta.exists():
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        sys.exit(f"mutation: {module}: mutmut failed (exit {proc.returncode}), see {log}\n{tail}")
    codes: dict[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    known = equivalents()
    survivors = sorted((n for n, c in codes.items() if c in SURVIVED), key=_natural)
    diffs = mutant_diffs(workdir, target, survivors)
    survived, equivalent = [], []
    for name in survivors:
        quoted = known.get(name)
        if quoted is not None and quoted == mutated_line(diffs[name]):
            equivalent.append(name)
        else:
            survived.append(name)
    killed = sum(1 for c in codes.values() if c in KILLED or c in TIMEOUT)
    uncovered = sum(1 for c in codes.values() if c in NO_TESTS)
    other = len(codes) - killed - uncovered - len(survived) - len(equivalent)
    return Score(module, len(codes), killed, survived, equivalent, uncovered, other, seconds, diffs)


def _natural(name: str) -> tuple[str, int]:
    head, _, number = name.rpartition("_")
    return (head, int(number) if number.isdigit() else -1)


def report(score: Score, diffs: bool) -> None:
    counted = score.total - len(score.equivalent)
    percent = 100.0 * score.killed / counted if counted else 100.0
    print(
        f"{score.module:<11} killed {score.killed}/{counted} ({percent:.1f} %)"
        f"  survived {len(score.survived)}  no test {score.uncovered}"
        f"  equivalent {len(score.equivalent)}  other {score.other}"
        f"  [{score.total} mutants, {score.seconds:.0f} s]",
        flush=True,
    )
    for name in score.survived:
        if diffs:
            print(score.diffs[name], end="\n\n")
        else:
            print(f"    survived {name}: {mutated_line(score.diffs[name])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--module",
        action="append",
        choices=sorted(MODULES),
        help="module to mutate (repeatable; default: all)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--diffs", action="store_true", help="print each survivor's whole diff")
    args = parser.parse_args(argv)
    try:
        import mutmut  # noqa: F401 - only to say how to install it
    except ImportError:
        print("mutation: mutmut is not installed: pip install -e '.[mutation]'", file=sys.stderr)
        return 2
    for module in args.module or sorted(MODULES):
        target = MODULES[module]
        score = run(module, target, args.jobs)
        report(score, args.diffs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
