"""The command line contract: outputs, exit codes, one-line errors, redaction."""

from __future__ import annotations

import bz2
import gzip
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main

OUTAGE = """\
2026-03-01 02:00:00,001 INFO [morningai.api] 200 GET /api/v1/feed user=1 3.1ms
2026-03-01 02:00:01,002 INFO [morningai.app] connecting to redis://:hunter2-secret@10.0.0.5:6379/0
2026-03-01 02:00:05,100 ERROR [morningai.app] Exception on /api/v1/feed [GET]
Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 369, in connect
    raise ConnectionError(self._error_message(e))
redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused.
2026-03-01 02:00:06,200 ERROR [morningai.app] Exception on /api/v1/recs [GET]
Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/redis/connection.py", line 369, in connect
    raise ConnectionError(self._error_message(e))
redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused.
2026-03-01 02:00:07,300 WARNING [morningai.cache] redis GET feed:1:v3 failed (ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused.); password=hunter2-secret
2026-03-01 02:30:00,000 INFO [morningai.api] 200 GET /healthz user=2 1.0ms
"""
HEALTHY = "2026-03-01 02:00:00,001 INFO [morningai.cache] cache hit key=feed:1 backend=redis\n"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    root.mkdir()
    (root / "app.log").write_text(OUTAGE)
    return root


def test_scan_json_contract(logs: Path) -> None:
    code, out, _ = run("scan", "--format", "json", str(logs))
    assert code == 1
    body = json.loads(out)
    assert set(body["stats"]) >= {"files", "bytes", "lines", "records", "events", "seconds"}
    assert body["stats"]["events"] == 3
    (incident,) = body["incidents"]
    for key in (
        "id",
        "category",
        "target",
        "severity",
        "status",
        "first_seen",
        "last_seen",
        "events",
        "signatures",
        "sources",
        "samples",
        "hint",
    ):
        assert key in incident
    assert incident["category"] == "connection"
    assert incident["target"] == "10.0.0.5:6379"
    assert incident["status"] == "resolved"
    assert incident["first_seen"] == "2026-03-01T02:00:05.100000+00:00"
    assert incident["events"] == 3


def test_scan_redacts_secrets_everywhere(logs: Path) -> None:
    for fmt in ("table", "json", "ndjson", "markdown"):
        _, out, err = run("scan", "--format", fmt, str(logs))
        assert "hunter2-secret" not in out + err, fmt


def test_scan_with_no_incident_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(HEALTHY)
    code, out, _ = run("scan", str(tmp_path))
    assert code == 0
    assert "0 Redis incidents" in out


def test_exit_zero_flag(logs: Path) -> None:
    assert run("scan", "--exit-zero", str(logs))[0] == 0


def test_compressed_rotated_siblings_are_read_by_magic(tmp_path: Path) -> None:
    lines = OUTAGE.splitlines(keepends=True)
    (tmp_path / "app.log.2.gz").write_bytes(gzip.compress("".join(lines[:7]).encode()))
    (tmp_path / "app.log.1").write_bytes(bz2.compress("".join(lines[7:12]).encode()))  # misnamed
    (tmp_path / "app.log").write_text("".join(lines[12:]))
    code, out, _ = run("scan", "--format", "json", str(tmp_path))
    assert code == 1
    (incident,) = json.loads(out)["incidents"]
    assert incident["events"] == 3
    assert len(incident["sources"]) == 3


def test_since_until_filter_by_record_time(logs: Path) -> None:
    code, out, _ = run("scan", "--format", "json", "--since", "2026-03-01T02:10", str(logs))
    assert code == 0
    assert json.loads(out)["incidents"] == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(
            ["scan", "/nonexistent/app.log"], "/nonexistent/app.log: no such file", id="missing"
        ),
        pytest.param(
            ["scan", "--since", "yesterday-ish", "."], "--since: invalid time", id="bad-since"
        ),
        pytest.param(
            ["scan", "--timezone", "Mars/Base", "."], "unknown timezone 'Mars/Base'", id="bad-tz"
        ),
        pytest.param(
            ["scan", "--quiet-period", "soon", "."], "invalid duration 'soon'", id="bad-duration"
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], needle: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert needle in err
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_invalid_config_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "lw.toml"
    config.write_text("[incidents]\nquiet_period = 'forever'\n")
    code, _, err = run("--config", str(config), "check")
    assert code == 2
    assert f"{config}: [incidents] quiet_period: invalid duration 'forever'" in err

    config.write_text("[incidents\n")
    code, _, err = run("--config", str(config), "check")
    assert code == 2
    assert "invalid TOML" in err


