"""`docker compose logs` output: records are assembled per service prefix.

Two replicas interleave their lines; web-2's clock (its container's zone) is an hour
ahead. web-1's tracebacks took the time of web-2's line above them: its errors were dated
an hour late, from another container's clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.model import LogLine
from logwatch.sources.compose import ComposeAssembler, compose_output
from logwatch.sources.tail import Tailer

REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to redis-a:6379. Connection refused."
)


def compose_log(errors: int = 8) -> str:
    out = ["Attaching to web-1, web-2\n"]  # `docker compose up` says this first
    for n in range(errors):
        s = 1 + 2 * n
        out += [
            f"web-1  | 2026-11-26 14:50:{s:02d},001 ERROR app: enqueue failed\n",
            f"web-2  | 2026-11-26 15:50:{s:02d},002 INFO app: request ok\n",
            "web-1  | Traceback (most recent call last):\n",
            'web-1  |   File "/srv/app/views.py", line 42, in enqueue\n',
            f"web-2  | 2026-11-26 15:50:{s:02d},502 INFO app: request ok\n",
            "web-1  |     q.enqueue(send_briefing, user_id)\n",
            f"web-1  | {REFUSED}\n",
        ]
    return "".join(out)


def lines_of(text: str) -> list[LogLine]:
    out, offset = [], 0
    for n, raw in enumerate(text.splitlines(keepends=True), 1):
        out.append(LogLine(text=raw.rstrip("\n"), number=n, offset=offset, end=offset + len(raw)))
        offset += len(raw)
    return out


def test_each_services_lines_make_its_records() -> None:
    text = compose_log(errors=2)
    assert compose_output(text.encode())
    assembler = ComposeAssembler(source="compose.log", file_time=datetime(2026, 12, 1, tzinfo=UTC))
    records = [r for line in lines_of(text) for r in assembler.feed(line)] + assembler.flush()
    failed = [r for r in records if REFUSED in r.text]
    assert [(r.line, r.lines, r.time, r.timed) for r in failed] == [
        (2, 7, datetime(2026, 11, 26, 14, 50, 1, 1000, tzinfo=UTC), True),
        (9, 7, datetime(2026, 11, 26, 14, 50, 3, 1000, tzinfo=UTC), True),
    ]
    assert failed[0].text.splitlines() == [
        "web-1  | 2026-11-26 14:50:01,001 ERROR app: enqueue failed",
        "Traceback (most recent call last):",
        '  File "/srv/app/views.py", line 42, in enqueue',
        "    q.enqueue(send_briefing, user_id)",
        REFUSED,
    ]
    assert sorted(r.line for r in records) == [1, 2, 3, 6, 9, 10, 13]  # every line once


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
def test_scan_dates_a_services_errors_by_its_own_clock(tmp_path: Path, reference: bool) -> None:
    log = tmp_path / "compose.log"
    log.write_text(compose_log())
    args = ["scan", "--format", "json", *(["--reference"] if reference else []), str(log)]
    result = CliRunner().invoke(main, args, env={})
    assert result.exit_code in (0, 1), result.output
    (incident,) = json.loads(result.stdout)["incidents"]
    assert (incident["events"], incident["first_seen"], incident["last_seen"]) == (
        8,
        "2026-11-26T14:50:01.001000+00:00",
        "2026-11-26T14:50:15.001000+00:00",
    )


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("written", ["before", "after"], ids=["existing", "new-file"])
def test_the_agent_dates_a_services_errors_by_its_own_clock(tmp_path: Path, written: str) -> None:
    log = tmp_path / "compose.log"
    log.write_text(compose_log(errors=3) if written == "before" else "")
    clock = FakeMonotonic()
    tailer = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536, monotonic=clock)
    try:
        tailer.open(log, start="start")
        records = tailer.poll()
        if written == "after":
            log.write_text(compose_log(errors=3))
        for _ in range(4):
            clock.now += 1.0
            records += tailer.poll()
    finally:
        tailer.close()
    failed = [r for r in records if REFUSED in r.text]
    assert [r.time for r in failed] == [
        datetime(2026, 11, 26, 14, 50, s, 1000, tzinfo=UTC) for s in (1, 3, 5)
    ]


@pytest.mark.parametrize(
    "head",
    [
        "2026-11-26 14:50:01,001 INFO app: a | b\n2026-11-26 14:50:02,001 INFO app: c | d\n",
        "web-1  | 2026-11-26 14:50:01,001 INFO one line only\n",
        "| a table row | x |\n| another | y |\n",
    ],
    ids=["bars-in-messages", "one-line", "markdown-table"],
)
def test_what_is_not_compose_output(head: str) -> None:
    assert not compose_output(head.encode())
