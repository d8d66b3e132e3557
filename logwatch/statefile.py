"""The state database as a file: created private, checked before use, rebuilt if deleted.

StateStore knows the schema and the queries; this module owns the sqlite connection and
the file under it, and survives what can happen to that file:

- created mode 600 in directories created mode 700 whatever the umask, never through a
  symlink: a dangling one is refused, not followed to create its target;
- a corrupt file (random bytes in a page) is refused at open, before anything writes:
  `PRAGMA quick_check` on a read-only connection, so the file is left byte for byte as
  it was for whoever investigates;
- files made read-only or immutable (`chattr +i`) while the agent runs: sqlite maps the
  WAL index (`-shm`) into memory, and touching a mapped page of an immutable file kills
  the process with SIGBUS. So every use first checks that the three files are writable
  and says so in one StateError instead (the caller keeps its batch and retries, as for a
  full disk); a connection whose files are not writable at close is left open for the OS
  to release, since closing it checkpoints through that mapping;
- the file deleted while the agent runs: the connection goes on writing to the unlinked
  inode, which a restart would never see. The committing connection notices (the path no
  longer names the inode it opened), says so once and writes the whole database, as it
  stands, into a fresh file at the path before committing there; other connections follow
  the path to the new file.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sqlite3
from pathlib import Path

from logwatch.errors import StateError

logger = logging.getLogger(__name__)

_SIDE_FILES = ("-wal", "-shm")


class StateFile:
    """One sqlite connection to the state file, checked at each use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        create_private(path)
        # sqlite names the -wal and -shm after the file a symlink leads to.
        self._real = Path(os.path.realpath(path))
        self._check_writable("cannot open state database")
        check_integrity(path)
        self._db = self._connect()
        self._identity = _identity(path)
        self._deleted = False

    def connection(self, *, restore: bool = False) -> sqlite3.Connection:
        """The connection, after checking the file: still the one at the path, writable.

        When the path no longer names the file we opened: with `restore` (the connection
        that commits batches), the database is copied to a fresh file there; otherwise
        this connection follows the path once a file is there again.
        """
        current = _identity(self.path)
        if current != self._identity:
            if current is not None:
                self._reopen()
            elif restore:
                self._restore()
        self._check_writable("cannot write state")
        return self._db

    def close(self) -> None:
        """Close the connection (or leave it to the OS if closing it could crash)."""
        try:
            self._check_writable("cannot close state database")
        except StateError:
            _leave_open(self._db)
            return
        self._db.close()

    # -- what happens to the file ------------------------------------------------------------

    def _check_writable(self, doing: str) -> None:
        for name in (str(self._real), *(str(self._real) + s for s in _SIDE_FILES)):
            if os.path.lexists(name) and not _writable(name):
                raise StateError(
                    f"{self.path}: {doing}: {name} is read-only or immutable (sqlite would"
                    " crash writing through it); make it writable again"
                )

    def _reopen(self) -> None:
        """Another file is at the path (our restore, from another connection): use it."""
        fresh = StateFile(self.path)
        self._db.close()  # the old file moved: sqlite neither checkpoints it nor deletes by name
        self._db, self._identity, self._real = fresh._db, fresh._identity, fresh._real

    def _restore(self) -> None:
        """The file was deleted under us: copy what we hold to a fresh file at the path."""
        if not self._deleted:  # said once, however many commits it takes to rebuild it
            self._deleted = True
            logger.warning(
                "state database %s was deleted while the agent ran: writing the whole state"
                " (cursors, incidents, grouper, outbox) to a fresh database there",
                self.path,
            )
        target = self._real  # through a symlink, the file it led to
        spare = target.with_name(target.name + ".restoring")
        for name in (str(spare), *(str(spare) + s for s in (*_SIDE_FILES, "-journal"))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)  # left by a restore that was interrupted
        try:
            create_private(spare)
            copy = sqlite3.connect(spare, isolation_level=None)
            try:
                self._db.backup(copy)  # the database as it stands, outbox rows and all
            finally:
                copy.close()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"{self.path}: cannot write state: {_reason(exc)}") from None
        # The deleted database's WAL and index may still be at the path: a fresh database
        # must not adopt them. Connections to the deleted one keep their open handles.
        for name in (str(target) + s for s in _SIDE_FILES):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        try:
            os.rename(spare, target)
        except OSError as exc:
            raise StateError(f"{self.path}: cannot write state: {_reason(exc)}") from None
        # From here a failure leaves a file at the path that the next use reopens.
        fresh = self._connect()
        self._db.close()  # its file moved: sqlite neither checkpoints it nor deletes by name
        self._db, self._identity = fresh, _identity(self.path)
        self._deleted = False

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: cannot open state database: {exc}") from None
        try:
            db.execute("PRAGMA mmap_size=0")  # no mapping of the database file itself
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=2000")
        except sqlite3.Error as exc:
            db.close()
            raise StateError(f"{self.path}: cannot open state database: {exc}") from None
        return db


def create_private(path: Path) -> None:
    """Create the file (mode 600) and its missing directories (700), refusing any symlink."""
    if os.path.lexists(path):
        if not path.exists():
            raise StateError(
                f"{path}: is a symbolic link to {os.readlink(path)!r}, which does not exist;"
                " logwatch does not create its state through a symbolic link"
            )
        return
    missing = [d for d in (path.parent, *path.parent.parents) if not os.path.lexists(d)]
    try:
        for directory in reversed(missing):
            os.mkdir(directory, 0o700)
            os.chmod(directory, 0o700)  # the umask must not widen or narrow it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
        os.close(fd)
    except OSError as exc:
        raise StateError(f"{path}: cannot create state database: {_reason(exc)}") from None


def check_integrity(path: Path) -> None:
    """Refuse a corrupt database before anything writes to it (read-only connection)."""
    # Without a WAL (a clean stop), `immutable` reads the file alone and creates no -wal or
    # -shm beside it; with one (a crash), the check must see the WAL's pages too.
    wal = os.path.lexists(f"{path}-wal")
    uri = path.absolute().as_uri() + ("?mode=ro" if wal else "?mode=ro&immutable=1")
    try:
        db = sqlite3.connect(uri, uri=True, timeout=2.0)
        try:
            rows = db.execute("PRAGMA quick_check(1)").fetchall()
        finally:
            db.close()  # read-only: no checkpoint, nothing written
    except sqlite3.Error as exc:
        rows = [(str(exc),)]
    if rows != [("ok",)]:
        found = str(rows[0][0]).replace("*** in database main ***", "") if rows else "no answer"
        found = " ".join(found.split())  # sqlite's report spans lines; the error is one
        raise StateError(
            f"{path}: state database is corrupt ({found}); it was left as it is: move it"
            " aside to start afresh"
        )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _writable(name: str) -> bool:
    # The kernel answers EPERM for an immutable file even to root; a read-only mode only
    # counts for users without CAP_DAC_OVERRIDE, which is right: their writes would fail.
    if os.access in os.supports_effective_ids:
        return os.access(name, os.W_OK, effective_ids=True)
    return os.access(name, os.W_OK)


def _leave_open(db: sqlite3.Connection) -> None:
    # Closing a WAL connection checkpoints through the mapped index: on an immutable file
    # that is a SIGBUS. Hold one reference forever so neither close() nor the interpreter's
    # exit deallocates it; the OS releases the file when the process ends.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(db))


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
