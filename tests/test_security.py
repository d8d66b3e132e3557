"""Security pass: what logwatch creates is private, secrets in config files are warned about,
hooks cannot be injected, a runaway user rule cannot stall the agent, symlinks cannot lead
it out of a log directory, and a log line cannot ping a Slack channel."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_standin import SlackStandin, make_notification, slack_fixture  # noqa: F401 (fixture)
from test_agent import healthy, refused

from logwatch.config import build_config
from logwatch.errors import ConfigError
from logwatch.notify import Delivered
from logwatch.notify.command import CommandNotifier
from logwatch.notify.compose import render_message, render_reply
from logwatch.notify.console import JsonlNotifier
from logwatch.notify.slack import SlackNotifier
from logwatch.sources.history import expand_paths

REPO = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-1111-2222-standinSECRETtoken"


def logwatch(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    for key in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "REDIS_URL", "LOGWATCH_SLACK_CHANNEL"):
        if env is None or key not in env:
            full.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "logwatch", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: what a file gets when logwatch does not care
    try:
        yield
    finally:
        os.umask(old)


# -- files logwatch creates ------------------------------------------------------------


def test_every_file_the_agent_creates_is_private(tmp_path: Path, umask_022: None) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text(healthy())
    state = tmp_path / "new-dir" / "state.db"
    jsonl = tmp_path / "changes.jsonl"
    err = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "-v", "watch", str(logs), "--state", str(state),
         "--jsonl", str(jsonl), "--quiet-period", "1s"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=err,
    )  # fmt: skip
    err.close()
    try:
        deadline = time.monotonic() + 15
        while "following" not in _read(tmp_path / "agent.log") and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(logs / "app.log", "a") as fh:
            fh.write(refused() * 3)
        while '"incident.resolved"' not in _read(jsonl) and time.monotonic() < deadline:
            time.sleep(0.05)
        created = [*state.parent.iterdir(), jsonl]
        assert {p.name for p in created} >= {"state.db", "state.db-wal", "changes.jsonl"}
        assert '"incident.resolved"' in _read(jsonl)
        for path in created:
            assert os.stat(path).st_mode & 0o077 == 0, path
        assert stat.S_IMODE(os.stat(state.parent).st_mode) == 0o700
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_jsonl_file_is_created_private(tmp_path: Path, umask_022: None) -> None:
    """Found by this pass: --jsonl files were created 644 (they hold log excerpts)."""
    notifier = JsonlNotifier(tmp_path / "changes.jsonl")
    try:
        assert notifier.send(make_notification("opened", id=1)) == Delivered()
    finally:
        notifier.close()
    assert stat.S_IMODE(os.stat(tmp_path / "changes.jsonl").st_mode) == 0o600


def test_existing_jsonl_file_keeps_the_mode_its_owner_chose(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "changes.jsonl"
    path.write_text("")
    os.chmod(path, 0o640)  # e.g. readable by a log shipper's group
    JsonlNotifier(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_scan_output_file_is_created_private(tmp_path: Path, umask_022: None) -> None:
    """Found by this pass: `scan --output` wrote its report 644."""
    (tmp_path / "app.log").write_text(refused() * 3)
    done = logwatch("scan", "app.log", "--output", "report.md", "--format", "markdown",
                    "--exit-zero", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "report.md").st_mode) == 0o600
    assert "10.0.0.5:6379" in (tmp_path / "report.md").read_text()


# -- secrets in config files -----------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o604], ids=["world-readable", "world-readable-only"])
def test_world_readable_config_with_a_token_gets_a_warning(tmp_path: Path, mode: int) -> None:
    config = tmp_path / "logwatch.toml"
    config.write_text(f'[slack]\nchannel = "#alerts"\ntoken = "{TOKEN}"\n')
    os.chmod(config, mode)
    done = logwatch("--config", str(config), "check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "readable by every user: chmod 600 it" in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_private_config_with_a_token_gets_no_warning(tmp_path: Path) -> None:
    config = tmp_path / "logwatch.toml"
    config.write_text(f'[slack]\nchannel = "#alerts"\ntoken = "{TOKEN}"\n')
    os.chmod(config, 0o600)
    done = logwatch("--config", str(config), "check", cwd=tmp_path)
    assert done.returncode == 0 and "readable by every user" not in done.stderr


def test_world_readable_token_file_gets_a_warning(tmp_path: Path) -> None:
    (tmp_path / "slack-token").write_text(TOKEN + "\n")
    os.chmod(tmp_path / "slack-token", 0o644)
    config = tmp_path / "logwatch.toml"
    config.write_text('[slack]\nchannel = "#alerts"\ntoken_file = "slack-token"\n')
    os.chmod(config, 0o644)  # holds no secret itself: fine
    done = logwatch("--config", str(config), "check", cwd=tmp_path)
    assert "slack-token ([slack] token_file) and is readable by every user" in done.stderr
    assert "logwatch.toml holds" not in done.stderr and TOKEN not in done.stderr


# -- command hooks ---------------------------------------------------------------------

RECORDER = """
import json, os, sys
with open(os.environ["RECORD_TO"], "w") as f:
    json.dump({"argv": sys.argv[1:], "stdin": json.load(sys.stdin),
               "token": os.environ.get("SLACK_BOT_TOKEN")}, f)
