"""The literal prefilter: byte strings one of which every record a rule can match holds.

Both the fast scan and the agent's tailer search raw file bytes for them (Aho-Corasick,
about 4 GB/s) and build records only around what they find.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol

import ahocorasick_rs

from logwatch.rules import RulePack

logger = logging.getLogger(__name__)

# Characters that can stand for something else in the record text than in the file: JSON
# escapes (\" \\ \/ \n \t \uXXXX), the "\n" that joins a record's lines, a dropped "\r",
# and U+FFFD for an invalid byte. A literal is searched for by its longest run free of
# them; any text with a \uXXXX escape is a candidate too.
_UNSAFE = re.compile(r'["\\/\x00-\x1f\x7f\ufffd]+')
_ESCAPE = b"\\u"


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
    """Start offsets of needle occurrences in a buffer (at least the first on each line)."""

    def __call__(self, data: bytes | memoryview) -> list[int]: ...


def make_finder(words: Sequence[bytes]) -> Finder:
    """Aho-Corasick (Teddy SIMD) over the needles."""
    automaton = ahocorasick_rs.BytesAhoCorasick(
        list(words), matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
    )

    def find_ac(data: bytes | memoryview) -> list[int]:
        return [start for _, start, _ in automaton.find_matches_as_indexes(data)]

    return find_ac


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
