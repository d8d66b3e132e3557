"""Rule packs: TOML files of Redis error rules, compiled once and matched with a timeout.

The built-in pack is `config/rules/redis.toml`; user packs of the same form add rules,
replace a rule by reusing its id, or disable one with `enabled = false`.
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import re
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ahocorasick_rs
import regex

from logwatch.errors import RuleError
from logwatch.model import Severity

logger = logging.getLogger(__name__)

MATCH_TIMEOUT_S = 1.0
# A user rule that times out TRIP_TIMEOUTS times within TRIP_WINDOW_S is switched off for
# OFF_FOR_S, then tried again. The first timeout costs match_timeout_s of the agent's time;
# while it is recent (within TRIP_WINDOW_S) the rule is on probation, its timeout cut to
# PROBATION_FRACTION of that, so a rule that keeps timing out costs about 1.2 timeouts, not 3.
TRIP_TIMEOUTS = 3
PROBATION_FRACTION = 0.1
TRIP_WINDOW_S = 60.0
OFF_FOR_S = 600.0
VETTED_UNGUARDED_CHARS = 2048  # a built-in rule on a longer text runs with the timeout too
DEFAULT_THRESHOLD = 3
DEFAULT_WINDOW_S = 60.0
# The categories of the built-in pack; user packs may name others of the same form.
CATEGORIES = (
    "connection",
    "timeout",
    "auth",
    "oom",
    "readonly",
    "misconf",
    "loading",
    "max_clients",
)

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CATEGORY = re.compile(r"[a-z_]+")
_KEYS = frozenset(
    {
        "id",
        "category",
        "severity",
        "threshold",
        "window_s",
        "patterns",
        "literals",
        "hint",
        "description",
        "enabled",
        "ignore_case",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One compiled rule: patterns, prefilter literals, incident threshold and hint."""

    id: str
    category: str
    severity: Severity
    patterns: tuple[regex.Pattern[str], ...]
    literals: tuple[str, ...]  # lower-cased when ignore_case
    threshold: int
    window_s: float
    hint: str
    description: str
    origin: str  # the file the rule came from
    ignore_case: bool = False
    # A built-in rule: its patterns are reviewed and tested not to backtrack, so the match
    # timeout (which costs more than the search on a short line) guards only long texts.
    vetted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleMatch:
    """A rule that matched a text, with the named groups it extracted."""

    rule: Rule
    fields: Mapping[str, str]
    line: str  # the whole line of the text where the match starts
    target: str | None  # "host:port" or a socket path when the line names one


def target_of(fields: Mapping[str, str]) -> str | None:
    """The Redis endpoint named by a match's fields: host:port, endpoint, or host.

    A host written as a URL (`redis://:pw@10.1.1.1`) is cut to the host: the scheme and
    the userinfo (a password, even a masked one) are no part of the endpoint.
    """
    host, port, endpoint = fields.get("host"), fields.get("port"), fields.get("endpoint")
    if host:
        host = host.rpartition("@")[2]
        host = host.rpartition("://")[2] or None
    if host and port:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return endpoint or host or None


