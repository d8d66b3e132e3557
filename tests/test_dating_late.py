"""A file's stamps count wherever in it they start, not only in its first 64 KB.

uvicorn writes its access lines to stdout without a time; the app's own logging (Python's
`%(asctime)s`, or Django's verbose `%(levelname)s %(asctime)s`) goes to the same captured
stream. With ~100 KB of access lines first, the whole file was taken for undated: 20 Redis
errors were 'undated evidence', no incident, while `logwatch test` said 'own stamp'.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.prefilter import make_finder
from logwatch.sources.tail import Tailer

ACCESS = 'INFO:     172.18.0.1:{port} - "GET /api/v1/feed?page={n} HTTP/1.1" 200 OK\n'
REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."
)
FRAMES = (
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.12/site-packages/redis/connection.py", line 357, in connect\n'
    "    sock = self.retry.call_with_retry(\n"
    f"{REFUSED}\n"
)


def uvicorn_stdout(error_line: str, errors: int = 20, access_lines: int = 1500) -> str:
    """uvicorn's startup lines and access lines (no time), then the app's errors."""
    text = (
        "INFO:     Started server process [7]\n"
        "INFO:     Waiting for application startup.\n"
        "INFO:     Application startup complete.\n"
        "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)\n"
    )
    text += "".join(ACCESS.format(port=40000 + n, n=n) for n in range(access_lines))
    return text + "".join(error_line.format(s=s) + FRAMES for s in range(1, errors + 1))


PYTHON = "2026-11-26 14:50:{s:02d},000 ERROR app.main: enqueue failed\n"
DJANGO = "ERROR 2026-11-26 14:50:{s:02d},000 log 7 140 Internal Server Error: /api/v1/feed\n"


def scan(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["scan", "--format", "json", *args], env={})
    assert result.exit_code in (0, 1), result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def incidents(report: dict[str, object]) -> list[tuple[str, int, str, str]]:
    found = report["incidents"]
    assert isinstance(found, list)
    return [(i["category"], i["events"], i["first_seen"], i["last_seen"]) for i in found]


@pytest.mark.parametrize("error_line", [PYTHON, DJANGO], ids=["asctime-first", "django-verbose"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_errors_stamped_after_100kb_of_undated_lines_are_dated_by_their_stamps(
    tmp_path: Path, error_line: str, compressed: bool
) -> None:
    text = uvicorn_stdout(error_line)
    assert len(text.split("2026-", 1)[0]) > 100_000
    log = tmp_path / "app-stdout.log"
    if compressed:
        log = tmp_path / "app-stdout.log.1.gz"
        log.write_bytes(gzip.compress(text.encode()))
    else:
        log.write_text(text)
    for path in ("", "--reference"):
        report = scan(*filter(None, [path]), "--quiet-period", "30s", str(log))
        assert incidents(report) == [
            ("connection", 20, "2026-11-26T14:50:01+00:00", "2026-11-26T14:50:20+00:00")
        ], path
        assert report["undated"] == []
        assert report["dating"] == {str(log): "own timestamps"}


def test_scan_and_test_agree_on_a_late_stamp(tmp_path: Path) -> None:
    log = tmp_path / "app-stdout.log"
    log.write_text(uvicorn_stdout(PYTHON, errors=1))
    result = CliRunner().invoke(main, ["test", str(log)], env={})
    assert result.exit_code == 0, result.output
    assert f"{log.name}: own timestamps" in result.output
    assert "(own stamp)" in result.output


def test_a_long_file_without_any_stamp_is_still_undated(tmp_path: Path) -> None:
    """Clocks inside messages (a duration, a request's time) are no record's stamp."""
    log = tmp_path / "worker-stderr.log"
    lines = [f"INFO:rq.worker:Job OK (took 00:00:{n % 60:02d})\n" for n in range(3000)]
    lines.append(f"ERROR:root:{REFUSED.split(': ', 1)[1]}\n" * 5)
    log.write_text("".join(lines))
    assert log.stat().st_size > 100_000
    for path in ("", "--reference"):
        report = scan(*filter(None, [path]), str(log))
        assert report["incidents"] == []
        undated = report["undated"]
        assert isinstance(undated, list) and undated[0]["events"] == 5
        assert str(report["dating"][str(log)]).startswith("no timestamps")  # type: ignore[index]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("error_line", [PYTHON, DJANGO], ids=["asctime-first", "django-verbose"])
@pytest.mark.parametrize("start", ["start", "end"])
@pytest.mark.parametrize("skim", [False, True], ids=["every-line", "skimming"])
def test_the_agent_dates_errors_stamped_after_100kb_of_undated_lines(
    tmp_path: Path, error_line: str, start: str, skim: bool
) -> None:
    """The tailer learned where stamps sit from a file's first 4 KB only: Django's
    `ERROR 2026-...` after uvicorn's access lines was never read as a stamp."""
    log = tmp_path / "app-stdout.log"
    text = uvicorn_stdout(error_line, errors=3)
    head, errors = text[: text.index(error_line[:5])], text[text.index(error_line[:5]) :]
    log.write_text(head if start == "end" else text)
    clock = FakeMonotonic()
    finder = make_finder([b"Error 111"]) if skim else None
    tailer = Tailer(tz=UTC, max_lines=200, max_bytes=65536, max_line_bytes=65536,
                    finder=finder, monotonic=clock)  # fmt: skip
    try:
        tailer.open(log, start=start)
        records = tailer.poll()
        if start == "end":
            with open(log, "a") as fh:
                fh.write(errors)
        for _ in range(3):
            clock.now += 1.0
            records += tailer.poll()
    finally:
        tailer.close()
    failed = [r for r in records if REFUSED in r.text]
    assert [(r.time, r.timed) for r in failed] == [
        (datetime(2026, 11, 26, 14, 50, s, tzinfo=UTC), True) for s in (1, 2, 3)
    ]


def test_json_records_after_100kb_of_undated_lines_are_dated(tmp_path: Path) -> None:
    """python-json-logger's lines (their time in a field) after uvicorn's access lines."""
    record = {
        "asctime": "2026-11-26 14:50:{s:02d},000",
        "levelname": "ERROR",
        "name": "app.main",
        "message": "enqueue failed",
        "exc_info": FRAMES.rstrip("\n"),
    }
    errors = "".join(
        json.dumps({**record, "asctime": record["asctime"].format(s=s)}) + "\n" for s in (1, 2, 3)
    )
    log = tmp_path / "app-stdout.log"
    log.write_text(uvicorn_stdout(PYTHON, errors=0) + errors)
    for path in ("", "--reference"):
        report = scan(*filter(None, [path]), "--quiet-period", "30s", str(log))
        assert incidents(report) == [
            ("connection", 3, "2026-11-26T14:50:01+00:00", "2026-11-26T14:50:03+00:00")
        ], path
