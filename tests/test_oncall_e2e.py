"""On call, end to end: the real `logwatch watch` process against the Slack stand-in.

One test per promise of issue 13, each reading what the stand-in received: the root's
push text with the probe's verdict, the resolved edit and its broadcast, an early resolve
on a confirmed recovery, two causes in one thread (and an inhibition), a button press
through Socket Mode (slack-sdk's real SocketModeClient against the stand-in's WebSocket
server), a silence that suppresses then expires, a maintenance window, a reminder, the
start-up checks and the default log, `routes test` and `watch --dry-run`.

Every agent is stopped by its handle; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_standin import APP_TOKEN, Recorded
from test_agent import append, healthy, refused, stamp
from test_slack_e2e import REPO, SlackAgent, TimedStandin, roots, slack_env, updates
from test_slack_e2e import timed_slack_fixture as slack_fixture  # noqa: F401 (fixture)

from logwatch.notify.textview import message_text

pytestmark = pytest.mark.slow

TARGET = "10.0.0.5:6379"


def timeouts(target: str = TARGET) -> str:
    """A redis-py read timeout of the same outage (category timeout)."""
    return (
        f"{stamp()} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3/site-packages/redis/connection.py", line 544, in read_response\n'
        f"redis.exceptions.TimeoutError: Timeout reading from {target}\n"
    )


def refused_on(target: str) -> str:
    """redis-py's refused connection to `target` (host:port)."""
    host, port = target.rsplit(":", 1)
    return refused(int(port)).replace("10.0.0.5", host)


class OnCallAgent(SlackAgent):
    """SlackAgent with a config file (a main option, before `watch`)."""

    def __init__(self, *args: Any, config: Path | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.config = config

    def start(self, *extra: str, ready: str = "") -> None:
        """Start; wait for `ready` in its log (default: SlackAgent's startup lines)."""
        main = ["--config", str(self.config)] if self.config else []
        cmd = [sys.executable, "-m", "logwatch", *main, *([self.verbose] if self.verbose else []),
               "watch", str(self.logs), "--state", str(self.state), "--jsonl", str(self.jsonl),
               "--quiet-period", self.quiet, *self.args, *extra]  # fmt: skip
        self.starts += 1
        with open(self.root / f"agent-{self.starts}.log", "wb") as stderr:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr,
                                         env=self.env)  # fmt: skip
        words = (ready,) if ready else ("following", "watching", "does not exist yet")
        self.wait_until(lambda: any(w in self.log() for w in words), timeout=30, what="startup")


@pytest.fixture
def oncall_agent(tmp_path: Path, slack: TimedStandin) -> Iterator[Callable[..., OnCallAgent]]:
    """Factory of agents notifying the stand-in; `config` is TOML text; killed at teardown."""
    made: list[OnCallAgent] = []

    def make(*args: str, config: str = "", env: dict[str, str] | None = None,
             **kw: Any) -> OnCallAgent:  # fmt: skip
        logs = tmp_path / "morningai" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        path = None
        if config:
            path = tmp_path / "logwatch.toml"
            path.write_text(config)
        full = slack_env(slack)
        full.update(env or {})
        agent = OnCallAgent(tmp_path, logs, full, *args, config=path, **kw)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.kill()


def wait(slack: TimedStandin, agent: OnCallAgent, ready: Callable[[list[Recorded]], bool],
         timeout: float, what: str) -> None:  # fmt: skip
    """Wait (bounded) for the stand-in's requests to satisfy `ready`, the agent alive."""
    deadline = time.monotonic() + timeout
    while not slack.wait_for(ready, timeout=0.2):
        assert agent.alive(), f"agent exited: {agent.log()[-2000:]}"
        if time.monotonic() > deadline:
            shown = "\n".join(f"{r.api_method} {str(r.body.get('text', ''))[:150]}"
                              for r in slack.requests)  # fmt: skip
            raise AssertionError(f"timed out waiting for {what}\n{shown}\n{agent.log()[-3000:]}")


