"""The app side: supervisord (in a private mount namespace) running gunicorn + Django,
uvicorn + FastAPI, django-rq's worker and the beat scheduler; and logrotate.

The namespace exists for one thing: its /etc/hosts is a bind mount of a file this module
owns, so the Redis host name in REDIS_URL can be made to stop resolving for the app alone
(the machine's /etc/hosts is never touched). Its /etc/nsswitch.conf says `hosts: files`,
so no lookup ever leaves the machine for a DNS server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from outage_stack2.server import free_port

APP_SOURCE = Path(__file__).resolve().parent / "app"
REDIS_HOST = "redis-primary.internal"
PROGRAMS = ("web", "api", "rqworker", "beat")


@dataclass(frozen=True)
class Ports:
    """The loopback ports of the stack: two services, a dead one, a closed PostgreSQL."""

    web: int
    api: int
    recommender: int
    postgres: int

    @classmethod
    def pick(cls) -> Ports:
        ports: set[int] = set()
        while len(ports) < 4:
            ports.add(free_port())
        web, api, recommender, postgres = sorted(ports)
        return cls(web, api, recommender, postgres)


class Stack:
    """supervisord and its programs; started by start(), stopped by stop() (idempotent)."""

    def __init__(self, workdir: Path, logs: Path, redis_port: int, password: str) -> None:
        self.workdir = workdir
        self.logs = logs
        self.run = workdir / "run"
        self.run.mkdir(parents=True, exist_ok=True)
        # Short paths in the tracebacks the app writes (and none of this checkout's):
        # the app is copied and the venv linked under the temporary directory.
        self.app = workdir / "app"
        shutil.copytree(APP_SOURCE, self.app, ignore=shutil.ignore_patterns("__pycache__"))
        self.bin = workdir / "venv" / "bin"
        (workdir / "venv").symlink_to(Path(sys.prefix))
        self.ports = Ports.pick()
        self.redis_url = f"redis://:{password}@{REDIS_HOST}:{redis_port}/0"
        self.hosts = self.run / "hosts"
        self.proc: subprocess.Popen[bytes] | None = None
        self.child_pids: dict[str, int] = {}
        self._system_hosts = Path("/etc/hosts").read_text(encoding="utf-8")

    # -- the private /etc/hosts ---------------------------------------------------------

    def resolve_redis_host(self, yes: bool) -> None:
        """Add or drop the Redis host's line, rewriting the file in place (same inode)."""
        text = self._system_hosts.rstrip("\n") + "\n"
        if yes:
            text += f"127.0.0.1\t{REDIS_HOST}\n"
        with open(self.hosts, "r+" if self.hosts.exists() else "w", encoding="utf-8") as fh:
            fh.seek(0)
            fh.write(text)
            fh.truncate()

    # -- supervisord -----------------------------------------------------------------------

    def _program(self, name: str, command: str, **extra: str) -> str:
        keys = {
            "command": command,
            "directory": str(self.app),
            "autorestart": "true",
            "startsecs": "1",
            "startretries": "1000",
            "stopasgroup": "true",
            "killasgroup": "true",
            "stopwaitsecs": "10",
            "stdout_logfile": "NONE",
            "stderr_logfile": "NONE",
            **extra,
        }
        return f"[program:{name}]\n" + "".join(f"{k}={v}\n" for k, v in keys.items())

    def write_config(self) -> Path:
        venv = self.bin
        logs = self.logs
        conf = f"""[supervisord]
nodaemon=true
logfile={logs / "supervisord.log"}
logfile_backups=0
pidfile={self.run / "supervisord.pid"}
childlogdir={self.run}

[unix_http_server]
file={self.run / "supervisor.sock"}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.run / "supervisor.sock"}

"""
        conf += self._program(
            "web",
            f"{venv / 'gunicorn'} --workers 2 --worker-class sync --timeout 30"
            f" --bind 127.0.0.1:{self.ports.web} --error-logfile {logs / 'gunicorn.log'}"
            " webapp.wsgi",
        )
        conf += self._program(
            "api",
            f"{venv / 'uvicorn'} feedapi:app --host 127.0.0.1 --port {self.ports.api}"
            " --no-access-log",
            stderr_logfile=str(logs / "uvicorn.stderr.log"),
            stderr_logfile_backups="0",
        )
        conf += self._program(
            "rqworker",
            f"{venv / 'python'} manage.py rqworker default",
            stderr_logfile=str(logs / "rqworker.stderr.log"),
            stderr_logfile_backups="0",
        )
        conf += self._program(
            "beat",
            f"{venv / 'python'} beat.py",
            stderr_logfile=str(logs / "beat.stderr.log"),
            stderr_logfile_backups="0",
        )
        path = self.run / "supervisord.conf"
        path.write_text(conf, encoding="utf-8")
        return path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOGWATCH_"))}
        env.update(
            REDIS_URL=self.redis_url,
            LOG_DIR=str(self.logs),
            PG_PORT=str(self.ports.postgres),
            RECOMMENDER_URL=f"http://127.0.0.1:{self.ports.recommender}",
            DJANGO_SETTINGS_MODULE="webapp.settings",
            PYTHONPATH=str(self.app),
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
            TZ="UTC",
        )
        return env

    def start(self) -> None:
        """supervisord in a new mount namespace whose hosts/nsswitch files are ours."""
        self.resolve_redis_host(True)
        nsswitch = self.run / "nsswitch.conf"
        nsswitch.write_text("passwd: files\ngroup: files\nhosts: files\n", encoding="utf-8")
        resolv = self.run / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n", encoding="utf-8")
        conf = self.write_config()
        script = (
            'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf'
            ' && mount --bind "$3" /etc/resolv.conf && exec "$4" -n -c "$5"'
        )
        supervisord = str(self.bin / "supervisord")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script,
             "sh", str(self.hosts), str(nsswitch), str(resolv), supervisord, str(conf)],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.run / "supervisord.stderr", "ab"),  # noqa: SIM115
            start_new_session=True,
        )  # fmt: skip

    def ctl(self, *args: str) -> str:
        out = subprocess.run(
            [str(self.bin / "supervisorctl"), "-c", str(self.run / "supervisord.conf"), *args],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return out.stdout

    def wait_running(self, timeout: float = 60.0) -> None:
        """Until every program is RUNNING; remembers their PIDs."""
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"supervisord exited {self.proc.returncode}; see {self.run}")
            status = self.ctl("status")
            running = [ln for ln in status.splitlines() if " RUNNING " in ln]
            if len(running) == len(PROGRAMS):
                self.remember_pids()
                return
            time.sleep(0.2)
        raise RuntimeError(f"supervisord programs not all running in {timeout:g}s:\n{status}")

    def remember_pids(self) -> None:
        """Note the PID of every running program (supervisorctl status)."""
        for line in self.ctl("status").splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[1] == "RUNNING" and parts[2] == "pid":
                pid = int(parts[3].rstrip(","))
                self.child_pids[f"{parts[0]} {pid}"] = pid

    def _ours(self, pid: int) -> bool:
        """Whether `pid` still runs one of our programs (a PID can be reused: the machine
        is shared, so a process is only ever signalled after this check)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return str(self.workdir).encode() in cmdline

    def stop(self) -> None:
        """SIGTERM supervisord (it stops its programs), then make sure each child is gone."""
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            self.remember_pids()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for name, pid in self.child_pids.items():
            if self._ours(pid):
                print(f"  {name} outlived supervisord; killing it", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.proc = None

    # -- logrotate -------------------------------------------------------------------------

    def logrotate(self) -> None:
        """Rotate and compress django.log now, as a daily cron job would (copytruncate)."""
        conf = self.run / "logrotate.conf"
        conf.write_text(
            f"{self.logs / 'django.log'} {{\n  rotate 5\n  compress\n  copytruncate\n"
            "  missingok\n  notifempty\n}\n",
            encoding="utf-8",
        )
        os.chmod(conf, 0o644)
        subprocess.run(
            ["logrotate", "--force", "--state", str(self.run / "logrotate.state"), str(conf)],
            check=True, timeout=60,
        )  # fmt: skip
