"""The README's Quick start scan, run as written (its own arguments, a bare environment):
three incidents, each with its runbook steps under "what to do:" (a newcomer's paste
showed the heading alone; not reproduced, held here)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_start_scan_shows_every_incidents_steps() -> None:
    readme = (REPO / "README.md").read_text()
    command = re.search(r"\.venv/bin/logwatch (scan [^\n`]+)", readme)
    assert command is not None
    args = shlex.split(command[1])
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", *args],
        cwd=REPO, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    headings = [n for n, line in enumerate(lines) if line == "  what to do:"]
    assert len(headings) == 3 and done.stdout.startswith("3 Redis incidents"), done.stdout
    for n in headings:
        assert re.match(r"    \S", lines[n + 1]) and re.match(r"    1\. \S", lines[n + 2]), lines[
            n : n + 3
        ]
