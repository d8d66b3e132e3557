"""Descriptors for followed files, within the process's limit.

A host may have more logs than the open-file limit allows (10,000 files under the common
soft limit of 1,024). The agent raises the soft limit to the hard one at start; the tailer
then holds at most a budget of descriptors, for the files that changed most recently. The
rest are followed by identity all the same: opened when they change, read, and closed.
A held descriptor matters in one case only: a file renamed or deleted before it was read
to its end is read through it; a file followed without one is found again by its identity
under its new name, and one deleted while unread is said in the log.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO, Protocol

from logwatch.sources.identity import FileId

logger = logging.getLogger(__name__)

RESERVE = 256  # descriptors left for the state database, sockets, the watcher, the probe
_MAX_LIMIT = 1 << 20  # a hard limit of "unlimited" is not a number of files to hold


def raise_open_file_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _MAX_LIMIT if hard == resource.RLIM_INFINITY else min(hard, _MAX_LIMIT)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:
            logger.info("open file limit stays %d: %s", soft, exc)
            return int(soft)
        logger.info("open file limit raised from %d to %d", soft, wanted)
        return wanted
    return int(soft) if soft != resource.RLIM_INFINITY else _MAX_LIMIT


def default_budget() -> int:
    """How many descriptors the tailer may hold under the current soft limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = _MAX_LIMIT if soft == resource.RLIM_INFINITY else int(soft)
    return max(4, limit - min(RESERVE, limit // 4))


class Holder(Protocol):
    """A followed file as the pool sees it: its descriptor, what was read of it, whether
    it is draining."""

    fh: BinaryIO | None
    draining_since: float | None
    offset: int

    @property
    def head_len(self) -> int: ...


class Descriptors:
    """At most `budget` held descriptors; the least recently used is closed for a newcomer.

    A draining file (renamed or deleted, read through its descriptor) is never closed.
    """

    def __init__(self, budget: int | None = None) -> None:
        self.budget = default_budget() if budget is None else max(1, budget)
        self._held: OrderedDict[FileId, Holder] = OrderedDict()
        self._said = False

    def open(self, path: Path) -> BinaryIO:
        """Open for reading; when the process is out of descriptors, close the least
        recently used held one and try again (then hold fewer from now on)."""
        try:
            return open(path, "rb")
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE) or not self._evict():
                raise
        self._shrink(len(self._held))
        return open(path, "rb")

    def keep(self, file: FileId, holder: Holder, *, changed: bool) -> bool:
        """Hold the holder's descriptor if the budget allows; a file that just changed
        takes the place of the least recently used one. False: the caller closes it."""
        if file in self._held:
            self._held.move_to_end(file)
            return True
        if len(self._held) >= self.budget and not (changed and self._evict()):
            self._say()
            return False
        self._held[file] = holder
        return True

    def used(self, file: FileId) -> None:
        """The file changed: it is the last to be closed for a newcomer."""
        if file in self._held:
            self._held.move_to_end(file)

    def release(self, file: FileId) -> None:
        """Forget a file's descriptor (the caller closes it)."""
        self._held.pop(file, None)

    def held(self) -> int:
        """How many descriptors are held now."""
        return len(self._held)

    def _evict(self) -> bool:
        victim = next((f for f, h in self._held.items() if _closable(h)), None)
        if victim is None:
            return False
        holder = self._held.pop(victim)
        assert holder.fh is not None
        holder.fh.close()
        holder.fh = None
        return True

    def _shrink(self, to: int) -> None:
        if to < self.budget:
            logger.warning(
                "out of file descriptors with %d held: holding at most %d from now on"
                " (other files are opened when they change)",
                to + 1,
                max(1, to),
            )
            self.budget = max(1, to)

    def _say(self) -> None:
        if not self._said:
            self._said = True
            logger.info(
                "more files than descriptors to hold (%d): the others are followed by"
                " identity and opened when they change",
                self.budget,
            )


def _closable(holder: Holder) -> bool:
    """Whether closing its descriptor loses nothing: it is read to its end and its head is
    known (a compressed copy of it is then recognised), and it is not being drained."""
    if holder.fh is None or holder.draining_since is not None or holder.head_len == 0:
        return False
    try:
        return os.fstat(holder.fh.fileno()).st_size <= holder.offset
    except OSError:
        return False
