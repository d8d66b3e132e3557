"""The messages of an outage as a person on call reads them on a phone. Pure: no I/O.

The root message is the outage: one or more linked incidents on one Redis that share its
thread. Its plain-text fallback (what a phone's notification shows) is one sentence:
severity, what, which Redis, how many files on which host, and the probe's verdict. Once
every cause has stopped it becomes the resolved form: what it was, for how long it was
active, how many errors in all, whether a probe confirmed the recovery; no runbook.
Thread replies lead with what changed since the last message this notifier delivered
(`Notification.before`): a new verdict, an acknowledgement, more errors, new files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from logwatch.impact import describe
from logwatch.model import Incident
from logwatch.notify import Notification
from logwatch.notify.render import (
    BLOCKS_MAX,
    EMOJI,
    JOBS,
    PROBE,
    REOPENED,
    RESOLVED,
    TEXT_MAX,
    UPDATE,
    Block,
    Message,
    clip,
    code_block,
    context_block,
    escape,
    header_block,
    inline_code,
    rate_per_min,
    render_test,
    section_block,
    slack_date,
    top,
)
from logwatch.oncall import SLACK_USER, Silence
from logwatch.report import format_duration

#: What each category means, as a cause in a sentence ("connection errors, then timeouts").
CAUSES = {
    "connection": "connection errors",
    "timeout": "timeouts",
    "auth": "authentication errors",
    "oom": "out of memory",
    "readonly": "read-only replica",
    "misconf": "MISCONF (persistence failing)",
    "loading": "Redis loading its dataset",
    "max_clients": "max clients reached",
}
ACKED = "\N{EYES}"
SILENCED = "\N{BELL WITH CANCELLATION STROKE}"
UNSILENCED = "\N{BELL}"
REMINDER = "\N{ALARM CLOCK}"
ALSO = "\N{HEAVY PLUS SIGN}"
#: Button action ids (notify/actions.py reads them back); the value is the incident id.
ACTION_ACK = "logwatch_ack"
ACTION_SILENCE_1H = "logwatch_silence_1h"
ACTION_SILENCE_RESOLVED = "logwatch_silence_resolved"
ACTION_UNSILENCE = "logwatch_unsilence"


def cause(incident: Incident) -> str:
    """The category as a cause: `connection errors`, `timeouts`, `out of memory`."""
    return CAUSES.get(incident.category, f"{incident.category} errors")


def who(by: str) -> str:
    """A Slack user id as a mention (`<@U123>`), anything else as escaped text."""
    return f"<@{by}>" if SLACK_USER.match(by) else escape(by)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outage:
    """The incidents sharing one thread, first first; `root` owns the thread."""

    root: Incident
    members: tuple[Incident, ...]

    @property
    def open(self) -> bool:
        """True while any of its incidents is open."""
        return any(m.status == "open" for m in self.members)

    @property
    def causes(self) -> str:
        """`connection errors, then timeouts`."""
        seen: list[str] = []
        for m in self.members:
            if cause(m) not in seen:
                seen.append(cause(m))
        return ", then ".join(seen)

    @property
    def errors(self) -> int:
        """Errors of every cause."""
        return sum(m.events for m in self.members)

    @property
    def severity_incident(self) -> Incident:
        """The worst of its incidents (the root when tied)."""
        return max(self.members, key=lambda m: (m.severity, m is self.root))


def outage_of(n: Notification) -> Outage:
    """The notification's incident with the others of its thread, as they are now."""
    members = {i.id: i for i in n.outage}
    members[n.incident.id] = n.incident
    root = members.get(n.incident.thread_key, n.incident)
    ordered = sorted(members.values(), key=lambda m: (m.first_seen, m.id))
    return Outage(root=root, members=tuple(ordered))


def _title(outage: Outage) -> str:
    return f"Redis {outage.causes} on {outage.root.target}"


def _files(inc: Incident, host: str | None) -> str:
    n = len(inc.sources)
    files = f"{n} file" if n == 1 else f"{n} files"
    return f"{files} on {host}" if host else files


def _verdict(inc: Incident) -> str:
    return f"Probe: {inc.diagnosis}." if inc.diagnosis else ""


def _recovery(outage: Outage) -> str:
    said = [m.recovery for m in outage.members if m.recovery]
    return said[-1] if said else "recovery not confirmed by a probe"


