"""Live tailing: files followed by identity (device, inode, head digest), never by path.

Survives what a log directory does: rename + create (the renamed file is drained to its end
first), copytruncate in logrotate's order (copy, then truncate a moment later, with lines
written in between), rewrite in place, deletion, a partial last line (held until its
newline arrives, flushed once it has sat unchanged for a while), a traceback split across
two writes, restarts (a file renamed while we were stopped is found again by identity), and
more files than descriptors (sources/descriptors.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from pathlib import Path

from logwatch.errors import SourceError
from logwatch.model import Record
from logwatch.prefilter import Finder
from logwatch.records import RecordAssembler
from logwatch.regexfilter import RuleFilter
from logwatch.sources.compose import ComposeAssembler, compose_output
from logwatch.sources.container import ContainerAssembler, container_format, make_assembler
from logwatch.sources.copies import Heads
from logwatch.sources.descriptors import Descriptors
from logwatch.sources.followed import FileRecords, TailedFile
from logwatch.sources.identity import (
    HEAD_BYTES,
    START,
    ContentMemory,
    CopyOf,
    CopyOfFollowed,
    CopyReadTo,
    FileId,
    Position,
    distinctive,
    matches_cursor,
    read_head,
)
from logwatch.sources.reader import is_utf16, open_log, read_lines
from logwatch.sources.seek import count_lines, end_of_complete_lines, seek_to_time
from logwatch.sources.skimread import Skimmer
from logwatch.stampshape import SHAPE_HEAD_BYTES as SHAPE
from logwatch.stampshape import START as STAMPS_AT_LINE_START
from logwatch.stampshape import StampShape, shape_of_head
from logwatch.store import Cursor

logger = logging.getLogger(__name__)

DRAIN_GRACE_S = 5.0  # a renamed file is still read this long: its writer may not have reopened
LIVE_WINDOW_S = 60.0  # read to its end this recently: what a file holds next was just written


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
        rules: RuleFilter | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        descriptors: Descriptors | None = None,
    ) -> None:
        self._max_lines_per_poll = max_lines_per_poll
        self._tz = tz
        self._max_lines = max_lines
        self._max_bytes = max_bytes
        self._max_line_bytes = max_line_bytes
        self._record_wait_s = record_wait_s
        self._partial_wait_s = partial_wait_s
        self._monotonic = monotonic
        self._descriptors = descriptors or Descriptors()
        self.files: dict[FileId, TailedFile] = {}
        self.gone: list[FileId] = []  # identities to forget in the store
        self.memory = ContentMemory()
        self._seq = 0
        self._busy: set[FileId] = set()
        self._more: set[FileId] = set()
        self._waiting: set[FileId] = set()  # possible copies
        self._draining: set[FileId] = set()
        self.heads = Heads(self.files)
        self._skimmer: Skimmer | None = None
        self._rules = rules
        self.finder = finder
        self._unreadable: dict[Path, str] = {}  # said once each, until readable again
        self._done: list[FileRecords] = []  # records of files done between two reads
        self._bytes_read: dict[str, int] = {}  # per path, since take_bytes_read()

    @property
    def finder(self) -> Finder | None:
        """The rule pack's literal search: stretches without a literal are passed over.
        None: every line is assembled (a pack with a rule that has no literal)."""
        return None if self._skimmer is None else self._skimmer.finder

    @finder.setter
    def finder(self, finder: Finder | None) -> None:
        self._skimmer = None
        if finder is not None:
            self._skimmer = Skimmer(
                finder,
                tz=self._tz,
                max_line_bytes=self._max_line_bytes,
                assembler=self._assembler,
                rules=self._rules,
            )

    @property
    def rules(self) -> RuleFilter | None:
        """The rules' regexes over a literal's line (logwatch.passover); None: every
        line holding a literal is assembled."""
        return self._rules

    @rules.setter
    def rules(self, rules: RuleFilter | None) -> None:
        self._rules = rules
        if self._skimmer is not None:
            self._skimmer.rules = rules

    # -- following ---------------------------------------------------------------------

    def remember(self, cursors: Iterable[Cursor]) -> None:
        """The previous run's cursors, to recognise copies of their files made meanwhile."""
        self.memory.remember(cursors)

    def known(self, path: Path) -> FileId | None:
        """The identity followed under this path now, if any (stat, not the old name)."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        file = FileId(st.st_dev, st.st_ino)
        tailed = self.files.get(file)
        if tailed is None:
            return None
        if tailed.path != path:
            head = tailed.head_bytes
            if tailed.fh is None and (
                not self._begins_with(path, head) or (not tailed.offset and not distinctive(head))
            ):
                # Not renamed: deleted, and its inode reused by a new file (a held
                # descriptor keeps an inode from reuse; without one, only the head tells,
                # and a file of which nothing was read is as well taken for a new one).
                logger.info("inode reused path=%s (was %s)", path, tailed.path)
                records = self._finish(tailed)
                self._done += tailed.batches(records, live=False, resumed=tailed.resumed)
                return None
            logger.info("renamed old=%s new=%s", tailed.path, path)
            tailed.path = path
        return file

    def _begins_with(self, path: Path, head: bytes) -> bool:
        try:
            with open(path, "rb") as fh:
                return os.pread(fh.fileno(), len(head), 0) == head
        except OSError:
            return False

    def resume(self, path: Path, cursor: Cursor) -> FileId | None:
        """Follow `path` from its cursor if the cursor describes it; else None (not opened)."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        if FileId(st.st_dev, st.st_ino) != (cursor.dev, cursor.ino):
            return None
        return self._open(path, cursor=cursor, start="none", since=None, hold=False)

    def open(
        self,
        path: Path,
        *,
        start: str = "start",
        since: datetime | None = None,
        hold: bool = True,
    ) -> FileId | None:
        """Start following `path` at its start, its end or a log time (a copy of content
        we read is read from where that reading got to). `hold`: it takes a descriptor
        from an idle file if none is left (a new file is being written); else it is
        followed without one when none is left."""
        return self._open(path, cursor=None, start=start, since=since, hold=hold)

    def _open(
        self,
        path: Path,
        *,
        cursor: Cursor | None,
        start: str,
        since: datetime | None,
        hold: bool,
    ) -> FileId | None:
        try:
            fh = self._descriptors.open(path)
            st = os.fstat(fh.fileno())
        except OSError as exc:
            self._cannot_open(path, exc)
            return None
        file = FileId(st.st_dev, st.st_ino)
        if file in self.files:
            fh.close()
            return file
        if self._unreadable.pop(path, None) is not None:
            logger.info("%s: readable again", path)
        fd = fh.fileno()
        head = read_head(fd)
        position = START
        maybe_copy = False
        resumed = cursor is not None
        if cursor is not None:
            # Same inode, same head, and at least as long. A head too short to tell
            # files apart must be under the same name too: an inode is soon reused.
            if (
                not matches_cursor(head, cursor)
                or st.st_size < cursor.offset
                or not (distinctive(head[: cursor.head_len]) or cursor.path == str(path))
            ):
                fh.close()
                return None
            position = Position(min(cursor.offset, st.st_size), cursor.line)
            logger.info("resume path=%s offset=%d", path, position.offset)
        else:
            copy = None
            if start == "start" or self.memory.remembering():
                copy = self._copy_of(head, st.st_size, file)
            if isinstance(copy, CopyReadTo):
                position = self._copy_from(fd, st.st_size, copy)
                resumed = copy.left is None  # a copy of content a saved cursor read
                logger.info("copy of a followed file path=%s offset=%d", path, position.offset)
            elif isinstance(copy, CopyOfFollowed):
                maybe_copy = True  # settled in _check: once its source is truncated, or not
            elif start == "end":
                position = end_of_complete_lines(fd, st.st_size)
            elif start == "since" and since is not None:
                position = seek_to_time(fd, st.st_size, since, self._tz)
        now = self._monotonic()
        self._seq += 1
        shape_head = os.pread(fd, SHAPE, 0)
        at_end = _at_end(fd, position.offset, st.st_size)
        tailed = TailedFile(
            path=path,
            file=file,
            fh=fh,
            head_bytes=b"",
            offset=position.offset,
            line=position.line,
            assembler=self._assembler(path, st.st_mtime, shape_of_head(shape_head), shape_head),
            seq=self._seq,
            last_change=now,
            maybe_copy=maybe_copy,
            # Nothing complete left to read: what comes next is written live.
            caught_up_at=now if at_end else None,
            live_from=position.offset if at_end else None,
            resumed=resumed,
        )
        self.files[file] = tailed
        self.heads.set(tailed, head)
        if maybe_copy:
            self._waiting.add(file)
        if not self._descriptors.keep(file, tailed, changed=hold):
            fh.close()
            tailed.fh = None
        logger.info("following path=%s offset=%d", path, position.offset)
        if is_utf16(shape_head):
            logger.warning(
                "%s: UTF-16 text: the agent reads UTF-8 only, so its errors are not seen"
                " (write the log in UTF-8; `logwatch scan` reads it)",
                path,
            )
        return file

    def _cannot_open(self, path: Path, exc: OSError) -> None:
        """Said once per path and reason: a rescan tries again every few seconds."""
        reason = exc.strerror or str(exc)
        if self._unreadable.get(path) != reason:
            self._unreadable[path] = reason
            logger.warning("%s: cannot read: %s (not followed until it can be)", path, reason)

    def _copy_of(self, head: bytes, size: int, file: FileId) -> CopyOf | None:
        """What a file's head says it copies: a followed file, content that left us, or
        nothing (a file of its own)."""
        seq = self.files[file].seq if file in self.files else self._seq + 1
        source = self.heads.source_of(head, size, file, seq)
        if source is not None:
            return CopyOfFollowed(source)
        return self.memory.copy_of(head, file)

    def _settle_copy(self, tailed: TailedFile, size: int) -> bool:
        """Whether a possible copy can be read now (and from where); False: wait."""
        head = read_head(tailed.fd, min(size, HEAD_BYTES))
        copy = self._copy_of(head, size, tailed.file)
        if isinstance(copy, CopyOfFollowed):
            return False  # its source is not truncated yet: its lines are read there
        if isinstance(copy, CopyReadTo):
            position = self._copy_from(tailed.fd, size, copy)
            tailed.offset, tailed.line = position
            logger.info("copy of a followed file path=%s offset=%d", tailed.path, position.offset)
        tailed.maybe_copy = False
        self._waiting.discard(tailed.file)
        self.heads.set(tailed, head)
        return True

    def _copy_from(self, fd: int, size: int, copy: CopyReadTo) -> Position:
        """Where a copy of content read up to a position is read from: there, or its end
        when the copy is shorter (lines written after the copy were read in its source)."""
        if copy.left is not None:
            self.memory.claim(copy.left)  # the copy's cursor carries it from now on
        if size >= copy.position.offset:
            return copy.position
        return Position(size, count_lines(fd, size) + 1)

    def resumed(self, cursor: Cursor) -> bool:
        """The file this cursor describes is followed (same identity and head)."""
        tailed = self.files.get(FileId(cursor.dev, cursor.ino))
        return tailed is not None and matches_cursor(tailed.head_bytes, cursor)

    def read_archive(self, path: Path, start: Position) -> tuple[list[Record], Position] | None:
        """The records of a compressed file from `start` on, and where it ends; None when
        it cannot be read."""
        try:
            with open_log(path) as stream:
                stream.seek(start.offset)
                head = stream.read(SHAPE)
                stream.seek(start.offset)
                mtime = os.stat(path).st_mtime
                assembler = self._assembler(path, mtime, shape_of_head(head), head)
                records: list[Record] = []
                end = start
                for line in read_lines(
                    stream,
                    start_offset=start.offset,
                    start_line=start.line,
                    max_line_bytes=self._max_line_bytes,
                    final=True,
                ):
                    records += assembler.feed(line)
                    end = Position(line.end, line.number + 1)
                return records + assembler.flush(), end
        except (OSError, SourceError) as exc:
            logger.warning("%s: cannot read: %s", path, exc)
            return None

    def _assembler(
        self, path: Path, mtime: float, shape: StampShape, head: bytes = b""
    ) -> RecordAssembler:
        """A record assembler for the file; `shape` says where its stamps sit (learned from
        its head: Django's `ERROR 2026-...` puts them after the level); a container
        runtime's head (Docker json-file, CRI) gets one that unwraps its lines."""
        return make_assembler(
            head,
            path=path,
            source=str(path),
            file_time=_local_time(mtime),
            tz=self._tz,
            max_lines=self._max_lines,
            max_bytes=self._max_bytes,
            shape=shape,
            learn_shape=True,  # a head of undated lines does not say where stamps sit
        )

    def close(self) -> None:
        """Close every handle."""
        for tailed in self.files.values():
            self._close(tailed)
        self.files.clear()

    def _close(self, tailed: TailedFile) -> None:
        self._descriptors.release(tailed.file)
        if tailed.fh is not None:
            tailed.fh.close()
            tailed.fh = None

    def vanished(self, present: set[FileId]) -> None:
        """Identities no longer under any watched name: drain them for a grace period."""
        now = self._monotonic()
        for file, tailed in self.files.items():
            if file not in present and tailed.draining_since is None:
                logger.info("file gone path=%s (draining)", tailed.path)
                tailed.draining_since = now
                self._draining.add(file)
                self._busy.add(file)

    # -- reading -----------------------------------------------------------------------

    def poll(self, keys: Iterable[FileId] | None = None) -> list[Record]:
        """Read what is new in the given files (all when None), oldest followed first."""
        return [record for batch in self.read(keys) for record in batch.records]

    def read(self, keys: Iterable[FileId] | None = None) -> list[FileRecords]:
        """What is new in the given files (all when None), per file, oldest followed first.
        Files draining or waiting to be told apart from a copy are always looked at."""
        if keys is None:
            selected: list[FileId] = list(self.files)
        else:
            wanted = {k for k in keys if k in self.files} | self._draining | self._waiting
            selected = sorted(wanted, key=lambda k: self.files[k].seq)
        batches, self._done = [b for b in self._done if b.records], []
        for file in selected:
            tailed = self.files.get(file)
            if tailed is None:
                continue
            live, resumed = self._live(tailed), tailed.resumed
            before = tailed.offset
            records = self._check(tailed)
            if tailed.offset != before:  # after a truncation, read from 0
                advanced = tailed.offset - before if tailed.offset > before else tailed.offset
                key = str(tailed.path)
                self._bytes_read[key] = self._bytes_read.get(key, 0) + advanced
            since = tailed.draining_since
            if since is not None and self._monotonic() - since >= DRAIN_GRACE_S:
                records += self._finish(tailed)
            else:
                self._note(tailed)
            if records:
                batches += tailed.batches(records, live=live, resumed=resumed)
        return batches

    def _live(self, tailed: TailedFile) -> bool:
        at = tailed.caught_up_at
        return at is not None and self._monotonic() - at <= LIVE_WINDOW_S

    def _caught_up(self, tailed: TailedFile, now: float) -> None:
        """A read reached the end: what the file holds next is written live. Records that
        started before (the one held back at the end of a backlog) are not."""
        if tailed.live_from is None or not self._live(tailed):
            tailed.live_from = tailed.offset
        tailed.caught_up_at = now
        if tailed.resumed:
            tailed.resumed, tailed.resumed_to = False, tailed.offset

    def _note(self, tailed: TailedFile) -> None:
        """Keep the busy and backlog sets in step with what the last check left."""
        file = tailed.file
        if (
            tailed.assembler.pending_start() is not None
            or tailed.size_seen > tailed.offset
            or tailed.draining_since is not None
        ):
            self._busy.add(file)
        else:
            self._busy.discard(file)
        if tailed.more:
            self._more.add(file)
        else:
            self._more.discard(file)

    def _check(self, tailed: TailedFile) -> list[Record]:
        """Open it if it is followed without a descriptor and changed; then read."""
        if tailed.fh is not None:
            return self._check_open(tailed)
        if not self._reopen(tailed):
            return []
        try:
            return self._check_open(tailed)
        finally:
            if tailed.fh is not None and not self._descriptors.keep(
                tailed.file, tailed, changed=True
            ):
                tailed.fh.close()
                tailed.fh = None

    def _reopen(self, tailed: TailedFile) -> bool:
        """Open a file followed without a descriptor, if its name still holds it and it
        changed (or has something to finish); a renamed one is found by the next rescan."""
        try:
            st = os.stat(tailed.path)
        except OSError:
            return False
        if FileId(st.st_dev, st.st_ino) != tailed.file:
            return False
        unchanged = (st.st_size, st.st_mtime_ns) == tailed.stat_seen
        if (
            unchanged
            and not tailed.maybe_copy
            and tailed.draining_since is None
            and tailed.assembler.pending_start() is None
            and tailed.size_seen <= tailed.offset
        ):
            if not tailed.more:
                self._caught_up(tailed, self._monotonic())
            return False
        try:
            fh = self._descriptors.open(tailed.path)
        except OSError as exc:
            self._warn_once(tailed, f"{tailed.path}: cannot read: {exc.strerror or exc}")
            return False
        st = os.fstat(fh.fileno())
        if FileId(st.st_dev, st.st_ino) != tailed.file:
            fh.close()
            return False
        tailed.fh = fh
        return True

    def _check_open(self, tailed: TailedFile) -> list[Record]:
        """Truncation and rewrite checks, then read."""
        records: list[Record] = []
        try:
            st = os.fstat(tailed.fd)
        except OSError as exc:
            self._warn_once(tailed, f"{tailed.path}: cannot stat: {exc.strerror}")
            return []
        if tailed.maybe_copy and not self._settle_copy(tailed, st.st_size):
            return []
        changed = (st.st_size, st.st_mtime_ns) != tailed.stat_seen
        tailed.stat_seen = (st.st_size, st.st_mtime_ns)
        if changed:
            self._descriptors.used(tailed.file)
        # The head is re-read only when the file changed: polling stays one fstat per file.
        if st.st_size < tailed.offset or (changed and not self._head_unchanged(tailed, st.st_size)):
            logger.info(
                "truncation detected path=%s size=%d offset=%d",
                tailed.path,
                st.st_size,
                tailed.offset,
            )
            records += tailed.assembler.flush()
            # What it holds now was written since it was read to its end, if it was.
            tailed.live_from = 0 if self._live(tailed) else None
            tailed.resumed_to = None
            # Its copy (copytruncate) may show up later, even after a restart: read from here.
            self.memory.left(tailed.head_bytes, tailed.position(), str(tailed.path), saved=True)
            tailed.offset, tailed.line = START
            self.heads.set(tailed, read_head(tailed.fd, min(st.st_size, HEAD_BYTES)))
            head = os.pread(tailed.fd, SHAPE, 0)
            tailed.assembler = self._assembler(tailed.path, st.st_mtime, shape_of_head(head), head)
        elif changed:
            # A time-only stamp with nothing dated above it takes the date of the file's
            # time: its latest, as the line was written before it (the time the assembler
            # was made can be minutes old: a clock later than it read as yesterday's).
            tailed.assembler.use_file_time(_local_time(st.st_mtime))
        return records + self._read(tailed, st.st_size)

    def _head_unchanged(self, tailed: TailedFile, size: int) -> bool:
        """The bytes the digest covers are still the same (else the file was rewritten)."""
        length = tailed.head_len
        if size < length or read_head(tailed.fd, length) != tailed.head_bytes:
            return False
        if length < HEAD_BYTES and size > length:
            self.heads.set(tailed, read_head(tailed.fd))  # the file grew: know more of it
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
        if (
            tailed.offset < SHAPE
            and size > tailed.offset
            and tailed.assembler.shape == STAMPS_AT_LINE_START
            and not isinstance(tailed.assembler, ContainerAssembler)
        ):
            # A young file: its first lines may show only now where its stamps sit.
            young = os.pread(tailed.fd, SHAPE, 0)
            tailed.assembler.use_shape(shape_of_head(young))
            if tailed.offset == 0 and (
                container_format(young) is not None or compose_output(young)
            ):
                mtime = os.fstat(tailed.fd).st_mtime
                tailed.assembler = self._assembler(tailed.path, mtime, STAMPS_AT_LINE_START, young)
        try:
            # Skimming judges raw bytes; a runtime's wrapped lines, and compose output's
            # interleaved services, are read one by one.
            container = isinstance(tailed.assembler, ContainerAssembler | ComposeAssembler)
            if self._skimmer is not None and size > tailed.offset and not container:
                budget = self._skimmer.skim(tailed, size, budget, records)
                if budget <= 0:
                    tailed.more = True
                    tailed.caught_up_at = None
                    return records
            if size > tailed.offset:
                assert tailed.fh is not None  # _check opened it
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
        # more lines have come for a moment (a traceback split across writes still joins);
        # a traceback whose exception line has not come waits as long as a partial line.
        tailed.more = budget <= 0
        if tailed.more:
            tailed.caught_up_at = None
            return records  # more to read right away: the record may go on
        self._caught_up(tailed, now)
        assembler = tailed.assembler
        if (
            final
            or assembler.pending_complete()
            or (idle >= self._record_wait_s and not assembler.pending_unfinished())
        ):
            records += assembler.flush()
        return records

    def _finish(self, tailed: TailedFile) -> list[Record]:
        records = tailed.assembler.flush()
        file = tailed.file
        del self.files[file]
        for group in (self._busy, self._more, self._waiting, self._draining):
            group.discard(file)
        self.heads.drop(tailed)
        # Its compressed copy, or a copy waiting for it, is read from here (after a restart
        # too: a compressed file seen after this commit is not taken for one never seen).
        self.memory.left(tailed.head_bytes, tailed.position(), str(tailed.path), saved=True)
        self._close(tailed)
        self.gone.append(file)
        logger.info("file done path=%s", tailed.path)
        return records

    def take_bytes_read(self) -> dict[str, int]:
        """Bytes read (or passed over by skimming) per path since the last call."""
        taken, self._bytes_read = self._bytes_read, {}
        return taken

    def busy(self) -> list[FileId]:
        """Files holding an unfinished record or partial line: poll them again soon."""
        return list(self._busy)

    def backlog(self) -> bool:
        """Some file has bytes not read yet: poll again at once."""
        return bool(self._more)

    def cursors(self) -> list[Cursor]:
        """Resume points of every followed file (a possible copy still waiting has none),
        and of truncated content whose copy was not read yet."""
        followed = [c for t in self.files.values() if (c := t.cursor()) is not None]
        return followed + self.memory.cursors()

    def forgotten(self) -> list[FileId]:
        """Saved identities to delete at the next commit: files done, content copied, and
        possible copies still waiting (a cursor saved under their inode by an earlier run
        describes another file, or another reading of this one)."""
        return [*self.gone, *self.memory.forgotten, *self._waiting]

    def committed(self) -> None:
        """The cursors and deletions were committed."""
        self.gone.clear()
        self.memory.forgotten.clear()

    def _warn_once(self, tailed: TailedFile, message: str) -> None:
        if message not in tailed.errors:
            tailed.errors.add(message)
            logger.warning("%s", message)


def _at_end(fd: int, offset: int, size: int) -> bool:
    """Nothing complete is left to read past `offset` (at most a partial last line)."""
    if offset >= size:
        return True
    if size - offset > 1 << 16:
        return False
    return b"\n" not in os.pread(fd, size - offset, offset)


def _local_time(mtime: float) -> datetime:
    """A file time as an aware datetime."""
    return datetime.fromtimestamp(mtime).astimezone()
