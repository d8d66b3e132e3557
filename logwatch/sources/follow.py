"""Which files the agent follows, and where each one starts.

At start, a file a saved cursor describes resumes there (whatever its name now); a copy
made while we were stopped (copytruncate) is read from where its source's reading got to;
a file written since the last commit, and not known, is read from its start; any other
follows the start policy (its end by default). Compressed files are read at start when
they hold lines written while we were stopped: the unread end of a file we followed
(found by the digest of its head), or a whole file that was created, written, rotated and
compressed while we were down. While running, new files are followed from their start,
and a file followed without a descriptor that was compressed away is read on in its
compressed form.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from logwatch.errors import SourceError
from logwatch.sources.history import glob_root, looks_like_log, stays_inside, walk_logs
from logwatch.sources.identity import (
    HEAD_BYTES,
    START,
    FileId,
    Position,
    cursor_id,
    holds_content,
)
from logwatch.sources.reader import is_binary, open_log
from logwatch.sources.tail import FileRecords, Tailer
from logwatch.store import Cursor

logger = logging.getLogger(__name__)

COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


class LogFiles:
    """The files the PATH arguments name, followed by a Tailer."""

    def __init__(
        self,
        paths: Sequence[str],
        tailer: Tailer,
        *,
        follow_symlinks: bool = False,
        watch: Callable[[Path], bool] | None = None,
        rescan_s: float = 2.0,
    ) -> None:
        self.paths = tuple(paths)
        self.tailer = tailer
        self._follow = follow_symlinks
        self._watch = watch
        # A file created this shortly before the last commit may not have been seen yet
        # (the next rescan would have found it): without a cursor, it is read from its start.
        self._unseen_s = rescan_s + 1.0
        self._missing: set[str] = set()
        self._archives_done: set[FileId] = set()  # compressed files read, or there at start
        self._archive_heads: dict[FileId, bytes | None] = {}  # the others' heads
        self._recovered: list[FileRecords] = []  # read from compressed files, not returned yet

    # -- which files --------------------------------------------------------------------

    def targets(self, *, compressed: bool = False) -> list[Path]:
        """The files the PATH arguments name now: plain logs (or the compressed ones)."""
        plain, packed = self._listing()
        return packed if compressed else plain

    def _listing(self) -> tuple[list[Path], list[Path]]:
        """The plain and the compressed logs the PATH arguments name now."""
        found: list[Path] = []
        for arg in self.paths:
            path = Path(arg)
            if any(c in arg for c in "*?["):
                root = glob_root(arg)
                found += [
                    Path(p)
                    for p in sorted(glob.glob(arg, recursive=True))
                    if self._follow or stays_inside(Path(p), root)
                ]
            elif path.is_dir():
                found += walk_logs(path, self._follow)  # symlinks out of it are not followed
            elif path.is_file():
                found.append(path)  # named itself: read, symlink or not
        plain: list[Path] = []
        packed: list[Path] = []
        for p in found:
            if p.is_file() and looks_like_log(p):
                (packed if p.name.endswith(COMPRESSED) else plain).append(p)
        return plain, packed

    def watch_dirs(self) -> None:
        """Watch the directory of every PATH argument (said once while one is missing)."""
        for arg in self.paths:
            path = Path(arg)
            if any(c in arg for c in "*?["):
                directory = glob_root(arg)
            elif path.is_file():
                directory = path.parent
            else:
                directory = path
            if directory.is_dir():
                if arg in self._missing:
                    logger.info("%s: appeared", arg)
                    self._missing.discard(arg)
                if self._watch is not None:
                    self._watch(directory)
            elif arg not in self._missing:
                self._missing.add(arg)
                logger.warning("%s: does not exist yet; waiting for it", arg)

    # -- start ----------------------------------------------------------------------------

    def start(
        self,
        cursors: Sequence[Cursor],
        last_commit: datetime | None,
        *,
        start: str = "end",
        since: datetime | None = None,
    ) -> list[FileRecords]:
        """Open every target; returns the records of compressed files written while stopped.

        Files a cursor describes are opened first, so that a copy of one (copytruncate) is
        told apart by the file it copies, not by the cursor's older position.
        """
        self.watch_dirs()
        self.tailer.remember(cursors)
        by_id = {cursor_id(c): c for c in cursors}
        rest: list[Path] = []
        for path in self.targets():
            cursor = _cursor_for(path, by_id)
            if cursor is None or self.tailer.resume(path, cursor) is None:
                rest.append(path)
        recent = None if last_commit is None else last_commit - timedelta(seconds=self._unseen_s)
        for path in rest:
            if recent is not None and _modified_since(path, recent):
                self.tailer.open(path, start="start", hold=False)  # written while stopped
            else:
                self.tailer.open(path, start=start, since=since, hold=False)
        # A cursor whose file is gone (or whose inode now holds another file) lost its file.
        lost = [c for c in cursors if not self.tailer.resumed(c)]
        batches = self._read_archives(cursors, lost, last_commit)
        self.tailer.gone += [cursor_id(c) for c in lost if cursor_id(c) not in self.tailer.files]
        self.tailer.memory.forget_remembered()
        self._archives_done = {f for p in self.targets(compressed=True) if (f := _file_id(p))}
        return batches

    def _read_archives(
        self, cursors: Sequence[Cursor], lost: list[Cursor], last_commit: datetime | None
    ) -> list[FileRecords]:
        """Compressed files holding lines written while we were stopped.

        One whose head is a lost cursor's file is read past that cursor. One whose head is
        content still followed (a copy, `gzip -k`) is not read. Any other, modified since
        the last commit, was created, written, rotated and compressed while we were down
        (files compressed while we ran were done, and forgotten, at a commit before it).
        """
        if last_commit is None:
            return []
        batches: list[FileRecords] = []
        used: set[FileId] = set()
        followed = [c for c in cursors if c not in lost]
        for path in self.targets(compressed=True):
            head = _archive_head(path)
            if head is None:
                continue
            cursor = next((c for c in lost if holds_content(head, c)), None)
            if cursor is not None:
                if cursor_id(cursor) in used:
                    continue
                used.add(cursor_id(cursor))
                start, why = Position(cursor.offset, cursor.line), "rotated and compressed"
            elif self._followed_elsewhere(head, followed):
                continue
            elif _modified_since(path, last_commit):
                start, why = START, "created, rotated and compressed"
            else:
                continue
            batch = self._read_archive(path, start)
            if batch is not None:
                logger.info(
                    "%s while stopped path=%s offset=%d read=%d records",
                    why,
                    path,
                    start.offset,
                    len(batch.records),
                )
                batches.append(batch)
        return batches

    def _followed_elsewhere(self, head: bytes, followed: Iterable[Cursor]) -> bool:
        return any(holds_content(head, c) for c in followed) or self.tailer.may_hold(head)

    def _read_archive(self, path: Path, start: Position) -> FileRecords | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        records = self.tailer.read_archive(path, start)
        if records is None:
            return None
        return FileRecords(FileId(st.st_dev, st.st_ino), path, False, records)

    # -- running --------------------------------------------------------------------------

    def noticed(self, paths: Iterable[Path]) -> set[FileId]:
        """The followed files the watcher's paths name; a new target is followed from its
        start (it was created while we run)."""
        files: set[FileId] = set()
        wanted: set[Path] | None = None  # listed only when an event names an unknown file
        for path in paths:
            file = self.tailer.known(path)
            if file is None:
                wanted = set(self.targets()) if wanted is None else wanted
                if path in wanted:
                    file = self.tailer.open(path, start="start")
            if file is not None:
                files.add(file)
        return files

    def rescan(self) -> None:
        """Follow new targets, find renamed ones, drain those under no name any more, and
        read new compressed files that hold the unread end of content truncated under us."""
        self.watch_dirs()
        plain, packed = self._listing()
        present: set[FileId] = set()
        for path in plain:
            file = self.tailer.known(path)
            if file is None:
                file = self.tailer.open(path, start="start")
            if file is not None:
                present.add(file)
        self.tailer.vanished(present)
        self._new_archives(packed)

    def _new_archives(self, packed: list[Path]) -> None:
        """Compressed files that appeared while we run, read from where their content's
        reading got to: logrotate's copytruncate with compress (the copy is compressed
        before we see it), or a file compressed before we read its end. One holding content
        still followed (or a file whose head we do not know yet) waits for the next rescan;
        one holding content never seen (created, rotated and compressed between two
        rescans) is read whole."""
        present: dict[FileId, Path] = {}
        for path in packed:
            file = _file_id(path)
            if file is not None:
                present[file] = path
        self._archives_done &= set(present)
        self._archive_heads = {
            f: self._archive_heads.get(f, b"") for f in present if f not in self._archives_done
        }
        memory = self.tailer.memory
        for file, head in list(self._archive_heads.items()):
            path = present[file]
            if head == b"":
                head = self._archive_heads[file] = _archive_head(path)
            if head is None:
                continue
            copy = memory.archive_of(head)
            if copy is not None:
                start, why = copy.position, "compressed copy of content read up to"
            elif self.tailer.may_hold(head):
                continue
            else:
                start, why = START, "compressed before it was seen, from"
            batch = self._read_archive(path, start)
            if batch is None:
                continue
            self._archives_done.add(file)
            del self._archive_heads[file]
            if copy is not None and copy.left is not None:
                memory.claim(copy.left)
            logger.info(
                "%s offset=%d path=%s read=%d records",
                why,
                start.offset,
                path,
                len(batch.records),
            )
            self._recovered.append(batch)

    def read(self, files: Iterable[FileId] | None = None) -> list[FileRecords]:
        """What is new in the given files (all when None), and what the last rescan read
        from compressed files."""
        batches = self.tailer.read(files)
        if self._recovered:
            batches += self._recovered
            self._recovered = []
        return batches

def _archive_head(path: Path) -> bytes | None:
    """The decompressed head of a compressed log; None if unreadable or not a log."""
    if path.name.endswith(".zst"):
        return None  # zstd is not decompressed here: its bytes are not a log
    try:
        with open_log(path) as stream:
            head = stream.read(HEAD_BYTES)
    except (OSError, SourceError) as exc:
        logger.warning("%s: cannot read: %s", path, exc)
        return None
    return None if is_binary(head) else head


def _file_id(path: Path) -> FileId | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return FileId(st.st_dev, st.st_ino)


def _cursor_for(path: Path, cursors: dict[FileId, Cursor]) -> Cursor | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return cursors.get(FileId(st.st_dev, st.st_ino))


def _modified_since(path: Path, moment: datetime) -> bool:
    try:
        return os.stat(path).st_mtime > moment.timestamp()
    except OSError:
        return False
