"""Incidents -> what an operator reads: table, JSON, NDJSON, Markdown. Pure text rendering."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from logwatch.impact import describe, impact_to_json
from logwatch.model import Incident, UndatedEvidence
from logwatch.oncall import ack_to_json, silence_to_json

# Characters a log line can carry that change what a reader sees: terminal controls (ESC,
# CR, backspace), right-to-left overrides and isolates (U+202E makes `6379:redis` read
# backwards), zero-width and line-separator characters.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})


def visible(text: str) -> str:
    """The text with control, bidi and invisible characters shown as escapes (`\\u202e`);
    newlines and tabs stay."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if ch not in "\n\t" and unicodedata.category(ch) in _HIDDEN
        else ch
        for ch in text
    )


def _line(text: str) -> str:
    """A value shown inside one line of a report: visible, its line breaks escaped too."""
    return visible(text).replace("\n", "\\n")


def md_code(text: str) -> str:
    """Markdown inline code that a backtick in the text cannot close early (CommonMark: a
    fence longer than any run of backticks inside, padded when the text starts or ends
    with one)."""
    text = _line(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_fence(lines: Iterable[str]) -> str:
    """A fence for a code block that no line of it can close."""
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _md_cell(text: str) -> str:
    return _line(text).replace("|", "\\|")


def incident_dict(incident: Incident) -> dict[str, Any]:
    """The contract's INCIDENT object (DESIGN.md), plus a few extra keys."""
    return {
        "id": incident.id,
        "category": incident.category,
        "target": incident.target,
        "severity": incident.severity.label,
        "status": incident.status,
        "first_seen": incident.first_seen.isoformat(),
        "last_seen": incident.last_seen.isoformat(),
        "events": incident.events,
        "signatures": dict(incident.signatures),
        "sources": dict(incident.sources),
        "samples": list(incident.samples),
        "hint": incident.hint,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "duration_s": round(incident.duration_s, 3),
        "rules": dict(incident.rules),
        "reopened": incident.reopened,
        "linked": list(incident.linked),
        "diagnosis": incident.diagnosis,
        "jobs": impact_to_json(incident.jobs),
        # Active time (the open stretches, without the gaps between a resolve and a
        # reopen) beside duration_s (first to last event).
        "active_s": round(incident.active_duration_s, 3),
        "outage": incident.outage or incident.id,
        "probed_at": incident.probed_at.isoformat() if incident.probed_at else None,
        "recovery": incident.recovery,
        "acknowledged": ack_to_json(incident.ack),
        "silenced": silence_to_json(incident.silence),
    }


def undated_dict(evidence: UndatedEvidence) -> dict[str, Any]:
    """Matches with no time of their own, as JSON."""
    return {
        "category": evidence.category,
        "rule": evidence.rule,
        "signature": evidence.signature,
        "events": evidence.events,
        "sources": dict(evidence.sources),
        "sample": evidence.sample,
        "incidents": list(evidence.incidents),
    }


def render_json(
    incidents: list[Incident],
    stats: Mapping[str, Any],
    *,
    dating: Mapping[str, str] | None = None,
    undated: Sequence[UndatedEvidence] = (),
) -> str:
    """One JSON object: {"incidents": [...], "stats": {...}}, and for a scan "dating" (how
    each file's records got their time) and "undated" (matches with no time of their own)."""
    body: dict[str, Any] = {"incidents": [incident_dict(i) for i in incidents]}
    body["stats"] = dict(stats)
    if dating is not None:
        body["dating"] = dict(dating)
        body["undated"] = [undated_dict(u) for u in undated]
    return json.dumps(body, indent=2, ensure_ascii=False)


def render_ndjson(incidents: list[Incident]) -> str:
    """One INCIDENT object per line."""
    return "".join(json.dumps(incident_dict(i), ensure_ascii=False) + "\n" for i in incidents)


def format_duration(seconds: float) -> str:
    """`45s`, `7m 40s`, `2h 05m`, `3d 4h`."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def _top(counts: Mapping[str, int], n: int = 3) -> str:
    items = list(counts.items())
    shown = ", ".join(f"{_line(k)} ({v:,})" for k, v in items[:n])
    return shown + (f", +{len(items) - n} more" if len(items) > n else "")


def render_table(
    incidents: list[Incident],
    stats: Mapping[str, Any],
    *,
    tz: tzinfo,
    isolated: int = 0,
    style: Callable[[str, str], str] = lambda text, _role: text,
    dating: Mapping[str, str] | None = None,
    undated: Sequence[UndatedEvidence] = (),
    sparks: Mapping[str, str] | None = None,
    compact: bool = False,
) -> str:
    """The 3 a.m. view: each incident with its span, size, target, sources and what to do;
    then matches with no time of their own, and files not dated by their own stamps.

    `sparks` adds a line per incident of its errors over time (sparkline.incident_sparks);
    `compact` prints each distinct runbook once, after the incidents, instead of under each.
    """
    out: list[str] = []
    runbooks: dict[str, int] = {}
    n = len(incidents)
    mb = stats.get("bytes", 0) / 1e6
    out.append(
        style(f"{n} Redis incident{'s' if n != 1 else ''}", "title")
        + f" in {stats.get('files', 0)} files ({mb:,.1f} MB, {stats.get('lines', 0):,} lines,"
        f" {stats.get('seconds', 0):.1f}s)"
    )
    if not incidents:
        out.append("No Redis errors reached an incident threshold.")
    for inc in incidents:
        out.append("")
        # In a scan, "open" means the logs end before the quiet period has passed.
        status = "OPEN at end of logs" if inc.status == "open" else "resolved"
        out.append(
            style(
                f"{inc.severity.label.upper():8} {_line(inc.category):12} {_line(inc.target)}",
                inc.severity.label,
            )
            + f"   {status}   {_line(inc.id)}"
        )
        end = inc.resolved_at if inc.resolved_at else inc.last_seen
        span = f"{_when(inc.first_seen, tz)} -> {_when(inc.last_seen, tz)}"
        out.append(f"  when:     {span}  ({format_duration(inc.duration_s)})")
        rate = inc.events / max(inc.duration_s, 1.0) * 60
        out.append(
            f"  events:   {inc.events:,}  ({rate:,.1f}/min)"
            + (f", reopened {inc.reopened}x" if inc.reopened else "")
        )
        if sparks and sparks.get(inc.id, "").strip():
            out.append(f"  errors:   |{sparks[inc.id]}|")
        if inc.status == "resolved":
            out.append(f"  resolved: {_when(end, tz)} (after a quiet period)")
        out.append(f"  sources:  {_top(inc.sources)}")
        out.append(f"  rules:    {_top(inc.rules)}")
        if inc.linked:
            out.append(f"  linked:   {', '.join(map(_line, inc.linked))} (same target, same time)")
        if jobs := describe(inc.jobs):
            out.append(f"  jobs:     {_line(jobs)}")
        for sample in inc.samples[: 2 if not compact else 1]:
            out.append(f"  sample:   {_line(sample)}")
        if inc.hint and compact:
            number = runbooks.setdefault(inc.hint.strip(), len(runbooks) + 1)
            out.append(f"  what to do: runbook [{number}] below")
        elif inc.hint:
            out.append("  what to do:")
            out.extend(f"    {visible(line)}" for line in inc.hint.strip().splitlines())
    for hint, number in runbooks.items():
        out.append("")
        lines = hint.splitlines()
        out.append(f"[{number}] {visible(lines[0])}")
        out.extend(f"    {visible(line)}" for line in lines[1:])
    if isolated:
        out.append("")
        out.append(
            f"{isolated:,} matched Redis error{'s' if isolated != 1 else ''} stayed below every"
            " opening threshold (isolated, no incident)."
        )
    out += _undated_lines(undated)
    out += _dating_lines(dating)
    return "\n".join(out) + "\n"


def _undated_lines(undated: Sequence[UndatedEvidence]) -> list[str]:
    if not undated:
        return []
    total = sum(u.events for u in undated)
    out = [
        "",
        f"Undated evidence: {total:,} match{'es' if total != 1 else ''} in files with no"
        " timestamps (not part of any incident):",
    ]
    for u in undated:
        beside = f"  same signature as {', '.join(u.incidents)}" if u.incidents else ""
        out.append(f"  {u.category:12} {u.rule}: {u.events:,} in {_line(_top(u.sources))}{beside}")
        out.append(f"    sample: {_line(u.sample)}")
    return out


def _dating_lines(dating: Mapping[str, str] | None) -> list[str]:
    """Files not dated by their own full stamps: where their dates came from."""
    if not dating:
        return []
    odd = [(name, how) for name, how in dating.items() if how != "own timestamps"]
    if not odd:
        return []
    return ["", "Dates:", *(f"  {_line(name)}: {how}" for name, how in odd)]


def render_markdown(
    incidents: list[Incident],
    stats: Mapping[str, Any],
    *,
    tz: tzinfo,
    isolated: int = 0,
    dating: Mapping[str, str] | None = None,
    undated: Sequence[UndatedEvidence] = (),
) -> str:
    """A post-mortem ready summary: a table of incidents, then one section each."""
    out = [f"# Redis incidents ({len(incidents)})", ""]
    out.append(
        f"Scanned {stats.get('files', 0)} files, {stats.get('lines', 0):,} lines"
        f" in {stats.get('seconds', 0):.1f}s."
    )
    if isolated:
        out.append(f"{isolated:,} isolated Redis errors stayed below the opening thresholds.")
    out.append("")
    if incidents:
        out.append("| severity | category | target | status | first seen | duration | events |")
        out.append("|---|---|---|---|---|---|---|")
        for inc in incidents:
            out.append(
                f"| {inc.severity.label} | {_md_cell(inc.category)}"
                f" | {_md_cell(md_code(inc.target))} | {inc.status} "
                f"| {_when(inc.first_seen, tz)} | {format_duration(inc.duration_s)} "
                f"| {inc.events:,} |"
            )
    for inc in incidents:
        out += ["", f"## {_line(inc.category)} on {md_code(inc.target)} ({_line(inc.id)})", ""]
        out.append(f"- **when**: {_when(inc.first_seen, tz)} to {_when(inc.last_seen, tz)}")
        out.append(f"- **sources**: {_top(inc.sources, 10)}")
        out.append(f"- **rules**: {_top(inc.rules, 10)}")
        if inc.linked:
            out.append(f"- **linked**: {', '.join(map(_line, inc.linked))}")
        if jobs := describe(inc.jobs):
            out.append(f"- **jobs**: {_line(jobs)}")
        if inc.samples:
            samples = [_line(sample) for sample in inc.samples]
            fence = _md_fence(samples)
            out += ["", fence, *samples, fence]
        if inc.hint:
            out += ["", "**What to do**", "", visible(inc.hint.strip())]
    extra = _undated_lines(undated) + _dating_lines(dating)
    if extra:
        out += ["", "## Notes", "", "```", *extra[1:], "```"]
    return "\n".join(out) + "\n"