def test_bad_user_rule_is_reported_by_check(tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text(
        "[[rule]]\nid = 'broken'\ncategory = 'connection'\nseverity = 'error'\n"
        "patterns = ['(unclosed']\nhint = 'x'\n"
    )
    config = tmp_path / "lw.toml"
    config.write_text("[logwatch]\nrules = ['mine.toml']\n")
    code, _, err = run("--config", str(config), "check")
    assert code == 2
    assert "mine.toml" in err and "broken" in err


def test_check_valid_builtin_pack() -> None:
    code, out, _ = run("check")
    assert code == 0
    assert "patterns compiled" in out


def test_binary_and_unreadable_files_warn_and_scan_goes_on(logs: Path) -> None:
    (logs / "core.dump").write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    locked = logs / "locked.log"
    locked.write_text(OUTAGE)
    locked.chmod(0)
    code, out, err = run("scan", "--format", "json", str(logs))
    assert code == 1
    assert "core.dump: binary file, skipped" in err
    if os.geteuid() != 0:  # root reads anything
        assert "locked.log: cannot read" in err
    assert json.loads(out)["incidents"]


def test_test_command_shows_rule_fields_and_missed(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text(
        OUTAGE + "2026-03-01 03:00:00,000 ERROR [morningai.mail] smtp send failed: 550\n"
    )
    code, out, _ = run("test", str(log))
    assert code == 0
    assert "connection-refused" in out
    assert "host=10.0.0.5" in out
    assert "smtp send failed" in out  # an error-looking record no rule matched
    assert "hunter2-secret" not in out


def test_version_and_help() -> None:
    assert run("--version")[0] == 0
    code, out, _ = run("scan", "--help")
    assert code == 0 and "Exit codes" in out


def test_a_log_with_a_hole_of_nuls_is_read_not_skipped(logs: Path, tmp_path: Path) -> None:
    """copytruncate while the app writes without O_APPEND: the app's next write lands at
    its old offset, so the file starts with a hole of NULs, then the outage's lines. A
    scan reads them, with their own stamps, as the agent that followed the file did."""
    holed = tmp_path / "holed"
    holed.mkdir()
    (holed / "app.log").write_bytes(b"\x00" * 20_000 + OUTAGE.encode())
    (holed / "clean.log").write_bytes(OUTAGE.encode())
    found = {}
    for name in ("app.log", "clean.log"):
        for mode in ((), ("--reference",)):
            code, out, err = run("scan", *mode, "--format", "json", str(holed / name))
            assert code == 1 and "binary" not in err
            found[name, mode] = [
                (i["category"], i["first_seen"], i["events"]) for i in json.loads(out)["incidents"]
            ]
    assert found["app.log", ()] and len(set(map(tuple, found.values()))) == 1


def test_test_shows_a_record_with_a_carriage_return_whole_with_controls_escaped(
    tmp_path: Path,
) -> None:
    """`logwatch test` printed only the text after a record's last CR (the red team's
    esc.log showed " FAKE" for a refused connection) and let ESC sequences reach the
    terminal: it shows the line as scan's table does, controls written as <U+001B>."""
    log = tmp_path / "esc.log"
    log.write_bytes(
        b"2026-11-26 14:50:01,000 ERROR app: \x1b]0;pwned\x07\xe2\x80\xaeredis.exceptions."
        b"ConnectionError: Error 111 connecting to redis:6379. Connection refused.\r FAKE\n"
        b"2026-11-26 14:50:02,000 ERROR app: redis.exceptions.ConnectionError: Error 111"
        b" connecting to redis:6379. Connection refused.\n"
        b"2026-11-26 14:50:03,000 ERROR app: boom\rredis.exceptions.RedisError: hidden\n"
    )
    code, out, _ = run("test", str(log))
    assert code == 0
    lines = out.splitlines()
    first = lines[lines.index(next(x for x in lines if x.startswith("line 1:"))) + 2]
    assert "Connection refused.<U+000D> FAKE" in first
    assert "<U+001B>]0;pwned<U+0007><U+202E>redis.exceptions" in first
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert "line 3: 2026-11-26 14:50:03,000 ERROR app: boom<U+000D>redis.exceptions" in out