def texts(r: Recorded) -> str:
    """A request's message as it reads in Slack."""
    return message_text({"text": r.body.get("text", ""), "blocks": r.body.get("blocks") or []})


def replies(requests: list[Recorded]) -> list[Recorded]:
    return [r for r in requests if r.api_method == "chat.postMessage" and "thread_ts" in r.body]


def cli(
    *args: str, env: dict[str, str], config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    main = ["--config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "logwatch", *main, *args], capture_output=True,
                          text=True, timeout=60, env=env)  # fmt: skip


# -- 1. messages that read right on a phone ---------------------------------------------------


def test_the_root_waits_for_the_probe_and_its_push_is_one_sentence_with_the_verdict(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent], refused_port: int
) -> None:
    target = f"127.0.0.1:{refused_port}"  # nothing listens: the probe finds it refused
    a = oncall_agent(quiet="30s", env={"REDIS_URL": f"redis://{target}/0"})
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused_on(target) + refused_on(target))
    wait(slack, a, lambda rs: bool(roots(rs)), 20, "the root")
    assert a.stop() == 0

    [root] = roots(slack.requests)
    push = root.body["text"]
    # One sentence: severity, what, which Redis, how many files, the probe's verdict.
    assert push == (
        f"\N{LARGE RED CIRCLE} CRITICAL: Redis connection errors on {target} (1 file on"
        f" {os.uname().nodename}). Probe: confirmed: connection refused."
    ), push
    assert "UTC" not in push  # no timestamps in the push
    blocks = json.dumps(root.body["blocks"])
    assert "Severity" not in blocks and "New incident" not in blocks  # no repeats of the header
    assert '"actions"' not in blocks  # no app token: no buttons
    assert not replies(slack.requests)  # the verdict is in the root, not in a reply


def test_a_reopened_incident_never_shows_the_old_recovery(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent], redis_server: Callable[..., Any]
) -> None:
    server = redis_server()
    target = f"127.0.0.1:{server.port}"  # Redis answers: a resolve's probe confirms recovery
    a = oncall_agent(quiet="2s", env={"REDIS_URL": f"redis://{target}/0"})
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused_on(target) * 2)
    wait(slack, a, lambda rs: any("recovery confirmed" in texts(r) for r in updates(rs)), 20,
         "the recovery in the resolved root")  # fmt: skip
    wait(slack, a, lambda rs: any("recovery confirmed" in texts(r) for r in replies(rs)), 5,
         "the recovery in the thread")  # fmt: skip
    seen = len(slack.requests)
    append(log, refused_on(target) * 2)  # the outage comes back within the reopen window
    wait(slack, a, lambda rs: any("Reopened" in texts(r) for r in replies(rs[seen:])), 20,
         "the reopen")  # fmt: skip
    wait(slack, a, lambda rs: any("REOPENED" in texts(r) for r in updates(rs[seen:])), 5,
         "the root edited to the reopened state")  # fmt: skip
    assert a.stop() == 0

    after = slack.requests[seen:]
    assert after, "nothing after the reopen"
    for r in after:
        assert "recovery confirmed" not in texts(r), texts(r)  # nothing stale
    [resolved_edit] = [r for r in updates(slack.requests[:seen]) if "RESOLVED" in texts(r)][-1:]
    assert "What to do" not in texts(resolved_edit)  # no runbook in the all-clear


# -- 2. the all-clear reaches people ---------------------------------------------------------


