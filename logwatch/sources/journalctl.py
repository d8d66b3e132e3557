"""Reading the systemd journal through `journalctl -o json` as a child process.

Why journalctl and not the systemd-python binding: journalctl is on every host that has a
journal, in the version that wrote it, and its `-o json`, `--after-cursor`, `--follow`,
`--unit` (globs too), `--directory` and `--file` are the journal's own stable interface;
the binding has no wheels on PyPI (it builds against libsystemd headers with a compiler),
so it would make `pip install` fail on the very hosts that need it. One child process
per agent costs a few MB and reads at tens of MB/s (benchmarks/sources_throughput.py).
"""

from __future__ import annotations

import logging
import os
import queue
import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from logwatch.errors import SourceError
from logwatch.model import Record
from logwatch.sources.followed import FileRecords
from logwatch.sources.identity import FileId
from logwatch.sources.journal import (
    JOURNAL_DEV,
    JournalAssembler,
    JournalPosition,
    parse_entry,
    stream_id,
)
from logwatch.store import Cursor

__all__ = ["JournalFollower", "JournalSpec", "read_journal"]

logger = logging.getLogger(__name__)

RECORD_WAIT_S = 0.3  # no entry for this long: a unit's buffered record is whole
UNFINISHED_WAIT_S = 3.0  # ... or a traceback without its exception line: cut off
RESTART_S = 5.0  # a journalctl that exited is started again after this long
_FIELDS = "MESSAGE,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,_COMM,_SOURCE_REALTIME_TIMESTAMP"
_MAX_LINE = 4 << 20  # journald caps an entry far below this; a longer line is dropped


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalSpec:
    """Which journal, which units."""

    directory: str | None = None
    files: tuple[str, ...] = ()
    units: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """A stable name: the key of its cursor row."""
        where = self.directory or ",".join(self.files) or "system"
        units = ",".join(self.units) or "*"
        return f"journal:{where}:{units}"

    def command(
        self,
        *,
        cursor: str | None = None,
        follow: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        start: str = "end",
    ) -> list[str]:
        """The journalctl command line."""
        binary = shutil.which("journalctl")
        if binary is None:
            raise SourceError("journalctl not found: --journal reads the journal through it")
        # Only the fields read (__CURSOR and the timestamps always come): a third of the
        # JSON to write, pipe and parse.
        cmd = [binary, "-o", "json", f"--output-fields={_FIELDS}", "--no-pager", "-q"]
        if self.directory:
            cmd.append(f"--directory={self.directory}")
        cmd += [f"--file={f}" for f in self.files]
        for unit in self.units:
            cmd += ["--unit", unit]
        if cursor is not None:
            cmd.append(f"--after-cursor={cursor}")
        elif since is not None:
            cmd.append(f"--since=@{since.timestamp():.6f}")
        if follow:
            # --follow alone shows the last 10 entries, even after a cursor (systemd 252).
            fresh = cursor is None and since is None and start == "end"
            cmd.append("--lines=0" if fresh else "--no-tail")
        if until is not None:
            cmd.append(f"--until=@{until.timestamp():.6f}")
        if follow:
            cmd.append("--follow")
        return cmd


def read_journal(
    spec: JournalSpec,
    *,
    since: datetime | None,
    until: datetime | None,
    tz: tzinfo,
    max_lines: int,
    max_bytes: int,
) -> Iterator[Record]:
    """The records of the journal between `since` and `until` (a scan)."""
    assembler = JournalAssembler(
        source=spec.source, tz=tz, max_lines=max_lines, max_bytes=max_bytes
    )
    cmd = spec.command(since=since, until=until)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            entry = parse_entry(line)
            if entry is not None:
                yield from assembler.feed(entry)
        yield from assembler.flush()
        error = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.returncode not in (0, None) and error:
        raise SourceError(f"journalctl: {error.splitlines()[0]}")


