"""The short chaos soak (benchmarks/soak.py --short) as a test: no outage lost or repeated.

About 60 s of realistic logs with an outage every few seconds, under rotation by rename,
copytruncate (at once, and with lines written between the copy and the truncate), gzip of
old files, kill -9 of the agent with restarts (and generations of app.log created, rotated
and compressed while it is down), files stamped 5 h ahead and behind, 50 KB lines, Slack
answering 429 and 500 or refusing connections, and a burst of 100,000 lines in a second;
then 2,000 files followed under an open-file limit of 256.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

# End to end: the agent through a chaos soak; 5 to 70 s a test.
pytestmark = pytest.mark.slow

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("logwatch_soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_short_soak_loses_and_repeats_nothing(tmp_path: Path) -> None:
    soak = load_soak()
    said: list[str] = []
    result = soak.run(soak.plan_for(0, short=True), seed=7, keep=tmp_path, say=said.append)
    figures, clean = soak.summarize(result)
    shown = json.dumps(figures, indent=2)
    assert figures["outages_written"] >= 10, shown
    assert figures["agent_restarts"] >= 2, shown
    assert figures["faults"].get("burst-100k-lines") == 1, shown
    assert figures["lost"] == 0, shown
    assert figures["duplicated"] == 0, shown
    assert figures["wrong_category"] == 0 and figures["unexpected"] == 0, shown
    kinds = figures["by_fault_kind"]
    assert kinds["many-files"]["outages"] >= 3, shown
    for kind, row in kinds.items():
        assert row["counted"] == row["written"], f"{kind}: {shown}"
    assert figures["count_mismatches"] == 0 and clean, shown


def test_restart_backlog_in_one_file_does_not_resolve_before_an_older_error_in_another(
    tmp_path: Path,
) -> None:
    """Found by the 10-minute soak: after a kill -9, app.log's backlog (later log times) was
    processed before worker.log's older error; log time passed the quiet period, the
    incident resolved, and that error was left uncounted (events 2 of 3)."""
    from test_agent import AgentProcess, append, healthy

    logs = tmp_path / "logs"
    logs.mkdir()
    a = AgentProcess(tmp_path, logs, "--quiet-period", "3s")
    app, worker = logs / "app.log", logs / "worker.log"
    app.write_text(healthy())
    worker.write_text("")
    a.start()
    now = datetime.now(UTC)
    stamp = f"{now:%Y-%m-%d %H:%M:%S},000"
    append(
        app,
        f"{stamp} ERROR redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.9:6379. Connection refused.\n"
        * 2,
    )
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="open")
    a.kill()
    # While it is down: the worker's third error, then app.log moves on 10 s (healthy).
    append(
        worker,
        f"{now:%H:%M:%S} Worker w1: could not connect to Redis instance: Error 111 connecting to 10.0.0.9:6379. Connection refused. retrying in 4 seconds...\n",
    )
    later = now + timedelta(seconds=10)
    append(app, f"{later:%Y-%m-%d %H:%M:%S},000 INFO [morningai.api] 200 GET /healthz 1.2ms\n")
    a.start()
    a.wait_until(lambda: "incident.resolved" in a.kinds(), what="resolve")
    assert a.stop() == 0
    # The worker's error may come after the resolve (it is read after app.log's line 10 s
    # on): then it is counted in the incident without a notification of its own.
    (incident,) = a.stored()
    assert incident["events"] == 3
