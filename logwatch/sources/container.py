"""Container logs as the runtimes write them: Docker's json-file driver and the CRI format.

Docker wraps every line in `{"log": "...\\n", "stream": "stderr", "time": "..."}`; the
kubelet's runtimes (containerd, CRI-O) write `2026-03-01T12:00:00.1Z stderr F message`.
Both split a long line into pieces (Docker: a `log` without its newline; CRI: tag `P`),
and both interleave stdout and stderr. `ContainerAssembler` unwraps each line, joins the
pieces, and assembles each stream on its own (a traceback on stderr is not cut by an
access-log line on stdout), so the record assembler after it sees the app's own lines.
A record's time is the runtime's stamp of its first line: UTC, to the nanosecond, and
present on traceback lines that carry no stamp of their own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from enum import Enum
from pathlib import Path

from logwatch.errors import SourceError
from logwatch.model import LogLine, Record
from logwatch.records import RecordAssembler
from logwatch.sources.compose import ComposeAssembler, compose_output
from logwatch.sources.reader import open_log
from logwatch.stampshape import START, StampShape

__all__ = [
    "ContainerAssembler",
    "ContainerEntry",
    "ContainerFormat",
    "container_format",
    "container_source",
    "parse_entry",
    "wrapped_by_runtime",
]

_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z", re.ASCII
)
# timestamp, stream, tag (F full, P partial; `F:x` leaves room for more tags), content.
_CRI = re.compile(r"(\S{20,40}) (stdout|stderr) ([FP])(?::\S*)?(?: |\Z)", re.ASCII)
_POD_DIR = re.compile(r"(?P<ns>[^_/]+)_(?P<pod>[^_/]+)_[0-9a-f-]{8,}\Z")
_DOCKER_ID = re.compile(r"[0-9a-f]{64}\Z")


class ContainerFormat(Enum):
    """How a container runtime wrapped the lines of a log file."""

    DOCKER = "docker"
    CRI = "cri"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerEntry:
    """One line as the runtime wrote it, unwrapped."""

    stream: str  # "stdout" or "stderr"
    time: datetime | None  # the runtime's stamp (aware UTC), None if it does not parse
    text: str  # the app's text, without its newline
    partial: bool  # the app's line goes on in the next entry of this stream


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 stamp with up to nanoseconds (Python keeps microseconds), in UTC."""
    m = _RFC3339.match(text)
    if m is None:
        return None
    base, fraction, zone = m.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    try:
        when = datetime.fromisoformat(f"{base}.{micro}{'+00:00' if zone == 'Z' else zone}")
        return when.astimezone(UTC)
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+14:00 is before datetime.min
        return None


def parse_entry(text: str, fmt: ContainerFormat) -> ContainerEntry | None:
    """The entry a line of a `fmt` file holds; None when the line is not one."""
    if fmt is ContainerFormat.CRI:
        m = _CRI.match(text)
        if m is None:
            return None
        return ContainerEntry(
            stream=m[2], time=parse_time(m[1]), text=text[m.end() :], partial=m[3] == "P"
        )
    if not text.startswith("{"):
        return None
    try:
        fields = json.loads(text)
    except (ValueError, RecursionError):  # nesting past the recursion limit too
        return None
    if not isinstance(fields, dict) or not isinstance(fields.get("log"), str):
        return None
    log: str = fields["log"]
    partial = not log.endswith("\n")
    if not partial:
        log = log[:-2] if log.endswith("\r\n") else log[:-1]
    stream = fields.get("stream")
    stamp = fields.get("time")
    return ContainerEntry(
        stream=stream if isinstance(stream, str) and stream else "stdout",
        time=parse_time(stamp) if isinstance(stamp, str) else None,
        text=log,
        partial=partial,
    )


