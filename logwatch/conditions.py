"""Incidents a check holds open, not log events: an active probe that keeps failing, a log
that stopped writing.

A check reports the conditions it finds true at each look (`Conditions.sync`). A condition
becomes an event of its own (source `probe`, or the silent file) that the grouper files
like any other: under (category, target), so the app's own errors on the same Redis join
the incident a probe opened, and the other way round. While the condition holds, an event
comes at least every `refresh_s` (less than the quiet period), so the incident does not
resolve on its own; once the check no longer finds it, the incident resolves at once,
unless log evidence came after the check's last event (the logs then carry it, and it
resolves after their quiet period as usual). Pure: time and the grouper are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from logwatch.grouping import Grouper
from logwatch.model import Change, Event, Incident, Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckRule:
    """The grouping policy of a check's events (grouping.RulePolicy): one event opens."""

    id: str
    hint: str
    threshold: int = 1
    window_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """Something a check found wrong, as the incident it holds open will show it."""

    key: str  # stable while the same thing is wrong: "probe:connection", "quiet:<path>"
    category: str
    target: str
    rule: str
    severity: Severity
    source: str  # "probe", or the silent file
    signature: str
    text: str


@dataclass(frozen=True, slots=True)
class _Held:
    category: str
    target: str
    source: str
    at: datetime  # time of its last event


class Conditions:
    """The conditions one check holds open, and the events and resolutions they cause."""

    def __init__(
        self, *, refresh_s: float, adopt: Callable[[Incident], str | None] | None = None
    ) -> None:
        self._refresh = timedelta(seconds=refresh_s)
        self._adopt = adopt
        self._adopted = adopt is None
        self._held: dict[str, _Held] = {}
        self._active: dict[str, Condition] = {}  # what the last look found

    @property
    def held(self) -> tuple[str, ...]:
        """Keys of the conditions holding an incident open."""
        return tuple(self._held)

    def sync(
        self, active: Mapping[str, Condition], now: datetime, grouper: Grouper
    ) -> list[Change]:
        """The check found `active` true at `now`: events for the new ones (and those due a
        refresh), resolutions for the ones it no longer finds."""
        self._adopt_open(grouper)
        self._active = dict(active)
        changes: list[Change] = []
        for key, condition in active.items():
            held = self._held.get(key)
            if held is None or now - held.at >= self._refresh:
                changes += grouper.add(_event(condition, now))
                self._held[key] = _Held(condition.category, condition.target, condition.source, now)
        for key in [k for k in self._held if k not in active]:
            changes += self._release(key, now, grouper)
        return changes

    def refresh(self, now: datetime, grouper: Grouper) -> list[Change]:
        """Between two looks of a slow check: keep what it last found open."""
        changes: list[Change] = []
        for key, condition in self._active.items():
            held = self._held.get(key)
            if held is not None and now - held.at >= self._refresh:
                changes += grouper.add(_event(condition, now))
                self._held[key] = _Held(condition.category, condition.target, condition.source, now)
        return changes

    def _release(self, key: str, now: datetime, grouper: Grouper) -> list[Change]:
        held = self._held.pop(key)
        incident = _incident_of(grouper, held)
        if incident is None or incident.last_seen > held.at:
            return []  # resolved meanwhile, or log evidence came later: the logs carry it
        return grouper.resolve(incident.id, now)

    def _adopt_open(self, grouper: Grouper) -> None:
        """After a restart: the open incidents this check held, so that it can resolve them."""
        if self._adopted or self._adopt is None:
            return
        self._adopted = True
        for incident in grouper.incidents():
            if incident.status != "open":
                continue
            key = self._adopt(incident)
            if key is not None and key not in self._held:
                source = next((s for s in incident.sources if s == "probe"), incident.target)
                self._held[key] = _Held(
                    incident.category, incident.target, source, incident.last_seen
                )


def _incident_of(grouper: Grouper, held: _Held) -> Incident | None:
    """The open incident a condition's events went to: under its (category, target), or
    (an unnamed target joins its category's named incident) one of its category that they
    are a source of."""
    open_ = [i for i in grouper.incidents() if i.status == "open" and i.category == held.category]
    exact = [i for i in open_ if i.target == held.target]
    found = exact or [i for i in open_ if held.source in i.sources]
    return found[0] if found else None


def _event(condition: Condition, now: datetime) -> Event:
    return Event(
        time=now,
        source=condition.source,
        line=0,
        rule=condition.rule,
        category=condition.category,
        severity=condition.severity,
        target=condition.target,
        signature=condition.signature,
        text=condition.text,
    )
