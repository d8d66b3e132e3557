"""The tailer's skimming read: stretches of complete lines without a literal are passed
over, and records are built only around the lines that hold one (sources/skim.py has
the reasoning; this is the tailer's side of it, on a followed file's descriptor)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

from logwatch.impact import NEEDLES
from logwatch.model import Record
from logwatch.passover import alone_and_unmatched
from logwatch.prefilter import Finder
from logwatch.records import RecordAssembler
from logwatch.regexfilter import RuleFilter
from logwatch.sources import skim
from logwatch.sources.followed import TailedFile
from logwatch.stampshape import StampShape

SKIM_BYTES_PER_POLL = 64 << 20  # passed over per poll at most: the loop commits between


class Skimmer:
    """Reads a followed file's new lines with the rule pack's literal search."""

    def __init__(
        self,
        finder: Finder,
        *,
        tz: tzinfo,
        max_line_bytes: int,
        assembler: Callable[[Path, float, StampShape], RecordAssembler],
        rules: RuleFilter | None = None,
    ) -> None:
        self.finder = finder
        # The rules' regexes (logwatch.passover): a literal's line no rule can match and
        # no job signal holds is passed over with the healthy lines around it.
        self.rules = rules
        self._keep = tuple(n.encode() for n in NEEDLES)
        self._tz = tz
        self._max_line_bytes = max_line_bytes
        self._assembler = assembler

    def skim(self, tailed: TailedFile, size: int, budget: int, records: list[Record]) -> int:
        """Pass over the stretches of complete lines that hold no literal; assemble the
        records around those that do. Leaves the last record for the line-by-line read
        (it may go on); returns the line budget left (0: stop here, more to read)."""
        fd = tailed.fd
        passed = 0
        while budget > 0:
            base = tailed.offset
            block = os.pread(fd, min(size - base, skim.BLOCK), base)
            complete = block.rfind(b"\n") + 1
            if complete == 0:
                return budget  # a partial line, or one longer than a block
            targets: list[int] = []
            for hit in self.finder(memoryview(block)[:complete]):
                start = block.rfind(b"\n", 0, hit) + 1
                if not targets or targets[-1] != start:
                    targets.append(start)
            if self.rules is not None:
                shape = tailed.assembler.shape
                targets = [t for t in targets if not self._unmatched(block, t, complete, shape)]
            last_line = block.rfind(b"\n", 0, complete - 1) + 1
            pos = 0
            for target in [*targets, None]:
                if target is not None and target < pos:
                    continue  # its record was fed already
                anchor = last_line if target is None else target
                to = skim.dated_start(
                    block, anchor, pos, self._tz, self._max_line_bytes, tailed.assembler.shape
                )
                if to is not None and to > pos:
                    budget = self._pass_over(tailed, block, base, pos, to, budget, records)
                    passed += to - pos
                    pos = to
                if target is None or budget <= 0:
                    break
                pos, budget = self._feed_record(
                    tailed, block, base, pos, target, complete, budget, records
                )
                if budget <= 0:
                    break
            if budget <= 0 or base + complete >= size or tailed.offset == base:
                return budget  # the end is read line by line: its last record may go on
            if passed >= SKIM_BYTES_PER_POLL:
                return 0  # a big backlog: let the loop commit and tick between steps
        return budget

    def _unmatched(self, block: bytes, at: int, complete: int, shape: StampShape) -> bool:
        """Whether the line at block[at] is a record alone no rule can match."""
        assert self.rules is not None
        end = alone_and_unmatched(
            self.rules,
            block,
            at,
            complete,
            eof=False,
            tz=self._tz,
            shape=shape,
            max_line=self._max_line_bytes,
            keep=self._keep,
        )
        return end is not None

    def _feed_record(
        self,
        tailed: TailedFile,
        block: bytes,
        base: int,
        pos: int,
        target: int,
        complete: int,
        budget: int,
        records: list[Record],
    ) -> tuple[int, int]:
        """Feed lines from `pos` until the record holding the line at `target` is complete
        (the next record has begun) or the block ends; returns the new position, budget."""
        while pos < complete and budget > 0:
            pos = self._feed_line(tailed, block, base, pos, records)
            budget -= 1
            if pos > target:
                pending = tailed.assembler.pending_start()
                if pending is None or pending[0] > base + target:
                    break
        return pos, budget

    def _feed_line(
        self, tailed: TailedFile, block: bytes, base: int, pos: int, records: list[Record]
    ) -> int:
        """Feed the line at block[pos:] to the assembler; returns where the next starts."""
        line, end = skim.line_at(block, base, pos, tailed.line, self._max_line_bytes)
        records += tailed.assembler.feed(line)
        tailed.offset, tailed.line = line.end, line.number + 1
        return end

    def _pass_over(
        self,
        tailed: TailedFile,
        block: bytes,
        base: int,
        pos: int,
        to: int,
        budget: int,
        records: list[Record],
    ) -> int:
        """Skip block[pos:to), which holds no literal and ends where a dated record starts.

        The record being assembled is finished first if it holds a literal. The last dated
        line passed over comes out as a one-line record, so log time still moves on (the
        backlog resolves incidents by log time); it holds no literal, so it matches nothing.
        """
        pending = tailed.assembler.pending_start()
        if pending is not None:
            held = base + pos - pending[0]
            if held > skim.BLOCK or self.finder(os.pread(tailed.fd, held, pending[0])):
                while pos < to:  # its continuation lines are in [pos, to): feed them
                    pos = self._feed_line(tailed, block, base, pos, records)
                    budget -= 1
                records += tailed.assembler.flush()
        mtime = os.fstat(tailed.fd).st_mtime
        shape = tailed.assembler.shape
        tailed.assembler = self._assembler(tailed.path, mtime, shape)
        if to > pos:
            last = block.rfind(b"\n", 0, to - 1) + 1
            dated = skim.dated_start(block, last, pos, self._tz, self._max_line_bytes, shape)
            if dated is not None:
                number = tailed.line + block.count(b"\n", pos, dated)
                line, _ = skim.line_at(block, base, dated, number, self._max_line_bytes)
                ticker = self._assembler(tailed.path, mtime, shape)
                records += ticker.feed(line) + ticker.flush()
            tailed.line += block.count(b"\n", pos, to)
        tailed.offset = base + to
        return budget