def container_format(head: bytes) -> ContainerFormat | None:
    """The runtime format of a file, judged by its first complete line (None: not one)."""
    end = head.find(b"\n")
    if end <= 0:
        return None
    try:
        first = head[:end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    for fmt in (ContainerFormat.DOCKER, ContainerFormat.CRI):
        entry = parse_entry(first, fmt)
        if entry is not None and entry.time is not None:
            return fmt
    return None


def wrapped_by_runtime(path: Path) -> bool:
    """Whether a log file (compressed or not) is a container runtime's, or compose output
    (its records are assembled per stream or service, not from raw bytes)."""
    try:
        with open_log(path) as stream:
            head = stream.read(4096)
            return container_format(head) is not None or compose_output(head)
    except (OSError, SourceError):
        return False  # reading it reports the error


def container_source(path: Path) -> str:
    """A name for the container whose log `path` is: `docker/NAME`, `k8s/NS/POD/CONTAINER`,
    else the path itself.

    Docker keeps `<id>/<id>-json.log` beside `config.v2.json`, which holds the container's
    name; the kubelet keeps `/var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log`.
    """
    parent = path.parent
    pod = _POD_DIR.match(parent.parent.name)
    if pod is not None:
        return f"k8s/{pod['ns']}/{pod['pod']}/{parent.name}"
    if _DOCKER_ID.match(parent.name) and path.name.startswith(parent.name):
        return f"docker/{_docker_name(parent) or parent.name[:12]}"
    return str(path)


def _docker_name(directory: Path) -> str | None:
    try:
        with open(directory / "config.v2.json", "rb") as fh:
            config = json.loads(fh.read(1 << 20))
    except (OSError, ValueError):
        return None
    name = config.get("Name") if isinstance(config, dict) else None
    return name.lstrip("/") or None if isinstance(name, str) else None


@dataclass(slots=True)
class _Piece:
    """The start of a line the runtime split: its first entry's place, the text so far."""

    first: LogLine
    texts: list[str]
    size: int
    truncated: bool


class ContainerAssembler(RecordAssembler):
    """A RecordAssembler for a runtime-wrapped file: unwraps, joins pieces, one per stream.

    It stands where the tail and the scan use a RecordAssembler (same calls); the base
    class's own buffer stays empty. A line that is not a runtime entry (a cut line) is
    assembled as it is, as a stream of its own.
    """

    def __init__(
        self,
        *,
        fmt: ContainerFormat,
        source: str,
        file_time: datetime,
        tz: tzinfo = UTC,
        max_lines: int = 200,
        max_bytes: int = 64 * 1024,
        shape: StampShape = START,
    ) -> None:
        super().__init__(
            source=source, file_time=file_time, tz=tz, max_lines=max_lines, max_bytes=max_bytes
        )
        self.format = fmt
        self._base = source
        self._tz_given, self._max_lines_given, self._max_bytes_given = tz, max_lines, max_bytes
        self._file_time_now = file_time
        self._streams: dict[str, RecordAssembler] = {}
        self._pieces: dict[str, _Piece] = {}
        # Runtime time of each line that may start a record, by offset, until it has.
        self._times: dict[str, dict[int, datetime]] = {}

    def feed(self, line: LogLine) -> list[Record]:
        """Records completed by this line."""
        entry = parse_entry(line.text, self.format)
        if entry is None:
            return self._feed_stream("raw", line, None)
        stream = entry.stream
        piece = self._pieces.get(stream)
        if piece is None and not entry.partial:
            unwrapped = LogLine(
                text=entry.text,
                number=line.number,
                offset=line.offset,
                end=line.end,
                truncated=line.truncated,
            )
            return self._feed_stream(stream, unwrapped, entry.time)
        if piece is None:
            piece = self._pieces[stream] = _Piece(line, [], 0, line.truncated)
            self._times.setdefault(stream, {})[line.offset] = entry.time or self._file_time_now
        if piece.size + len(entry.text) <= self._max_bytes_given:
            piece.texts.append(entry.text)
            piece.size += len(entry.text)
        else:  # bounded: a line of a gigabyte without a newline keeps its head
            piece.truncated = True
        piece.truncated = piece.truncated or line.truncated
        if entry.partial:
            return []
        return self._join(stream, line)

    def _join(self, stream: str, last: LogLine) -> list[Record]:
        piece = self._pieces.pop(stream)
        joined = LogLine(
            text="".join(piece.texts),
            number=piece.first.number,
            offset=piece.first.offset,
            end=last.end,
            truncated=piece.truncated,
        )
        return self._feed_stream(stream, joined, None)

    def _feed_stream(self, stream: str, line: LogLine, when: datetime | None) -> list[Record]:
        assembler = self._streams.get(stream)
        if assembler is None:
            assembler = self._streams[stream] = self._make(stream)
        c = line.text[:1]
        if when is not None and c != " " and c != "\t":  # may start a record
            self._times.setdefault(stream, {})[line.offset] = when
        return self._stamped(stream, assembler.feed(line))

    def _make(self, stream: str) -> RecordAssembler:
        return RecordAssembler(
            source=f"{self._base}:{stream}",
            file_time=self._file_time_now,
            tz=self._tz_given,
            max_lines=self._max_lines_given,
            max_bytes=self._max_bytes_given,
        )

    def _stamped(self, stream: str, records: list[Record]) -> list[Record]:
        """The records with the runtime's time of their first line."""
        if not records:
            return records
        times = self._times.get(stream, {})
        out = []
        for record in records:
            when = times.get(record.offset)
            if when is not None:
                record = replace(record, time=when, timed=True)
            for offset in [o for o in times if o <= record.offset]:
                del times[offset]
            out.append(record)
        return out

    def flush(self) -> list[Record]:
        """Every stream's buffered record, pieces of a split line included."""
        records: list[Record] = []
        for stream in list(self._pieces):
            piece = self._pieces[stream]
            records += self._join(stream, piece.first)
        for stream, assembler in self._streams.items():
            records += self._stamped(stream, assembler.flush())
        records.sort(key=lambda r: r.offset)
        return records

    def pending_complete(self) -> bool:
        """Every stream's buffered record is surely whole, and no line is split open."""
        pending = [a for a in self._streams.values() if a.pending_start() is not None]
        return not self._pieces and bool(pending) and all(a.pending_complete() for a in pending)

    def pending_unfinished(self) -> bool:
        """A stream's buffered record is a traceback still waiting for its exception line."""
        return any(a.pending_unfinished() for a in self._streams.values())

    def pending_start(self) -> tuple[int, int] | None:
        """The earliest start of anything buffered: a restart resumes there."""
        starts = [(p.first.offset, p.first.number) for p in self._pieces.values()]
        starts += [s for a in self._streams.values() if (s := a.pending_start()) is not None]
        return min(starts, default=None)

    def use_file_time(self, file_time: datetime) -> None:
        """The file's latest time: for entries whose runtime stamp does not parse."""
        super().use_file_time(file_time)
        self._file_time_now = file_time
        for assembler in self._streams.values():
            assembler.use_file_time(file_time)

    def use_shape(self, shape: StampShape) -> None:
        """Runtime lines start with the runtime's stamp: the app's shape does not apply."""


def make_assembler(
    head: bytes,
    *,
    path: Path,
    source: str,
    file_time: datetime,
    tz: tzinfo,
    max_lines: int,
    max_bytes: int,
    shape: StampShape,
    learn_shape: bool = False,
) -> RecordAssembler:
    """A ContainerAssembler when `head` is a runtime's, else a RecordAssembler (which
    learns its shape from its first stamped line when `learn_shape`)."""
    fmt = container_format(head)
    if fmt is None and compose_output(head):
        return ComposeAssembler(
            source=source,
            file_time=file_time,
            tz=tz,
            max_lines=max_lines,
            max_bytes=max_bytes,
            shape=shape,
            learn_shape=learn_shape,
        )
    if fmt is None:
        return RecordAssembler(
            source=source,
            file_time=file_time,
            tz=tz,
            max_lines=max_lines,
            max_bytes=max_bytes,
            shape=shape,
            learn_shape=learn_shape,
        )
    return ContainerAssembler(
        fmt=fmt,
        source=container_source(path) if source == str(path) else source,
        file_time=file_time,
        tz=tz,
        max_lines=max_lines,
        max_bytes=max_bytes,
    )