class JournalFollower:
    """A thread that follows the journal; the agent's loop takes its records and position.

    The thread owns the assembler; what crosses to the loop are (records, position) pairs,
    so the cursor the loop commits is always the one that goes with the records it had.
    """

    def __init__(
        self,
        spec: JournalSpec,
        *,
        tz: tzinfo,
        max_lines: int,
        max_bytes: int,
        start: str = "end",
        since: datetime | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.spec = spec
        self.name = spec.source
        self._settings = (tz, max_lines, max_bytes)
        self._start, self._since = start, since
        self._wake = wake
        self._ready: queue.Queue[tuple[list[Record], JournalPosition]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._position: JournalPosition | None = None
        self._last_handed: JournalPosition | None = None  # the thread's
        self.file = FileId(JOURNAL_DEV, stream_id(spec.source))

    def start(self, saved: list[Cursor]) -> None:
        """Start following: after the saved position, else per the start policy."""
        self._position = JournalPosition.from_cursors(self.spec.source, saved)
        self.spec.command()  # journalctl missing: said now, as a config error
        self._thread = threading.Thread(target=self._run, name="journal", daemon=True)
        self._thread.start()

    def take(self) -> list[FileRecords]:
        """The records read since the last call (their position becomes the cursor)."""
        records: list[Record] = []
        while True:
            try:
                batch, position = self._ready.get_nowait()
            except queue.Empty:
                break
            records += batch
            self._position = position
        if not records:
            return []
        return [FileRecords(self.file, Path(self.spec.source), False, records)]

    def cursor(self) -> Cursor | None:
        """The row that a commit saves: where a restart resumes."""
        return None if self._position is None else self._position.to_cursor()

    def stop(self) -> None:
        """Stop the child and the thread (what was read is still in take())."""
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        position = self._position
        first = True
        while not self._stop.is_set():
            tz, max_lines, max_bytes = self._settings
            assembler = JournalAssembler(
                source=self.spec.source,
                start=position,
                tz=tz,
                max_lines=max_lines,
                max_bytes=max_bytes,
            )
            cursor = position.cursor if position else None
            since = self._since if first and self._start == "since" else None
            cmd = self.spec.command(cursor=cursor, follow=True, since=since, start=self._start)
            first = False
            try:
                position = self._follow(cmd, assembler) or position
            except OSError as exc:
                logger.error("journalctl: cannot run: %s", exc)
            if self._stop.wait(RESTART_S):
                break

    def _follow(self, cmd: list[str], assembler: JournalAssembler) -> JournalPosition | None:
        """Run one journalctl until it exits or we stop; the last position handed over."""
        logger.info("journal following cmd=%s", " ".join(cmd[1:]))
        last: JournalPosition | None = None
        with subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C stops the agent, which then stops it
        ) as proc:
            self._proc = proc
            assert proc.stdout is not None and proc.stderr is not None
            fd = proc.stdout.fileno()
            os.set_blocking(fd, False)
            selector = selectors.DefaultSelector()
            selector.register(fd, selectors.EVENT_READ)
            buffer = b""
            last_input = time.monotonic()
            while not self._stop.is_set():
                events = selector.select(timeout=RECORD_WAIT_S)
                if not events:  # idle: buffered records are whole
                    cut = time.monotonic() - last_input >= UNFINISHED_WAIT_S
                    last = self._hand_over(assembler.flush(unfinished=cut), assembler) or last
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                last_input = time.monotonic()
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                if len(buffer) > _MAX_LINE:
                    buffer = b""
                records: list[Record] = []
                for line in lines:
                    entry = parse_entry(line)
                    if entry is not None:
                        records += assembler.feed(entry)
                if assembler.pending_complete():
                    records += assembler.flush()
                last = self._hand_over(records, assembler) or last
            # Stopped (or journalctl ended): a record still being assembled is not cut
            # short here; the position resumes at its first entry, so it is read whole.
            last = self._hand_over([], assembler) or last
            selector.close()
            if not self._stop.is_set():
                proc.wait(timeout=5)
                error = proc.stderr.read().decode("utf-8", "replace").strip()
                # A signal: the service manager stopping the whole unit; else a real error.
                level = logging.INFO if proc.returncode < 0 else logging.ERROR
                logger.log(
                    level,
                    "journalctl exited code=%s %s; again in %.0fs",
                    proc.returncode,
                    error.splitlines()[0] if error else "",
                    RESTART_S,
                )
            elif proc.poll() is None:
                proc.terminate()
        return last

    def _hand_over(
        self, records: list[Record], assembler: JournalAssembler
    ) -> JournalPosition | None:
        position = assembler.position()
        if not records and position == self._last_handed:
            return None
        self._last_handed = position
        self._ready.put((records, position))
        self._wake()
        return position
