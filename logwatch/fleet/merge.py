"""Hosts' incidents on one (category, target) -> one fleet incident, and what to announce.

Pure: the PostgreSQL store reads the rows, calls `settle` under the incident's lock and
writes back what it says. Each host contributes its own incident (events, first and last
seen, sources, its own open/resolved state); the fleet incident is open while any live
host's contribution is open. A host whose agent stopped reporting is `lost` once it has
missed its deadline, so a dead host never holds an outage open.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from logwatch.model import Incident, IncidentStatus

ContributionStatus = Literal["open", "resolved", "lost"]
FleetKind = Literal["opened", "updated", "resolved"]
MAX_SAMPLES = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Contribution:
    """One host's part of a fleet incident: its own incident as it last reported it."""

    host: str
    status: ContributionStatus
    incident: Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetState:
    """What the fleet incident's row says before a change is merged."""

    status: IncidentStatus
    announced: bool  # an "opened" was queued for it
    hosts_announced: tuple[str, ...]  # the affected hosts the last notification named


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The fleet incident after the change, and the notification it calls for (if any)."""

    status: IncidentStatus
    hosts: tuple[str, ...]  # hosts that contributed, sorted
    announce: FleetKind | None


def settle(state: FleetState, parts: Sequence[Contribution], *, min_hosts: int) -> Verdict:
    """Open while a live host's contribution is open; announced once `min_hosts` reported."""
    hosts = tuple(sorted({p.host for p in parts}))
    status: IncidentStatus = "open" if any(p.status == "open" for p in parts) else "resolved"
    announce: FleetKind | None = None
    if not state.announced:
        if len(hosts) >= min_hosts or (status == "resolved" and hosts):
            # A batch that opened and resolved at once says "resolved" (agent.collapse).
            announce = "opened" if status == "open" else "resolved"
    elif state.status == "open" and status == "resolved":
        announce = "resolved"
    elif status == "open" and hosts != state.hosts_announced:
        announce = "updated"  # a host joined: the root says how many are affected
    return Verdict(status=status, hosts=hosts, announce=announce)


def merged(
    fleet_id: str,
    parts: Sequence[Contribution],
    *,
    status: IncidentStatus,
    resolved_at: datetime | None,
    reopened: int,
) -> Incident:
    """The fleet incident: the hosts' counts summed, its span the union of theirs."""
    if not parts:
        raise ValueError("a fleet incident has at least one contribution")
    incs = [p.incident for p in sorted(parts, key=lambda p: (p.incident.first_seen, p.host))]
    first = incs[0]
    samples: list[str] = []
    for inc in incs:
        samples += [s for s in inc.samples[:2] if s not in samples]
    return replace(
        first,
        id=fleet_id,
        severity=max(i.severity for i in incs),
        status=status,
        first_seen=min(i.first_seen for i in incs),
        last_seen=max(i.last_seen for i in incs),
        events=sum(i.events for i in incs),
        signatures=_summed(i.signatures for i in incs),
        sources={f"{p.host}:{f}": n for p in parts for f, n in p.incident.sources.items()},
        rules=_summed(i.rules for i in incs),
        samples=tuple(samples[:MAX_SAMPLES]),
        resolved_at=resolved_at if status == "resolved" else None,
        reopened=reopened,
        linked=(),
        outage="",
        active_s=None,
        diagnosis=next((i.diagnosis for i in incs if i.diagnosis), ""),
        recovery=next((i.recovery for i in incs if i.recovery), ""),
        ack=None,
        silence=None,
    )


def _summed(maps: Iterable[object]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for m in maps:
        total.update(dict(m))  # type: ignore[call-overload]
    return dict(total)


def hosts_line(affected: Sequence[str], known: Iterable[str]) -> str:
    """ "3 of 7 app servers: web-1..web-3" (`known`: every host alive in the fleet)."""
    everyone = set(known) | set(affected)
    return f"{len(affected)} of {len(everyone)} app servers: {compress(affected)}"


_NUMBERED = re.compile(r"(.*?)(\d+)")


def compress(names: Iterable[str]) -> str:
    """Runs of numbered names shortened: web-1, web-2, web-3, db -> "db, web-1..web-3"."""
    numbered: dict[str, list[int]] = {}
    plain: list[str] = []
    for name in sorted(set(names)):
        found = _NUMBERED.fullmatch(name)
        if found and not found.group(2).startswith("0"):
            numbered.setdefault(found.group(1), []).append(int(found.group(2)))
        else:
            plain.append(name)
    parts = list(plain)
    for prefix, numbers in numbered.items():
        numbers.sort()
        start = prev = numbers[0]
        for n in [*numbers[1:], None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            if prev - start >= 2:
                parts.append(f"{prefix}{start}..{prefix}{prev}")
            else:
                parts += [f"{prefix}{k}" for k in range(start, prev + 1)]
            if n is not None:
                start = prev = n
    return ", ".join(sorted(parts, key=_order))


def _order(part: str) -> tuple[str, int]:
    found = _NUMBERED.match(part)
    if found:
        return found.group(1), int(found.group(2))
    return part, -1
