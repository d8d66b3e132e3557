"""Who a file is, and how far it was read: identity, resume positions, copies.

A followed file is known by its device and inode, checked against a digest of its head
(an inode can be reused by another file). A resume position is a byte offset and a line
number. The two are both pairs of ints and were once confused (a copy was read from an
offset equal to the device number): each has its own type here.

A copy made by logrotate's copytruncate is a new inode holding content we read, or are
reading, elsewhere. It is known by its head: the head of a file still followed (its lines
are read there until that file is truncated), of content read before it was truncated
away or before its file was done, or of a cursor saved by the previous run.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from logwatch.store import Cursor

HEAD_BYTES = 1024  # the digest covers this much of the head, or less while the file is shorter
MEMORY = 32  # how many pieces of content no longer followed are remembered, newest kept


class FileId(NamedTuple):
    """A file's identity on this host: (device, inode)."""

    dev: int
    ino: int


class Position(NamedTuple):
    """Where reading resumes: the byte offset of a line start, and that line's number."""

    offset: int
    line: int


START = Position(0, 1)


def digest(data: bytes) -> str:
    """Hex digest of a head."""
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def read_head(fd: int, length: int = HEAD_BYTES) -> bytes:
    """The first `length` bytes of an open file (fewer if it is shorter)."""
    return os.pread(fd, length, 0)


def encode_head(head: bytes) -> str:
    """The head as a cursor saves it: the digest of the whole head and, when the head
    holds more than its first line, that line's length and digest. (Never the bytes: a
    log line may hold a secret. The first line lets a copy shorter than the head we read,
    logrotate's copy of a small file, still be known at a restart.)"""
    text = digest(head)
    first = head.find(b"\n") + 1
    if 0 < first < len(head):
        text += f" {first}:{digest(head[:first])}"
    return text


def _first_line(cursor: Cursor) -> tuple[int, str] | None:
    _, _, rest = cursor.head.partition(" ")
    length, _, text = rest.partition(":")
    return (int(length), text) if length.isdigit() and text else None


def cursor_id(cursor: Cursor) -> FileId:
    """The identity a saved cursor describes."""
    return FileId(cursor.dev, cursor.ino)


def matches_cursor(head: bytes, cursor: Cursor) -> bool:
    """Whether `head` starts with the bytes the cursor's digest covers."""
    whole = cursor.head.partition(" ")[0]
    return len(head) >= cursor.head_len and digest(head[: cursor.head_len]) == whole


def distinctive(head: bytes) -> bool:
    """Whether a head tells content apart: 32 bytes (a stamp to the millisecond and more),
    or a whole line of 20. A partial first line ("2"), one tiny line, or nothing begins
    too many files (and an inode is reused at once on most filesystems) to say that two
    are one. When a head is shorter than 1,024 bytes it is the whole file as last read,
    so a file taken for a copy by mistake loses only bytes equal to what we read."""
    return len(head) >= 32 or (len(head) >= 20 and b"\n" in head)


def holds_content(head: bytes, cursor: Cursor) -> bool:
    """Whether `head` is the content a cursor read some of, told apart by its head (or,
    shorter than that head, by its first line)."""
    if matches_cursor(head, cursor):
        return distinctive(head[: cursor.head_len])
    first = _first_line(cursor)
    if first is None or len(head) >= cursor.head_len or len(head) < first[0]:
        return False
    return digest(head[: first[0]]) == first[1] and distinctive(head[: first[0]])


def one_begins(a: bytes, b: bytes) -> bool:
    """One of two heads begins the other: the same content, read at different lengths.

    A head is read as far as the file went when it was last looked at, so the source of a
    copy may be known by a shorter head than the copy's, or the copy may still be growing.
    """
    n = min(len(a), len(b))
    return a[:n] == b[:n]


@dataclass(frozen=True, slots=True)
class CopyOfFollowed:
    """The head is (a prefix of) a file still followed: its lines are read there; the copy
    waits until that file is truncated (logrotate copies first, truncates a moment later)."""

    source: FileId


