"""Inputs that can be read only once: standard input, pipes, FIFOs, process substitution.

`logwatch scan -`, `zcat x.gz | logwatch scan -`, `logwatch scan /dev/stdin` and
`logwatch scan <(journalctl ...)` give a stream with no size and no second read. Each is
copied once into a private temporary file and scanned from there like any log (the
compression is still found by its magic bytes), so both scan paths read the same bytes
and report it under the name the user gave.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from logwatch.errors import SourceError

STDIN = "-"
STDIN_LABEL = "<stdin>"


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
    with tempfile.TemporaryDirectory(prefix="logwatch-spool-") as tmp:
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
                    size = _copy(source, copy)
                else:
                    with open(arg, "rb") as fh:
                        size = _copy(fh, copy)
            except OSError as exc:
                raise SourceError(f"{label}: cannot read: {exc.strerror or exc}") from None
            spooled.args.append(str(copy))
            spooled.labels[copy] = label
            spooled.sizes[label] = size
        yield spooled


def _copy(source: BinaryIO, target: Path) -> int:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
        return out.tell()
