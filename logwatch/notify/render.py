"""Slack's building blocks, escaped and within Slack's limits; routes. Pure: no I/O.

The messages themselves are composed in compose.py.

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

from logwatch.model import Incident, Severity
from logwatch.report import visible

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
    broadcast: bool | None = None  # the resolve reply also to the channel (None: the default)

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
    broadcast: bool = True  # the all-clear reply is broadcast to the channel too
    route: int = 0  # 1-based index of the route that matched (0: the defaults)


def choose_route(
    routes: Iterable[Route],
    incident: Incident,
    *,
    channel: str,
    mention: str = "",
    broadcast: bool = True,
) -> Destination:
    """The first matching route's channel and mention, else the defaults."""
    for i, route in enumerate(routes, 1):
        if route.matches(incident):
            return Destination(
                channel=route.channel or channel,
                mention=route.mention,
                broadcast=broadcast if route.broadcast is None else route.broadcast,
                route=i,
            )
    return Destination(channel=channel, mention=mention, broadcast=broadcast)


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


def header_block(text: str) -> Block:
    """A header block (plain text, escaped, clipped)."""
    # plain_text forms no mentions, but escaping keeps one rule for every string we send.
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(escape(text), HEADER_MAX)},
    }


def section_block(mrkdwn: str) -> Block:
    """A section of mrkdwn the caller escaped, clipped to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn, SECTION_MAX)}}


def fields_block(pairs: Sequence[tuple[str, str]]) -> Block:
    """A section of labelled fields."""
    fields = [
        {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_MAX)}
        for label, value in pairs[:FIELDS_MAX]
    ]
    return {"type": "section", "fields": fields}


def context_block(mrkdwn: str) -> Block:
    """A context line (small grey text)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(mrkdwn, FIELD_MAX)}]}


def render_test(*, host: str | None = None) -> Message:
    """The `logwatch notify-test` message."""
    where = f" from {inline_code(host)}" if host else ""
    line = f"{TEST} *logwatch test message*{where}: incident notifications reach this channel."
    return Message(
        text=f"{TEST} logwatch test message: notifications reach this channel.",
        blocks=(section_block(line),),
    )
