"""Which followed file a new file may be a copy of, from the heads of the files followed.

logrotate's copytruncate makes a new inode holding content we read, or are reading, in
its source. While the source is still followed, the copy waits: its lines are read in
the source until the source is truncated (then the copy is read from where reading of the
source got to) or until its own content tells it apart. The heads of followed files are
indexed by their leading bytes, so that telling a new file apart is not a look at each of
10,000 files; a candidate's bytes are then read now, not trusted as last read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from logwatch.sources.followed import TailedFile
from logwatch.sources.identity import FileId, distinctive, one_begins

INDEX_BYTES = 64  # heads are indexed by this many leading bytes


class Heads:
    """The heads of the followed files, indexed, and what a new head copies."""

    def __init__(self, files: Mapping[FileId, TailedFile]) -> None:
        self._files = files
        self._index: dict[bytes, set[FileId]] = {}  # heads by their leading bytes
        self._short: set[FileId] = set()  # heads too short for the index

    def set(self, tailed: TailedFile, head: bytes) -> None:
        """The file's head is now `head` (read at open, grown, or after a truncation)."""
        self.drop(tailed)
        tailed.head_bytes = head
        if len(head) >= INDEX_BYTES:
            self._index.setdefault(head[:INDEX_BYTES], set()).add(tailed.file)
        else:
            self._short.add(tailed.file)

    def drop(self, tailed: TailedFile) -> None:
        """The file is no longer followed (or its head changes)."""
        old = tailed.head_bytes
        if len(old) >= INDEX_BYTES:
            self._index.get(old[:INDEX_BYTES], set()).discard(tailed.file)
        else:
            self._short.discard(tailed.file)

    def source_of(self, head: bytes, size: int, file: FileId, seq: int) -> FileId | None:
        """A followed file this one may be a copy of: its content now begins with the
        whole of this one's head, and it is at least as long; or it held this content
        when last read and was truncated since (the truncation is not seen yet). A head
        as last read is not enough alone: one short line, or nothing, begins too much."""
        for other in self._candidates(head):
            # A possible copy can be the source of a file followed after it (a copy of a
            # new file that is still empty, say); never of an earlier one: no cycles.
            if other.file == file or (other.maybe_copy and other.seq > seq):
                continue
            known = other.head_bytes
            was = bool(other.offset and distinctive(known) and one_begins(known, head))
            now = _peek(other, max(len(head), len(known)))
            if now is None:
                if was:
                    return other.file  # cannot look: told apart when it is done
                continue
            data, current = now
            if current and data[: len(head)] == head and size <= current:
                return other.file
            if was and (current < other.offset or data[: len(known)] != known):
                return other.file
        return None

    def may_hold(self, head: bytes) -> bool:
        """Whether a followed file holds content beginning with `head`: it did when last
        read (its lines are read there, or its truncation is still to be seen), or its
        bytes now begin so, or it cannot be read and its head as last read is too short
        to tell."""
        for other in self._candidates(head):
            known = other.head_bytes
            if distinctive(known) and one_begins(known, head):
                return True
            now = _peek(other, len(head))
            if (now is None and not distinctive(known)) or (now is not None and now[0] == head):
                return True
        return False

    def _candidates(self, head: bytes) -> list[TailedFile]:
        """Followed files whose head as last read may begin like `head`."""
        if len(head) >= INDEX_BYTES:
            files = [*self._index.get(head[:INDEX_BYTES], ()), *self._short]
            return [self._files[f] for f in files]
        return list(self._files.values())


def _peek(tailed: TailedFile, length: int) -> tuple[bytes, int] | None:
    """The first `length` bytes of a followed file now, and its size; None when it
    cannot be read (followed without a descriptor, and gone from its name)."""
    try:
        if tailed.fh is not None:
            fd = tailed.fh.fileno()
            return os.pread(fd, length, 0), os.fstat(fd).st_size
        with open(tailed.path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if FileId(st.st_dev, st.st_ino) != tailed.file:
                return None
            return os.pread(fh.fileno(), length, 0), st.st_size
    except OSError:
        return None
