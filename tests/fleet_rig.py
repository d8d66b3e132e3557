"""A fleet for the end-to-end tests: several real `logwatch watch` processes (own --host,
own log directory, own sqlite state) against one PostgreSQL and the Slack stand-in, and a
redis-py app writing to every host's log."""

from __future__ import annotations

import contextlib
import glob
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from slack_standin import TOKEN, Recorded, SlackStandin
from watch_rig import WatchedAgent

HERE = Path(__file__).resolve().parent
#: Short timers so a test takes seconds (the defaults are minutes: README, [fleet]).
TIMERS = {
    "quiet_period": "2s",
    "fallback_after": "3s",
    "host_deadline": "5s",
    "lease": "3s",
    "heartbeat": "0.5s",
    "poll": "0.25s",
}


def agent_config(host: str, database_url: str, slack: SlackStandin, **fleet: str) -> str:
    timers = {**TIMERS, **fleet}
    extra = "".join(f'{k} = "{v}"\n' for k, v in timers.items() if k != "quiet_period")
    return (
        "[logwatch]\nprobe = false\nprobe_interval = 0\n"
        f'[incidents]\nquiet_period = "{timers["quiet_period"]}"\n'
        f'[slack]\nchannel = "#alerts"\napi_url = "{slack.api_url}"\ntimeout = "2s"\n'
        f'token = "{TOKEN}"\n'
        f'[fleet]\ndatabase_url = "{database_url}"\nhost = "{host}"\n{extra}'
    )


class Fleet:
    """N agents and the app that writes every host's log."""

    def __init__(self, root: Path, database_url: str, slack: SlackStandin, hosts: list[str],
                 *, offsets: dict[str, float] | None = None, **fleet: str) -> None:  # fmt: skip
        self.root = root
        self.slack = slack
        self.offsets = offsets or {}
        self.agents = {
            h: WatchedAgent(root / h, agent_config(h, database_url, slack, **fleet),
                            prefix=self._prefix(h))
            for h in hosts
        }  # fmt: skip
        self.app: subprocess.Popen[bytes] | None = None
        self.stopped = root / "stopped-logs"
        self.dead: set[str] = set()  # hosts the test killed on purpose
        for agent in self.agents.values():
            agent.config.chmod(0o600)  # it holds the token

    def _prefix(self, host: str) -> list[str]:
        offset = self.offsets.get(host)
        if not offset:
            return []
        # libfaketime preloaded into the agent itself (the `faketime` wrapper would take
        # the SIGTERM meant for it): its wall clock is off, its timers (monotonic) are
        # not, as with a host whose NTP is broken.
        found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
        assert found, "libfaketime is not installed (Debian: apt-get install faketime)"
        return ["env", f"LD_PRELOAD={found[0]}", f"FAKETIME={offset:+.0f}s",
                "FAKETIME_DONT_FAKE_MONOTONIC=1"]  # fmt: skip

    def start(self) -> None:
        for agent in self.agents.values():
            (agent.logs / "app.log").touch()
            agent.start()

    def start_app(self, redis_port: int) -> None:
        logs = [f"{a.logs / 'app.log'}@{self.offsets.get(h, 0)}" for h, a in self.agents.items()]
        cmd = [sys.executable, str(HERE / "fleet_app.py"), "--port", str(redis_port),
               "--stopped", str(self.stopped), *(x for log in logs for x in ("--log", log))]  # fmt: skip
        with open(self.root / "app.err", "wb") as err:
            self.app = subprocess.Popen(cmd, stderr=err)

    def stop_writing(self, host: str) -> None:
        """The host died: its app writes no more."""
        with open(self.stopped, "a") as fh:
            fh.write(f"{self.agents[host].logs / 'app.log'}\n")

    def stop(self) -> None:
        if self.app is not None:
            self.app.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.app.wait(5)
            if self.app.poll() is None:
                self.app.kill()
                self.app.wait(5)
        # SIGTERM to every agent first, then wait: they drain in parallel.
        running = [a for a in self.agents.values() if a.proc is not None and a.proc.poll() is None]
        for agent in running:
            assert agent.proc is not None
            agent.proc.send_signal(signal.SIGTERM)
        codes = {}
        for host, agent in self.agents.items():
            if agent in running:
                assert agent.proc is not None
                with contextlib.suppress(subprocess.TimeoutExpired):
                    codes[host] = agent.proc.wait(10)
                agent.kill()
        # A clean stop: drained, committed, exit 0 (a traceback at shutdown fails the test).
        failed = {h: c for h, c in codes.items() if c != 0}
        assert not failed, f"agents exited {failed}: {self.logs()}"

    def logs(self) -> str:
        return "\n".join(f"--- {h}\n{a.log()[-2500:]}" for h, a in self.agents.items())

    # -- what Slack saw ---------------------------------------------------------------

    def roots(self) -> list[Recorded]:
        return [r for r in self.slack.calls("chat.postMessage") if not r.body.get("thread_ts")]

    def replies(self) -> list[Recorded]:
        return [r for r in self.slack.calls("chat.postMessage") if r.body.get("thread_ts")]

    def root_text(self, ts: str) -> str:
        return str(self.slack.messages[("C123", ts)]["text"])

    def wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            for host, agent in self.agents.items():
                if (
                    agent.proc is not None
                    and agent.proc.poll() is not None
                    and host not in self.dead
                ):
                    raise AssertionError(f"{host} exited: {agent.log()[-2000:]}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {self.summary()}\n{self.logs()}")

    def summary(self) -> str:
        return "\n".join(
            f"{r.api_method} thread={r.body.get('thread_ts')} {str(r.body.get('text'))[:160]}"
            for r in self.slack.requests if r.api_method.startswith("chat.")
        )  # fmt: skip
