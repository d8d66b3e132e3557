"""A followed file as the tailer holds it, and what one read of it gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from logwatch.model import Record
from logwatch.records import RecordAssembler
from logwatch.sources.identity import FileId, Position, encode_head
from logwatch.store import Cursor


@dataclass(frozen=True, slots=True)
class FileRecords:
    """The records one poll read from one file."""

    file: FileId
    path: Path
    # The file had been read to its end just before (within LIVE_WINDOW_S): these records
    # were written since, so their log time can be checked against the clock.
    live: bool
    records: list[Record]
    # Read past a cursor of the previous run (or in a compressed file written while it was
    # stopped): these records were written after its last commit.
    resumed: bool = False


@dataclass(slots=True, eq=False)
class TailedFile:
    """One followed file: its identity, head, how far it was read, its record assembler."""

    path: Path
    file: FileId
    fh: BinaryIO | None  # None: followed without a descriptor, opened when it changes
    head_bytes: bytes  # the head as we read it: a copy of this content is recognised
    offset: int
    line: int
    assembler: RecordAssembler
    seq: int  # order of following: sources are read before the copies made of them
    size_seen: int = -1
    last_change: float = 0.0  # monotonic time the size last changed
    draining_since: float | None = None  # set once no watched name holds this identity
    stat_seen: tuple[int, int] = (-1, -1)  # (size, mtime_ns) at the last check
    more: bool = False  # the last read stopped at its batch bound, not at the end
    caught_up_at: float | None = None  # monotonic time a read last reached the end
    # Where the reads had got to when they caught up with the writer: a record starting
    # here or later was written since (one held back at the end of a backlog was not).
    live_from: int | None = None
    resumed: bool = False  # read past a previous run's cursor, not yet to the end
    # Where that resumed reading ended: a record starting before it (the last one, held
    # back a poll) was written while the previous run was stopped, as those above it.
    resumed_to: int | None = None
    errors: set[str] = field(default_factory=set)  # said once, until a read succeeds
    # Its head so far is (a prefix of) a file we follow: its lines are read there, and it
    # is not read until that file is truncated (a copytruncate copy) or its head differs.
    maybe_copy: bool = False

    @property
    def fd(self) -> int:
        """The descriptor being read (held, or opened for this check)."""
        assert self.fh is not None, f"{self.path}: read without a descriptor"
        return self.fh.fileno()

    @property
    def head_len(self) -> int:
        """How many leading bytes the head digest covers."""
        return len(self.head_bytes)

    def batches(self, records: list[Record], *, live: bool, resumed: bool) -> list[FileRecords]:
        """The records of one read, as batches of those alike: `live`, `resumed`, the file's
        state when the read began; each record is judged by where its first line is."""
        live_from = self.live_from if live else None
        groups: dict[tuple[bool, bool], list[Record]] = {}
        for record in records:
            key = (
                live_from is not None and record.offset >= live_from,
                resumed or (self.resumed_to is not None and record.offset < self.resumed_to),
            )
            groups.setdefault(key, []).append(record)
        return [
            FileRecords(self.file, self.path, is_live, group, resumed=is_resumed)
            for (is_live, is_resumed), group in groups.items()
        ]

    def position(self) -> Position:
        """Where the lines fed so far end."""
        return Position(self.offset, self.line)

    def cursor(self) -> Cursor | None:
        """Where a restart resumes: the start of the record still being assembled.

        None for a possible copy still waiting for its source: its lines are read in the
        source, whose cursor carries them; a cursor at its start would read them twice.
        """
        if self.maybe_copy:
            return None
        pending = self.assembler.pending_start()
        offset, line = pending if pending is not None else (self.offset, self.line)
        return Cursor(
            dev=self.file.dev,
            ino=self.file.ino,
            head_len=self.head_len,
            head=encode_head(self.head_bytes),
            path=str(self.path),
            offset=offset,
            line=line,
        )
