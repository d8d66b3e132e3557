"""Live tailing: files followed by identity (device, inode, head digest), never by path.

Survives what a log directory does: rename + create (the renamed file is drained to its end
first), copytruncate, rewrite in place, deletion, a partial last line (held until its
newline arrives, flushed once it has sat unchanged for a while), a traceback split across
two writes, and restarts (a file renamed while we were stopped is found again by identity).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import BinaryIO

from logwatch.errors import SourceError
from logwatch.model import Record
from logwatch.prefilter import Finder
from logwatch.records import RecordAssembler
from logwatch.sources import skim
from logwatch.sources.reader import open_log, read_lines
from logwatch.store import Cursor
from logwatch.timestamps import parse_line_start

logger = logging.getLogger(__name__)

HEAD_BYTES = 1024  # the digest covers this much of the head, or less while the file is shorter
SKIM_BYTES_PER_POLL = 64 << 20  # passed over per poll at most: the loop commits between
DRAIN_GRACE_S = 5.0  # a renamed file is still read this long: its writer may not have reopened


def head_digest(fh: BinaryIO, length: int) -> str:
    """Digest of the first `length` bytes of an open file."""
    data = os.pread(fh.fileno(), length, 0)
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class TailedFile:
    """One followed file: its handle, identity, how far it was read, its record assembler."""

    path: Path
    fh: BinaryIO
    dev: int
    ino: int
    head_len: int
    head: str
    offset: int
    line: int
    assembler: RecordAssembler
    size_seen: int = 0
    last_change: float = 0.0  # monotonic time the size last changed
    draining_since: float | None = None  # set once the path names another file
    head_bytes: bytes = b""  # the head as we read it: a copy of this content is recognised
    stat_seen: tuple[int, int] = (-1, -1)  # (size, mtime_ns) at the last check
    more: bool = False  # the last read stopped at its batch bound, not at the end
    errors: set[str] = field(default_factory=set)
    # Its head so far is (a prefix of) content we follow elsewhere: not read until that is
    # settled, so a copy made by copytruncate is never read from its start.
    maybe_copy: bool = False

    def cursor(self) -> Cursor:
        """Where a restart resumes: the start of the record still being assembled."""
        pending = self.assembler.pending_start()
        offset, line = pending if pending is not None else (self.offset, self.line)
        return Cursor(
            dev=self.dev,
            ino=self.ino,
            head_len=self.head_len,
            head=self.head,
            path=str(self.path),
            offset=offset,
            line=line,
        )


Key = tuple[int, int]  # (device, inode)


class Tailer:
    """Follows files by identity; returns the records that new data completed.

    A renamed file is the same file under a new name: it is read on to its end, and the
    new file under the old name is a new identity, read from its start. A file whose
    identity no longer appears under any name (deleted, compressed) is drained and closed.
    """

    def __init__(
        self,
        *,
        tz: tzinfo,
        max_lines: int,
        max_bytes: int,
        max_line_bytes: int,
        record_wait_s: float = 0.3,
        partial_wait_s: float = 3.0,
        max_lines_per_poll: int = 20000,
        finder: Finder | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_lines_per_poll = max_lines_per_poll
        # The rule pack's literal search: stretches without a literal are passed over.
        # None: every line is assembled (a pack with a rule that has no literal).
        self.finder = finder
        self._tz = tz
        self._max_lines = max_lines
        self._max_bytes = max_bytes
        self._max_line_bytes = max_line_bytes
        self._record_wait_s = record_wait_s
        self._partial_wait_s = partial_wait_s
        self._monotonic = monotonic
        self.files: dict[Key, TailedFile] = {}
        self.gone: list[Key] = []  # identities to forget in the store
        # Content of files truncated under us, in case its copy shows up after the fact:
        # (head bytes, offset, line).
        self._truncated: deque[tuple[bytes, int, int]] = deque(maxlen=8)
        # Cursors saved by the previous run: a copy made while we were stopped is known by
        # the digest of the head it shares with one of them.
        self._remembered: list[Cursor] = []

    def remember(self, cursors: Iterable[Cursor]) -> None:
        """The previous run's cursors, to recognise copies of their files made meanwhile."""
        self._remembered = [c for c in cursors if c.head_len and c.offset]

    def known(self, path: Path) -> Key | None:
        """The identity followed under this path now, if any (stat, not the old name)."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_dev, st.st_ino)
        tailed = self.files.get(key)
        if tailed is None:
            return None
        if tailed.path != path:
            logger.info("renamed old=%s new=%s", tailed.path, path)
            tailed.path = path
        return key

    def open(
        self,
        path: Path,
        *,
        cursor: Cursor | None = None,
        start: str = "start",
        since: datetime | None = None,
    ) -> Key | None:
        """Start following `path` at its cursor, or at its start, its end or a log time."""
        try:
            fh = open(path, "rb")  # noqa: SIM115 - held open for as long as we follow it
            st = os.fstat(fh.fileno())
        except OSError as exc:
            logger.warning("%s: cannot read: %s", path, exc.strerror or exc)
            return None
        key = (st.st_dev, st.st_ino)
        if key in self.files:
            fh.close()
            return key
        offset, line = 0, 1
        head_len = min(st.st_size, HEAD_BYTES)
        head = head_digest(fh, head_len)
        head_bytes = os.pread(fh.fileno(), head_len, 0)
        maybe_copy = False
        if cursor is not None and _same(cursor, st, fh):
            offset, line = min(cursor.offset, st.st_size), cursor.line
            logger.info("resume path=%s offset=%d", path, offset)
        elif (start == "start" or self._remembered) and self._copy_of(head_bytes, key) is not None:
            # Perhaps a copy (copytruncate) of what we follow or followed: settled in _check,
            # once its source is truncated or its content tells it apart.
            maybe_copy = True
        elif start == "end":
            offset, line = _end_of_complete_lines(fh, st.st_size)
        elif start == "since" and since is not None:
            offset, line = seek_to_time(fh, st.st_size, since, self._tz)
        self.files[key] = TailedFile(
            path=path,
            fh=fh,
            dev=st.st_dev,
            ino=st.st_ino,
            head_len=head_len,
            head=head,
            offset=offset,
            line=line,
            assembler=self._assembler(path, st.st_mtime),
            size_seen=-1,
            last_change=self._monotonic(),
            head_bytes=head_bytes,
            maybe_copy=maybe_copy,
        )
        logger.info("following path=%s offset=%d", path, offset)
        return key

    def _copy_of(self, head: bytes, key: Key) -> Key | tuple[int, int] | None:
        """What a new file's head says it copies (logrotate's copytruncate).

        A followed file whose head starts with it (its key: the copy may still be in
        progress, and the source is still being read), content truncated since we read it
        or followed by the previous run (where we were in it), or nothing.
        """
        for other, t in self.files.items():
            if other != key and t.offset and not t.maybe_copy and _one_begins(t.head_bytes, head):
                return other
        if not head:
            return None
        for old_head, offset, line in reversed(self._truncated):
            if old_head and offset and _one_begins(old_head, head):
                return offset, line
        for c in self._remembered:
            if (c.dev, c.ino) != key and len(head) >= c.head_len:
                digest = hashlib.sha1(head[: c.head_len], usedforsecurity=False).hexdigest()
                if digest == c.head:
                    return c.offset, c.line
        return None

    def _settle_copy(self, key: Key, tailed: TailedFile, size: int) -> bool:
        """Whether a possible copy can be read now (and from where); False: wait."""
        head = os.pread(tailed.fh.fileno(), min(size, HEAD_BYTES), 0)
        source = self._copy_of(head, key)
        if isinstance(source, tuple):
            offset, line = source
            if size < offset:
                return False  # still being copied
            tailed.offset, tailed.line = offset, line
            logger.info("copy of a followed file path=%s offset=%d", tailed.path, offset)
        elif source is not None:
            return False  # its source is not truncated yet: its lines are read there
        tailed.maybe_copy = False
        tailed.head_len = len(head)
        tailed.head = hashlib.sha1(head, usedforsecurity=False).hexdigest()
        tailed.head_bytes = head
        return True

    def resumed(self, cursor: Cursor) -> bool:
        """The file this cursor describes is followed (same identity and head)."""
        tailed = self.files.get((cursor.dev, cursor.ino))
        if tailed is None or len(tailed.head_bytes) < cursor.head_len:
            return False
        head = tailed.head_bytes[: cursor.head_len]
        return hashlib.sha1(head, usedforsecurity=False).hexdigest() == cursor.head

    def read_archived(self, path: Path, cursor: Cursor) -> list[Record] | None:
        """The records past `cursor` in a compressed file whose head is the cursor's file,
        or None when it is another file."""
        try:
            with open_log(path) as stream:
                head = stream.read(cursor.head_len)
                if (
                    len(head) < cursor.head_len
                    or hashlib.sha1(head, usedforsecurity=False).hexdigest() != cursor.head
                ):
                    return None
                stream.seek(cursor.offset)
                assembler = self._assembler(path, os.stat(path).st_mtime)
                records: list[Record] = []
                for line in read_lines(
                    stream,
                    start_offset=cursor.offset,
                    start_line=cursor.line,
                    max_line_bytes=self._max_line_bytes,
                    final=True,
                ):
                    records += assembler.feed(line)
                return records + assembler.flush()
        except (OSError, SourceError) as exc:
            logger.warning("%s: cannot read: %s", path, exc)
            return None

    def _assembler(self, path: Path, mtime: float) -> RecordAssembler:
        return RecordAssembler(
            source=str(path),
            file_time=datetime.fromtimestamp(mtime).astimezone(),
            tz=self._tz,
            max_lines=self._max_lines,
            max_bytes=self._max_bytes,
        )

    def close(self) -> None:
        """Close every handle."""
        for tailed in self.files.values():
            tailed.fh.close()
        self.files.clear()

    def vanished(self, present: set[Key]) -> None:
        """Identities no longer under any watched name: drain them for a grace period."""
        now = self._monotonic()
        for key, tailed in self.files.items():
            if key not in present and tailed.draining_since is None:
                logger.info("file gone path=%s (draining)", tailed.path)
                tailed.draining_since = now

    # -- reading -----------------------------------------------------------------------

    def poll(self, keys: Iterable[Key] | None = None) -> list[Record]:
        """Read what is new in the given files (all when None), oldest followed first."""
        wanted = set(self.files) if keys is None else set(keys)
        records: list[Record] = []
        for key, tailed in list(self.files.items()):
            if key not in wanted and tailed.draining_since is None and not tailed.maybe_copy:
                continue
            records += self._check(key, tailed)
            since = tailed.draining_since
            if since is not None and self._monotonic() - since >= DRAIN_GRACE_S:
                records += self._finish(key, tailed)
        return records

    def _check(self, key: Key, tailed: TailedFile) -> list[Record]:
        """Truncation and rewrite checks, then read."""
        records: list[Record] = []
        try:
            st = os.fstat(tailed.fh.fileno())
        except OSError as exc:
            self._warn_once(tailed, f"{tailed.path}: cannot stat: {exc.strerror}")
            return []
        if tailed.maybe_copy and not self._settle_copy(key, tailed, st.st_size):
            return []
        changed = (st.st_size, st.st_mtime_ns) != tailed.stat_seen
        tailed.stat_seen = (st.st_size, st.st_mtime_ns)
        # The head is re-read only when the file changed: polling stays one fstat per file.
        if st.st_size < tailed.offset or (changed and not self._head_unchanged(tailed, st.st_size)):
            logger.info(
                "truncation detected path=%s size=%d offset=%d",
                tailed.path,
                st.st_size,
                tailed.offset,
            )
            records += tailed.assembler.flush()
            self._truncated.append((tailed.head_bytes, tailed.offset, tailed.line))
            tailed.offset, tailed.line = 0, 1
            tailed.head_len = min(st.st_size, HEAD_BYTES)
            tailed.head = head_digest(tailed.fh, tailed.head_len)
            tailed.head_bytes = os.pread(tailed.fh.fileno(), tailed.head_len, 0)
            tailed.assembler = self._assembler(tailed.path, st.st_mtime)
        return records + self._read(tailed, st.st_size)

    def _head_unchanged(self, tailed: TailedFile, size: int) -> bool:
        """The bytes the digest covers are still the same (else the file was rewritten)."""
        if size < tailed.head_len:
            return False
        if head_digest(tailed.fh, tailed.head_len) != tailed.head:
            return False
        if tailed.head_len < HEAD_BYTES and size > tailed.head_len:
            tailed.head_len = min(size, HEAD_BYTES)  # the file grew: digest more of it
            tailed.head = head_digest(tailed.fh, tailed.head_len)
            tailed.head_bytes = os.pread(tailed.fh.fileno(), tailed.head_len, 0)
        return True

    def _read(self, tailed: TailedFile, size: int) -> list[Record]:
        records: list[Record] = []
        now = self._monotonic()
        if size != tailed.size_seen:
            tailed.size_seen, tailed.last_change = size, now
        idle = now - tailed.last_change
        # A partial last line is held until its newline arrives, or until it has sat
        # unchanged long enough that no newline is coming (a crashed writer).
        final = idle >= self._partial_wait_s or tailed.draining_since is not None
        budget = self._max_lines_per_poll
        try:
            if self.finder is not None and size > tailed.offset:
                budget = self._skim(tailed, size, budget, records)
                if budget <= 0:
                    tailed.more = True
                    return records
            if size > tailed.offset:
                for line in read_lines(
                    tailed.fh,
                    start_offset=tailed.offset,
                    start_line=tailed.line,
                    max_line_bytes=self._max_line_bytes,
                    final=final,
                ):
                    records += tailed.assembler.feed(line)
                    tailed.offset, tailed.line = line.end, line.number + 1
                    budget -= 1
                    if budget <= 0 or line.end >= size:
                        # A bounded batch: the loop commits, ticks and hears signals
                        # between batches, and memory stays flat through a backlog.
                        break
        except (OSError, SourceError) as exc:
            self._warn_once(tailed, f"{tailed.path}: cannot read: {exc}")
            return records
        tailed.errors.clear()
        # Latency: a traceback is complete at its exception line; any other record once no
        # more lines have come for a moment (a traceback split across writes still joins).
        tailed.more = budget <= 0
        if tailed.more:
            return records  # more to read right away: the record may go on
        if tailed.assembler.pending_complete() or idle >= self._record_wait_s or final:
            records += tailed.assembler.flush()
        return records

    def _skim(self, tailed: TailedFile, size: int, budget: int, records: list[Record]) -> int:
        """Pass over the stretches of complete lines that hold no literal; assemble the
        records around those that do. Leaves the last record for the line-by-line read
        (it may go on); returns the line budget left (0: stop here, more to read)."""
        assert self.finder is not None
        fd = tailed.fh.fileno()
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
            last_line = block.rfind(b"\n", 0, complete - 1) + 1
            pos = 0
            for target in [*targets, None]:
                if target is not None and target < pos:
                    continue  # its record was fed already
                anchor = last_line if target is None else target
                to = skim.dated_start(block, anchor, pos, self._tz, self._max_line_bytes)
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
        assert self.finder is not None
        pending = tailed.assembler.pending_start()
        if pending is not None:
            held = base + pos - pending[0]
            if held > skim.BLOCK or self.finder(os.pread(tailed.fh.fileno(), held, pending[0])):
                while pos < to:  # its continuation lines are in [pos, to): feed them
                    pos = self._feed_line(tailed, block, base, pos, records)
                    budget -= 1
                records += tailed.assembler.flush()
        mtime = os.fstat(tailed.fh.fileno()).st_mtime
        tailed.assembler = self._assembler(tailed.path, mtime)
        if to > pos:
            last = block.rfind(b"\n", 0, to - 1) + 1
            dated = skim.dated_start(block, last, pos, self._tz, self._max_line_bytes)
            if dated is not None:
                number = tailed.line + block.count(b"\n", pos, dated)
                line, _ = skim.line_at(block, base, dated, number, self._max_line_bytes)
                ticker = self._assembler(tailed.path, mtime)
                records += ticker.feed(line) + ticker.flush()
            tailed.line += block.count(b"\n", pos, to)
        tailed.offset = base + to
        return budget

    def _finish(self, key: Key, tailed: TailedFile) -> list[Record]:
        records = tailed.assembler.flush()
        del self.files[key]
        tailed.fh.close()
        self.gone.append(key)
        logger.info("file done path=%s", tailed.path)
        return records

    def busy(self) -> list[Key]:
        """Files holding an unfinished record or partial line: poll them again soon."""
        return [
            k
            for k, t in self.files.items()
            if t.assembler.pending_start() is not None
            or t.size_seen > t.offset
            or t.draining_since is not None
        ]

    def backlog(self) -> bool:
        """Some file has bytes not read yet: poll again at once."""
        return any(t.more for t in self.files.values())

    def cursors(self) -> list[Cursor]:
        """Resume points of every followed file."""
        return [t.cursor() for t in self.files.values()]

    def _warn_once(self, tailed: TailedFile, message: str) -> None:
        if message not in tailed.errors:
            tailed.errors.add(message)
            logger.warning("%s", message)


def _one_begins(a: bytes, b: bytes) -> bool:
    """One of two heads begins the other: the same content, read at different lengths.

    A head is read as far as the file went when it was last looked at, so the source of a
    copy may be known by a shorter head than the copy's, or the copy may still be growing.
    """
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _same(cursor: Cursor, st: os.stat_result, fh: BinaryIO) -> bool:
    """The cursor describes this file: same device and inode, same head bytes."""
    if (cursor.dev, cursor.ino) != (st.st_dev, st.st_ino) or st.st_size < cursor.head_len:
        return False
    return head_digest(fh, cursor.head_len) == cursor.head


def _end_of_complete_lines(fh: BinaryIO, size: int) -> tuple[int, int]:
    """Offset just past the last newline, and the line number there."""
    fd = fh.fileno()
    lines, pos, last_nl = 0, 0, -1
    while pos < size:
        block = os.pread(fd, min(1 << 20, size - pos), pos)
        if not block:
            break
        lines += block.count(b"\n")
        nl = block.rfind(b"\n")
        if nl >= 0:
            last_nl = pos + nl
        pos += len(block)
    return last_nl + 1, lines + 1


def seek_to_time(fh: BinaryIO, size: int, since: datetime, tz: tzinfo) -> tuple[int, int]:
    """Offset of the first line stamped at or after `since` (binary search, as fail2ban)."""
    fd = fh.fileno()
    lo, hi = 0, size
    while hi - lo > 4096:
        mid = (lo + hi) // 2
        when = _first_stamp_after(fd, mid, size, tz)
        if when is None or when >= since:
            hi = mid
        else:
            lo = mid
    # Walk forward from lo to the exact first line at or after `since`.
    pos = _next_line_start(fd, lo) if lo else 0
    while pos < size:
        chunk = os.pread(fd, 64 * 1024, pos)
        nl = chunk.find(b"\n")
        if nl < 0:
            break
        stamp = parse_line_start(chunk[:nl].decode("utf-8", "replace"), tz)
        if stamp is not None and stamp.when is not None and stamp.when >= since:
            break
        pos += nl + 1
    return pos, _count_lines(fd, pos) + 1


def _next_line_start(fd: int, pos: int) -> int:
    chunk = os.pread(fd, 64 * 1024, pos - 1)
    nl = chunk.find(b"\n")
    return pos - 1 + nl + 1 if nl >= 0 else pos


def _first_stamp_after(fd: int, pos: int, size: int, tz: tzinfo) -> datetime | None:
    start = _next_line_start(fd, pos) if pos else 0
    chunk = os.pread(fd, min(256 * 1024, size - start), start)
    for raw in chunk.split(b"\n")[:-1]:
        stamp = parse_line_start(raw.decode("utf-8", "replace"), tz)
        if stamp is not None and stamp.when is not None:
            return stamp.when if stamp.when.tzinfo else stamp.when.replace(tzinfo=tz)
    return None


def _count_lines(fd: int, end: int) -> int:
    count, pos = 0, 0
    while pos < end:
        block = os.pread(fd, min(1 << 20, end - pos), pos)
        if not block:
            break
        count += block.count(b"\n")
        pos += len(block)
    return count


def since_from_lookback(now: datetime, lookback_s: float) -> datetime:
    """The log time a --lookback starts from."""
    return now - timedelta(seconds=lookback_s)