class RulePack:
    """Rules in precedence order, with a shared literal prefilter and timeout counters."""

    __slots__ = ("_always", "_automaton", "_monotonic", "_off_until", "_recent", "_rules_of",
                 "_warned", "match_timeout_s", "rules", "timeouts")  # fmt: skip

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        match_timeout_s: float = MATCH_TIMEOUT_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = tuple(rules)
        self.match_timeout_s = match_timeout_s
        self.timeouts: dict[str, int] = {}
        self._warned: set[str] = set()
        self._monotonic = monotonic
        self._recent: dict[str, deque[float]] = {}  # when each rule last timed out
        self._off_until: dict[str, float] = {}  # switched-off rules: when to try again
        # Which rules can match: one pass of a multi-literal search finds every literal in
        # the text (overlapping), and only the rules holding one of them run their patterns.
        # Rules without literals or ignoring case are always tried.
        literals: dict[str, set[int]] = {}
        always: list[int] = []
        for i, rule in enumerate(self.rules):
            if rule.literals and not rule.ignore_case:
                for lit in rule.literals:
                    literals.setdefault(lit, set()).add(i)
            else:
                always.append(i)
        self._always = frozenset(always)
        self._automaton: Any = None
        self._rules_of: list[frozenset[int]] = [frozenset(v) for v in literals.values()]
        if literals:
            self._automaton = ahocorasick_rs.AhoCorasick(
                list(literals), matchkind=ahocorasick_rs.MatchKind.Standard
            )

    def match(self, text: str, only: AbstractSet[int] | None = None) -> RuleMatch | None:
        """The first rule, in pack order, whose pattern matches anywhere in text.

        `only`: indexes of the rules that can match (logwatch.regexfilter's answer for the
        text's bytes, a superset): the others are not tried, nor the literal search run."""
        if only is not None:
            for i in sorted(self._always.union(only)):
                found = self.match_rule(self.rules[i], text)
                if found is not None:
                    return found
            return None
        return next(self._matches(text), None)

    def match_all(self, text: str) -> list[RuleMatch]:
        """Every rule that matches text (first match of each)."""
        return list(self._matches(text))

    def match_rule(self, rule: Rule, text: str) -> RuleMatch | None:
        """One rule against text, literal prefilter included (per-rule stats, `logwatch test`)."""
        if rule.literals:
            hay = text.lower() if rule.ignore_case else text
            if not any(lit in hay for lit in rule.literals):
                return None
        return self._search(rule, text)

    def _matches(self, text: str) -> Iterator[RuleMatch]:
        candidates: set[int] | frozenset[int] = self._always
        if self._automaton is not None:
            hits = self._automaton.find_matches_as_indexes(text, overlapping=True)
            if hits:
                rules_of = self._rules_of
                candidates = candidates.union(*(rules_of[lit] for lit, _, _ in hits))
        for i in sorted(candidates):
            rule = self.rules[i]
            found = self.match_rule(rule, text) if i in self._always else self._search(rule, text)
            if found is not None:
                yield found

    def switched_off(self) -> list[str]:
        """The rules switched off for timing out, now."""
        now = self._monotonic()
        return [rule_id for rule_id, until in self._off_until.items() if now < until]

    def _search(self, rule: Rule, text: str) -> RuleMatch | None:
        if self._off_until and rule.id in self._off_until:
            if self._monotonic() < self._off_until[rule.id]:
                return None
            del self._off_until[rule.id]
            logger.info("rule %s: switched on again after %.0fs off", rule.id, OFF_FOR_S)
        guarded = not rule.vetted or len(text) > VETTED_UNGUARDED_CHARS
        timeout = self._timeout_for(rule) if guarded else None
        for pattern in rule.patterns:
            try:
                m = pattern.search(text, timeout=timeout)
            except TimeoutError:
                # A catastrophic pattern must not stall the agent: skip it for this text.
                self._timed_out(rule)
                if rule.id in self._off_until:
                    return None
                continue
            if m is not None:
                fields = {k: v for k, v in m.groupdict().items() if v is not None}
                start = text.rfind("\n", 0, m.start()) + 1
                end = text.find("\n", m.start())
                line = text[start:] if end < 0 else text[start:end]
                return RuleMatch(
                    rule=rule, fields=fields, line=line.rstrip("\r"), target=target_of(fields)
                )
        return None

    def _timeout_for(self, rule: Rule) -> float:
        """The match timeout: a user rule that timed out within the window is on probation."""
        recent = self._recent.get(rule.id)
        if rule.vetted or not recent or self._monotonic() - recent[-1] > TRIP_WINDOW_S:
            return self.match_timeout_s
        return self.match_timeout_s * PROBATION_FRACTION

    def _timed_out(self, rule: Rule) -> None:
        """Count a timeout; a user rule that keeps timing out is switched off for a while.

        A built-in rule never is: its patterns are tested linear on long hostile lines
        (tests/test_hostile_lines.py), and lines an attacker can write must not be able to
        switch detection off.
        """
        self.timeouts[rule.id] = self.timeouts.get(rule.id, 0) + 1
        if rule.id not in self._warned:
            self._warned.add(rule.id)
            logger.warning(
                "rule %s: match timed out after %.1fs; skipped", rule.id, self.match_timeout_s
            )
        if rule.vetted:
            return
        now = self._monotonic()
        recent = self._recent.setdefault(rule.id, deque(maxlen=TRIP_TIMEOUTS))
        recent.append(now)
        if len(recent) == TRIP_TIMEOUTS and now - recent[0] <= TRIP_WINDOW_S:
            recent.clear()
            self._off_until[rule.id] = now + OFF_FOR_S
            said = f"timed out {TRIP_TIMEOUTS} times in {TRIP_WINDOW_S:.0f}s"
            logger.warning("rule %s (%s): %s; switched off for %.0fs", rule.id, rule.origin,
                           said, OFF_FOR_S)  # fmt: skip