def test_the_all_clear_is_an_edit_and_a_broadcast_and_a_confirmed_recovery_resolves_early(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent], redis_server: Callable[..., Any]
) -> None:
    server = redis_server()
    target = f"127.0.0.1:{server.port}"
    # A 60 s quiet period, but the probe confirms recovery after 5 s of quiet (with 2 s, a
    # loaded machine's opening verdict, which the root waits up to 2 s for, came after the
    # recovery: the incident opened and resolved in one batch, one "RESOLVED" root).
    a = oncall_agent(quiet="60s", env={"REDIS_URL": f"redis://{target}/0"},
                     config='[incidents]\nconfirmed_quiet = "5s"\n')  # fmt: skip
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused_on(target) * 2)
    written = time.monotonic()
    wait(slack, a, lambda rs: any("RESOLVED" in texts(r) for r in updates(rs)), 30, "the resolve")
    resolved_after = time.monotonic() - written
    wait(slack, a, lambda rs: any(r.body.get("reply_broadcast") for r in replies(rs)), 5,
         "the broadcast all-clear")  # fmt: skip
    assert a.stop() == 0

    assert resolved_after < 30, resolved_after  # not the 60 s quiet period
    [edit] = [r for r in updates(slack.requests) if "RESOLVED" in texts(r)]
    shown = texts(edit)
    assert "recovery confirmed: Redis answers PING" in shown and "What to do" not in shown
    assert "active" in shown and "2 errors in total" in shown
    [allclear] = [r for r in replies(slack.requests) if r.body.get("reply_broadcast")]
    assert "RESOLVED" in allclear.body["text"] and "recovery confirmed" in allclear.body["text"]
    last = a.changes()[-1]
    assert last["type"] == "incident.resolved"
    assert "active_s" in last["incident"] and "duration_s" in last["incident"]


def test_active_time_counts_the_open_stretches_not_the_gap_between_them(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent]
) -> None:
    a = oncall_agent(quiet="1500ms")
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() * 2)
    a.wait_until(lambda: a.kinds().count("incident.resolved") == 1, what="first resolve")
    append(log, refused() * 2)  # reopens, after a healthy gap of > 1.5 s
    a.wait_until(lambda: a.kinds().count("incident.resolved") == 2, what="second resolve")
    assert a.stop() == 0

    inc = a.changes()[-1]["incident"]
    assert inc["reopened"] == 1
    assert inc["duration_s"] >= 1.5  # the span holds the gap
    assert inc["active_s"] < inc["duration_s"] - 1.0  # the active time does not


# -- 3. one outage, one thread ---------------------------------------------------------------


def test_two_causes_of_one_outage_share_one_thread_and_the_root_lists_both(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent]
) -> None:
    a = oncall_agent(quiet="30s")
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() * 2)
    wait(slack, a, lambda rs: bool(roots(rs)), 15, "the root")
    append(log, timeouts() * 3)
    wait(slack, a, lambda rs: bool(replies(rs)), 15, "the timeouts in the thread")
    wait(slack, a, lambda rs: any("then timeouts" in texts(r) for r in updates(rs)), 5,
         "the root listing both causes")  # fmt: skip
    assert a.stop() == 0

    assert len(roots(slack.requests)) == 1  # one root for the outage
    ts = slack.accepted_roots()[0]["ts"]
    [reply] = replies(slack.requests)
    assert reply.body["thread_ts"] == ts and "Also timeouts" in texts(reply)
    edit = [r for r in updates(slack.requests) if r.body["ts"] == ts][-1]
    assert "Redis connection errors, then timeouts on 10.0.0.5:6379" in edit.body["text"]
    opened = [c["incident"] for c in a.changes() if c["type"] == "incident.opened"]
    assert [i["category"] for i in opened] == ["connection", "timeout"]
    assert opened[1]["outage"] == opened[0]["id"]


