"""Record -> event: which rule matched, the Redis target, a normalised signature."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from logwatch.model import Event, Record
from logwatch.redact import Redactor
from logwatch.rules import RuleMatch, RulePack, target_of
from logwatch.shapes import shape_of, shape_safe
from logwatch.stampshape import LEVEL_WORDS, prefixed_stamp
from logwatch.timestamps import Stamp, parse_line_start

MAX_TEXT = 500  # characters of the matched line an event keeps
MAX_SIGNATURE = 200
SEEN_MAX = 4096

# Sentry-style parameterisation, most specific first, so a uuid is not read as numbers.
# Linear in the text: an unbounded run starts only where a lookbehind says the run cannot
# be entered from the left, so no two attempts scan the same characters; the rest is
# bounded (tests/test_hostile_lines.py holds each pattern to it on 64 KB near misses).
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(r"(?<![\w+.-])[a-z][a-z0-9+.-]*://\S+", re.I), "<url>"),
    (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<host>"),
    (re.compile(r"\[(?=[0-9a-fA-F]{0,4}:)[0-9a-fA-F:]{2,39}\](?::\d+)?"), "<host>"),
    (re.compile(r"(?<![\w.-])[\w.-]*\w:\d{2,5}\b"), "<host>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\bw[0-9a-f]{6,}\b"), "<id>"),  # RQ-style worker names
    (re.compile(r"(?<![\w<])-?\d+(?:\.\d+)?"), "<int>"),
    (re.compile(r"\s+"), " "),
)
# The shape cache is sound only while every mask tells digits and hex letters apart by
# class alone (logwatch.shapes); a mask that does not switches it off.
_BY_SHAPE = shape_safe(pattern for pattern, _ in _MASKS)
_GAP = frozenset({" ", "\t"})  # what follows a stamp that the rest of the line can be cut at
# A log line's prefix before its message: level words, [logger] or pid:role tags, and
# redis-server's role marks. Only level words: "WORKER TIMEOUT (pid:60)" keeps its words.
_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*|(?:" + LEVEL_WORDS + r"):?\s+|[#*.-]\s+)*", re.IGNORECASE
)


class _Derived(NamedTuple):
    """What the events of one distinct line share: built once, from its redacted text."""

    redacted: str
    signature: str
    fields: Mapping[str, str]
    target: str | None


def normalise(text: str) -> str:
    """The text with ids, uuids, numbers, hosts and urls masked, so variants group together."""
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text.strip()[:MAX_SIGNATURE]


def line_stamp(line: str) -> tuple[Stamp | None, bool]:
    """The stamp a line starts with, or has after a short prefix (Django's `ERROR
    2026-...`), and whether it came after a prefix."""
    stamp = parse_line_start(line)
    if stamp is not None:
        return stamp, False
    stamp = prefixed_stamp(line, None)
    return stamp, stamp is not None


def message_of(line: str) -> str:
    """The line without its leading timestamp, level and logger tag."""
    stamp, _ = line_stamp(line)
    if stamp is not None:
        line = line[stamp.end :]
    return _PREFIX.sub("", line, count=1)


class Matcher:
    """Runs the rule pack over records and builds events."""

    def __init__(
        self,
        pack: RulePack,
        *,
        default_target: str,
        redact: Redactor,
    ) -> None:
        self.pack = pack
        self.default_target = default_target
        self._redact = redact
        # An outage repeats the same final line thousands of times: redaction and
        # normalisation are done once per distinct (rule, line).
        # Keyed by a keyed digest of the line, not the line: a secret in it (the redaction
        # has not run yet) stays out of the cache's keys.
        self._seen: dict[tuple[str, bytes, bool], _Derived] = {}
        self._salt = os.urandom(16)
        # Signatures by (rule, the redacted message's shape): JSON lines' request ids and
        # durations make every line distinct, but not their shapes (logwatch.shapes).
        self._signatures: dict[tuple[str, str], str] = {}

    def match(self, record: Record, rules: AbstractSet[int] | None = None) -> Event | None:
        """The event for a record, or None when no rule matches. `rules`: for a record of
        one line, the rules that can match it (RulePack.match's `only`)."""
        found = None
        if "\n" in record.text:
            # A chained traceback names every exception on the way; the one raised last
            # (the record's final line) says what happened: "Connection closed" while
            # handling, then AuthenticationError, is an auth problem. (A JSON line's
            # traceback field makes a one-line record of many text lines.)
            found = self.pack.match(record.text[record.text.rfind("\n") + 1 :])
        if found is None:
            found = self.pack.match(record.text, None if "\n" in record.text else rules)
        if found is None:
            return None
        rule = found.rule
        # An outage repeats one line thousands of times, each with its own timestamp: the
        # redacted text and the signature are made once per (rule, line after the stamp).
        line = found.line
        head, rest = "", line
        stamp, prefixed = line_stamp(line)
        if stamp is not None and line[stamp.end : stamp.end + 1] in _GAP:
            head, rest = line[: stamp.end], line[stamp.end :]
            if self._redact.known_in(line):  # a configured secret in (or across) the stamp
                head, rest = "", line
            elif prefixed:  # words before the stamp: redacted like the rest, uncached
                head = self._redact(head)
        digest = hashlib.blake2b(rest.encode("utf-8", "surrogatepass"), key=self._salt).digest()
        key = (rule.id, digest, bool(head))
        derived = self._seen.get(key)
        if derived is None:
            derived = self._derive(found, head, rest)
            if len(self._seen) >= SEEN_MAX:
                self._seen.clear()
            self._seen[key] = derived
        return Event(
            time=record.time,
            source=record.source,
            line=record.line,
            rule=rule.id,
            category=rule.category,
            severity=rule.severity,
            target=derived.target or self.default_target,
            signature=derived.signature,
            text=(head + derived.redacted)[:MAX_TEXT],
            fields=derived.fields,
        )

    def _signature(self, rule: str, message: str) -> str:
        """The rule's signature of a redacted message, computed once per shape."""
        if not _BY_SHAPE:
            return f"{rule}: {normalise(message)}"
        key = (rule, shape_of(message))
        signature = self._signatures.get(key)
        if signature is None:
            signature = f"{rule}: {normalise(message)}"
            if len(self._signatures) >= SEEN_MAX:
                self._signatures.clear()
            self._signatures[key] = signature
        return signature

    def _derive(self, found: RuleMatch, head: str, rest: str) -> _Derived:
        """What an event takes from its line, every part of it from the redacted text."""
        # Redact before anything derives from the line: signatures and targets leave the
        # machine too. A stamp is digits, month names and separators (behind an access
        # log's host and user, or a compose service's name): no secret pattern matches
        # there (tests/test_matching.py holds them to that), so the rest is redacted alone.
        redacted = self._redact(rest.strip() if not head else rest.rstrip())
        signature = self._signature(found.rule.id, message_of(head + redacted))
        # The fields and the target come from the rule run again over the redacted line, so
        # `redis://:pw@host:port` or `AUTH pw failed` cannot carry the password into them.
        # When redaction broke the match (or it spanned lines), each field is redacted.
        again = self.pack.match_rule(found.rule, head + redacted)
        if again is not None:
            fields, target = dict(again.fields), again.target
        else:
            fields = {k: self._redact(v) for k, v in found.fields.items()}
            target = target_of(fields)
        return _Derived(redacted=redacted, signature=signature, fields=fields, target=target)
