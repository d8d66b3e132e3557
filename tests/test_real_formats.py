"""Real output of logging setups other than the stdlib's text formats, scanned as a user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from logwatch.cli import main

DATA = Path(__file__).resolve().parent / "data"


def _scan(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        main, ["scan", "--format", "json", "--exit-zero", *args], env={"REDIS_URL": None}
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_structlog_dict_tracebacks_are_read() -> None:
    """structlog's production JSON setup (dict_tracebacks) keeps the exception as a list of
    {"exc_type", "exc_value"} dicts, an ExceptionGroup's members nested under "exceptions":
    every record of a refused connection is an event of one connection incident."""
    log = DATA / "structlog-dict-tracebacks.log"
    lines = log.read_text(encoding="utf-8").splitlines()
    port = json.loads(lines[0])["exception"][0]["exc_value"].split(":")[1].split(".")[0]
    [incident] = _scan(str(log))["incidents"]
    assert incident["category"] == "connection"
    assert incident["target"] == f"localhost:{port}"
    assert incident["events"] == len(lines) == 4
    assert incident["rules"] == {"connection-refused": 4}
