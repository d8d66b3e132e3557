"""The agent's on-call desk: acknowledgements, silences, maintenance, inhibition, reminders.

It runs on the agent's loop and owns no state of its own that matters: silences and acks
are in the state store (written by `logwatch silence`, by the buttons, by this), windows
and inhibition rules in the config. Each incident change is dressed with who acknowledged
it and what silences it; a silenced incident's changes go to the local record only (the
JSON lines, the console) and `logwatch incidents` shows it with who silenced it and why.
When a silence ends while the incident is still open it is notified then, and an
unacknowledged critical incident gets a reminder every `repeat_interval`.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from logwatch.logs import NOTICE
from logwatch.model import Change, Incident, Severity
from logwatch.notify.compose import (
    ACTION_ACK,
    ACTION_SILENCE_1H,
    ACTION_SILENCE_RESOLVED,
    ACTION_UNSILENCE,
)
from logwatch.oncall import Ack, ButtonPress, Silence
from logwatch.oncall_config import OnCallSettings
from logwatch.oncall_store import new_silence_id
from logwatch.store import StateStore

logger = logging.getLogger(__name__)

#: How often silences and acks are read again from the store (another process writes them).
REFRESH_S = 1.0
OnCallState = tuple[Ack | None, Silence | None]


class OnCallDesk:
    """Dresses incident changes with their on-call state and picks their notifiers."""

    def __init__(
        self,
        store: StateStore,
        settings: OnCallSettings,
        *,
        local: Sequence[str],
        remote: Sequence[str],
    ) -> None:
        self._store = store
        self._settings = settings
        self._local = list(local)
        self._remote = list(remote)
        self.presses: queue.Queue[ButtonPress] = queue.Queue()  # from notify/actions.py
        self._silences: list[Silence] = []
        self._acks: dict[str, Ack] = {}
        self._refreshed = float("-inf")
        self._shown: dict[str, OnCallState] = {}  # as last committed, per open incident
        self._reminded: dict[str, datetime] = {}
        # (incident, silence) whose beginning is news for the thread that already exists
        self._announce: set[tuple[str, str]] = set()

    # -- dressing ------------------------------------------------------------------------

    def dress(self, incident: Incident, live: Iterable[Incident], now: datetime) -> Incident:
        """The incident with its acknowledgement and the silence that covers it now."""
        ack = self._acks.get(incident.id) or self._acks.get(incident.thread_key)
        return replace(incident, ack=ack, silence=self._silence_for(incident, live, now))

    def dress_changes(
        self, changes: list[Change], live: list[Incident], now: datetime
    ) -> list[Change]:
        """Every change dressed; what a resolve ends (its silences, its reminders) ends."""
        self._refresh(now, [*live, *(c.incident for c in changes)])
        dressed = []
        for change in changes:
            inc = self.dress(change.incident, live, now)
            if change.kind == "resolved":
                self._shown.pop(inc.id, None)
                self._reminded.pop(inc.id, None)
                self._end_until_resolved(inc, now)
                # Silenced: the all-clear goes out all the same if its opening did.
                if inc.silence is not None and self._store.notified(inc.id, self._remote):
                    inc = replace(inc, silence=None)
            else:
                self._shown[inc.id] = (inc.ack, inc.silence)
                if change.kind == "opened":
                    self._reminded[inc.id] = now
            dressed.append(Change(kind=change.kind, at=change.at, incident=inc))
        return dressed

    def deliver_to(self, change: Change) -> list[str]:
        """The notifiers of a change: local only while silenced (but the news that a
        notified incident is now silenced goes out); reminders remote only."""
        if change.kind == "reminder":
            return list(self._remote)
        silence = change.incident.silence
        if silence is not None:
            key = (change.incident.id, silence.id)
            if change.kind != "updated" or key not in self._announce:
                return list(self._local)
            self._announce.discard(key)
        return [*self._local, *self._remote]

    # -- each loop iteration -------------------------------------------------------------

    def poll(self, live: Callable[[], list[Incident]], now: datetime) -> list[Change]:
        """Button presses, silences that began or ended, acks, reminders: the changes due
        (at most every REFRESH_S but for a press: `live` is called then)."""
        pressed = self._take_presses(now)
        if not pressed and time.monotonic() - self._refreshed < REFRESH_S:
            return []
        open_ = [i for i in live() if i.status == "open"]
        self._refresh(now, open_)
        changes = []
        for inc in open_:
            dressed = self.dress(inc, open_, now)
            state = (dressed.ack, dressed.silence)
            before = self._shown.get(inc.id)
            if before is not None and before != state:
                self._shown[inc.id] = state
                self._say(dressed, before)
                if (
                    dressed.silence is not None
                    and dressed.silence != before[1]
                    and self._store.notified(inc.id, self._remote)
                ):
                    self._announce.add((inc.id, dressed.silence.id))
                changes.append(Change(kind="updated", at=now, incident=dressed))
            elif before is None:
                self._shown[inc.id] = state
            if self._reminder_due(dressed, now):
                self._reminded[inc.id] = now
                changes.append(Change(kind="reminder", at=now, incident=dressed))
        return changes

    def _reminder_due(self, inc: Incident, now: datetime) -> bool:
        interval = self._settings.repeat_interval_s
        if (
            interval <= 0
            or not self._remote
            or inc.severity < Severity.CRITICAL
            or inc.ack is not None
            or inc.silence is not None
        ):
            return False
        last = self._reminded.get(inc.id)
        if last is None:
            last = self._store.last_notified(inc.id, ("opened", "reminder")) or now
            self._reminded[inc.id] = last
        return now - last >= timedelta(seconds=interval)

    def _take_presses(self, now: datetime) -> bool:
        taken = False
        while True:
            try:
                press = self.presses.get_nowait()
            except queue.Empty:
                return taken
            taken = True
            self.press(press, now)

    def press(self, press: ButtonPress, now: datetime) -> None:
        """Record what a button asked for in the store (the next poll notifies it)."""
        who, inc = press.user, press.incident
        if press.action == ACTION_ACK:
            if not self._store.add_ack(inc, Ack(by=who, at=press.at)):
                logger.info("incident already acknowledged id=%s (by %s too)", inc, who)
        elif press.action in (ACTION_SILENCE_1H, ACTION_SILENCE_RESOLVED):
            hour = press.action == ACTION_SILENCE_1H
            silence = Silence(
                id=new_silence_id(),
                by=who,
                reason="from Slack",
                starts=now,
                ends=now + timedelta(hours=1) if hour else None,
                incident=inc,
            )
            self._store.add_silence(silence, now=now)
            until = silence.ends.isoformat() if silence.ends else "resolved"
            logger.info("silence added id=%s by=%s incident=%s until=%s", silence.id, who, inc,
                        until)  # fmt: skip
        elif press.action == ACTION_UNSILENCE:
            ids = [s.id for s in self._store.silences(now=now) if s.incident == inc]
            for ended in self._store.expire_silences(ids, now=now, by=who):
                logger.log(NOTICE, "silence expired id=%s by=%s incident=%s", ended, who, inc)
        else:
            logger.warning("unknown button %r from %s ignored", press.action, who)
        self._refreshed = float("-inf")

    # -- internals -----------------------------------------------------------------------

    def _refresh(self, now: datetime, incidents: Iterable[Incident]) -> None:
        self._silences = self._store.silences(now=now)
        ids = {key for i in incidents for key in (i.id, i.thread_key)}
        self._acks = self._store.acks(sorted(ids))
        self._refreshed = time.monotonic()

    def _silence_for(
        self, inc: Incident, live: Iterable[Incident], now: datetime
    ) -> Silence | None:
        ids = (inc.id, inc.thread_key)
        for silence in self._silences:
            if silence.matches(inc.category, inc.target, ids, now):
                return silence
        for window in self._settings.maintenance:
            if window.covers(inc.category, inc.target) and (s := window.silence_at(now)):
                return s
        for rule in self._settings.inhibit:
            if inc.category not in rule.targets:
                continue
            for other in live:
                if (
                    other.status == "open"
                    and other.id != inc.id
                    and other.target == inc.target
                    and other.category in rule.sources
                ):
                    return Silence(
                        id=f"inhibit:{other.id}",
                        kind="inhibit",
                        by="config",
                        reason=f"{other.category} incident {other.id} is open on {other.target}",
                        starts=other.first_seen,
                        ends=None,
                        incident=inc.id,
                    )
        return None

    def _end_until_resolved(self, inc: Incident, now: datetime) -> None:
        ids = [s.id for s in self._silences if s.ends is None and s.incident in (inc.id,)]
        if ids:
            self._store.expire_silences(ids, now=now, by="resolved")

    def _say(self, inc: Incident, before: OnCallState) -> None:
        if inc.silence is None and before[1] is not None:
            logger.log(NOTICE, "incident unsilenced id=%s (%s over)", inc.id, before[1].id)
        elif inc.silence is not None and inc.silence != before[1]:
            logger.log(NOTICE, "incident %s id=%s", inc.silence.describe(), inc.id)
        if inc.ack is not None and inc.ack != before[0]:
            logger.log(NOTICE, "incident acknowledged id=%s by=%s", inc.id, inc.ack.by)
