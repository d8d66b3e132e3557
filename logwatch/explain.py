"""`logwatch test`: which rule matched each record, per-rule hits and time, what was missed.

The fail2ban-regex of logwatch: run it on a log excerpt before trusting a rule pack.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, tzinfo
from pathlib import Path

from logwatch.config import Config
from logwatch.dating import OWN, Dating, plan_dating
from logwatch.matching import Matcher
from logwatch.model import Record
from logwatch.pipeline import Stats, read_records
from logwatch.redact import Redactor
from logwatch.report_text import neutralise
from logwatch.rules import RulePack
from logwatch.stampshape import parse_stamp

SHOWN = 100  # matched records listed without --all

MAX_MISSED = 50
# Lines that look like errors; a record like this that no rule matched is worth a look.
_ERRORISH = re.compile(
    r"(?i)\b(?:error|exception|traceback|fail(?:ed|ure)?|refused|timed? ?out|critical"
    r"|fatal|denied)\b"
)


@dataclass(slots=True)
class RuleStats:
    """Hits and matching time of one rule."""

    hits: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class Explanation:
    """The result of `logwatch test`."""

    records: int = 0
    matched: int = 0
    rules: dict[str, RuleStats] = field(default_factory=dict)
    missed: list[Record] = field(default_factory=list)
    missed_total: int = 0


def explain(
    records: Iterable[Record],
    matcher: Matcher,
    *,
    on_match: Callable[[Record, str, dict[str, str], str], None] | None = None,
) -> Explanation:
    """Run every rule over every record, timing each, and collect unmatched error-like records."""
    result = Explanation(rules={rule.id: RuleStats() for rule in matcher.pack.rules})
    for record in records:
        result.records += 1
        for rule in matcher.pack.rules:
            started = time.perf_counter()
            found = matcher.pack.match_rule(rule, record.text)
            result.rules[rule.id].seconds += time.perf_counter() - started
            if found is not None:
                result.rules[rule.id].hits += 1
        event = matcher.match(record)
        if event is not None:
            result.matched += 1
            if on_match is not None:
                on_match(record, event.rule, dict(event.fields), event.target)
        elif _ERRORISH.search(record.text):
            result.missed_total += 1
            if len(result.missed) < MAX_MISSED:
                result.missed.append(record)
    return result


def time_origin(record: Record, dating: Dating, tz: tzinfo) -> str:
    """Where a record's time came from, in words."""
    first = record.text.split("\n", 1)[0]
    if not record.timed:
        if dating.undated:
            return "no timestamp in the file: undated"
        return "no stamp: the time of the record above"
    stamp = parse_stamp(first, tz, dating.shape)
    if stamp is None:
        return "JSON time field"
    if stamp.when is not None:
        return "own stamp"
    if dating.how == OWN:
        return "time-only stamp: date of the dated records above"
    return f"time-only stamp: {dating.how.removeprefix('time-only stamps ')}"


def _last_line(text: str) -> str:
    """A record's last line: the exception of a traceback. Split at newlines only: a CR
    inside a line is part of it (splitlines() would show only the text after it, which a
    line can use to hide what precedes it)."""
    return text.rstrip("\n").rpartition("\n")[2]


def _shown(text: str) -> str:
    """Log text as `logwatch test` prints it: at most 200 characters, control and bidi
    characters made visible as scan's table shows them (`<U+000D>`)."""
    return neutralise(text[:200])


def run_test(
    path: Path,
    label: str,
    config: Config,
    pack: RulePack,
    *,
    show_all: bool = False,
    day: date | None = None,
) -> Iterator[str]:
    """The lines `logwatch test` prints for one file."""
    tz = config.timezone
    redact = Redactor(config.secrets)
    matcher = Matcher(pack, default_target=config.grouping.default_target, redact=redact)
    dating = plan_dating([[path]], tz, given=day)[path]
    stats = Stats()
    shown = 0
    out: list[str] = []

    def on_match(record: Record, rule: str, fields: dict[str, str], target: str) -> None:
        nonlocal shown
        shown += 1
        if show_all or shown <= SHOWN:
            extracted = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
            when = record.time.astimezone(tz).isoformat()
            head = neutralise(f"line {record.line}: {rule} target={target} {extracted}".rstrip())
            out.append(
                head
                + f"\n    time: {when} ({time_origin(record, dating, tz)})"
                + f"\n    {_shown(redact(_last_line(record.text)))}"
            )

    records = read_records(path, config, stats, dating, label=label)
    result = explain(records, matcher, on_match=on_match)
    yield f"{neutralise(label)}: {dating.how}"
    yield from out
    if shown > SHOWN and not show_all:
        yield f"... {shown - SHOWN} more matched records (--all shows them)"
    if stats.skipped:
        yield from (f"warning: {reason}" for reason in stats.skipped)
    yield ""
    yield f"records: {result.records:,}, matched: {result.matched:,}"
    yield "rule                              hits      time"
    for rule_id, st in result.rules.items():
        yield f"{rule_id:32} {st.hits:6,} {st.seconds * 1000:8.1f} ms"
    for rule_id, count in sorted(pack.timeouts.items()):
        yield f"warning: rule {rule_id}: {count} match(es) timed out"
    yield ""
    yield f"error-looking records no rule matched: {result.missed_total:,}"
    for record in result.missed:
        yield f"line {record.line}: {_shown(redact(record.text.split(chr(10), 1)[0]))}"
    if result.missed_total > len(result.missed):
        yield f"... {result.missed_total - len(result.missed)} more"
