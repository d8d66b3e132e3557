"""Open log files (plain, gzip, bzip2, xz, UTF-16 by magic bytes) and split them into lines.

The I/O edge of the pipeline: every OS or decompression error leaves here as a one-line
SourceError naming the file, including errors a compressed stream raises lazily while
it is read.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import os
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from logwatch.errors import SourceError
from logwatch.model import LogLine

__all__ = ["compression_of", "file_mtime", "is_binary", "is_utf16", "open_log", "read_lines"]

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
# Bytes no log line holds (tab, newline, form feed, carriage return, ESC are text's).
_CONTROLS = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r\x1b") + b"\x7f"
_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 (and UTF-32 LE) text has NULs but is not binary
_CORRUPT = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


def is_utf16(head: bytes) -> bool:
    """UTF-16 text (PowerShell 5's `>`, some Windows services): a BOM, then a NUL in the
    next three characters (a log starts with ASCII: a stamp, a level), so a Latin-1 file
    that starts with `\xff\xfe` is not taken for it. Read as the UTF-8 it holds, like a
    compressed file, so its lines are lines and its literals match."""
    return head[:2] in _BOMS and b"\x00" in head[2:8]


def _kind(head: bytes) -> str | None:
    if is_utf16(head):
        return "utf-16"
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def _cannot_read(path: Path | str, exc: OSError) -> SourceError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return SourceError(f"{path}: cannot read: {reason}")


class _CheckedStream(io.BufferedIOBase):
    """A read-only stream that turns OS and decompression errors into SourceError."""

    def __init__(self, inner: BinaryIO, raw: BinaryIO, path: Path | str, kind: str) -> None:
        super().__init__()
        self._inner = inner
        self._raw = raw  # closed with the stream: GzipFile & co. leave their fileobj open
        self._path = path
        self._kind = kind

    def _error(self, exc: BaseException) -> SourceError:
        if isinstance(exc, OSError) and exc.errno is not None:
            return _cannot_read(self._path, exc)
        if self._kind == "plain" and isinstance(exc, OSError):
            return _cannot_read(self._path, exc)
        return SourceError(f"{self._path}: corrupt {self._kind} data: {exc}")

    def read(self, size: int | None = -1, /) -> bytes:
        try:
            return self._inner.read(-1 if size is None else size)
        except _CORRUPT as exc:
            raise self._error(exc) from None

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size)

    def peek(self, size: int = 0, /) -> bytes:
        """Bytes ahead without consuming them (at least one unless at the end)."""
        try:
            return cast(io.BufferedReader, self._inner).peek(size)
        except _CORRUPT as exc:
            raise self._error(exc) from None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        try:
            return self._inner.seek(offset, whence)
        except _CORRUPT as exc:
            raise self._error(exc) from None

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._raw.close()
            super().close()


class _Utf16File(io.RawIOBase):
    """The UTF-8 bytes of a UTF-16 file (BOM first), read forward; a seek backwards reads
    again from the start, as GzipFile does."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._rewind()

    def _rewind(self) -> None:
        self._raw.seek(0)
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self._pending = b""
        self._pos = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._eof:
            chunk = self._raw.read(1 << 16)
            self._eof = not chunk
            self._pending = self._decoder.decode(chunk, final=self._eof).encode("utf-8", "replace")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._pos + offset}.get(whence)
        if target is None or target < 0:
            raise ValueError("utf-16 text: seek from the start or the current position only")
        if target < self._pos:
            self._rewind()
        while self._pos < target and self.read(min(1 << 16, target - self._pos)):
            pass
        return self._pos


def open_log(path: Path) -> BinaryIO:
    """A binary stream of the file's bytes, decompressed if its magic says gzip/bzip2/xz,
    as UTF-8 if it is UTF-16 text."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 -- closed by the returned stream
    except IsADirectoryError:
        raise SourceError(f"{path}: cannot read: is a directory") from None
    except OSError as exc:
        raise _cannot_read(path, exc) from None
    try:
        head = raw.peek(8)[:8]
    except OSError as exc:  # EISDIR on some platforms surfaces at the first read
        raw.close()
        raise _cannot_read(path, exc) from None
    inner: BinaryIO = raw
    kind = _kind(head) or "plain"
    if kind == "gzip":
        inner = cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    elif kind == "bzip2":
        inner = cast(BinaryIO, bz2.BZ2File(raw, mode="rb"))
    elif kind == "xz":
        inner = cast(BinaryIO, lzma.LZMAFile(raw, mode="rb"))  # noqa: SIM115 -- as above
    elif kind == "utf-16":
        inner = cast(BinaryIO, io.BufferedReader(_Utf16File(raw)))
    return cast(BinaryIO, _CheckedStream(inner, raw, path, kind))


def compression_of(path: Path) -> str | None:
    """ "gzip", "bzip2", "xz" or "utf-16" when the file's magic bytes say so, else None
    (plain: read as it is)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except IsADirectoryError:
        raise SourceError(f"{path}: cannot read: is a directory") from None
    except OSError as exc:
        raise _cannot_read(path, exc) from None
    return _kind(head)


