"""`logwatch report`: the agent's history from its state store, in the scan's report formats.

The store keeps each incident and every change the agent queued for its notifiers (the
outbox), each with a snapshot of the incident and each notifier's delivery. That gives the
incidents' lifecycles exactly; errors over time are estimated from the snapshots (each
one's new events spread evenly since the one before), and the page says so.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from logwatch.errors import LogwatchError, StateError
from logwatch.history_store import Notified, changes_since, incidents_since, open_read_only
from logwatch.model import Incident
from logwatch.night import Facts, Night, estimate_errors, lifecycles_of, spread, tier_of


def load_history(path: Path, *, since: datetime, now: datetime, quiet_period_s: float) -> Night:
    """The Night of the agent's incidents and changes since `since` (read-only)."""
    if not path.exists():
        raise LogwatchError(f"{path}: no state database (has `logwatch watch` run?)")
    db = open_read_only(path)
    try:
        incidents = incidents_since(db, since)
        notified = changes_since(db, since)
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot read state database: {exc}") from None
    finally:
        db.close()
    return history_night(incidents, notified, since=since, now=now, quiet_period_s=quiet_period_s)


def history_night(
    incidents: list[Incident],
    notified: list[Notified],
    *,
    since: datetime,
    now: datetime,
    quiet_period_s: float,
) -> Night:
    """A Night from stored incidents and outbox rows (pure)."""
    changes = [n.change for n in notified]
    lifecycles = lifecycles_of(incidents, changes)
    snapshots: dict[str, list[Incident]] = {}
    for change in changes:
        snapshots.setdefault(change.incident.id, []).append(change.incident)
    for inc in incidents:
        snapshots.setdefault(inc.id, []).append(inc)
    errors = estimate_errors(lifecycles, snapshots)
    tiers: dict[str, Counter[int]] = {}
    tier_files: dict[str, set[str]] = {}
    for inc in incidents:
        for source, count in inc.sources.items():
            tier = tier_of(source)
            tier_files.setdefault(tier, set()).add(source)
            spread(tiers.setdefault(tier, Counter()), inc.first_seen, inc.last_seen, count)
    times = [since, *(i.first_seen for i in incidents)]
    ends = [*(i.resolved_at or i.last_seen for i in incidents), *(c.at for c in changes)]
    start = min(t for t in times if t is not None) if incidents else since
    end = max([*ends, start + timedelta(seconds=1)]) if incidents else now
    notes: dict[str, list[tuple[datetime, str]]] = {}
    for n in notified:
        line = f"{n.change.kind} " + ", ".join(f"{k}: {v}" for k, v in sorted(n.deliveries.items()))
        notes.setdefault(n.change.incident.id, []).append((n.change.at, line.strip()))
    return Night(
        start=start,
        end=end,
        lifecycles=lifecycles,
        errors=errors,
        tiers=tiers,
        tier_files={t: tuple(sorted(v)) for t, v in tier_files.items()},
        missed=[],
        missed_total=0,
        http5xx={},
        server=[],
        facts=Facts(quiet_period_s=quiet_period_s, origin="agent"),
        estimated=True,
        notified={k: tuple(v) for k, v in notes.items()},
    )


def render_history(
    fmt: str,
    night: Night,
    *,
    tz: tzinfo,
    since: datetime,
    style: Callable[[str, str], str] = lambda text, _role: text,
    compact: bool = False,
) -> str:
    """The history as a table (with sparklines), a markdown post-mortem or an html page."""
    if fmt != "table":
        from logwatch.reporting import render

        return render(fmt, night, tz=tz)
    from logwatch.report import render_table
    from logwatch.sparkline import incident_sparks

    body = render_table(
        night.incidents,
        {},
        tz=tz,
        style=style,
        sparks=incident_sparks(night),
        compact=compact,
    ).split("\n", 1)[1]  # without the scan's summary line
    n = len(night.incidents)
    since_text = since.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    out = [f"{n} incident{'s' if n != 1 else ''} since {since_text}"]
    if not n:
        body = ""
    for inc in night.incidents:
        for when, text in night.notified.get(inc.id, ()):
            out.append(f"  {inc.id} {when.astimezone(tz):%Y-%m-%d %H:%M:%S} {text}")
    return "\n".join(out) + "\n" + body