"""


def test_hook_gets_log_text_as_data_never_as_arguments_or_shell(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    evil = (
        f"--output=/etc/passwd -rf; touch {tmp_path}/a && touch {tmp_path}/b | "
        f"$(touch {tmp_path}/c) `touch {tmp_path}/d` ${{IFS}}'\"\n--x"
    )
    hook = CommandNotifier(
        argv=[sys.executable, "-c", RECORDER, "{target}", "$LOGWATCH_TARGET", "%s"],
        env={"RECORD_TO": str(record), "SLACK_BOT_TOKEN": TOKEN, "PATH": os.defpath},
    )
    n = make_notification("opened", target=evil, samples=(evil,), hint=evil, id=3)
    assert hook.send(n) == Delivered()
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["{target}", "$LOGWATCH_TARGET", "%s"]  # argv as configured, verbatim
    assert seen["stdin"]["target"] == evil  # the text arrives as JSON data
    assert seen["token"] is None  # the Slack token is withheld from hooks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]  # no shell ran


def test_hook_runs_without_a_shell() -> None:
    hook = CommandNotifier(argv=["echo hello; true"], retries=0)  # one word, not a command line
    outcome = hook.send(make_notification("opened", id=4))
    assert not isinstance(outcome, Delivered)
    assert "cannot run" in getattr(outcome, "reason", "")


def test_hook_that_hangs_is_killed_at_its_timeout(tmp_path: Path) -> None:
    hook = CommandNotifier(
        argv=[sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=0.5, retries=0
    )
    started = time.monotonic()
    outcome = hook.send(make_notification("opened", id=5))
    assert time.monotonic() - started < 5
    assert "timed out after 0.5s (killed)" in getattr(outcome, "reason", "")


# -- a runaway user rule ---------------------------------------------------------------

EVIL_RULE = """
[[rule]]
id = "evil-backtracking"
category = "connection"
severity = "error"
threshold = 1
window_s = 60
patterns = ['''(a|aa)+$''']
hint = "never matches in time"
"""


def test_catastrophic_user_rule_is_stopped_logged_once_and_the_agent_keeps_its_latency(
    tmp_path: Path,
) -> None:
    (tmp_path / "evil.toml").write_text(EVIL_RULE)
    config = tmp_path / "logwatch.toml"
    config.write_text('[logwatch]\nrules = ["evil.toml"]\nmatch_timeout = "100ms"\nprobe = false\n')
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text(healthy())
    jsonl = tmp_path / "changes.jsonl"
    err = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "--config", str(config), "-v", "watch", str(logs),
         "--state", str(tmp_path / "state.db"), "--jsonl", str(jsonl), "--quiet-period", "20s"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=err,
    )  # fmt: skip
    # A quiet period the test outlasts never: with 1 s, a loaded machine read the burst over
    # a second late, and the incident opened and resolved in one batch ("resolved" alone).
    err.close()
    try:
        deadline = time.monotonic() + 15
        while "following" not in _read(tmp_path / "agent.log") and time.monotonic() < deadline:
            time.sleep(0.05)
        # `(a|aa)+$` backtracks exponentially on a run of a's that is not at the end.
        hostile = "".join(f"{healthy()[:-1]} {'a' * 40}!\n" for _ in range(5))
        with open(log, "a") as fh:
            fh.write(hostile)
        time.sleep(0.2)
        started = time.monotonic()
        with open(log, "a") as fh:
            fh.write(refused(7001) * 2)
        deadline = started + 20
        while '"incident.opened"' not in _read(jsonl) and time.monotonic() < deadline:
            time.sleep(0.02)
        latency = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    opened = [json.loads(x) for x in _read(jsonl).splitlines() if "incident.opened" in x]
    assert [o["incident"]["target"] for o in opened] == ["10.0.0.5:7001"]
    # Each hostile record costs at most the timeout (0.5 s for the five); without one, `(a|aa)+$`
    # on 40 a's runs for hours. The bound leaves room for a loaded machine.
    assert latency < 5.0, latency
    stderr = _read(tmp_path / "agent.log")
    assert stderr.count("rule evil-backtracking: match timed out after 0.1s; skipped") == 1
    assert proc.returncode == 0


# -- symlinks --------------------------------------------------------------------------


@pytest.fixture
def linked_dir(tmp_path: Path) -> Path:
    """logs/ with a real log, a symlink to a file outside, one to a directory outside, and
    one to a file inside (rotation tools and deploys make those)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.log").write_text(refused(9999) * 3)
    (outside / "other.log").write_text(refused(9998) * 3)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text(refused(6379) * 3)
    (logs / "stolen.log").symlink_to(outside / "secret.log")
    (logs / "elsewhere").symlink_to(outside, target_is_directory=True)
    (logs / "current.log").symlink_to(logs / "app.log")
    return logs


