"""The sample logs in examples/: real outages, scanned as a user would scan them.

examples/outages/<category>/ holds the logs of one end-to-end scenario of
tests/test_e2e_outages.py (a real redis-server broken under a real redis-py app and RQ
worker), refreshed with LOGWATCH_REFRESH_EXAMPLES=1. Scanned with the quiet period the
agent had there, each is one incident of its category, over and resolved; the fast and
the reference paths agree on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OUTAGES = sorted(p for p in (EXAMPLES / "outages").iterdir() if p.is_dir())


def scan(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["scan", "--format", "json", *args], env={})
    assert result.exit_code in (0, 1), result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_every_scenario_of_the_end_to_end_tests_has_its_example() -> None:
    assert [p.name for p in OUTAGES] == ["auth", "connection", "oom", "readonly", "timeout"]
    for outage in OUTAGES:
        assert {p.name for p in outage.iterdir()} == {"app.log", "worker.log", "redis-server.log"}


@pytest.mark.parametrize("outage", OUTAGES, ids=[p.name for p in OUTAGES])
def test_a_real_outage_is_one_incident_of_its_category(outage: Path) -> None:
    report = scan("--quiet-period", "3s", str(outage))
    incidents = report["incidents"]
    assert isinstance(incidents, list)
    assert [(i["category"], i["status"]) for i in incidents] == [(outage.name, "resolved")]
    (incident,) = incidents
    assert incident["events"] >= 3
    assert any(s.endswith("app.log") for s in incident["sources"])
    reference = scan("--reference", "--quiet-period", "3s", str(outage))
    assert reference["incidents"] == incidents
