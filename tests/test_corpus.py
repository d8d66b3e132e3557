"""The scan against make-corpus ground truth: every burst one incident, nothing outside."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from logwatch.cli import main

ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make-corpus"


def load_truth_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "corpus_truth", ROOT / "benchmarks" / "corpus_truth.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in (1, 5, 11)])
def test_every_burst_is_one_incident_and_nothing_else(tmp_path: Path, seed: int) -> None:
    assert MAKE_CORPUS.exists(), (
        f"{MAKE_CORPUS} is missing: the shared/ folder sits beside the repo"
    )
    subprocess.run(
        [
            sys.executable,
            str(MAKE_CORPUS),
            str(tmp_path),
            "--size",
            "12M",
            "--seed",
            str(seed),
            "--bursts",
            "3",
            "--isolated",
            "3",
        ],
        check=True,
        capture_output=True,
    )
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["bursts"], "the corpus has no burst to find"
    result = CliRunner().invoke(
        main, ["scan", "--format", "json", str(tmp_path / "app.log"), str(tmp_path / "app.jsonl")]
    )
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert load_truth_checker().compare(report["incidents"], truth) == []
    written = sum(b["error_events"] for b in truth["bursts"]) + len(truth["isolated"])
    assert report["stats"]["events"] == written
