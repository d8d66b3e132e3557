"""Incident changes -> Slack Block Kit blocks plus a plain-text fallback. Pure: no I/O.

Everything that came from a log line is escaped for Slack's mrkdwn (`&`, `<`, `>`), so a
line holding `<!channel>` or `<https://evil|click>` is shown, never obeyed; its control,
bidi and invisible characters are shown as escapes (a U+202E cannot make a target read
backwards); a backtick cannot close the inline code around a target; and it is clipped
to Slack's limits so a huge traceback cannot get the message rejected (`msg_too_long`,
`invalid_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from logwatch.impact import describe
from logwatch.model import Incident, Severity
from logwatch.notify import Notification
from logwatch.report import format_duration, visible

# Slack's documented limits (api.slack.com/reference/block-kit/blocks).
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
TEXT_MAX = 4000  # chat.postMessage truncates `text` beyond 40,000; 4,000 reads well
SAMPLE_MAX = 700  # per sample line: two of them stay readable on a phone
SAMPLES_SHOWN = 2

EMOJI = {
    Severity.CRITICAL: "\N{LARGE RED CIRCLE}",
    Severity.ERROR: "\N{LARGE ORANGE CIRCLE}",
    Severity.WARNING: "\N{LARGE YELLOW CIRCLE}",
    Severity.INFO: "\N{LARGE BLUE CIRCLE}",
}
RESOLVED = "\N{WHITE HEAVY CHECK MARK}"
REOPENED = "\N{ANTICLOCKWISE DOWNWARDS AND UPWARDS OPEN CIRCLE ARROWS}"
UPDATE = "\N{CLOCKWISE RIGHTWARDS AND LEFTWARDS OPEN CIRCLE ARROWS}"
TEST = "\N{TEST TUBE}"
PROBE = "\N{STETHOSCOPE}"
JOBS = "\N{PACKAGE}"

Block = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A Slack message: the plain-text fallback (also what notifications show) and blocks."""

    text: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where incidents of some severities and categories go; None matches any."""

    severities: frozenset[Severity] | None = None
    categories: frozenset[str] | None = None
    channel: str | None = None  # None keeps the default channel
    mention: str = ""  # `<!here>`, `<!channel>`, `<!subteam^S123>`, `<@U123>`; trusted config

    def matches(self, incident: Incident) -> bool:
        """True when the incident's severity and category are both covered."""
        return (self.severities is None or incident.severity in self.severities) and (
            self.categories is None or incident.category in self.categories
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """The channel and mention chosen for an incident."""

    channel: str
    mention: str = ""


def choose_route(
    routes: Iterable[Route], incident: Incident, *, channel: str, mention: str = ""
) -> Destination:
    """The first matching route's channel and mention, else the defaults."""
    for route in routes:
        if route.matches(incident):
            return Destination(channel=route.channel or channel, mention=route.mention)
    return Destination(channel=channel, mention=mention)


def escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: no mentions, links or commands can be formed, and no
    control or bidi character reaches the reader."""
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline_code(text: str) -> str:
    """Text in mrkdwn inline code. Slack has no escape for a backtick there (one would close
    the code and let the rest be read as mrkdwn), so it is shown as a modifier grave, and a
    line break (which ends inline code too) as `\\n`."""
    body = escape(text).replace("`", "\N{MODIFIER LETTER GRAVE ACCENT}").replace("\n", "\\n")
    return f"`{body}`"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in an ellipsis when cut, never mid-entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp = cut.rfind("&", max(len(cut) - 5, 0))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # do not leave half of `&amp;` behind
    return cut + "\N{HORIZONTAL ELLIPSIS}"


def code_block(text: str, limit: int = SAMPLE_MAX) -> str:
    """A log line in a mrkdwn code block; it cannot close the block early."""
    body = clip(escape(text), limit - 2)
    while "``" in body:  # no run of backticks survives to close the block
        body = body.replace("``", "`\u200b`")
    return f"```\u200b{body}\u200b```" if "`" in body else f"```{body}```"


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own zone, with a UTC fallback."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def plain_date(moment: datetime) -> str:
    """A time in UTC for the plain-text fallback and consoles."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def rate_per_min(incident: Incident) -> float:
    """Events per minute over the incident's span (at least a second)."""
    return incident.events / max(incident.duration_s, 1.0) * 60


def top(counts: Mapping[str, int], n: int = 3) -> list[str]:
    """The n largest entries as `name (count)`, plus `+k more`."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{name} ({count:,})" for name, count in items[:n]]
    if len(items) > n:
        shown.append(f"+{len(items) - n} more")
    return shown


def _header(text: str) -> Block:
    # plain_text forms no mentions, but escaping keeps one rule for every string we send.
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(escape(text), HEADER_MAX)},
    }


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn, SECTION_MAX)}}


def _fields(pairs: Sequence[tuple[str, str]]) -> Block:
    fields = [
        {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_MAX)}
        for label, value in pairs[:FIELDS_MAX]
    ]
    return {"type": "section", "fields": fields}


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(mrkdwn, FIELD_MAX)}]}


def _title(incident: Incident) -> str:
    return f"Redis {incident.category} on {incident.target}"


def _status_line(n: Notification, mention: str) -> str:
    inc = n.incident
    lead = f"{mention} " if mention else ""
    where = inline_code(inc.target)
    if inc.status == "resolved":
        return (
            f"{RESOLVED} *Resolved* after {format_duration(inc.duration_s)}:"
            f" {inc.events:,} errors in total on {where}."
        )
    if inc.reopened:
        return (
            f"{lead}{REOPENED} *Reopened* ({inc.reopened}x): Redis {escape(inc.category)}"
            f" errors are back on {where}."
        )
    verb = "Still failing" if n.kind == "updated" else "New incident"
    return f"{lead}*{verb}*: Redis {escape(inc.category)} errors on {where}."


def _facts(inc: Incident, host: str | None) -> list[tuple[str, str]]:
    facts = [
        ("Severity", inc.severity.label),
        ("Status", inc.status if inc.status == "open" else f"resolved {RESOLVED}"),
        ("First seen", slack_date(inc.first_seen)),
        ("Last seen", slack_date(inc.last_seen)),
        ("Events", f"{inc.events:,} ({rate_per_min(inc):,.1f}/min)"),
        ("Duration", format_duration(inc.duration_s)),
    ]
    if inc.sources:
        facts.append(("Files", "\n".join(escape(s) for s in top(inc.sources))))
    if host:
        facts.append(("Host", escape(host)))
    return facts


def _context_line(inc: Incident) -> str:
    parts = [inline_code(inc.id)]
    if inc.rules:
        parts.append("rules: " + ", ".join(escape(r) for r in top(inc.rules)))
    if inc.linked:
        parts.append("linked: " + ", ".join(escape(i) for i in inc.linked))
    return " \N{MIDDLE DOT} ".join(parts)


def fallback_text(n: Notification, *, mention: str = "") -> str:
    """The plain-text version: what a phone notification and old clients show."""
    inc = n.incident
    lead = f"{mention} " if mention else ""
    if n.kind == "test":
        return f"{TEST} logwatch test message: notifications reach this channel."
    if inc.status == "resolved":
        lead = ""  # nobody needs paging for good news
        head = f"{RESOLVED} RESOLVED {_title(inc)} after {format_duration(inc.duration_s)}"
    elif inc.reopened:
        head = f"{REOPENED} REOPENED {inc.severity.label.upper()} {_title(inc)}"
    else:
        head = f"{EMOJI[inc.severity]} {inc.severity.label.upper()} {_title(inc)}"
    tail = f": {inc.events:,} errors, {plain_date(inc.first_seen)} to {plain_date(inc.last_seen)}"
    # The mention is trusted config; everything from the logs is escaped.
    return clip(lead + escape(head + tail), TEXT_MAX)


def render_message(n: Notification, *, mention: str = "", host: str | None = None) -> Message:
    """The full message of an incident's state: the root post, its edits, a webhook post."""
    if n.kind == "test":
        return render_test(host=host)
    inc = n.incident
    if inc.status == "resolved":
        header = f"{RESOLVED} RESOLVED \N{MIDDLE DOT} {_title(inc)}"
        mention = ""  # nobody needs paging for good news
    else:
        header = f"{EMOJI[inc.severity]} {inc.severity.label.upper()} \N{MIDDLE DOT} {_title(inc)}"
    blocks: list[Block] = [
        _header(header),
        _section(_status_line(n, mention)),
        _fields(_facts(inc, host)),
    ]
    if inc.diagnosis:
        blocks.append(_section(f"{PROBE} *Probe*: {escape(inc.diagnosis)}"))
    if jobs := describe(inc.jobs):
        blocks.append(_section(f"{JOBS} *Jobs*: {escape(jobs)}"))
    if inc.status == "open":
        for sample in inc.samples[:SAMPLES_SHOWN]:
            blocks.append(_section(code_block(sample)))
    if inc.hint.strip():
        blocks.append(_section("*What to do*\n" + escape(inc.hint.strip())))
    blocks.append(_context(_context_line(inc)))
    return Message(text=fallback_text(n, mention=mention), blocks=tuple(blocks[:BLOCKS_MAX]))


def render_reply(n: Notification, *, mention: str = "") -> Message:
    """A short thread reply for a change to an incident that already has a root message."""
    inc = n.incident
    if inc.diagnosis and n.kind == "updated":
        line = (
            f"{PROBE} *Probe*: {escape(inc.diagnosis)}\n{UPDATE} {inc.events:,} errors so far"
            f" ({rate_per_min(inc):,.1f}/min)."
        )
        if inc.status == "resolved" and inc.jobs is not None and inc.jobs.rq is not None:
            line += f"\n{JOBS} *Jobs*: {escape(describe(inc.jobs))}"
        return Message(text=escape(f"Probe: {inc.diagnosis}"), blocks=(_section(line),))
    if n.kind == "resolved" or inc.status == "resolved":
        line = (
            f"{RESOLVED} *Resolved* after {format_duration(inc.duration_s)}:"
            f" {inc.events:,} errors in total, the last at {slack_date(inc.last_seen)}."
        )
        text = f"{RESOLVED} Resolved after {format_duration(inc.duration_s)}: {inc.events:,} errors"
        return Message(text=escape(text), blocks=(_section(line),))
    if n.kind == "opened":  # reopened in the same thread
        blocks = [_section(_status_line(n, mention))]
        blocks += [_section(code_block(s)) for s in inc.samples[:1]]
        return Message(text=fallback_text(n, mention=mention), blocks=tuple(blocks))
    line = (
        f"{UPDATE} *Update*: {inc.events:,} errors so far ({rate_per_min(inc):,.1f}/min),"
        f" last at {slack_date(inc.last_seen)}; severity {inc.severity.label}."
    )
    text = f"Update: {inc.events:,} errors so far on {inc.target}"
    return Message(text=escape(text), blocks=(_section(line),))


def render_test(*, host: str | None = None) -> Message:
    """The `logwatch notify-test` message."""
    where = f" from {inline_code(host)}" if host else ""
    line = f"{TEST} *logwatch test message*{where}: incident notifications reach this channel."
    return Message(
        text=f"{TEST} logwatch test message: notifications reach this channel.",
        blocks=(_section(line),),
    )