def root_text(outage: Outage, *, mention: str = "", host: str | None = None) -> str:
    """The push notification: one short sentence."""
    inc = outage.severity_incident
    if not outage.open:
        active = format_duration(max(m.active_duration_s for m in outage.members))
        text = (
            f"{RESOLVED} RESOLVED: {_title(outage)} after {active} active,"
            f" {outage.errors:,} errors; {_recovery(outage)}."
        )
        return clip(escape(text), TEXT_MAX)  # nobody needs paging for good news
    head = f"{EMOJI[inc.severity]} {inc.severity.label.upper()}: {_title(outage)}"
    if outage.root.reopened:
        head = f"{REOPENED} REOPENED {inc.severity.label.upper()}: {_title(outage)}"
    text = f"{head} ({_files(outage.root, host)}). {_verdict(outage.root)}".rstrip()
    lead = f"{mention} " if mention else ""  # trusted config; the rest is escaped
    return clip(lead + escape(text), TEXT_MAX)


def fallback_text(n: Notification, *, mention: str = "", host: str | None = None) -> str:
    """The push text of the notification's root message."""
    if n.kind == "test":
        return render_test(host=host).text
    return root_text(outage_of(n), mention=mention, host=host)


def _probe_line(inc: Incident) -> str:
    if not inc.diagnosis:
        return ""
    when = f" ({slack_date(inc.probed_at)})" if inc.probed_at else ""
    return f"{PROBE} *Probe*{when}: {escape(inc.diagnosis)}"


def _oncall_lines(inc: Incident) -> list[str]:
    lines = []
    if inc.ack is not None:
        lines.append(f"{ACKED} Acknowledged by {who(inc.ack.by)} {slack_date(inc.ack.at)}")
    if inc.silence is not None:
        lines.append(f"{SILENCED} {_silence_text(inc.silence)}")
    return lines


def _silence_text(s: Silence) -> str:
    until = f"until {slack_date(s.ends)}" if s.ends else "until it resolves"
    what = {"silence": "Silenced", "maintenance": "Maintenance window",
            "inhibit": "Inhibited"}[s.kind]  # fmt: skip
    reason = f": {escape(s.reason)}" if s.reason else ""
    return f"{what} by {who(s.by)} {until}{reason} ({inline_code(s.id)})"


def _summary_line(inc: Incident, host: str | None) -> str:
    files = ", ".join(escape(s) for s in top(inc.sources, 2))
    where = f" on {inline_code(host)}" if host else ""
    return (
        f"*{inc.events:,} errors* on {inline_code(inc.target)} since {slack_date(inc.first_seen)}"
        f" ({rate_per_min(inc):,.1f}/min), the last {slack_date(inc.last_seen)};"
        f" {files}{where}"
    )


def _member_lines(outage: Outage) -> list[str]:
    if len(outage.members) < 2:
        return []
    lines = []
    for m in outage.members:
        state = "open" if m.status == "open" else f"stopped {RESOLVED}"
        lines.append(
            f"\N{BULLET} {escape(cause(m))}: {m.events:,} errors,"
            f" active {format_duration(m.active_duration_s)} ({state})"
        )
    return ["*Causes*\n" + "\n".join(lines)]


def _buttons(inc: Incident) -> Block:
    def button(action: str, label: str, style: str | None = None) -> Block:
        b: Block = {"type": "button", "action_id": action, "value": inc.id,
                    "text": {"type": "plain_text", "text": label}}  # fmt: skip
        if style:
            b["style"] = style
        return b

    elements = []
    if inc.ack is None:
        elements.append(button(ACTION_ACK, "Acknowledge", "primary"))
    if inc.silence is None:
        elements.append(button(ACTION_SILENCE_1H, "Silence 1 h"))
        elements.append(button(ACTION_SILENCE_RESOLVED, "Silence until resolved"))
    elif inc.silence.kind == "silence":
        elements.append(button(ACTION_UNSILENCE, "Unsilence"))
    return {"type": "actions", "block_id": "logwatch_oncall", "elements": elements}


