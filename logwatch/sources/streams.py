"""Streams beside the files: sources that push entries (the journal, a syslog receiver).

`Sources` stands where the agent uses `LogFiles`: it passes every call on to the files
and adds what the streams read. A stream's records come as FileRecords of an identity no
file has (dev -1), and its position is a cursor row committed in the same transaction as
the files' offsets and the incidents its records changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from logwatch.config import Config
from logwatch.sources.follow import LogFiles
from logwatch.sources.followed import FileRecords
from logwatch.sources.identity import FileId
from logwatch.sources.journal import JOURNAL_DEV
from logwatch.store import Cursor

#: What a stream puts on the watcher's queue to wake the agent's loop.
WAKE = Path("\0logwatch-stream")


class Stream(Protocol):
    """A source that reads on its own thread and hands records over."""

    name: str

    def start(self, saved: list[Cursor]) -> None: ...
    def take(self) -> list[FileRecords]: ...
    def cursor(self) -> Cursor | None: ...
    def stop(self) -> None: ...


#: Makes a stream for the agent: from the config, with the call that wakes its loop.
StreamFactory = Callable[[Config, Callable[[], None]], Stream]


class Sources:
    """The files (LogFiles) and the streams, as one source for the agent."""

    def __init__(self, files: LogFiles, streams: Sequence[Stream]) -> None:
        self.files = files
        self.streams = list(streams)

    def start(
        self,
        cursors: Sequence[Cursor],
        last_commit: datetime | None,
        *,
        start: str = "end",
        since: datetime | None = None,
    ) -> list[FileRecords]:
        """Start the files at their cursors, and the streams at theirs."""
        rows = [c for c in cursors if c.dev == JOURNAL_DEV]
        for stream in self.streams:
            stream.start(rows)
        files = [c for c in cursors if c.dev != JOURNAL_DEV]
        return self.files.start(files, last_commit, start=start, since=since)

    def stop(self) -> None:
        """Stop every stream's thread."""
        for stream in self.streams:
            stream.stop()

    def read(self, files: Iterable[FileId] | None = None) -> list[FileRecords]:
        """The files' new records, then what the streams handed over."""
        batches = self.files.read(files)
        for stream in self.streams:
            batches += stream.take()
        return batches

    def noticed(self, paths: Iterable[Path]) -> set[FileId]:
        """The followed files the watcher's paths name (a stream's wake-up names none)."""
        return self.files.noticed(p for p in paths if p != WAKE)

    def rescan(self) -> None:
        """Look for new files."""
        self.files.rescan()

    def cursors(self) -> list[Cursor]:
        """The files' cursors and the streams' positions."""
        rows = [c for s in self.streams if (c := s.cursor()) is not None]
        return self.files.cursors() + rows

    def forgotten(self) -> list[FileId]:
        """What a commit deletes (never a stream's row)."""
        return [f for f in self.files.forgotten() if f.dev != JOURNAL_DEV]

    def committed(self) -> None:
        """The cursors were committed."""
        self.files.committed()
