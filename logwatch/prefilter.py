"""The literal prefilter: byte strings one of which every record a rule can match holds.

Both the fast scan and the agent's tailer search raw file bytes for them (Aho-Corasick,
about 4 GB/s) and build records only around what they find.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import ahocorasick_rs

from logwatch.rules import RulePack

logger = logging.getLogger(__name__)

# Characters that can stand for something else in the record text than in the file: JSON
# escapes (\" \\ \/ \n \t \uXXXX), the "\n" that joins a record's lines, a dropped "\r",
# and U+FFFD for an invalid byte. A literal is searched for by its longest run free of
# them; any text with a \uXXXX escape is a candidate too.
_UNSAFE = re.compile(r'["\\/\x00-\x1f\x7f\ufffd]+')
_ESCAPE = b"\\u"
AHO_CORASICK = "aho-corasick"
HYPERSCAN = "hyperscan"


class Unsupported(Exception):
    """The rule pack needs something the fast path does not do; use the reference scan."""


def needles(pack: RulePack) -> list[bytes]:
    """The byte strings, one of which every record a rule can match holds in the file.

    Derived from the rules' literals; Unsupported when a rule has none (it must run on
    every record) or ignores case.
    """
    found: set[bytes] = set()
    for rule in pack.rules:
        if not rule.literals:
            raise Unsupported(f"rule {rule.id!r} has no literals")
        if rule.ignore_case:
            raise Unsupported(f"rule {rule.id!r} ignores case")
        for literal in rule.literals:
            pieces = [p for p in _UNSAFE.split(literal) if p]
            if not pieces:
                raise Unsupported(f"rule {rule.id!r}: literal {literal!r} has no plain part")
            found.add(max(pieces, key=len).encode())
    found.add(_ESCAPE)
    # A needle that holds a shorter one is found through it.
    ordered = sorted(found, key=len)
    return [n for i, n in enumerate(ordered) if not any(s in n for s in ordered[:i])]


class Finder(Protocol):
    """Start offsets of needle occurrences in a buffer, in the order of their lines (at
    least the first needle of each line that has one); `name` says which engine."""

    name: str

    def __call__(self, data: bytes | memoryview) -> list[int]: ...


class _AhoCorasick:
    """Aho-Corasick (Teddy SIMD) over the needles: non-overlapping, leftmost first."""

    name = AHO_CORASICK

    def __init__(self, words: Sequence[bytes]) -> None:
        self._automaton = ahocorasick_rs.BytesAhoCorasick(
            list(words), matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
        )

    def __call__(self, data: bytes | memoryview) -> list[int]:
        return [start for _, start, _ in self._automaton.find_matches_as_indexes(data)]


class _Hyperscan:
    """Hyperscan (Vectorscan) over the same needles, as literals: every occurrence, in the
    order of its end (a needle has no newline, so lines come in order)."""

    name = HYPERSCAN

    def __init__(self, words: Sequence[bytes], hyperscan: Any) -> None:
        self._hs = hyperscan
        self._lengths = [len(w) for w in words]
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[b"".join(b"\\x%02x" % c for c in w) for w in words],
            ids=list(range(len(words))),
            elements=len(words),
            flags=[0] * len(words),
        )
        self._local = threading.local()  # a scratch space serves one thread at a time

    def __call__(self, data: bytes | memoryview) -> list[int]:
        found: list[int] = []
        add = found.append
        lengths = self._lengths

        def on_match(id_: int, _start: int, end: int, _flags: int, _context: object) -> None:
            add(end - lengths[id_])

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        return found


def make_finder(words: Sequence[bytes], engine: str | None = None) -> Finder:
    """Hyperscan over the needles when it is installed (`logwatch[fast]`) and not turned
    off (engine or LOGWATCH_FILTER "aho-corasick"), else Aho-Corasick: both find the same
    lines."""
    if engine is None:
        engine = os.environ.get("LOGWATCH_FILTER", "").strip().lower()
    if engine != AHO_CORASICK:
        try:
            import hyperscan
        except ImportError:
            pass
        else:
            try:
                return _Hyperscan(words, hyperscan)
            except Exception as exc:  # hyperscan.error: a CPU it has no build for, say
                logger.info("Hyperscan unavailable, searching with Aho-Corasick: %s", exc)
    return _AhoCorasick(words)


def literal_finder(pack: RulePack) -> Finder | None:
    """The pack's literal search, for the tailer to pass over healthy stretches; None when
    a rule has no literal or ignores case (every line must then be assembled)."""
    try:
        # The job signals' literals too: the agent counts records no rule matches
        # (a worker quitting, a 500 in the access log) for the incident's impact.
        from logwatch.impact import NEEDLES

        return make_finder(sorted({*needles(pack), *(n.encode() for n in NEEDLES)}))
    except Unsupported as exc:
        logger.info("every line is assembled: %s", exc)
        return None