def test_an_inhibition_rule_keeps_the_hidden_category_out_of_slack(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent]
) -> None:
    config = '[[inhibit]]\nsource = "connection"\ntarget = ["timeout"]\n'
    a = oncall_agent(quiet="30s", config=config)
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() * 2)
    wait(slack, a, lambda rs: bool(roots(rs)), 15, "the root")
    append(log, timeouts() * 3)
    a.wait_until(lambda: a.kinds().count("incident.opened") == 2, what="the timeout incident")
    # Not in Slack: a reply would come within a delivery pass (< 2 s); give it 3.
    assert not slack.wait_for(lambda rs: bool(replies(rs)), timeout=3.0)
    assert a.stop() == 0

    hidden = a.changes()[-1]["incident"]
    assert hidden["category"] == "timeout" and hidden["silenced"]["kind"] == "inhibit"


# -- 4. acknowledge and silence from Slack ---------------------------------------------------


def test_a_button_press_through_socket_mode_acknowledges_and_the_root_says_who(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent]
) -> None:
    a = oncall_agent(quiet="30s", env={"SLACK_APP_TOKEN": APP_TOKEN})
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    assert slack.wait_socket(timeout=20), a.log()
    append(log, refused() * 2)
    wait(slack, a, lambda rs: bool(roots(rs)), 15, "the root")
    [root] = roots(slack.requests)
    buttons = [b for b in root.body["blocks"] if b["type"] == "actions"]
    assert buttons, root.body["blocks"]
    labels = [e["text"]["text"] for e in buttons[0]["elements"]]
    assert labels == ["Acknowledge", "Silence 1 h", "Silence until resolved"]
    ack = buttons[0]["elements"][0]
    envelope = slack.press(ack["action_id"], ack["value"], user="U0ALICE")
    assert slack.wait_acked(envelope, timeout=5), "the envelope was not acknowledged"
    wait(slack, a, lambda rs: any("Acknowledged by <@U0ALICE>" in str(r.body.get("blocks"))
                                  for r in updates(rs)), 10, "the root saying who")  # fmt: skip
    silence = next(e for e in buttons[0]["elements"] if e["text"]["text"] == "Silence 1 h")
    envelope = slack.press(silence["action_id"], silence["value"], user="U0BOB")
    assert slack.wait_acked(envelope, timeout=5)
    wait(slack, a, lambda rs: any("Silenced by <@U0BOB>" in str(r.body.get("blocks"))
                                  for r in updates(rs)), 10, "the root saying silenced")  # fmt: skip
    assert a.stop() == 0

    edit = [r for r in updates(slack.requests) if "Silenced by" in str(r.body["blocks"])][-1]
    labels = [e["text"]["text"] for b in edit.body["blocks"] if b["type"] == "actions"
              for e in b["elements"]]  # fmt: skip
    assert labels == ["Unsilence"]  # acknowledged and silenced: what is left to press
    shown = cli("incidents", "--state", str(a.state), env=a.env)
    assert "acknowledged by U0ALICE" in shown.stdout and "silenced" in shown.stdout
    # The app-level token is a secret like the bot token: never in a log or a message.
    assert APP_TOKEN not in a.all_logs() + shown.stdout
    assert not [b for b in slack.bodies() if APP_TOKEN in b]


# -- 5. silences and maintenance windows -----------------------------------------------------


def test_a_silence_suppresses_an_outage_then_expires_and_it_is_notified_then(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent]
) -> None:
    a = oncall_agent(quiet="60s")
    # 20 s: the agent's start, the incident and three CLI runs fit in it on a loaded machine.
    added = cli("silence", "add", "--target", TARGET, "--for", "20s", "--reason", "resize",
                "--by", "alice", "--state", str(a.state), env=a.env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.split(":")[0]
    listed = cli("silence", "list", "--state", str(a.state), env=a.env)
    assert silence_id in listed.stdout and "resize" in listed.stdout
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() * 2)
    a.wait_until(lambda: "incident.opened" in a.kinds(), what="the incident, recorded")
    shown = cli("incidents", "--state", str(a.state), env=a.env)
    assert f"silenced ({silence_id}) by alice: resize" in shown.stdout, shown.stdout
    assert not slack.calls("chat.postMessage")  # nothing reached Slack while silenced
    wait(slack, a, lambda rs: bool(roots(rs)), 40, "the root once the silence is over")
    assert a.stop() == 0

    [root] = roots(slack.requests)
    assert TARGET in root.body["text"] and "CRITICAL" in root.body["text"]
    assert "incident unsilenced" in a.log()  # said at the default verbosity too


