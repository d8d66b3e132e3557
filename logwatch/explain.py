"""`logwatch test`: which rule matched each record, per-rule hits and time, what was missed.

The fail2ban-regex of logwatch: run it on a log excerpt before trusting a rule pack.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from logwatch.matching import Matcher
from logwatch.model import Record

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
