"""The timeline: healthy traffic, each outage made, held and repaired, healthy again.

Every process started here (redis-server, supervisord and through it the app's programs,
the throw-away server that writes the big RDB) is stopped by its handle or PID in a
`finally`, also on Ctrl-C or an error. The logs are then copied into the examples
directory with expected.json (the outages on this script's own clock, UTC) and the scan
settings the test uses (logwatch.toml).
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outage_stack2.outages import OUTAGES, PASSWORD, WORDING, Lab, Outage
from outage_stack2.report import files_showing, write_readme_section
from outage_stack2.server import RedisPrimary, build_big_rdb
from outage_stack2.stack import Stack
from outage_stack2.traffic import Traffic

#: Scan settings of the examples. The healthy stretch between two outages is longer than
#: quiet period + reopen window, and than the rules' 60 s threshold window: a few lines of
#: one outage below a rule's threshold must not count towards the next one's.
QUIET_S = 3
REOPEN_S = 5
LEAD_S = 15.0
GAP_S = 62.0
BUSY_S = 10.0  # full traffic at both ends of a healthy stretch, slower in between
TAIL_S = 15.0


@dataclass
class Run:
    """What happened, on this script's clock."""

    outage: Outage
    start: datetime
    end: datetime | None = None
    notes: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


def now() -> datetime:
    return datetime.now(UTC)


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"v=(\S+)", out)
    found = {"redis-server": m.group(1) if m else out.strip(), "python": platform.python_version()}
    for dist in ("redis", "rq", "Django", "django-rq", "gunicorn", "fastapi", "uvicorn",
                 "structlog", "supervisor", "psycopg", "requests"):  # fmt: skip
        found[dist] = version(dist)
    lr = subprocess.run(["logrotate", "--version"], capture_output=True, text=True)
    found["logrotate"] = (lr.stdout or lr.stderr).split()[1]
    return found


def run(out: Path, readme: Path | None, keys: int, seed: int, only: list[str]) -> int:
    """Run the scenario (every outage, or those in `only`); write the examples into `out`."""
    outages = [o for o in OUTAGES if not only or o.id in only]
    work = Path(tempfile.mkdtemp(prefix="lw2-", dir="/tmp"))
    work.chmod(0o755)  # redis-server runs as nobody and writes its log below
    logs = work / "logs"
    logs.mkdir()
    runs: list[Run] = []
    server = RedisPrimary(work, logs / "redis-server.log", PASSWORD)
    stack = Stack(work, logs, server.port, PASSWORD)
    traffic = Traffic(stack.ports.web, stack.ports.api, seed)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        try:
            print(f"work dir {work}; building a {keys:,}-key RDB", flush=True)
            lab = Lab(server, stack, build_big_rdb(work, keys))
            server.start()
            stack.start()
            stack.wait_running()
            print(f"redis-server pid {server.pid} port {server.port}; {stack.child_pids}")
            traffic.start()
            time.sleep(LEAD_S)
            print(f"  healthy: {traffic.take_counts()}", flush=True)
            for n, outage in enumerate(outages):
                runs.append(_one(lab, traffic, outage))
                if n + 1 < len(outages):
                    _healthy(traffic)
            time.sleep(TAIL_S)
        finally:
            traffic.stop()
            stack.stop()
            server.cleanup()
        _publish(logs, out, readme, runs, server.port)
    except KeyboardInterrupt:
        print("interrupted; every process started was stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _healthy(traffic: Traffic) -> None:
    time.sleep(BUSY_S)
    traffic.slow.set()
    time.sleep(GAP_S - 2 * BUSY_S)
    traffic.slow.clear()
    time.sleep(BUSY_S)
    print(f"  healthy: {traffic.take_counts()}", flush=True)


def _one(lab: Lab, traffic: Traffic, outage: Outage) -> Run:
    lab.notes = []
    record = Run(outage, now())
    print(f"  {record.start:%H:%M:%S} {outage.id} ({outage.category}): {outage.what}", flush=True)
    outage.make(lab)
    if outage.hold is not None:
        outage.hold(lab, outage.seconds)
    else:
        time.sleep(outage.seconds)
    outage.repair(lab)
    lab.join()
    record.end = now()
    record.notes = list(lab.notes)
    record.statuses = traffic.take_counts()
    print(f"  {record.end:%H:%M:%S} repaired; requests: {record.statuses}", flush=True)
    return record


def _publish(logs: Path, out: Path, readme: Path | None, runs: list[Run], port: int) -> None:
    dest = out / "logs"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for path in sorted(logs.iterdir()):
        if path.is_file() and path.stat().st_size > 0:
            shutil.copyfile(path, dest / path.name)
    listed: list[dict[str, Any]] = []
    for r in runs:
        assert r.end is not None
        shown = files_showing(dest, WORDING[r.outage.id], r.start, r.end)
        files = [f for f in r.outage.files if f in shown]
        missing = sorted(set(r.outage.files) - set(shown))
        if missing:
            print(f"  note: {r.outage.id} does not show in {missing}")
        listed.append(
            {
                "id": r.outage.id,
                "category": r.outage.category,
                "target": f"redis-primary.internal:{port}" if r.outage.named else None,
                "start": r.start.isoformat(timespec="milliseconds"),
                "end": r.end.isoformat(timespec="milliseconds"),
                "what": r.outage.what,
                "linked": list(r.outage.also),
                "may_link": list(r.outage.may_link),
                "files": files,
                "notes": r.notes,
                "requests": r.statuses,
            }
        )
    expected = {
        "about": "Outages made by scripts/make_examples_2.py; start/end on its clock (UTC).",
        "logs": "logs",
        "config": "logwatch.toml",
        "redis_port": port,
        "versions": versions(),
        "outages": listed,
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    (out / "logwatch.toml").write_text(
        "# Scan settings of examples/outages-2 (tests/test_examples_2.py): every two outages\n"
        f"# are {GAP_S:g} s apart, more than quiet_period + reopen_window and than the\n"
        "# rules' 60 s threshold window.\n"
        '[logwatch]\ntimezone = "UTC"\n\n[incidents]\n'
        f'quiet_period = "{QUIET_S}s"\nreopen_window = "{REOPEN_S}s"\n',
        encoding="utf-8",
    )
    if readme is not None:
        write_readme_section(readme, out, expected)
    total = 0
    for path in sorted(dest.iterdir()):
        total += path.stat().st_size
        print(f"  {path.name:<24} {path.stat().st_size:>9,} bytes")
    print(f"  {'total':<24} {total:>9,} bytes\nwrote {out}")