def builtin_pack_path() -> Path:
    """Path of the built-in pack: packaged data in a wheel, else the source tree's config/."""
    try:
        packaged = importlib.resources.files("logwatch") / "data" / "redis.toml"
        if isinstance(packaged, Path) and packaged.is_file():
            return packaged
    except (ModuleNotFoundError, OSError):  # pragma: no cover - odd installs (zip imports)
        pass
    return Path(__file__).resolve().parent.parent / "config" / "rules" / "redis.toml"


def load_rule_pack(
    paths: Sequence[Path] = (),
    *,
    include_builtin: bool = True,
    match_timeout_s: float = MATCH_TIMEOUT_S,
) -> RulePack:
    """Load the built-in pack, then each user pack in turn; RuleError if any is invalid.

    Precedence: rules a later pack adds are tried before those of earlier packs (a user's
    rule wins over the built-ins); a rule that replaces one by id takes its place.
    """
    builtin = builtin_pack_path()
    files = ([builtin] if include_builtin else []) + list(paths)
    merged: dict[str, Rule] = {}
    order: list[str] = []
    for n, path in enumerate(files):
        origin = str(path)
        added: list[str] = []
        for rule_id, read in _read_pack(path, origin):
            vetted = include_builtin and n == 0
            rule = replace(read, vetted=True) if vetted and read is not None else read
            if rule is None:
                if rule_id not in merged:
                    logger.warning(
                        "%s: rule %r: disabled but no earlier pack defines it", origin, rule_id
                    )
                merged.pop(rule_id, None)
            elif rule_id in merged:
                merged[rule_id] = rule
            else:
                merged[rule_id] = rule
                added.append(rule_id)
        order = added + order
    return RulePack([merged[i] for i in order if i in merged], match_timeout_s=match_timeout_s)


