"""The short chaos soak (benchmarks/soak.py --short) as a test: no outage lost or repeated.

About 60 s of realistic logs with an outage every few seconds, under rotation by rename,
copytruncate, gzip of old files, kill -9 of the agent with restarts, Slack answering 429
and 500 or refusing connections, and a burst of 100,000 lines in a second.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("logwatch_soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
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
    assert figures["error_events_counted"] == figures["error_events_written"], shown
    assert clean, shown
