"""examples/outages-2: eleven real outages of a second, older stack, scanned as a user would.

scripts/make_examples_2.py ran redis-py 4.6 (sync and redis.asyncio), RQ 1.16 under
django-rq, Django 4.2 behind gunicorn (Django's "verbose" log format), FastAPI + uvicorn
(structlog JSON), supervisor (a scheduler's stderr in Python's default format, no time at
all), logrotate and redis-server 7, broke Redis eleven ways with healthy traffic between,
and wrote expected.json: each outage's category, target (when the errors name one), start
and end on its own clock, and the files that show it. The scan uses the settings committed
beside them (logwatch.toml: a quiet period and a reopen window shorter than the gaps).

Nothing here depends on the day the test runs or on file mtimes: the same incidents come
out of a copy whose mtimes are all "now", or all some other day.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.rules import load_rule_pack
from logwatch.sources.reader import open_log

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "outages-2"
LOGS = EXAMPLE / "logs"
CONFIG = EXAMPLE / "logwatch.toml"
EXPECTED: dict[str, Any] = json.loads((EXAMPLE / "expected.json").read_text(encoding="utf-8"))
#: A log line can carry a stamp up to a second before the script noted the start (RQ's
#: HH:MM:SS has no fraction), and errors go on a little after the repair (a request
#: waiting on its socket timeout, a retry already under way).
EARLY = timedelta(seconds=1)
LATE = timedelta(seconds=5)
#: Longest from breaking Redis to the first error, and from the last error to the repair:
#: a 2 s socket timeout, a pause of up to 2 s between requests, whole-second stamps.
DETECT = timedelta(seconds=5)


@dataclass(frozen=True)
class Outage:
    """One row of expected.json."""

    id: str
    category: str
    target: str | None
    start: datetime
    end: datetime
    linked: tuple[str, ...]
    may_link: tuple[str, ...]
    files: tuple[str, ...]

    def meets(self, first: datetime, last: datetime) -> bool:
        """Whether an incident from `first` to `last` overlaps this outage."""
        return first <= self.end + LATE and self.start - EARLY <= last


OUTAGES = [
    Outage(
        id=o["id"],
        category=o["category"],
        target=o["target"],
        start=datetime.fromisoformat(o["start"]),
        end=datetime.fromisoformat(o["end"]),
        linked=tuple(o["linked"]),
        may_link=tuple(o["may_link"]),
        files=tuple(o["files"]),
    )
    for o in EXPECTED["outages"]
]
IDS = [o.id for o in OUTAGES]


def scan(logs: Path, *extra: str) -> list[dict[str, Any]]:
    """The incidents of `logwatch --config logwatch.toml scan --format json [extra] logs`."""
    args = ["--config", str(CONFIG), "scan", "--format", "json", *extra, str(logs)]
    result = CliRunner().invoke(main, args, env={"REDIS_URL": None, "TZ": "UTC"})
    assert result.exit_code in (0, 1), result.output
    incidents: list[dict[str, Any]] = json.loads(result.stdout)["incidents"]
    return incidents


@cache
def fast() -> list[dict[str, Any]]:
    return scan(LOGS)


@cache
def reference() -> list[dict[str, Any]]:
    return scan(LOGS, "--reference")


def when(incident: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(incident[key])


def family(source: str) -> str:
    """django.log.2.gz -> django.log: the file a rotated part belongs to."""
    return re.sub(r"(\.\d+)?(\.gz)?$", "", Path(source).name)


def owner(incident: dict[str, Any]) -> list[str]:
    """The outages an incident overlaps (exactly one, for a well-placed incident)."""
    first, last = when(incident, "first_seen"), when(incident, "last_seen")
    return [o.id for o in OUTAGES if o.meets(first, last)]


def describe(incidents: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {i['category']:<12} {i['first_seen']} -> {i['last_seen']} {i['events']:>3} events"
        f" {sorted({family(s) for s in i['sources']})}"
        for i in incidents
    )


# -- the committed example itself ------------------------------------------------------------


def test_the_example_is_complete() -> None:
    assert [o.id for o in OUTAGES] == [
        "kill", "sigstop", "password", "client-kill", "oom", "debug-sleep",
        "replicaof", "maxclients", "dns", "bgsave", "loading",
    ]  # fmt: skip
    names = {p.name for p in LOGS.iterdir()}
    for o in OUTAGES:
        assert o.start < o.end, o.id
        assert o.files and set(o.files) <= {family(n) for n in names}, o.id
    # logrotate rotated and compressed django.log twice during the run
    assert {"django.log", "django.log.1.gz", "django.log.2.gz"} <= names
    # outages are further apart than quiet period + reopen window, and than the rules'
    # 60 s threshold window
    for a, b in itertools.pairwise(OUTAGES):
        assert b.start - a.end >= timedelta(seconds=60), (a.id, b.id)


# -- the incidents --------------------------------------------------------------------------


def test_fast_and_reference_paths_agree() -> None:
    assert fast() == reference()


@pytest.mark.parametrize("outage", OUTAGES, ids=IDS)
def test_each_outage_is_one_incident_of_its_category(outage: Outage) -> None:
    incidents = fast()
    mine = [i for i in incidents if outage.id in owner(i) and i["category"] == outage.category]
    assert len(mine) == 1, f"{outage.id}: {len(mine)} incidents:\n{describe(incidents)}"
    (incident,) = mine
    first, last = when(incident, "first_seen"), when(incident, "last_seen")
    assert incident["status"] == "resolved"
    # Its span covers the outage: it opens within DETECT of the break and lasts until the
    # repair (up to the quiet period), and nothing of it is long after the repair.
    assert outage.start - EARLY <= first <= outage.start + DETECT, (outage.start, first)
    assert outage.end - DETECT <= last <= outage.end + LATE, (outage.end, last)
    if outage.target is not None:
        assert incident["target"] == outage.target
    assert {family(s) for s in incident["sources"]} <= set(outage.files)


@pytest.mark.parametrize("outage", OUTAGES, ids=IDS)
def test_dated_files_that_show_an_outage_feed_its_incidents(outage: Outage) -> None:
    """Every file with stamps that shows the outage is a source of its incident or of one
    linked to it (a file with no stamp at all, supervisor's capture of the scheduler, may
    not be)."""
    sources = {family(s) for i in fast() if outage.id in owner(i) for s in i["sources"]}
    dated = {f for f in outage.files if has_stamps(f)}
    assert dated <= sources, f"{outage.id}: {sorted(dated - sources)} not among {sources}"


def test_no_incident_outside_the_outages() -> None:
    incidents = fast()
    stray = [i for i in incidents if not owner(i)]
    assert stray == [], f"incidents outside every outage:\n{describe(stray)}"


def test_no_incident_merges_two_outages() -> None:
    for incident in fast():
        spanned = owner(incident)
        assert len(spanned) <= 1, f"{describe([incident])} spans {spanned}"


@pytest.mark.parametrize("outage", OUTAGES, ids=IDS)
def test_only_the_expected_linked_incidents_share_an_outage(outage: Outage) -> None:
    """The outage's incident, those expected.json says are linked to it, and perhaps one
    it says may be (a restart closes connections: a few lines, or enough for one)."""
    incidents = [i for i in fast() if outage.id in owner(i)]
    categories = sorted(i["category"] for i in incidents)
    optional = [c for c in categories if c in outage.may_link]
    assert categories == sorted([outage.category, *outage.linked, *optional]), describe(incidents)
    (main_incident,) = [i for i in incidents if i["category"] == outage.category]
    for other in incidents:
        if other is not main_incident:
            assert other["id"] in main_incident["linked"]
            assert main_incident["id"] in other["linked"]


def test_readonly_outage_links_the_replicas_own_errors() -> None:
    (outage,) = [o for o in OUTAGES if o.category == "readonly"]
    mine = [i for i in fast() if outage.id in owner(i)]
    (readonly,) = [i for i in mine if i["category"] == "readonly"]
    (replication,) = [i for i in mine if i["category"] == "replication"]
    assert {family(s) for s in replication["sources"]} == {"redis-server.log"}
    assert replication["id"] in readonly["linked"]


# -- nothing depends on the day or on mtimes ---------------------------------------------------


@pytest.mark.parametrize(
    "mtime",
    [
        pytest.param(None, id="now"),
        pytest.param(datetime(2031, 5, 17, 3, 0, tzinfo=UTC), id="another-day"),
    ],
)
def test_mtimes_change_nothing(tmp_path: Path, mtime: datetime | None) -> None:
    copy = tmp_path / "logs"
    shutil.copytree(LOGS, copy)
    stamp = (mtime or datetime.now(UTC)).timestamp()
    for path in copy.iterdir():
        os.utime(path, (stamp, stamp))
    assert scan(copy) == [relocated(i, copy) for i in fast()]


def relocated(incident: dict[str, Any], to: Path) -> dict[str, Any]:
    """The incident as a scan of the copy in `to` reports it (same files, other paths)."""
    out = dict(incident)
    out["sources"] = {str(to / Path(s).name): n for s, n in incident["sources"].items()}
    return out


# -- noise ------------------------------------------------------------------------------------

#: What the stack logs that is not a Redis outage, each with the file it shows in.
NOISE = [
    pytest.param("django.log", r"psycopg\.OperationalError: connection failed", id="postgres-down"),
    pytest.param(
        "django.log", r"recommender unavailable.*HTTPConnectionPool", id="http-dead-service"
    ),
    pytest.param(
        "rqworker.stderr.log", r"ValueError: leaderboard row .* \(redis key", id="rq-job-valueerror"
    ),
    pytest.param("rqworker.stderr.log", r"rebuild_redis_leaderboard", id="rq-job-named-redis"),
    pytest.param("beat.stderr.log", r"^INFO:beat:.*redis", id="beat-info-redis"),
    pytest.param("django.log", r"^INFO .*redis", id="django-info-redis"),
    pytest.param("feedapi.log", r'^(?=.*"level": "info").*redis', id="structlog-info-redis"),
]


def lines_of(name: str) -> list[str]:
    out: list[str] = []
    for path in sorted(LOGS.glob(name + "*")):
        with open_log(path) as fh:
            out.extend(fh.read().decode("utf-8", "replace").splitlines())
    return out


@pytest.mark.parametrize(("name", "pattern"), NOISE)
def test_noise_matches_no_rule(name: str, pattern: str) -> None:
    pack = load_rule_pack()
    noisy = [line for line in lines_of(name) if re.search(pattern, line)]
    assert noisy, f"no {pattern!r} in {name}: the example lost its noise"
    assert [
        (ln, [m.rule.id for m in pack.match_all(ln)]) for ln in noisy if pack.match_all(ln)
    ] == []


@cache
def has_stamps(name: str) -> bool:
    """Whether a log file carries times at all (supervisor's captures may not)."""
    return any(re.search(r"\b\d\d:\d\d:\d\d\b", ln) for ln in lines_of(name)[:50])
