"""A push heartbeat: the agent calls a URL every interval while it is healthy.

healthchecks.io, Cronitor and Uptime Kuma alert when the pings stop, which is the only
way to hear of an agent that died (Alertmanager's Watchdog works the same way). When the
agent runs but is in trouble (its state store fails, a notifier fails for good) it calls
the failure URL instead (healthchecks.io's `/fail`; Cronitor's `?state=fail` and Uptime
Kuma's `?status=down` through `fail_url`), with the reason as the body, so the monitor
says why. The URLs carry the check's secret token: they are never logged, only the host.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from logwatch.health import Verdict
from logwatch.watch_settings import HeartbeatSettings

logger = logging.getLogger(__name__)


class Heartbeat:
    """Calls the heartbeat URL (or the failure URL) every interval on its own thread."""

    def __init__(self, settings: HeartbeatSettings, verdict: Callable[[], Verdict]) -> None:
        assert settings.url is not None
        self._url = settings.url
        self._fail_url = settings.fail_url or settings.url.rstrip("/") + "/fail"
        self._interval_s = settings.interval_s
        self._timeout_s = settings.timeout_s
        self._verdict = verdict
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logwatch-heartbeat", daemon=True)
        self._unreachable = False
        self.sent = 0  # pings and failure signals that got an answer

    @property
    def host(self) -> str:
        """Where the pings go, without the token."""
        return urlsplit(self._url).netloc.rsplit("@", 1)[-1]

    def start(self) -> None:
        """First ping now, then every interval."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current request (bounded by its timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._timeout_s + 1)

    def beat(self) -> None:
        """One ping, or one failure signal with the reason."""
        verdict = self._verdict()
        if verdict.level == "down" or verdict.level == "degraded":
            body = verdict.line().encode("utf-8", "replace")[:10000]
            self._send(self._fail_url, body, failing=True)
        else:
            self._send(self._url, None, failing=False)

    def _send(self, url: str, body: bytes | None, *, failing: bool) -> None:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST" if body is not None else "GET",
            headers={"User-Agent": "logwatch-heartbeat", "Content-Type": "text/plain"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as answer:
                answer.read(1024)
        except (OSError, ValueError) as exc:
            if not self._unreachable:  # said once until it answers again
                self._unreachable = True
                reason = str(getattr(exc, "reason", None) or exc)
                if self._url in reason or self._fail_url in reason:
                    reason = type(exc).__name__
                logger.warning("heartbeat to %s failed: %s", self.host, reason)
            return
        if self._unreachable:
            self._unreachable = False
            logger.info("heartbeat to %s answers again", self.host)
        self.sent += 1
        if failing:
            logger.info("heartbeat: failure signalled to %s", self.host)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except Exception:  # a heartbeat must never take the agent down
                logger.exception("heartbeat error")
            self._stop.wait(self._interval_s)