def test_silence_expire_ends_a_silence_and_refuses_an_unknown_id(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
    env["PYTHONPATH"] = str(REPO)
    state = str(tmp_path / "state.db")
    added = cli("silence", "add", "--category", "oom", "--for", "2h", "--reason", "resize",
                "--state", state, env=env)  # fmt: skip
    silence_id = added.stdout.split(":")[0]
    assert cli("silence", "expire", silence_id, "--state", state, env=env).stdout.strip() == (
        f"{silence_id}: expired"
    )
    assert silence_id not in cli("silence", "list", "--state", state, env=env).stdout
    unknown = cli("silence", "expire", "sil-nope", "--state", state, env=env)
    assert unknown.returncode == 2 and "no silence 'sil-nope'" in unknown.stderr
    bad = cli("silence", "add", "--category", "oom", "--for", "soon", "--reason", "x",
              "--state", state, env=env)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_maintenance_window_keeps_an_outage_out_of_slack(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent]
) -> None:
    now = datetime.now(UTC)
    config = (
        '[[maintenance]]\nname = "redis-migration"\nreason = "moving Redis"\n'
        f'start = "{(now - timedelta(hours=1)).isoformat()}"\n'
        f'end = "{(now + timedelta(hours=1)).isoformat()}"\ntarget = "{TARGET}"\n'
    )
    a = oncall_agent(quiet="3s", config=config)  # 3 s: opened, then resolved, under load too
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() * 2 + refused(7001) * 2)  # one in the window, one outside it
    a.wait_until(lambda: a.kinds().count("incident.resolved") == 2, what="both resolved")
    wait(slack, a, lambda rs: bool(updates(rs)), 10, "the other incident's resolve")
    assert a.stop() == 0

    assert {r.body.get("text", "").split(" on ")[-1][:14] for r in roots(slack.requests)} == {
        "10.0.0.5:7001 "
    } or all("7001" in r.body["text"] for r in roots(slack.requests))
    assert not any(TARGET in r.body.get("text", "") for r in slack.requests)
    kept = [c["incident"] for c in a.changes() if c["incident"]["target"] == TARGET]
    assert kept and kept[0]["silenced"]["id"] == "maint:redis-migration"


# -- 6. reminders ----------------------------------------------------------------------------


def test_an_unacknowledged_critical_incident_is_reminded_with_the_routes_mention(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent]
) -> None:
    config = (
        '[incidents]\nrepeat_interval = "2s"\n'
        '[slack]\nroutes = [{ severity = "critical", mention = "here" }]\n'
    )
    a = oncall_agent(quiet="60s", config=config)
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start()
    append(log, refused() * 2)
    wait(slack, a, lambda rs: len(replies(rs)) >= 2, 20, "two reminders")
    assert a.stop() == 0

    [root] = roots(slack.requests)
    assert root.body["text"].startswith("<!here> ")
    for reminder in replies(slack.requests)[:2]:
        assert reminder.body["text"].startswith("<!here> Still open and not acknowledged")
        assert reminder.body["thread_ts"] == slack.accepted_roots()[0]["ts"]
    assert "incident.reminder" not in a.kinds()  # Slack's business, not the JSON record's


# -- 7. start-up checks, logs, routes test, dry run ------------------------------------------