def _read_pack(path: Path, origin: str) -> list[tuple[str, Rule | None]]:
    """(id, rule) for each rule of one file, in file order; None for a disabled rule."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise RuleError(f"{origin}: cannot read rule pack: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RuleError(f"{origin}: invalid TOML: not UTF-8 ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{origin}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise RuleError(
            f"{origin}: unknown top-level key {unknown[0]!r} (expected [[rule]] tables)"
        )
    entries = data.get("rule", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RuleError(f"{origin}: 'rule' must be an array of tables ([[rule]])")
    seen: set[str] = set()
    out: list[tuple[str, Rule | None]] = []
    for n, entry in enumerate(entries, 1):
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise RuleError(f"{origin}: rule {n}: missing 'id'")
        where = f"{origin}: rule {rule_id!r}"
        if not _ID.fullmatch(rule_id):
            raise RuleError(f"{where}: id must be kebab-case (a-z, 0-9, '-')")
        if rule_id in seen:
            raise RuleError(f"{where}: duplicate id in this file")
        seen.add(rule_id)
        out.append((rule_id, _build_rule(entry, rule_id, where, origin)))
    return out


def _build_rule(entry: Mapping[str, Any], rule_id: str, where: str, origin: str) -> Rule | None:
    """Validate and compile one [[rule]] table; None if it says enabled = false."""
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise RuleError(f"{where}: unknown key {unknown[0]!r}")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError(f"{where}: enabled must be true or false, not {enabled!r}")
    if not enabled:
        return None
    category = entry.get("category")
    if not isinstance(category, str) or not category:
        raise RuleError(f"{where}: missing 'category'")
    if not _CATEGORY.fullmatch(category):
        raise RuleError(f"{where}: invalid category {category!r} (lower-case letters and '_')")
    try:
        severity = Severity.parse(_string(entry, "severity", where, "error"))
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    threshold = entry.get("threshold", DEFAULT_THRESHOLD)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise RuleError(f"{where}: threshold must be an integer >= 1, not {threshold!r}")
    window_s = entry.get("window_s", DEFAULT_WINDOW_S)
    if (
        not isinstance(window_s, int | float)
        or isinstance(window_s, bool)
        or not math.isfinite(window_s)
        or window_s <= 0
    ):
        raise RuleError(f"{where}: window_s must be a number of seconds > 0, not {window_s!r}")
    ignore_case = entry.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise RuleError(f"{where}: ignore_case must be true or false, not {ignore_case!r}")
    sources = _strings(entry, "patterns", where)
    if not sources:
        raise RuleError(f"{where}: 'patterns' is missing or empty")
    literals = _strings(entry, "literals", where)
    return Rule(
        id=rule_id,
        category=category,
        severity=severity,
        patterns=tuple(_compile(src, n, where, ignore_case) for n, src in enumerate(sources, 1)),
        literals=tuple(lit.lower() for lit in literals) if ignore_case else literals,
        threshold=threshold,
        window_s=float(window_s),
        hint=_string(entry, "hint", where, "").strip(),
        description=_string(entry, "description", where, rule_id),
        origin=origin,
        ignore_case=ignore_case,
    )


def _compile(source: str, n: int, where: str, ignore_case: bool) -> regex.Pattern[str]:
    flags = regex.IGNORECASE if ignore_case else 0
    try:
        pattern: regex.Pattern[str] = regex.compile(source, flags)
    except regex.error as exc:
        raise RuleError(f"{where}: pattern {n} does not compile: {exc}") from None
    # A pattern that matches nothing at all would turn every line into an event.
    if pattern.search("") is not None:
        raise RuleError(f"{where}: pattern {n} matches the empty string")
    return pattern


def _string(entry: Mapping[str, Any], key: str, where: str, default: str) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str):
        raise RuleError(f"{where}: {key} must be a string, not {value!r}")
    return value


def _strings(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{where}: {key} must be a list of non-empty strings, not {value!r}")
    return tuple(value)


def pattern_pack(sources: Sequence[str], *, match_timeout_s: float = MATCH_TIMEOUT_S) -> RulePack:
    """A pack of one ad-hoc rule from regexes given on the command line (`logwatch test
    --pattern`, fail2ban-regex's habit); RuleError naming the pattern that does not compile."""
    where = "--pattern"
    patterns = tuple(_compile(src, n, where, False) for n, src in enumerate(sources, 1))
    rule = Rule(
        id="pattern",
        category="custom",
        severity=Severity.ERROR,
        patterns=patterns,
        literals=(),
        threshold=1,
        window_s=DEFAULT_WINDOW_S,
        hint="",
        description="patterns given with --pattern",
        origin=where,
    )
    return RulePack([rule], match_timeout_s=match_timeout_s)
