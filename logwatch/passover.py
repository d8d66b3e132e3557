"""Candidate lines no rule can match: counted or skipped without building their records.

A literal makes a line a candidate; most candidates that match no rule are look-alikes
(`401 Authentication required for /api/...`), a dated line alone. When a candidate line
is a record by itself, that record's text is the line's bytes decoded, and the rules'
regexes run over those bytes through Hyperscan (logwatch.regexfilter) say whether any rule
can match it. `alone_and_unmatched` is that test; the fast scan (logwatch.fastrange) and
the agent's skimming read (sources/skimread.py) both use it.

The line is a record alone, of its own decoded text, when: it has a full date of its own
(records.starts_dated_record: it opens a record, whatever came before); it is not JSON
(a JSON record's text is its fields) and holds no "\\r" (the reader drops one); and the
next line opens another record (it is not indented, blank or a
traceback header), or the file ends with the line. A line over max_line_bytes is read
cut: its text is a prefix of the line's, and a translated pattern (no anchors, no
lookarounds) that matches within a prefix matches within the whole line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from logwatch.leanrecords import HEADERS
from logwatch.records import starts_dated_record
from logwatch.regexfilter import RuleFilter
from logwatch.sources.reader import make_line
from logwatch.stampshape import StampShape

__all__ = ["alone_and_unmatched", "line_rules", "opens_dated"]

_CONTINUED = frozenset({b" ", b"\t", b"\n", b"\r"})
_OPENS_OTHERWISE = frozenset({b" ", b"\t", b"{"})  # indented, or JSON


def line_rules(
    rules: RuleFilter, block: bytes, at: int, limit: int, *, eof: bool, keep: Sequence[bytes] = ()
) -> tuple[int, set[int]] | None:
    """For the line at block[at], when a record of it alone would have its decoded text:
    where it ends (past its newline, at most `limit`) and the rules that can match it.
    None when it is not such a line (JSON, "\\r", continued, the next line in the next
    block) or holds one of `keep`.

    block[:limit] are whole lines; the last may lack its newline when `eof` (the block
    ends the file). Whether the line opens a record is not decided here."""
    end = block.find(b"\n", at, limit)
    if end < 0:
        if not eof:
            return None
        end = limit  # the file's last line, without a newline
    elif end + 1 >= limit and not eof:
        return None  # the next line is in the next block
    raw = block[at:end]
    if (
        not raw
        or raw[:1] in _OPENS_OTHERWISE
        or b"\r" in raw
        or block[end + 1 : end + 2] in _CONTINUED
        or block.startswith(HEADERS, end + 1)
        or any(k in raw for k in keep)
    ):
        return None
    return min(end + 1, limit), rules.rules_in(raw)


def opens_dated(
    block: bytes, at: int, end: int, *, tz: tzinfo, shape: StampShape, max_line: int
) -> bool:
    """Whether the line block[at:end] opens a record with a full date of its own."""
    raw = block[at:end].rstrip(b"\n")
    return starts_dated_record(make_line(raw, 0, 0, 0, max_line).text, tz, shape=shape)


def alone_and_unmatched(
    rules: RuleFilter,
    block: bytes,
    at: int,
    limit: int,
    *,
    eof: bool,
    tz: tzinfo,
    shape: StampShape,
    max_line: int,
    keep: Sequence[bytes] = (),
) -> int | None:
    """Where the line at block[at] ends (as line_rules) when it is a record alone that no
    rule can match and that holds none of `keep`; else None."""
    found = line_rules(rules, block, at, limit, eof=eof, keep=keep)
    if found is None or found[1]:
        return None  # not alone, or a rule may match: build it
    end = found[0]
    if not opens_dated(block, at, end, tz=tz, shape=shape, max_line=max_line):
        return None
    return end
