"""CommandNotifier (argv hook, timeout, no injection), ConsoleNotifier and JsonlNotifier."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slack_standin import make_notification, no_leaked_threads_fixture  # noqa: F401 (fixture)
from test_agent import append, healthy, refused

from logwatch.notify import Delivered, Failed, Retry, close_notifiers
from logwatch.notify.command import CommandNotifier
from logwatch.notify.console import ConsoleNotifier, JsonlNotifier

pytestmark = pytest.mark.usefixtures("no_leaked_threads")

RECORDER = """
import json, os, sys
out = {"argv": sys.argv[1:], "stdin": json.load(sys.stdin),
       "env": {k: v for k, v in os.environ.items() if k.startswith(("LOGWATCH_", "SLACK_"))}}
with open(os.environ["RECORD_TO"], "w") as f:
    json.dump(out, f)
"""


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def test_command_gets_the_incident_on_stdin_and_env(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    env = {"RECORD_TO": str(record), "SLACK_BOT_TOKEN": "xoxb-not-for-hooks", "PATH": "/usr/bin"}
    hook = CommandNotifier(argv=python(RECORDER, "on"), env=env)

    assert hook.send(make_notification("opened", id=42)) == Delivered()

    seen = json.loads(record.read_text())
    assert seen["argv"] == ["on"]
    assert seen["stdin"]["kind"] == "opened" and seen["stdin"]["notification"] == 42
    assert seen["stdin"]["target"] == "127.0.0.1:6379" and seen["stdin"]["events"] == 2316
    assert seen["env"] == {
        "LOGWATCH_EVENT": "opened",
        "LOGWATCH_INCIDENT_ID": "inc-3f2a9c01d4",
        "LOGWATCH_CATEGORY": "connection",
        "LOGWATCH_SEVERITY": "critical",
        "LOGWATCH_TARGET": "127.0.0.1:6379",
        "LOGWATCH_STATUS": "open",
        "LOGWATCH_NOTIFICATION_ID": "42",
    }  # and never the Slack token


def test_incident_text_cannot_become_arguments_or_shell(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    evil = f"x; touch {tmp_path}/pwned $(touch {tmp_path}/pwned2) `touch {tmp_path}/pwned3`"
    hook = CommandNotifier(argv=python(RECORDER, "--flag"), env={"RECORD_TO": str(record)})

    n = make_notification("opened", target=evil, category=evil, samples=(evil,), id=1)
    assert hook.send(n) == Delivered()

    seen = json.loads(record.read_text())
    assert seen["argv"] == ["--flag"]
    assert seen["env"]["LOGWATCH_TARGET"] == evil and seen["stdin"]["target"] == evil
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_non_zero_exit_retries_then_fails(tmp_path: Path) -> None:
    hook = CommandNotifier(
        argv=python("import sys; print('maintenance API said no', file=sys.stderr); sys.exit(3)"),
        retries=2,
    )
    n = make_notification("opened", id=5)

    first, second, third = hook.send(n), hook.send(n), hook.send(n)

    assert isinstance(first, Retry) and isinstance(second, Retry)
    assert second.after_s > first.after_s
    assert first.reason.endswith("exit status 3: maintenance API said no")
    assert isinstance(third, Failed) and third.reason.endswith("(after 3 runs)")


def test_no_retries_fails_at_once() -> None:
    outcome = CommandNotifier(argv=python("raise SystemExit(1)"), retries=0).send(
        make_notification()
    )
    assert isinstance(outcome, Failed) and "exit status 1" in outcome.reason


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    hook = CommandNotifier(argv=python(code), timeout_s=1.0, retries=1)
    started = time.monotonic()

    outcome = hook.send(make_notification())

    assert isinstance(outcome, Retry) and "timed out after 1s (killed)" in outcome.reason
    assert time.monotonic() - started < 10
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(grandchild):
        time.sleep(0.02)  # bounded poll for the kernel to reap it
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_missing_program_is_failed() -> None:
    outcome = CommandNotifier(argv=["/nonexistent/hook"]).send(make_notification())
    assert outcome == Failed(
        reason="command /nonexistent/hook: cannot run: No such file or directory"
    )


def test_events_filter_skips_the_run(tmp_path: Path) -> None:
    hook = CommandNotifier(argv=["/nonexistent/hook"], events=("opened",))
    assert hook.send(make_notification("updated")) == Delivered()


# -- console and JSON lines -------------------------------------------------------------


def test_console_line_per_change() -> None:
    stream = io.StringIO()
    console = ConsoleNotifier(stream)
    for kind in ("opened", "updated", "resolved"):
        assert console.send(make_notification(kind, target="10.0.0.5:6379\x1b[2J")) == Delivered()
    lines = stream.getvalue().splitlines()
    assert [line.split()[3] for line in lines] == ["OPENED", "UPDATED", "RESOLVED"]
    assert "2,316 events (1,544.0/min)" in lines[0] and "after 1m 30s" in lines[2]
    assert "\x1b" not in stream.getvalue()


def test_jsonl_appends_the_contract_lines(tmp_path: Path) -> None:
    path = tmp_path / "incidents.jsonl"
    path.write_text('{"type": "earlier"}\n')
    first = JsonlNotifier(path)
    try:
        for seq, kind in enumerate(("opened", "updated", "resolved"), start=1):
            assert first.send(make_notification(kind, id=seq)) == Delivered()
            # flushed per line: a reader sees it at once
            assert path.read_text().count("\n") == {"opened": 2, "updated": 3, "resolved": 4}[kind]
    finally:
        close_notifiers([first])
    second = JsonlNotifier(path)  # a restart appends, never truncates
    second.send(make_notification("opened", id=4, reopened=1))
    second.close()

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines] == ["earlier", "incident.opened", "incident.updated",
                                               "incident.resolved", "incident.opened"]  # fmt: skip
    opened = lines[1]
    assert set(opened) == {"type", "at", "incident", "seq"}
    assert [line.get("seq") for line in lines] == [None, 1, 2, 3, 4]
    assert opened["at"] == "2026-03-01T02:56:27+00:00"
    for key in ("id", "category", "target", "severity", "status", "first_seen", "last_seen",
                "events", "signatures", "sources", "samples", "hint"):  # fmt: skip
        assert key in opened["incident"]
    assert lines[3]["incident"]["status"] == "resolved"


def test_jsonl_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    out = JsonlNotifier("-")
    assert out.send(make_notification("opened")) == Delivered()
    out.close()  # leaves stdout open
    line = json.loads(capsys.readouterr().out)
    assert line["type"] == "incident.opened"
    assert not sys.stdout.closed


def test_jsonl_restart_skips_rows_the_file_already_holds(tmp_path: Path) -> None:
    """Killed after writing a line but before marking it sent: the line is not repeated."""
    path = tmp_path / "incidents.jsonl"
    first = JsonlNotifier(path)
    first.send(make_notification("opened", id=7))
    first.close()
    second = JsonlNotifier(path)
    try:
        assert second.send(make_notification("opened", id=7)) == Delivered()  # redelivery
        assert second.send(make_notification("resolved", id=8)) == Delivered()
    finally:
        second.close()
    assert [json.loads(x)["seq"] for x in path.read_text().splitlines()] == [7, 8]


def test_a_hook_that_backgrounds_a_child_and_exits_0_is_delivered_once(tmp_path: Path) -> None:
    """The child keeps the hook's stdout and stderr open: wait for the exit, not for EOF."""
    runs, pids = tmp_path / "runs", tmp_path / "pids"
    script = f'echo run >> "{runs}"; sleep 30 & echo $! >> "{pids}"; exit 0'
    hook = CommandNotifier(argv=["/bin/sh", "-c", script], timeout_s=3.0, retries=1)
    try:
        started = time.monotonic()
        outcomes = [hook.send(make_notification(kind, id=i)) for i, kind in
                    enumerate(["opened", "updated", "updated", "resolved"], 1)]  # fmt: skip
        took = time.monotonic() - started
    finally:
        for pid in pids.read_text().split() if pids.exists() else []:
            _stop(int(pid))  # the test's own children: stopped by PID
    assert outcomes == [Delivered()] * 4, outcomes
    assert runs.read_text().count("run") == 4  # one run per change, no retry
    assert took < 3.0  # none of them waited for its timeout


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.02)


