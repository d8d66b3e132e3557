"""Inputs that can be read only once: standard input, pipes, FIFOs, process substitution.

`logwatch scan -`, `zcat x.gz | logwatch scan -`, `logwatch scan /dev/stdin` and
`logwatch scan <(journalctl ...)` give a stream with no size and no second read. Each is
copied once into a private temporary file and scanned from there like any log (the
compression is still found by its magic bytes), so both scan paths read the same bytes
and report it under the name the user gave.

The copy is removed however the scan ends: an error, Ctrl-C, or SIGTERM (turned into
SystemExit for the scan's duration, so the cleanup runs). It is bounded by the disk: a
copy that would leave less than SPOOL_RESERVE free on the temporary directory's file
system (the larger of 1 GiB and 10% of it) stops with a one-line error, so `scan
/dev/zero` or an endless pipe cannot fill /tmp.
"""

from __future__ import annotations

import os
import select
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from logwatch.errors import SourceError

STDIN = "-"
STDIN_LABEL = "<stdin>"
CHUNK = 1 << 20
RESERVE_MIN = 1 << 30  # bytes the spool leaves free on its file system, at least
RESERVE_SHARE = 0.10  # ... or this share of the file system, if larger
RECHECK = 256 << 20  # the free space is asked again after this many bytes
WAKE_S = 0.25  # a wait for a stream's next bytes lets a pending signal's handler run this often


@dataclass(slots=True)
class Spooled:
    """The scan's arguments with every one-shot input replaced by its copy."""

    args: list[str]
    labels: dict[Path, str] = field(default_factory=dict)  # copy -> the name the user gave
    sizes: dict[str, int] = field(default_factory=dict)  # the name -> bytes read


def is_stream(path: str) -> bool:
    """A named input that is not a regular file or directory (FIFO, pipe, character device)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextmanager
def spool_inputs(args: list[str], stdin: BinaryIO | None = None) -> Iterator[Spooled]:
    """Copy `-` (standard input) and named streams into a temporary directory, removed on
    exit; SourceError for one that cannot be read, or `-` given twice."""
    if args.count(STDIN) > 1:
        raise SourceError("-: standard input can be read only once")
    if not any(a == STDIN or is_stream(a) for a in args):
        yield Spooled(args=list(args))
        return
    with _terminate_as_exit(), tempfile.TemporaryDirectory(prefix="logwatch-spool-") as tmp:
        spooled = Spooled(args=[])
        for n, arg in enumerate(args):
            if arg != STDIN and not is_stream(arg):
                spooled.args.append(arg)
                continue
            label = STDIN_LABEL if arg == STDIN else arg
            copy = Path(tmp) / f"{n}-{Path(label).name.strip('<>') or 'stream'}"
            try:
                if arg == STDIN:
                    source = stdin if stdin is not None else sys.stdin.buffer
                    size = _copy(source, copy, label)
                else:
                    with open(arg, "rb") as fh:
                        size = _copy(fh, copy, label)
            except OSError as exc:
                raise SourceError(f"{label}: cannot read: {exc.strerror or exc}") from None
            spooled.args.append(str(copy))
            spooled.labels[copy] = label
            spooled.sizes[label] = size
        yield spooled


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit while the spool exists, so its directory is removed (the
    default action ends the process at once, leaving it behind); Ctrl-C already raises
    KeyboardInterrupt. A handler someone else installed is kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    """What source holds, as it arrives. A wait is a select with a timeout, not a blocking
    read: a signal that lands just before a read() would not interrupt it, and its
    handler (the SystemExit above) would wait for the writer's next bytes, or forever."""
    read = getattr(source, "read1", source.read)
    try:
        fd: int | None = source.fileno()
    except (AttributeError, OSError, ValueError):  # in-memory (tests) or closed
        fd = None
    while True:
        if fd is not None:
            while not select.select([fd], [], [], WAKE_S)[0]:
                pass  # back in Python between waits: a pending handler runs here
        chunk = read(CHUNK)
        if not chunk:
            return
        yield chunk


def _free_bytes(directory: Path) -> tuple[int, int]:
    """(bytes free to this user, the file system's size) where directory is."""
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def _copy(source: BinaryIO, target: Path, label: str = "") -> int:
    """Copy source to a new private file; SourceError before the copy would leave less
    than the reserve free on the file system."""
    free, total = _free_bytes(target.parent)
    reserve = max(RESERVE_MIN, int(total * RESERVE_SHARE))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written = unchecked = 0
    with open(fd, "wb") as out:
        for chunk in _chunks(source):
            if free - len(chunk) < reserve or unchecked > RECHECK:
                free, total = _free_bytes(target.parent)  # others write there too
                unchecked = 0
                if free - len(chunk) < reserve:
                    raise SourceError(
                        f"{label or target.name}: stopped after {written:,} bytes: copying"
                        f" this stream would leave less than {reserve >> 20:,} MiB free in"
                        f" {target.parent.parent} (write it to a file and scan that, or"
                        " point TMPDIR at a larger disk)"
                    )
            out.write(chunk)
            written += len(chunk)
            unchecked += len(chunk)
            free -= len(chunk)
        return written