def is_binary(head: bytes) -> bool:
    """Whether the first block of a file looks binary: NUL bytes, no UTF-16 BOM, and past
    the NULs control bytes no text has. A log can hold runs of NULs: copytruncate under a
    writer without O_APPEND leaves a hole before the lines written after it, and a scan of
    such a file must read them as the agent did."""
    if b"\x00" not in head or head.startswith(_BOMS):
        return False
    rest = head.replace(b"\x00", b"")
    controls = len(rest) - len(rest.translate(None, _CONTROLS))
    return controls * 100 > len(rest)  # over 1 %: an ELF, a database, an image


def file_mtime(path: Path) -> datetime:
    """The file's modification time, aware UTC."""
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
    except OSError as exc:
        raise _cannot_read(path, exc) from None


def read_lines(
    stream: BinaryIO,
    *,
    start_offset: int = 0,
    start_line: int = 1,
    max_line_bytes: int = 64 * 1024,
    final: bool = True,
    block_size: int = 1 << 20,
) -> Iterator[LogLine]:
    """The lines of `stream` from `start_offset` (byte offset in the decompressed data).

    A seekable stream is moved to `start_offset` if it is elsewhere; an unseekable one
    must already be there. Lines are split on b"\\n" with a trailing "\\r" dropped and
    decoded as UTF-8 with replacement. A line over `max_line_bytes` is cut to that size
    (truncated=True) and the rest of it skipped as it streams by, so memory stays near
    max_line_bytes + block_size whatever the line length. With final=False (live tail)
    an incomplete last line is held back: the caller resumes at its offset later.
    """
    if stream.seekable() and stream.tell() != start_offset:
        stream.seek(start_offset)
    pos = start_offset  # offset of the first byte not yet yielded
    number = start_line
    carry = b""  # an incomplete line (at most max_line_bytes) waiting for its newline
    long_head: bytes | None = None  # first max_line_bytes of an over-long line being skipped
    long_len = 0  # bytes of that line seen so far
    read = stream.read
    while True:
        block = read(block_size)
        if not block:
            break
        if long_head is not None:
            i = block.find(b"\n")
            if i < 0:
                long_len += len(block)
                continue
            long_len += i + 1
            yield _cut(long_head, number, pos, pos + long_len)
            pos += long_len
            number += 1
            long_head = None
            data = block[i + 1 :]
        else:
            data = carry + block if carry else block
        raw_lines = data.split(b"\n")
        rest = raw_lines.pop()
        if raw_lines:
            texts = data.decode("utf-8", "replace").split("\n")
            texts.pop()
            # A newline byte never sits inside a UTF-8 sequence, valid or not, so the
            # decoded lines line up with the raw ones; the check guards that reasoning.
            if len(texts) != len(raw_lines):  # pragma: no cover
                texts = [r.decode("utf-8", "replace") for r in raw_lines]
            has_cr = b"\r" in data
            for text, raw in zip(texts, raw_lines, strict=False):
                size = len(raw)
                end = pos + size + 1
                if size > max_line_bytes:
                    yield _cut(raw, number, pos, end, max_line_bytes)
                else:
                    if has_cr and text[-1:] == "\r":
                        text = text[:-1]
                    yield LogLine(text=text, number=number, offset=pos, end=end)
                pos = end
                number += 1
        if len(rest) > max_line_bytes:
            long_head = rest[:max_line_bytes]
            long_len = len(rest)
            carry = b""
        else:
            carry = rest
    if not final:
        return
    if long_head is not None:
        yield _cut(long_head, number, pos, pos + long_len)
    elif carry:
        text = carry.decode("utf-8", "replace")
        yield LogLine(
            text=text[:-1] if text[-1:] == "\r" else text,
            number=number,
            offset=pos,
            end=pos + len(carry),
        )


def make_line(raw: bytes, number: int, offset: int, end: int, max_line_bytes: int) -> LogLine:
    """One line (without its newline) as read_lines gives it: decoded with replacement,
    a trailing "\r" dropped, cut to max_line_bytes. For readers that split lines themselves."""
    if len(raw) > max_line_bytes:
        return _cut(raw, number, offset, end, max_line_bytes)
    text = raw.decode("utf-8", "replace")
    return LogLine(
        text=text[:-1] if text[-1:] == "\r" else text, number=number, offset=offset, end=end
    )


def _cut(raw: bytes, number: int, offset: int, end: int, limit: int | None = None) -> LogLine:
    """A truncated line from the head of an over-long one."""
    head = raw if limit is None else raw[:limit]
    text = head.decode("utf-8", "replace")
    if text[-1:] == "\r":
        text = text[:-1]
    return LogLine(text=text, number=number, offset=offset, end=end, truncated=True)