def render_root(
    n: Notification, *, mention: str = "", host: str | None = None, buttons: bool = False
) -> Message:
    """The root message of the notification's outage: open, or its resolved form."""
    if n.kind == "test":
        return render_test(host=host)
    outage = outage_of(n)
    root, worst = outage.root, outage.severity_incident
    blocks: list[Block] = []
    if outage.open:
        label = worst.severity.label.upper()
        blocks.append(
            header_block(f"{EMOJI[worst.severity]} {label} \N{MIDDLE DOT} {_title(outage)}")
        )
        lead = f"{mention} " if mention else ""
        again = f"{REOPENED} *Reopened* ({root.reopened}x). " if root.reopened else ""
        blocks.append(section_block(lead + again + _summary_line(root, host)))
        if probe := _probe_line(root):
            blocks.append(section_block(probe))
    else:
        blocks.append(header_block(f"{RESOLVED} RESOLVED \N{MIDDLE DOT} {_title(outage)}"))
        active = max(m.active_duration_s for m in outage.members)
        last = max(m.last_seen for m in outage.members)
        blocks.append(
            section_block(
                f"*Resolved*: active {format_duration(active)} (from"
                f" {slack_date(root.first_seen)} to {slack_date(last)}),"
                f" {outage.errors:,} errors in total on {inline_code(root.target)}.\n"
                f"{PROBE} {escape(_recovery(outage))}"
            )
        )
        if jobs := describe(root.jobs):
            blocks.append(section_block(f"{JOBS} *Jobs*: {escape(jobs)}"))
    for line in _oncall_lines(root):
        blocks.append(section_block(line))
    for line in _member_lines(outage):
        blocks.append(section_block(line))
    if outage.open:
        if jobs := describe(root.jobs):
            blocks.append(section_block(f"{JOBS} *Jobs*: {escape(jobs)}"))
        for sample in root.samples[:1]:
            blocks.append(section_block(code_block(sample)))
        hints = [m.hint.strip() for m in outage.members if m.status == "open" and m.hint.strip()]
        if hints:
            blocks.append(section_block("*What to do*\n" + escape(hints[0])))
    blocks.append(context_block(_context_line(outage)))
    if buttons and outage.open:
        blocks.append(_buttons(root))
    text = root_text(outage, mention=mention if outage.open else "", host=host)
    return Message(text=text, blocks=tuple(blocks[:BLOCKS_MAX]))


def _context_line(outage: Outage) -> str:
    parts = [inline_code(m.id) for m in outage.members]
    rules: dict[str, int] = {}
    for m in outage.members:
        for rule, count in m.rules.items():
            rules[rule] = rules.get(rule, 0) + count
    if rules:
        parts.append("rules: " + ", ".join(escape(r) for r in top(rules)))
    return " \N{MIDDLE DOT} ".join(parts)


def what_changed(before: Incident | None, now: Incident) -> list[str]:
    """The news of an update, most important first, as mrkdwn lines."""
    lines: list[str] = []
    if before is None or before.diagnosis != now.diagnosis:
        if probe := _probe_line(now):
            lines.append(probe.replace("*Probe*", "*Probe now says*", 1) if before else probe)
    elif now.probed_at and now.probed_at != before.probed_at:
        lines.append(f"{PROBE} Probed afresh {slack_date(now.probed_at)}: same verdict.")
    if now.recovery and (before is None or before.recovery != now.recovery):
        lines.append(f"{PROBE} *Recovery*: {escape(now.recovery)}")
        if now.jobs is not None and now.jobs.rq is not None:
            lines.append(f"{JOBS} *Jobs*: {escape(describe(now.jobs))}")
    lines += _oncall_news(before, now)
    if before is not None and now.severity > before.severity:
        lines.append(f"Severity rose to *{now.severity.label}*.")
    grew = now.events - (before.events if before else 0)
    if grew > 0 and now.status == "open":
        rate = f"{rate_per_min(now):,.1f}/min"
        more = f"+{grew:,} errors" if before else f"{now.events:,} errors so far"
        lines.append(
            f"{UPDATE} {more} (now {now.events:,}, {rate}), the last {slack_date(now.last_seen)}."
        )
    new_files = [s for s in now.sources if before is None or s not in before.sources]
    if before is not None and new_files:
        lines.append("New files: " + ", ".join(escape(s) for s in new_files[:3]))
    return lines


def _oncall_news(before: Incident | None, now: Incident) -> list[str]:
    lines = []
    if now.ack is not None and (before is None or before.ack != now.ack):
        lines.append(f"{ACKED} Acknowledged by {who(now.ack.by)}.")
    was = before.silence if before is not None else None
    if now.silence is not None and now.silence != was:
        lines.append(f"{SILENCED} {_silence_text(now.silence)}.")
    elif now.silence is None and was is not None:
        lines.append(f"{UNSILENCED} No longer silenced ({inline_code(was.id)} is over).")
    return lines


