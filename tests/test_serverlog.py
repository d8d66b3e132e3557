"""redis-server's own log -> its lifecycle, from real lines (examples/ and redis-server
7.x's own wording), with garbage and chatter left out."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from logwatch.redact import Redactor
from logwatch.serverlog import classify, looks_like_server_log, parse_lines, read_server_events
from tests.report_logs import EXAMPLES


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        pytest.param("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", "start", id="start"),
        pytest.param("Server started, Redis version 3.2.12", "start", id="start-old"),
        pytest.param("Ready to accept connections tcp", "ready", id="ready"),
        pytest.param("Received SIGTERM scheduling shutdown...", "signal", id="sigterm"),
        pytest.param("Received SIGINT scheduling shutdown...", "signal", id="sigint"),
        pytest.param("User requested shutdown...", "shutdown", id="shutdown"),
        pytest.param("Redis is now ready to exit, bye bye...", "shutdown", id="exit"),
        pytest.param("MASTER MODE enabled (user request from 'id=11')", "master", id="master"),
        pytest.param("REPLICAOF 127.0.0.1:38265 enabled (user request from 'id=11')", "replica", id="replicaof"),
        pytest.param("Background saving error", "save-failed", id="bgsave"),
        pytest.param("Write error saving DB on disk: No space left on device", "save-failed", id="enospc"),
        pytest.param("Failed opening the temp RDB file temp-1.rdb (in server root dir /data) for saving: Permission denied", "save-failed", id="eacces"),
        pytest.param("Can't save in background: fork: Cannot allocate memory", "save-failed", id="fork"),
        pytest.param("WARNING: the new maxmemory value set via CONFIG SET (1048576) is smaller than the current memory usage", "oom", id="maxmemory"),
        pytest.param("You requested maxclients of 10000 requiring at least 10032 max file descriptors.", "maxclients", id="maxclients"),
        pytest.param("Loading RDB produced by version 7.0.15", "loading", id="loading"),
        pytest.param("DB loaded from disk: 51.258 seconds", "loading", id="loaded"),
        pytest.param("Background saving started by pid 123", None, id="chatter-save"),
        pytest.param("Fork CoW for RDB: current 1 MB, peak 1 MB, average 1 MB", None, id="chatter-cow"),
        pytest.param("DB saved on disk", None, id="chatter-saved"),
        pytest.param("ROOM booked", None, id="not-oom"),
    ],
)  # fmt: skip
def test_what_redis_server_says_about_itself(message: str, kind: str | None) -> None:
    assert classify(message) == kind


def test_lines_with_their_time_pid_and_role_and_the_signal_handlers_epoch() -> None:
    lines = [
        "8968:M 26 Nov 2026 11:39:12.479 * Ready to accept connections",
        "8968:signal-handler (1795693179) Received SIGTERM scheduling shutdown...",
        "8968:M 26 Nov 2026 11:39:39.740 # User requested shutdown...",
        "8968:M 31 Nov 2026 11:39:39.740 # User requested shutdown...",  # no such day
        "8968:M 26 Xyz 2026 11:39:39.740 # User requested shutdown...",  # no such month
        "garbage \x00 line",
        "",
    ]
    found = list(parse_lines(lines, source="r.log", tz=UTC, redact=Redactor()))
    assert [(e.kind, e.time, e.pid, e.role) for e in found] == [
        ("ready", datetime(2026, 11, 26, 11, 39, 12, 479000, tzinfo=UTC), 8968, "M"),
        ("signal", datetime(2026, 11, 26, 11, 39, 39, tzinfo=UTC), 8968, ""),
        ("shutdown", datetime(2026, 11, 26, 11, 39, 39, 740000, tzinfo=UTC), 8968, "M"),
    ]


def test_naive_stamps_are_in_the_configured_zone() -> None:
    (event,) = parse_lines(
        ["1:M 01 Jul 2026 12:00:00.000 * Ready to accept connections"],
        source="r.log",
        tz=ZoneInfo("Europe/Paris"),
        redact=Redactor(),
    )
    assert event.time == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


def test_a_password_in_a_server_line_is_masked() -> None:
    (event,) = parse_lines(
        ["1:S 01 Jul 2026 12:00:00.000 * REPLICAOF redis://:s3cret-pw@10.0.0.2:6379 enabled"],
        source="r.log",
        tz=UTC,
        redact=Redactor(),
    )
    assert "s3cret-pw" not in event.text


def test_server_logs_are_found_by_content_whatever_their_name(tmp_path: Path) -> None:
    server = (EXAMPLES / "outages" / "connection" / "redis-server.log").read_bytes()
    (tmp_path / "something.log.1.gz").write_bytes(gzip.compress(server))
    (tmp_path / "app.log").write_bytes(
        (EXAMPLES / "outages" / "connection" / "app.log").read_bytes()
    )
    assert looks_like_server_log(server[:4096])
    assert not looks_like_server_log((tmp_path / "app.log").read_bytes()[:4096])
    found = read_server_events(
        [(p, p.name) for p in sorted(tmp_path.iterdir())], tz=UTC, redact=Redactor()
    )
    assert [e.kind for e in found] == ["start", "ready", "start", "ready"]
    assert {e.source for e in found} == {"something.log.1.gz"}


def test_since_and_until_bound_the_lifecycle() -> None:
    path = EXAMPLES / "morningai" / "logs" / "redis-server.log"
    found = read_server_events(
        [(path, "r")],
        tz=UTC,
        redact=Redactor(),
        since=datetime(2026, 11, 26, 11, 39, 0, tzinfo=UTC),
        until=datetime(2026, 11, 26, 11, 39, 30, tzinfo=UTC),
    )
    assert [e.kind for e in found] == ["start", "ready", "oom"]