@dataclass(frozen=True, slots=True)
class CopyReadTo:
    """The head is content read elsewhere up to `position`: the copy is read from there.
    `left`: the remembered content it matched, which the copy's own cursor now carries."""

    position: Position
    left: FileId | None = None


CopyOf = CopyOfFollowed | CopyReadTo

CONTENT_DEV = -1  # the device of a saved identity that names content, not a file


def content_id(head: bytes, position: Position) -> FileId:
    """A stable identity for content that left its file: its cursor is saved under it."""
    key = digest(head + b"@%d" % position.offset)
    return FileId(CONTENT_DEV, -1 - int(key[:15], 16))


@dataclass(frozen=True, slots=True)
class _Left:
    key: FileId
    head: bytes
    position: Position
    path: str
    saved: bool  # committed with the cursors, so a restart still knows it


class ContentMemory:
    """Content read under an identity it no longer has: its head and how far it was read.

    Fed with what was truncated under us (saved with the cursors until a copy of it is
    read: logrotate may copy, truncate and compress between two of our looks, and a
    restart must still know where the copy's reading begins) and what was done (deleted,
    compressed) while we ran, and with the previous run's cursors at start; asked what a
    new file's head copies.
    """

    def __init__(self) -> None:
        self._left: deque[_Left] = deque()
        self._remembered: list[Cursor] = []
        self.forgotten: list[FileId] = []  # saved identities to delete from the store

    def remember(self, cursors: Iterable[Cursor]) -> None:
        """The previous run's cursors: a copy made while we were stopped is known by them."""
        self._remembered = [c for c in cursors if c.head_len and c.offset]

    def remembering(self) -> bool:
        """Whether the previous run's cursors are still being matched (during the start)."""
        return bool(self._remembered)

    def forget_remembered(self) -> None:
        """The start is over: its copies are settled, and the cursors are committed anew."""
        self._remembered = []

    def left(self, head: bytes, position: Position, path: str, *, saved: bool) -> None:
        """Content read up to `position` left its identity (truncated, or its file done)."""
        if not position.offset or not distinctive(head):
            return
        key = content_id(head, position)
        if any(e.key == key for e in self._left):
            return
        if key in self.forgotten:
            self.forgotten.remove(key)  # the same content left again: keep its saved cursor
        if len(self._left) >= MEMORY:
            self._drop(self._left.popleft())
        self._left.append(_Left(key, head, position, path, saved))

    def claim(self, key: FileId) -> None:
        """A copy of this content is read (from where it was left): forget it."""
        for entry in self._left:
            if entry.key == key:
                self._left.remove(entry)
                self._drop(entry)
                return

    def _drop(self, entry: _Left) -> None:
        if entry.saved:
            self.forgotten.append(entry.key)

    def cursors(self) -> list[Cursor]:
        """The saved content, as cursors under content identities."""
        return [
            Cursor(
                dev=e.key.dev,
                ino=e.key.ino,
                head_len=len(e.head),
                head=encode_head(e.head),
                path=e.path,
                offset=e.position.offset,
                line=e.position.line,
            )
            for e in self._left
            if e.saved
        ]

    def copy_of(self, head: bytes, file: FileId) -> CopyReadTo | None:
        """What content that left us a file's head says it copies, or None."""
        if not head:
            return None
        for entry in reversed(self._left):
            if one_begins(entry.head, head) and distinctive(head[: len(entry.head)]):
                return CopyReadTo(entry.position, entry.key)
        # Of the saved cursors that read this content, the one that read furthest.
        found = [c for c in self._remembered if cursor_id(c) != file and holds_content(head, c)]
        if found:
            cursor = max(found, key=lambda c: c.offset)
            return CopyReadTo(Position(cursor.offset, cursor.line))
        return None

    def archive_of(self, head: bytes) -> CopyReadTo | None:
        """Where a compressed file's reading begins, if it holds content that left us."""
        for entry in reversed(self._left):
            if head.startswith(entry.head):
                return CopyReadTo(entry.position, entry.key)
        return None
