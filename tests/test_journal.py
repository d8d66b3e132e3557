"""The journald source: a real journal file written by systemd-journal-remote, read by
journalctl, with a real redis-py outage's output logged line by line by two units."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.cli import main
from logwatch.model import Record
from logwatch.sources.journal import JournalAssembler, JournalEntry, JournalPosition
from logwatch.sources.journalctl import JournalFollower, JournalSpec
from tests.journal_rig import Entry, entries_of, interleave, write_journal
from tests.watch_rig import WatchedAgent

REPO = Path(__file__).resolve().parent.parent
OUTAGE = REPO / "examples" / "outages" / "connection"
APP = (OUTAGE / "app.log").read_text().splitlines()
WORKER = (OUTAGE / "worker.log").read_text().splitlines()
WEB, RQ = "morningai-web.service", "rq-worker@1.service"


def scan_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["scan", "--format", "json", *args], env={})
    assert result.exit_code in (0, 1), result.output
    out: dict[str, object] = json.loads(result.stdout)
    return out


def summary(report: dict[str, object]) -> list[tuple[object, ...]]:
    found = report["incidents"]
    assert isinstance(found, list)
    return [
        (i["category"], i["target"], i["first_seen"], i["last_seen"], i["events"]) for i in found
    ]


@pytest.fixture(scope="module")
def outage_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("journal") / "system.journal"
    write_journal(path, interleave(entries_of(APP, WEB), entries_of(WORKER, RQ)))
    return path


def test_scan_of_the_journal_is_the_scan_of_the_files(outage_journal: Path) -> None:
    files = scan_json(str(OUTAGE / "app.log"), str(OUTAGE / "worker.log"), "--date", "2026-11-26")
    journal = scan_json("--journal", "--journal-file", str(outage_journal))
    assert summary(journal) == summary(files) and summary(files)
    by_file = [i["sources"] for i in files["incidents"]]  # type: ignore[attr-defined]
    by_unit = [i["sources"] for i in journal["incidents"]]  # type: ignore[attr-defined]
    renamed = {
        str(OUTAGE / "app.log"): f"journal/{WEB}",
        str(OUTAGE / "worker.log"): f"journal/{RQ}",
    }
    assert by_unit == [{renamed[k]: v for k, v in s.items()} for s in by_file]


def test_unit_filter_and_since_until(outage_journal: Path) -> None:
    only_rq = scan_json("--journal", "--journal-file", str(outage_journal), "--unit", "rq-worker@*")
    for incident in only_rq["incidents"]:  # type: ignore[attr-defined]
        assert set(incident["sources"]) == {f"journal/{RQ}"}
    later = scan_json(
        "--journal", "--journal-file", str(outage_journal), "--since", "2026-11-26T15:00Z"
    )
    assert later["incidents"] == [] and later["stats"]["records"] == 0  # type: ignore[index]


def test_a_missing_journal_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["scan", "--journal", "--journal-file", str(tmp_path / "none.journal")], env={}
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


# -- the resume point: a crash anywhere neither loses nor repeats a record --------------

T0 = datetime(2026, 11, 26, 14, 50, tzinfo=UTC)


def _entries(lines: list[str], units: list[int]) -> list[JournalEntry]:
    return [
        JournalEntry(cursor=f"c{n}", time=T0 + timedelta(seconds=n), unit=f"u{u}", message=text)
        for n, (text, u) in enumerate(zip(lines, units, strict=False))
    ]


def _run(entries: list[JournalEntry], start: JournalPosition | None = None) -> list[Record]:
    assembler = JournalAssembler(source="j", start=start)
    records = [r for e in entries for r in assembler.feed(e)]
    return records + assembler.flush()


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_a_restart_from_the_position_neither_loses_nor_repeats(data: st.DataObject) -> None:
    lines = APP[:60]
    units = data.draw(st.lists(st.integers(0, 2), min_size=len(lines), max_size=len(lines)))
    entries = _entries(lines, units)
    crash = data.draw(st.integers(0, len(entries)))
    # Killed after `crash` entries: what was emitted so far, and the position it committed.
    first = JournalAssembler(source="j")
    before = [r for e in entries[:crash] for r in first.feed(e)]
    position = first.position()
    # journalctl --after-cursor: the entries after the committed cursor.
    after = entries
    if position.cursor is not None:
        after = entries[[e.cursor for e in entries].index(position.cursor) + 1 :]
    again = _run(after, position)
    key = [(r.source, r.time, r.text) for r in before + again]
    assert sorted(key) == sorted((r.source, r.time, r.text) for r in _run(entries))


def test_position_round_trips_through_a_cursor_row() -> None:
    position = JournalPosition(source="journal:x:*", cursor="s=1;i=2", skip={"a.service": 3})
    row = position.to_cursor()
    assert JournalPosition.from_cursors("journal:x:*", [row]) == position
    assert JournalPosition.from_cursors("journal:y:*", [row]) is None


# -- the agent: watch --journal through a restart ----------------------------------------


@pytest.mark.slow
def test_agent_follows_the_journal_through_a_restart(tmp_path: Path) -> None:
    """Half the outage, a stop (cursor committed), the other half written while stopped,
    a start: one incident with every event once, at the entries' times."""
    journal = tmp_path / "j" / "system.journal"
    journal.parent.mkdir()
    shift = datetime.now(UTC) - T0 - timedelta(minutes=1)
    entries = interleave(entries_of(APP, WEB, shift=shift), entries_of(WORKER, RQ, shift=shift))
    # Stopped between records of every unit: a traceback cut by a long pause is two
    # records in a live agent (it cannot wait forever), in the journal as in a file.
    cut = next(n for n in range(len(entries) // 2, len(entries)) if _between_records(entries, n))
    write_journal(journal, [Entry(datetime.now(UTC), "other.service", "before the agent")])
    agent = WatchedAgent(tmp_path, '[incidents]\nquiet_period = "10m"\n')
    args = ("--journal", "--journal-file", str(journal))
    agent.start(*args)
    try:
        write_journal(journal, entries[:cut])
        agent.wait_until(
            lambda: any(c["type"] == "incident.opened" for c in agent.changes()),
            timeout=30,
            what="incident opened from the journal",
        )
        assert agent.proc is not None
        agent.proc.send_signal(signal.SIGTERM)
        assert agent.proc.wait(timeout=30) == 0
        write_journal(journal, entries[cut:])
        agent.start(*args)
        expected = summary(scan_json("--journal", "--journal-file", str(journal)))
        assert expected

        def counted() -> bool:
            return _stored(agent)[0][4] == expected[0][4]

        try:
            agent.wait_until(counted, timeout=30, what="every event counted")
        except AssertionError:
            raise AssertionError(f"stored {_stored(agent)} expected {expected}") from None
    finally:
        if agent.proc is not None and agent.proc.poll() is None:
            agent.proc.send_signal(signal.SIGTERM)
            agent.proc.wait(timeout=30)
    assert _stored(agent) == expected
    opened = [c for c in agent.changes() if c["type"] == "incident.opened"]
    assert len(opened) == 1 and "before the agent" not in json.dumps(agent.changes())


def _between_records(entries: list[Entry], cut: int) -> bool:
    """Each unit's next entry from `cut` on starts a record (a stamped line)."""
    nexts = {}
    for e in entries[cut:]:
        nexts.setdefault(e.unit, e)
    return all(e.message[:1].isdigit() for e in nexts.values())


def _stored(agent: WatchedAgent) -> list[tuple[object, ...]]:
    result = CliRunner().invoke(
        main, ["incidents", "--state", str(agent.state), "--format", "json"], env={}
    )
    found = json.loads(result.stdout)
    found = found["incidents"] if isinstance(found, dict) else found
    return [
        (i["category"], i["target"], i["first_seen"], i["last_seen"], i["events"])
        for i in sorted(found, key=lambda i: i["first_seen"])
    ]


# -- the live follower: a pause inside a traceback -----------------------------------------


def _fake_journalctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """A `journalctl` on PATH that prints what `script` (Python) prints, then waits."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "journalctl"
    fake.write_text(f"#!{sys.executable}\n{script}\nimport time\ntime.sleep(60)\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def _json_entry(n: int, message: str) -> str:
    micros = int((T0 + timedelta(milliseconds=n)).timestamp() * 1e6)
    fields = {"__CURSOR": f"c{n}", "__REALTIME_TIMESTAMP": str(micros)}
    return json.dumps({**fields, "_SYSTEMD_UNIT": "web.service", "MESSAGE": message})


def test_a_pause_inside_a_traceback_does_not_cut_it_in_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """journald writes a traceback one entry per line; a pause after the frames, longer
    than the record wait, must not make the exception line a record (an event) of its own."""
    lines = [
        "2026-11-26 14:50:00,000 ERROR [app] Exception on /feed [GET]",
        "Traceback (most recent call last):",
        '  File "/app/redis/connection.py", line 369, in connect',
        "    raise ConnectionError(self._error_message(e))",
    ]
    raised = "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379."
    head = "\n".join(_json_entry(n, t) for n, t in enumerate(lines))
    tail = _json_entry(len(lines), raised)
    script = (
        "import sys, time\n"
        f"sys.stdout.write({head!r} + '\\n'); sys.stdout.flush()\n"
        "time.sleep(1.2)\n"  # four times the record wait
        f"sys.stdout.write({tail!r} + '\\n'); sys.stdout.flush()\n"
    )
    _fake_journalctl(tmp_path, monkeypatch, script)
    follower = JournalFollower(JournalSpec(), tz=UTC, max_lines=200, max_bytes=65536)
    follower.start([])
    try:
        records: list[Record] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(raised in r.text for r in records):
            time.sleep(0.1)
            records += [r for batch in follower.take() for r in batch.records]
    finally:
        follower.stop()
    assert [r.text for r in records] == ["\n".join([*lines, raised])]


def test_a_traceback_cut_off_for_good_still_comes_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its exception line never comes (the process died): out after the longer wait."""
    lines = ["2026-11-26 14:50:00,000 ERROR [app] boom", "Traceback (most recent call last):"]
    head = "\n".join(_json_entry(n, t) for n, t in enumerate(lines))
    _fake_journalctl(tmp_path, monkeypatch, f"import sys\nprint({head!r}, flush=True)\n")
    follower = JournalFollower(JournalSpec(), tz=UTC, max_lines=200, max_bytes=65536)
    follower.start([])
    try:
        records: list[Record] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not records:
            time.sleep(0.1)
            records += [r for batch in follower.take() for r in batch.records]
    finally:
        follower.stop()
    assert [r.text for r in records] == ["\n".join(lines)]