@pytest.mark.parametrize(
    ("channel", "not_member", "said"),
    [
        pytest.param("#no-such-channel", False, "slack: channel #no-such-channel not found",
                     id="unknown-channel"),
        pytest.param("#alerts", True, "slack: the bot is not in #alerts (C123)", id="not-member"),
        pytest.param("#alerts", False, "slack: ok as bot logwatch in workspace Standin", id="ok"),
    ],
)  # fmt: skip
def test_start_up_check_says_what_is_wrong_once_and_the_default_log_has_each_change(
    slack: TimedStandin, oncall_agent: Callable[..., OnCallAgent], channel: str,
    not_member: bool, said: str,
) -> None:  # fmt: skip
    if not_member:
        slack.not_member.add("C123")
    a = oncall_agent(quiet="1500ms", verbose="", env={"LOGWATCH_SLACK_CHANNEL": channel})
    log = a.logs / "app.log"
    log.write_text(healthy())
    a.start(ready="slack: ")  # the check's line, before any outage
    lines = [line for line in a.log().splitlines() if "slack: " in line]
    assert len(lines) == 1 and said in lines[0], lines
    assert ("WARNING" in lines[0]) == (said != "slack: ok as bot logwatch in workspace Standin")
    append(log, refused() * 2)
    a.wait_until(lambda: "incident resolved" in a.log(), what="the resolve, in the default log")
    assert a.alive() and a.stop() == 0

    default_log = a.log()
    assert default_log.count("incident opened id=") == 1
    assert default_log.count("incident resolved id=") == 1
    assert "notification sent" not in default_log  # INFO: only with -v


def test_routes_test_names_the_route_channel_and_mention(tmp_path: Path) -> None:
    config = tmp_path / "logwatch.toml"
    config.write_text(
        '[slack]\nchannel = "#alerts"\nroutes = [\n'
        '  { severity = "critical", channel = "#ops-alerts", mention = "here" },\n'
        '  { category = "oom", channel = "#db", broadcast = false },\n]\n'
        '[[inhibit]]\nsource = "connection"\ntarget = ["oom"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-1-2-x", PYTHONPATH=str(REPO))
    critical = cli("routes", "test", "--category", "oom", "--severity", "critical", env=env,
                   config=config)  # fmt: skip
    assert critical.returncode == 0, critical.stderr
    assert (
        "slack: route 1 of [slack] routes: channel #ops-alerts, mention <!here>" in critical.stdout
    )
    assert "inhibited (not notified) while a connection incident is open" in critical.stdout
    error = cli("routes", "test", "--category", "oom", "--severity", "error", env=env,
                config=config)  # fmt: skip
    assert "route 2 of [slack] routes: channel #db, mention none; all-clear in the thread only" in (
        error.stdout
    )
    bad = cli("routes", "test", "--category", "oom", "--severity", "dire", env=env, config=config)
    assert bad.returncode == 2 and "unknown severity" in bad.stderr


def test_dry_run_prints_each_message_as_it_would_read_in_slack(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text(healthy())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-1-2-x", LOGWATCH_SLACK_CHANNEL="#alerts",
               PYTHONPATH=str(REPO))  # fmt: skip
    out = tmp_path / "out.txt"
    with open(out, "w") as stdout, open(tmp_path / "err.txt", "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "logwatch", "-v", "watch", str(logs), "--state",
             str(tmp_path / "s.db"), "--quiet-period", "1500ms", "--dry-run"],
            stdout=stdout, stderr=stderr, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "agent started" not in (tmp_path / "err.txt").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, "no start"
            time.sleep(0.05)
        append(log, refused() * 2)
        while "reply in its thread (also sent to the channel)" not in out.read_text():
            assert proc.poll() is None, (tmp_path / "err.txt").read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = out.read_text()
    assert "#alerts: new message" in text
    assert "push: \N{LARGE RED CIRCLE} CRITICAL: Redis connection errors on 10.0.0.5:6379" in text
    assert "<!date" not in text and "&lt;" not in text  # rendered, not raw markup
    assert "#alerts: the first message, edited" in text and "RESOLVED" in text
    assert not [r for r in text.splitlines() if r.startswith("{")]  # not JSON, not one line