def test_sigterm_of_the_agent_stops_a_running_hook_and_its_children(tmp_path: Path) -> None:
    """A real agent and a real hook script: after SIGTERM nothing of the hook is left."""
    pids = tmp_path / "hook.pids"
    hook = tmp_path / "maint-mode"
    hook.write_text(f'#!/bin/sh\necho $$ >> "{pids}"\nsleep 300 &\necho $! >> "{pids}"\nwait\n')
    hook.chmod(0o700)
    config = tmp_path / "lw.toml"
    config.write_text(f'[command]\nargv = ["{hook}"]\ntimeout = "2m"\n')
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text(healthy())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    cmd = [sys.executable, "-m", "logwatch", "--config", str(config), "-v", "watch", str(logs),
           "--state", str(tmp_path / "state.db"), "--quiet-period", "10m"]  # fmt: skip
    err = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 (closed below)
    agent = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
    err.close()
    started: list[int] = []
    try:
        deadline = time.monotonic() + 20
        while "agent started" not in (tmp_path / "agent.log").read_text():
            assert time.monotonic() < deadline and agent.poll() is None, "agent did not start"
            time.sleep(0.05)
        append(logs / "app.log", refused() * 2)
        deadline = time.monotonic() + 20
        while len(started) < 2:  # the hook and its child are running
            assert time.monotonic() < deadline, (tmp_path / "agent.log").read_text()
            started = [int(p) for p in pids.read_text().split()] if pids.exists() else []
            time.sleep(0.05)

        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=15)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in started):
            time.sleep(0.02)  # bounded: the kernel reaps what was killed
        left = [p for p in started if _alive(p)]
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(timeout=5)
        for pid in started:
            _stop(pid)
    assert left == [], f"hook processes left running: {left}"
    assert agent.returncode == 0
