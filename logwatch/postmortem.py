"""The night as a Markdown post-mortem draft: summary, timeline, impact, probable cause,
incidents, what the rules missed, action items to fill, facts. Pure text rendering.

The probable cause is read from the incidents' categories and what redis-server's own log
says inside (or just before) each incident: a restart inside a connection outage, a
maxmemory warning before an oom one, a REPLICAOF before readonly errors. It is a draft's
claim, worded as such, with its evidence beside it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, tzinfo

from logwatch.night import MISSED, Lifecycle, Night, span_of
from logwatch.report import format_duration
from logwatch.report_svg import restarts
from logwatch.report_text import md_block, md_cell, md_code
from logwatch.serverlog import KINDS, ServerEvent

LEAD_S = 60.0  # server events this long before an incident still count as its evidence
MAX_MISSED = 20
MAX_SERVER_ROWS = 60
# Each kind's lines are listed up to this many times in the timeline, then counted.
_LISTED = {"start": 50, "restart": 50, "ready": 50, "signal": 50, "shutdown": 50}

_CAUSES = {
    "connection": "Redis refused or dropped connections: it was down, restarting or unreachable.",
    "timeout": "Redis answered too slowly or not at all: stalled, overloaded or unreachable.",
    "auth": "Clients were refused for authentication: the password or ACLs changed.",
    "oom": "Redis reached maxmemory and refused writes.",
    "readonly": "Writes went to a read-only replica.",
    "misconf": "Redis refused writes because background saves failed.",
    "loading": "Redis was loading its dataset and answered LOADING.",
    "max_clients": "Redis reached maxclients and refused new connections.",
}
# Server events that bear on an incident only inside it: a first start is no cause.
_INSIDE = frozenset({"start", "restart", "ready"})
# Which server events support which category's cause.
_EVIDENCE = {
    "connection": {"restart", "ready", "signal", "shutdown"},
    "timeout": {"restart", "signal", "save-failed", "loading"},
    "auth": {"restart"},
    "oom": {"oom"},
    "readonly": {"replica", "master"},
    "misconf": {"save-failed"},
    "loading": {"loading", "start", "restart"},
    "max_clients": {"maxclients"},
}


def _when(moment: datetime | None, tz: tzinfo) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def _kinds(night: Night) -> list[tuple[str, ServerEvent]]:
    again = restarts(night.server)
    return [("restart" if i in again else e.kind, e) for i, e in enumerate(night.server)]


def _meaning(kind: str) -> str:
    return "restarted" if kind == "restart" else KINDS.get(kind, kind)


def render_postmortem(night: Night, *, tz: tzinfo) -> str:
    """The post-mortem draft."""
    out = [
        f"# Post-mortem draft: {_when(night.start, tz)} to {_when(night.end, tz)}",
        "",
        "> Drafted by logwatch from the logs. Every time is the logs' own; check the"
        " probable cause against what you know, fill the action items, then share.",
        "",
    ]
    out += _summary(night, tz)
    out += _timeline(night, tz)
    out += _impact(night, tz)
    out += _cause(night, tz)
    out += _incidents(night, tz)
    out += _missed(night, tz)
    out += _actions(night)
    out += _facts(night, tz)
    return "\n".join(out).rstrip() + "\n"


def _summary(night: Night, tz: tzinfo) -> list[str]:
    out = ["## Summary", ""]
    lcs = night.lifecycles
    if not lcs:
        out.append("No Redis error reached an incident threshold.")
    else:
        spans = [span_of(lc, night.end) for lc in lcs]
        first, last = min(a for a, _ in spans), max(b for _, b in spans)
        cats = Counter(lc.incident.category for lc in lcs)
        worst = max(lcs, key=lambda lc: lc.incident.events).incident
        out.append(
            f"- **{len(lcs)} incident{'s' if len(lcs) != 1 else ''}**"
            f" ({', '.join(f'{c} x{n}' if n > 1 else c for c, n in cats.items())}),"
            f" from {_when(first, tz)} to {_when(last, tz)}"
            f" ({format_duration((last - first).total_seconds())}, outages"
            f" {format_duration(_union_s(spans))} of it)."
        )
        out.append(
            f"- **Largest**: {worst.category} on {md_code(worst.target)}, {worst.events:,}"
            f" events over {format_duration(worst.duration_s)} ({worst.id})."
        )
        still = [lc.incident.id for lc in lcs if lc.incident.status == "open"]
        if still:
            out.append(f"- **Still open** at the end of the logs: {', '.join(still)}.")
    kinds = Counter(k for k, _ in _kinds(night))
    if kinds:
        said = ", ".join(f"{_meaning(k)} x{n}" for k, n in kinds.items())
        out.append(f"- **redis-server's log**: {said}.")
    gaps = [g for g in night.missed if g.gap]
    out.append(
        f"- **Not matched by any rule**: {night.missed_total:,} error-looking records in"
        f" {len(night.missed):,} signatures"
        + (f", {len(gaps)} clustering inside an outage (likely rule gaps)." if gaps else ".")
    )
    return [*out, ""]


def _union_s(spans: list[tuple[datetime, datetime]]) -> float:
    total = 0.0
    end: datetime | None = None
    for a, b in sorted(spans):
        if end is None or a > end:
            total += (b - a).total_seconds()
            end = b
        elif b > end:
            total += (b - end).total_seconds()
            end = b
    return total


def _timeline(night: Night, tz: tzinfo) -> list[str]:
    rows: list[tuple[datetime, int, str, str]] = []
    for tier, counts in night.tiers.items():
        if counts:
            first = min(counts)
            when = datetime.fromtimestamp(first, night.start.tzinfo)
            rows.append(
                (
                    when,
                    0,
                    f"first error in **{md_cell(tier)}**",
                    f"{sum(counts.values()):,} error records in all",
                )
            )
    ids = {lc.incident.id: n for n, lc in enumerate(night.lifecycles, 1)}
    for lc in night.lifecycles:
        inc = lc.incident
        label = f"#{ids[inc.id]} {md_cell(inc.category)} on {md_code(inc.target)}"
        rows.append(
            (lc.opened[0], 1, f"{label} **opened**", f"{inc.id}, {inc.events:,} events in all")
        )
        for t in lc.reopens:
            rows.append(
                (t, 1, f"{label} **reopened**", "errors came back within the reopen window")
            )
        for t in lc.resolved:
            rows.append(
                (
                    t,
                    2,
                    f"{label} **resolved**",
                    f"after {format_duration(night.facts.quiet_period_s)} without errors",
                )
            )
    listed: Counter[str] = Counter()
    totals = Counter(k for k, _ in _kinds(night))
    for kind, e in _kinds(night):
        listed[kind] += 1
        limit = _LISTED.get(kind, 3)
        if listed[kind] > limit:
            continue
        extra = f" (1 of {totals[kind]:,})" if totals[kind] > limit else ""
        rows.append((e.time, 3, f"redis-server: {_meaning(kind)}{extra}", md_code(e.text)))
    for g in night.missed:
        if g.gap and g.peak is not None:
            rows.append(
                (g.peak, 4, "unmatched errors cluster", f"{g.inside:,}x {md_code(g.signature)}")
            )
    rows.sort(key=lambda r: (r[0], r[1]))
    if not rows:
        return ["## Timeline", "", "Nothing to put on a timeline: no error, no server event.", ""]
    out = ["## Timeline", "", "| time | what | details |", "|---|---|---|"]
    out += [
        f"| {_when(t, tz)} | {what} | {details} |"
        for t, _, what, details in rows[: MAX_SERVER_ROWS * 4]
    ]
    return [*out, ""]


def _impact(night: Night, tz: tzinfo) -> list[str]:
    out = [
        "## Impact",
        "",
        "| tier | error records | first | last | HTTP 5xx |",
        "|---|---:|---|---|---|",
    ]
    for tier in sorted(set(night.tiers) | set(night.tier_files)):
        counts = night.tiers.get(tier, Counter())
        first = datetime.fromtimestamp(min(counts), night.start.tzinfo) if counts else None
        last = datetime.fromtimestamp(max(counts), night.start.tzinfo) if counts else None
        http = night.http5xx.get(tier, Counter())
        codes = ", ".join(f"{c}: {n:,}" for c, n in sorted(http.items())) or "—"
        out.append(
            f"| {md_cell(tier)} | {sum(counts.values()):,} | {_when(first, tz)}"
            f" | {_when(last, tz)} | {codes} |"
        )
    total5 = sum(sum(c.values()) for c in night.http5xx.values())
    out.append("")
    out.append(
        f"HTTP 5xx responses in the access logs (gunicorn, uvicorn) in the window: {total5:,}."
        if total5
        else "No HTTP 5xx response in the access logs scanned (or no access log among them)."
    )
    return [*out, ""]


def evidence(lc: Lifecycle, night: Night) -> list[tuple[str, ServerEvent]]:
    """What redis-server said during an incident that bears on its category; what comes
    before a failure (a signal, a maxmemory warning, a REPLICAOF) counts from LEAD_S before."""
    a, b = span_of(lc, night.end)
    lead = a - timedelta(seconds=LEAD_S)
    wanted = _EVIDENCE.get(lc.incident.category, set())
    return [
        (k, e)
        for k, e in _kinds(night)
        if k in wanted and (a if k in _INSIDE else lead) <= e.time <= b
    ]


def _cause(night: Night, tz: tzinfo) -> list[str]:
    out = ["## Probable cause", ""]
    if not night.lifecycles:
        return [*out, "No incident: nothing to explain.", ""]
    for n, lc in enumerate(night.lifecycles, 1):
        inc = lc.incident
        cause = _CAUSES.get(inc.category, f"Errors of category {inc.category}.")
        found = evidence(lc, night)
        out.append(f"- **#{n} {md_cell(inc.category)}** on {md_code(inc.target)}: {cause}")
        if found:
            seen = Counter(k for k, _ in found)
            firsts: dict[str, ServerEvent] = {}
            for k, e in found:
                firsts.setdefault(k, e)
            for k, e in firsts.items():
                more = f" (x{seen[k]})" if seen[k] > 1 else ""
                out.append(
                    f"  - redis-server {_meaning(k)}{more} at {_when(e.time, tz)}:"
                    f" {md_code(e.text)}"
                )
            if "restart" in seen and "signal" not in seen and "shutdown" not in seen:
                out.append(
                    "  - It started again with no shutdown line before: the previous server"
                    " was killed (SIGKILL, the OOM killer) or crashed; check `dmesg` and the"
                    " service manager."
                )
        elif night.server:
            out.append(
                "  - redis-server's log says nothing about it at that time: look at the"
                " network and the clients."
            )
        else:
            out.append(
                "  - No redis-server log among the files: add it to the scan to see what"
                " the server said."
            )
        if inc.diagnosis:
            out.append(f"  - The live probe said: {md_cell(inc.diagnosis)}")
    categories = [c for c in night.errors if c != MISSED]
    if len(set(categories)) > 1:
        out.append("")
        out.append(
            f"Several categories ({', '.join(sorted(set(categories)))}): read the first"
            " incident's cause first; later ones are often its consequences."
        )
    return [*out, ""]


def _incidents(night: Night, tz: tzinfo) -> list[str]:
    out: list[str] = []
    for n, lc in enumerate(night.lifecycles, 1):
        inc = lc.incident
        a, b = span_of(lc, night.end)
        out += ["", f"## #{n} {md_cell(inc.category)} on {md_code(inc.target)} ({inc.id})", ""]
        out.append(
            f"- **when**: {_when(a, tz)} to {_when(b, tz)}"
            f" ({format_duration(inc.duration_s)}), {inc.status}"
        )
        out.append(
            f"- **events**: {inc.events:,}"
            + (f", reopened {inc.reopened}x" if inc.reopened else "")
        )
        out.append(
            f"- **sources**: {', '.join(f'{md_cell(s)} ({c:,})' for s, c in inc.sources.items())}"
        )
        out.append(
            f"- **rules**: {', '.join(f'{md_cell(r)} ({c:,})' for r, c in inc.rules.items())}"
        )
        if inc.linked:
            out.append(f"- **linked**: {', '.join(inc.linked)}")
        if inc.diagnosis:
            out.append(f"- **probe**: {md_cell(inc.diagnosis)}")
        for when, text in night.notified.get(inc.id, ()):
            out.append(f"- **notified** {_when(when, tz)}: {md_cell(text)}")
        sigs = list(inc.signatures.items())[:5]
        if sigs:
            out.append("- **signatures**: " + "; ".join(f"{md_code(s)} ({c:,})" for s, c in sigs))
        if inc.samples:
            out += ["", *md_block([line for s in inc.samples[:3] for line in s.splitlines()])]
        if inc.hint.strip():
            out += ["", "**What to do**", "", *md_block(inc.hint.strip().splitlines())]
    return [*out, ""] if out else []


def _missed(night: Night, tz: tzinfo) -> list[str]:
    out = ["## What the rules missed", ""]
    if not night.missed:
        return [*out, "No error-looking record went unmatched.", ""]
    out.append(
        f"{night.missed_total:,} error-looking records no rule matched (top"
        f" {min(MAX_MISSED, len(night.missed))} of {len(night.missed):,} signatures):"
    )
    out += ["", "| records | signature | first | last | in an outage |", "|---:|---|---|---|---:|"]
    for g in night.missed[:MAX_MISSED]:
        flag = " **likely rule gap**" if g.gap else ""
        out.append(
            f"| {g.count:,} | {md_code(g.signature)}{flag} | {_when(g.first, tz)}"
            f" | {_when(g.last, tz)} | {g.inside:,} |"
        )
    return [*out, ""]


def _actions(night: Night) -> list[str]:
    out = ["## Action items", "", "| action | owner | due |", "|---|---|---|"]
    out.append("| Root cause confirmed: _(what, and how we know)_ | | |")
    out.append("| Prevent it: _(config, capacity, deploy change)_ | | |")
    out.append("| Detect it sooner: _(alert, probe, threshold)_ | | |")
    for g in night.missed:
        if g.gap:
            out.append(
                f"| Add a rule for {md_code(g.signature)}"
                f" (seen {g.inside:,}x inside an outage) | | |"
            )
    return [*out, ""]


def _facts(night: Night, tz: tzinfo) -> list[str]:
    f = night.facts
    out = ["## Facts", ""]
    if f.origin == "agent":
        out.append(
            f"- from the agent's state store; time range {_when(night.start, tz)}"
            f" to {_when(night.end, tz)}"
        )
    else:
        out.append(
            f"- scanned {f.files:,} files, {f.bytes:,} bytes, {f.lines:,} lines"
            f" in {f.seconds:.1f} s"
            f" ({f.path} path); {f.events:,} matched events, {f.isolated:,} below every threshold"
        )
    out.append(f"- quiet period before an incident resolves: {format_duration(f.quiet_period_s)}")
    odd = {k: v for k, v in f.dating.items() if v != "own timestamps"}
    for name, how in odd.items():
        out.append(f"- dated: {md_code(name)}: {md_cell(how)}")
    for warning in f.warnings:
        out.append(f"- warning: {md_cell(warning)}")
    for u in f.undated:
        beside = f" (same signature as {', '.join(u.incidents)})" if u.incidents else ""
        out.append(
            f"- undated evidence: {u.events:,} {md_cell(u.category)} matches,"
            f" {md_code(u.sample)}{beside}"
        )
    return [*out, ""]