def root_changed(before: Incident | None, now: Incident) -> bool:
    """True when the root must be edited for an update: a new verdict, recovery, on-call
    state, or a resolved incident's late news."""
    if before is None:  # nothing delivered to compare with: no edit storm on a guess
        return now.status == "resolved"
    return (
        before.diagnosis != now.diagnosis
        or before.recovery != now.recovery
        or before.ack != now.ack
        or before.silence != now.silence
        or before.status != now.status
        or now.status == "resolved"
    )


def render_reply(n: Notification, *, mention: str = "") -> Message:
    """A thread reply for a change of an incident whose thread exists."""
    inc, outage = n.incident, outage_of(n)
    if n.kind == "reminder":
        age = format_duration((n.at - inc.first_seen).total_seconds())
        line = (
            f"{REMINDER} *Still open and not acknowledged* after {age}: {inc.events:,} errors"
            f" on {inline_code(inc.target)}, the last {slack_date(inc.last_seen)}."
        )
        text = f"Still open and not acknowledged after {age}: Redis {cause(inc)} on {inc.target}"
        return _reply(line, text, mention)
    if n.kind == "resolved" or (n.kind == "updated" and inc.status == "resolved" and not
                                what_changed(n.before, inc)):  # fmt: skip
        active = format_duration(inc.active_duration_s)
        recovery = inc.recovery or "recovery not confirmed by a probe"
        if outage.open:
            others = ", ".join(cause(m) for m in outage.members if m.status == "open")
            line = (
                f"{RESOLVED} {escape(cause(inc)).capitalize()} stopped after {active} active"
                f" ({inc.events:,} errors); still open: {escape(others)}."
            )
            return _reply(line, f"{cause(inc)} stopped on {inc.target}", "")
        line = (
            f"{RESOLVED} *Resolved*: {escape(_title(outage))} after {active} active,"
            f" {outage.errors:,} errors in total; {escape(recovery)}."
        )
        text = (
            f"{RESOLVED} RESOLVED: {_title(outage)} after {active} active,"
            f" {outage.errors:,} errors; {recovery}."
        )
        return _reply(line, text, "")
    if n.kind == "opened" and inc.id != outage.root.id and not inc.reopened:
        line = (
            f"{ALSO} *Also {escape(cause(inc))}* on {inline_code(inc.target)}, the same outage:"
            f" {inc.events:,} errors since {slack_date(inc.first_seen)}."
        )
        extra = [p] if (p := _probe_line(inc)) else []
        return _reply("\n".join([line, *extra]), f"Also {cause(inc)} on {inc.target}", "")
    if n.kind == "opened":  # reopened in its thread
        line = (
            f"{REOPENED} *Reopened* ({inc.reopened}x): Redis {escape(cause(inc))} are back on"
            f" {inline_code(inc.target)}."
        )
        extra = [p] if (p := _probe_line(inc)) else []
        extra += [code_block(s) for s in inc.samples[:1]]
        text = f"REOPENED: Redis {cause(inc)} on {inc.target}. {_verdict(inc)}".rstrip()
        return _reply("\n".join([line, *extra]), text, mention)
    lines = what_changed(n.before, inc) or [
        f"{UPDATE} {inc.events:,} errors so far ({rate_per_min(inc):,.1f}/min)."
    ]
    return _reply("\n".join(lines), _plain(lines[0]), "")


def _reply(mrkdwn: str, text: str, mention: str) -> Message:
    lead = f"{mention} " if mention else ""
    body = clip(lead + escape(text), TEXT_MAX)
    return Message(text=body, blocks=(section_block(lead + mrkdwn),))


def _plain(mrkdwn: str) -> str:
    """A reply's first line without Slack markup, for its fallback text."""
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", mrkdwn)
    text = re.sub(r"<@([UW][A-Z0-9]+)>", r"@\1", text)
    text = text.replace("*", "").replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_message(
    n: Notification, *, mention: str = "", host: str | None = None, buttons: bool = False
) -> Message:
    """The full state of the notification's outage (root posts, edits, webhook posts)."""
    return render_root(n, mention=mention, host=host, buttons=buttons)