def test_scan_does_not_follow_symlinks_out_of_the_directory(linked_dir: Path) -> None:
    files = {p.name for f in expand_paths([str(linked_dir)]) for p in f.files}
    assert "stolen.log" not in files and "secret.log" not in files
    assert "app.log" in files  # current.log -> app.log is inside: the same file, read once
    files = {p.name for f in expand_paths([f"{linked_dir}/*.log"]) for p in f.files}
    assert "stolen.log" not in files


def test_scan_follows_symlinks_when_configured(linked_dir: Path) -> None:
    families = expand_paths([str(linked_dir)], follow_symlinks=True)
    files = {p.name for f in families for p in f.files}
    assert {"stolen.log", "other.log"} <= files  # secret.log is stolen.log, read once


def test_follow_symlinks_is_a_boolean_config_key() -> None:
    assert build_config({}, {}, source="t").follow_symlinks is False
    cfg = build_config({"logwatch": {"follow_symlinks": True}}, {}, source="t")
    assert cfg.follow_symlinks is True
    with pytest.raises(ConfigError, match=r"\[logwatch\] follow_symlinks: expected true or false"):
        build_config({"logwatch": {"follow_symlinks": "yes"}}, {}, source="t")


def test_scan_cli_reports_only_what_is_inside(linked_dir: Path, tmp_path: Path) -> None:
    done = logwatch("scan", str(linked_dir), "--format", "json", cwd=tmp_path)
    targets = {i["target"] for i in json.loads(done.stdout)["incidents"]}
    assert targets == {"10.0.0.5:6379"}, done.stderr
    assert "symlink out of" in done.stderr and "not followed" in done.stderr


@pytest.mark.slow
def test_agent_does_not_follow_symlinks_out_of_the_directory(
    linked_dir: Path, tmp_path: Path
) -> None:
    jsonl = tmp_path / "changes.jsonl"
    err = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "-v", "watch", str(linked_dir), "--from-start",
         "--state", str(tmp_path / "state.db"), "--jsonl", str(jsonl), "--quiet-period", "1s"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=err,
    )  # fmt: skip
    err.close()
    try:
        deadline = time.monotonic() + 15
        while '"incident.resolved"' not in _read(jsonl) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)  # one rescan more: it must not pick the outside file up either
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    changes = [json.loads(x) for x in _read(jsonl).splitlines()]
    assert {c["incident"]["target"] for c in changes} == {"10.0.0.5:6379"}
    log = _read(tmp_path / "agent.log")
    assert "stolen.log" not in log.replace("stolen.log: symlink out of", "")
    assert "secret.log" not in log


# -- Slack content ---------------------------------------------------------------------

INJECTIONS = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<!subteam^S0123|oncall>",
    "<@U0123ABC>",
    "<#C0123|general>",
    "<https://evil.example/login|Click to re-authenticate>",
    "<mailto:x@evil.example|mail>",
]


# Slack markup a log line must never produce (logwatch's own `<!date^...>` is fine).
FORBIDDEN = ("<!channel", "<!here", "<!everyone", "<!subteam", "<@", "<#", "<http", "<mailto")


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def test_log_text_cannot_inject_mentions_or_links_into_slack(
    slack: SlackStandin,
) -> None:
    line = "redis.exceptions.ConnectionError: " + " ".join(INJECTIONS)
    notifier = SlackNotifier(token=TOKEN, channel="#alerts", api_url=slack.api_url, timeout_s=5)
    n = make_notification(
        "opened",
        id=9,
        samples=(line,),
        target="<!channel>:6379",
        signatures={line: 3},
        sources={"<!here>.log": 3},
        diagnosis="<!everyone> " + line,
    )
    assert isinstance(notifier.send(n), Delivered)
    (post,) = slack.calls("chat.postMessage")
    texts = list(_strings(post.body.get("text"))) + list(_strings(post.body.get("blocks")))
    joined = "\n".join(texts)
    for injected in INJECTIONS:
        assert injected not in joined, injected
    assert not any(bad in joined for bad in FORBIDDEN)
    assert "&lt;!channel&gt;" in joined  # shown to the reader, not obeyed


@pytest.mark.parametrize("kind", ["opened", "updated", "resolved"])
def test_every_message_kind_escapes_log_text(kind: str) -> None:
    n = make_notification(kind, id=1, samples=(" ".join(INJECTIONS),), diagnosis="<!channel>")
    for message in (render_message(n), render_reply(n)):
        joined = "\n".join([message.text, *_strings(list(message.blocks))])
        assert not any(bad in joined for bad in FORBIDDEN), joined
