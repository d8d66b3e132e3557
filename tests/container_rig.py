"""A real app's log written as container runtimes write it: Docker json-file and CRI.

`wrap` turns the lines of a plain log (a real redis-py outage from examples/) into the
entries a runtime writes for a container whose app logs to stderr: each line stamped
with the time it was written (its own stamp; traceback lines a microsecond apart after
it), long lines split into pieces (Docker: `log` without its newline; CRI: tag `P`), and
the container's stdout (health-check lines) interleaved between them, even between the
pieces of one line, as a runtime reading two pipes does.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})")
CONTAINER_ID = "3f4e" + "0" * 56 + "beef"
HEALTH = "10.0.0.7 - - GET /healthz HTTP/1.1 200 2"


def runtime_stamp(when: datetime) -> str:
    """RFC 3339 with nanoseconds, as both runtimes write it."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def entry(fmt: str, stream: str, when: datetime, text: str, partial: bool) -> str:
    """One runtime line (with its newline)."""
    if fmt == "docker":
        log = text if partial else text + "\n"
        return json.dumps({"log": log, "stream": stream, "time": runtime_stamp(when)}) + "\n"
    return f"{runtime_stamp(when)} {stream} {'P' if partial else 'F'} {text}\n"


def wrap(lines: list[str], fmt: str, *, seed: int = 7, split_over: int = 60) -> str:
    """The runtime's file for an app that wrote `lines` (without newlines) to stderr."""
    rnd = random.Random(seed)
    out: list[str] = []
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for n, text in enumerate(lines):
        m = STAMP.match(text)
        if m is not None:
            when = datetime.fromisoformat(f"{m[1]}.{m[2]}").replace(tzinfo=UTC)
        else:
            when += timedelta(microseconds=1)
        pieces = [text]
        if len(text) > split_over:  # split where a runtime's buffer would end
            cuts = sorted(rnd.sample(range(1, len(text)), 2))
            pieces = [text[: cuts[0]], text[cuts[0] : cuts[1]], text[cuts[1] :]]
        for i, piece in enumerate(pieces):
            out.append(entry(fmt, "stderr", when, piece, partial=i < len(pieces) - 1))
            if n % 5 == 0 and i == 0:  # the other pipe, read in between
                out.append(entry(fmt, "stdout", when, HEALTH, partial=False))
    return "".join(out)


def docker_dir(root: Path, name: str = "morningai-api") -> Path:
    """/var/lib/docker/containers/<id>/ with its config (which names it) and no log yet."""
    directory = root / CONTAINER_ID
    directory.mkdir(parents=True)
    (directory / "config.v2.json").write_text(json.dumps({"ID": CONTAINER_ID, "Name": f"/{name}"}))
    (directory / "hostconfig.json").write_text("{}")
    (directory / "hostname").write_text("3f4e00000000\n")
    (directory / "hosts").write_text("127.0.0.1 localhost\n")
    (directory / "resolv.conf").write_text("nameserver 10.0.0.2\n")
    return directory / f"{CONTAINER_ID}-json.log"


def pod_log(root: Path, restart: int = 0) -> Path:
    """/var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log (its directory made)."""
    directory = root / "prod_morningai-web-7c9f_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0" / "api"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{restart}.log"
