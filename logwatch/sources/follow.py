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
from logwatch.sources.followed import FileRecords
from logwatch.sources.history import (
    DOCKER_CONFIG,
    DOCKER_LOG,
    glob_root,
    looks_like_log,
    stays_inside,
)
from logwatch.sources.identity import (
    HEAD_BYTES,
    START,
    FileId,
    Position,
    cursor_id,
    encode_head,
    holds_content,
)
from logwatch.sources.reader import is_binary, open_log
from logwatch.sources.tail import Tailer
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
        self._escaping: set[Path] = set()  # symlinks out of a watched directory, said once
        self._archives_done: set[FileId] = set()  # compressed files read, or history
        self._archive_heads: dict[FileId, bytes | None] = {}  # the others' heads
        self._archive_rows: dict[FileId, Cursor] = {}  # where the ones read ended
        self._archives_gone: list[FileId] = []  # their cursors to delete
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
                    if os.path.isfile(p) and (self._follow or stays_inside(Path(p), root))
                ]
            elif path.is_dir():
                found += self._walk(path)  # symlinks out of it are not followed
            elif path.is_file():
                found.append(path)  # named itself: read, symlink or not
        plain: list[Path] = []
        packed: list[Path] = []
        for p in found:
            if looks_like_log(p):
                (packed if p.name.endswith(COMPRESSED) else plain).append(p)
        return plain, packed

    def _walk(self, root: Path) -> list[Path]:
        """The files under a directory, as history.walk_logs finds them (hidden ones left
        out, a symlink out of it not followed), resolving only symlinks: a rescan every
        2 s of 10,000 files must not resolve 10,000 paths."""
        found: list[Path] = []
        for dirpath, dirnames, _ in os.walk(root, followlinks=self._follow):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            try:
                entries = sorted(os.scandir(dirpath), key=lambda e: e.name)
            except OSError:
                continue
            if any(e.name == DOCKER_CONFIG for e in entries):  # a docker container's logs only
                entries = [e for e in entries if DOCKER_LOG in e.name]
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                path = Path(entry.path)
                if entry.is_symlink() and not self._follow and not stays_inside(path, root):
                    if path not in self._escaping:
                        self._escaping.add(path)
                        logger.warning(
                            "%s: symlink out of %s, not followed"
                            " (set [logwatch] follow_symlinks = true)",
                            path,
                            root,
                        )
                    continue
                found.append(path)
        return found

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
        batches = self._read_archives(cursors, lost, recent)
        kept = set(self._archive_rows)
        self.tailer.gone += [
            cursor_id(c)
            for c in lost
            if cursor_id(c) not in self.tailer.files and cursor_id(c) not in kept
        ]
        self.tailer.memory.forget_remembered()
        return batches

    def _read_archives(
        self, cursors: Sequence[Cursor], lost: list[Cursor], recent: datetime | None
    ) -> list[FileRecords]:
        """Compressed files holding lines written while we were stopped.

        One read before (its own cursor) is read past where it ended: nothing, unless it
        grew. One whose head is a lost cursor's content is read past that cursor. One
        whose head is content still followed (a copy, `gzip -k`) waits, as while we run.
        Any other, modified since shortly before the last commit, was created, written,
        rotated and compressed while we were down: it is read whole. The rest are history
        (every compressed file seen while we ran has a cursor, or was older).
        """
        packed = self.targets(compressed=True)
        if recent is None:  # a first start: compressed files are history, for `scan`
            self._archives_done = {f for p in packed if (f := _file_id(p)) is not None}
            return []
        batches: list[FileRecords] = []
        used: set[FileId] = set()
        followed = [c for c in cursors if c not in lost]
        for path in packed:
            file, head = _file_id(path), _archive_head(path)
            if file is None or head is None:
                continue
            own = next((c for c in lost if cursor_id(c) == file and holds_content(head, c)), None)
            # Of the cursors that read this content, the one that read furthest.
            content = max(
                (c for c in lost if holds_content(head, c)), key=lambda c: c.offset, default=None
            )
            cursor = own or content
            if cursor is not None:
                if cursor_id(cursor) in used:  # another compressed copy of the same content
                    self._archives_done.add(file)
                    continue
                used.add(cursor_id(cursor))
                start, why = Position(cursor.offset, cursor.line), "rotated and compressed"
            elif self._followed_elsewhere(head, followed):
                continue  # looked at again by each rescan
            elif _modified_since(path, recent):
                start, why = START, "created, rotated and compressed"
            else:
                self._archives_done.add(file)
                continue
            batch = self._read_archive(file, path, start)
            if batch is not None:
                if batch.records:
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
        return any(holds_content(head, c) for c in followed) or self.tailer.heads.may_hold(head)

    def _read_archive(self, file: FileId, path: Path, start: Position) -> FileRecords | None:
        """Read a compressed file from `start`; it is done, and its end saved as its cursor
        (a restart soon after, its mtime still recent, does not read it again)."""
        read = self.tailer.read_archive(path, start)
        if read is None:
            return None
        records, end = read
        head = _archive_head(path) or b""
        self._archives_done.add(file)
        self._archive_heads.pop(file, None)
        self._archive_rows[file] = Cursor(
            dev=file.dev,
            ino=file.ino,
            head_len=len(head),
            head=encode_head(head),
            path=str(path),
            offset=end.offset,
            line=end.line,
        )
        # Past a saved cursor, or all of a file created while we were stopped: written
        # after the last commit (at a start; while we run it is as good as live).
        return FileRecords(file, path, False, records, resumed=True)

    # -- committing -----------------------------------------------------------------------

    def cursors(self) -> list[Cursor]:
        """What a commit saves: the tailer's cursors, and those of compressed files read.
        Commit after a read(): noticing a new file reads the others first, and what that
        read comes out of the next read()."""
        return self.tailer.cursors() + list(self._archive_rows.values())

    def forgotten(self) -> list[FileId]:
        """What a commit deletes: the tailer's, and compressed files read that are gone;
        never an identity saved by the same commit (a gone file's inode, reused at once by
        a new file, is that file's now: the store deletes after it saves)."""
        saved = {cursor_id(c) for c in self.cursors()}
        return [f for f in self.tailer.forgotten() + self._archives_gone if f not in saved]

    def committed(self) -> None:
        """The cursors and deletions were committed."""
        self.tailer.committed()
        self._archives_gone = []

    # -- running --------------------------------------------------------------------------

    def noticed(self, paths: Iterable[Path]) -> set[FileId]:
        """The followed files the watcher's paths name; a new target is followed from its
        start (it was created while we run)."""
        files: set[FileId] = set()
        new: list[Path] = []
        wanted: set[Path] | None = None  # listed only when an event names an unknown file
        for path in paths:
            file = self.tailer.known(path)
            if file is None:
                wanted = set(self.targets()) if wanted is None else wanted
                if path in wanted:
                    new.append(path)
            if file is not None:
                files.add(file)
        files.update(self._open_new(new))
        return files

    def _open_new(self, paths: list[Path]) -> set[FileId]:
        """Follow new files from their start, after a look at every followed file: the
        truncation that made a copy must be seen before the copy is (else the copy passes
        for a new file, and its lines are read there and in its source)."""
        if not paths:
            return set()
        self._recovered += self.tailer.read(None)
        opened = {self.tailer.open(path, start="start") for path in paths}
        return {f for f in opened if f is not None}

    def rescan(self) -> None:
        """Follow new targets, find renamed ones, drain those under no name any more, and
        read new compressed files that hold the unread end of content truncated under us."""
        self.watch_dirs()
        plain, packed = self._listing()
        present: set[FileId] = set()
        new: list[Path] = []
        for path in plain:
            file = self.tailer.known(path)
            if file is None:
                new.append(path)
            else:
                present.add(file)
        present |= self._open_new(new)
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
        for file in [f for f in self._archive_rows if f not in present]:
            del self._archive_rows[file]
            self._archives_gone.append(file)
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
            elif self.tailer.heads.may_hold(head):
                continue
            else:
                start, why = START, "compressed before it was seen, from"
            batch = self._read_archive(file, path, start)
            if batch is None:
                continue
            if copy is not None and copy.left is not None:
                memory.claim(copy.left)  # this file's cursor carries it from now on
            if batch.records:
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
