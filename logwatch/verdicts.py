"""When the agent asks the prober, and what it does with the answers.

- An incident that opens on the probed Redis waits a bounded moment (`probe_wait`, at
  most 2 s) for the probe's verdict before its change is committed, so the root message,
  the one a phone shows, carries it. A verdict that comes later updates the incident (and
  the root is edited).
- An open incident quiet for `confirmed_quiet` is probed for recovery: when Redis answers,
  it resolves then, without waiting out the whole quiet period. Without a probe the quiet
  period alone resolves it.
- A resolved incident is probed once (unless its recovery was just confirmed), and its
  all-clear waits for that probe the same bounded moment, so it says whether Redis is back.

The prober runs on its own thread (enrich.py); this runs on the agent's loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from logwatch.enrich import Prober
from logwatch.grouping import Grouper
from logwatch.model import Change

#: A recovery probe asked this recently stands for the one a resolve would ask.
RECENT_S = 5.0


class Verdicts:
    """The probe requests of the agent's loop and the findings it applies."""

    def __init__(
        self, prober: Prober, *, wait_s: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._prober = prober
        self._wait_s = wait_s
        self._monotonic = monotonic
        self._waiting: dict[str, float] = {}  # incident id -> deadline of its opening probe
        self._asked_open: set[tuple[str, int]] = set()  # (id, reopened) already probed
        self._asked_recovery: dict[str, datetime] = {}  # id -> last_seen when asked
        self._recovery_sent: dict[str, float] = {}  # id -> monotonic time of the last ask
        self._confirmed: set[str] = set()  # resolved by a confirmed recovery
        self._asked_resolve: set[str] = set()  # resolves probed before their commit

    @property
    def pending(self) -> bool:
        """True while a held change waits for its verdict."""
        return bool(self._waiting)

    def hold(self, held: list[Change]) -> bool:
        """Ask the prober for the incidents the held changes open; True while one of them
        still waits for its verdict (and its wait is not over)."""
        if not self._prober.enabled or self._wait_s <= 0:
            return False
        now = self._monotonic()
        for change in held:
            inc = change.incident
            if change.kind == "resolved":
                self._hold_resolve(change, now)
                continue
            key = (inc.id, inc.reopened)
            if change.kind != "opened" or key in self._asked_open:
                continue
            if self._prober.submit(change):
                self._asked_open.add(key)
                self._waiting[inc.id] = now + self._wait_s
        self._waiting = {i: d for i, d in self._waiting.items() if d > now}
        return bool(self._waiting)

    def _hold_resolve(self, change: Change, now: float) -> None:
        """The all-clear waits for the recovery probe too: it says whether Redis is back."""
        inc = change.incident
        if inc.id in self._confirmed or inc.id in self._asked_resolve:
            return
        asked = self._recovery_sent.get(inc.id)
        if asked is not None and now - asked < RECENT_S:
            return  # a recovery probe just asked answers for this resolve
        if self._prober.submit(change):
            self._asked_resolve.add(inc.id)
            self._waiting[inc.id] = now + self._wait_s

    def take(self, grouper: Grouper) -> list[Change]:
        """Apply the findings that came in: verdicts, recoveries, early resolves."""
        changes: list[Change] = []
        for incident_id, finding, at in self._prober.findings():
            self._waiting.pop(incident_id, None)
            if finding.recovery and grouper.is_open(incident_id):
                resolved = grouper.confirm_recovery(incident_id, finding, at)
                if resolved:
                    self._confirmed.add(incident_id)
                changes += resolved
            else:
                changes += grouper.diagnose(incident_id, finding, at)
        return changes

    def ask_recovery(self, grouper: Grouper, now: datetime) -> None:
        """Probe the open incidents quiet long enough, once per quiet stretch."""
        if not self._prober.enabled:
            return
        for inc in grouper.quiet_open(now):
            if self._asked_recovery.get(inc.id) == inc.last_seen:
                continue
            self._asked_recovery[inc.id] = inc.last_seen
            if self._prober.submit(Change(kind="resolved", at=now, incident=replace(inc))):
                self._recovery_sent[inc.id] = self._monotonic()

    def committed(self, changes: list[Change]) -> None:
        """After a commit: probe what resolved (and any opening not yet probed)."""
        for change in changes:
            inc = change.incident
            if change.kind == "resolved":
                self._asked_recovery.pop(inc.id, None)
                asked = self._recovery_sent.pop(inc.id, None)
                self._asked_open = {k for k in self._asked_open if k[0] != inc.id}
                if inc.id in self._confirmed:
                    self._confirmed.discard(inc.id)  # its recovery was the probe's finding
                    continue
                if asked is not None and self._monotonic() - asked < RECENT_S:
                    continue  # a recovery probe just asked answers for this resolve too
                if inc.id in self._asked_resolve:
                    self._asked_resolve.discard(inc.id)  # probed while it was held
                    continue
                self._prober.submit(change)
            elif (
                change.kind == "opened"
                and (inc.id, inc.reopened) not in self._asked_open
                and self._prober.submit(change)
            ):
                self._asked_open.add((inc.id, inc.reopened))
