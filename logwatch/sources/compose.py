"""`docker compose logs` (and `up`) output: each line is `service-1  | text`, the lines of
every service interleaved. A traceback's lines belong to the record of their own service,
not to the line above them, which another service may have written: records are assembled
per service prefix, as the container and journal sources assemble them per stream and unit.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

from logwatch.model import LogLine, Record
from logwatch.records import RecordAssembler
from logwatch.stampshape import START, StampShape

__all__ = ["ComposeAssembler", "compose_output"]

# The service's name (compose: `<service>-<n>`, or the container's name), padding, a bar.
# Bounded and anchored: linear. No "=", "@" or "/" in it: a prefix holds no secret.
_PREFIX = re.compile(r"([A-Za-z][\w.-]{0,63}) {0,64}\|(?: |$)")
_HEAD_LINES = 50  # lines of a head looked at to tell compose output
_SHARE = 0.8  # of them with a service prefix (`docker compose up` adds lines of its own)


def compose_output(head: bytes) -> bool:
    """Whether a file's head is compose output: most of its first lines, and at least two,
    start with a service prefix."""
    lines = [x for x in head.split(b"\n", _HEAD_LINES)[:_HEAD_LINES] if x.strip()]
    if len(head) >= 4096 and len(lines) > 1:
        lines.pop()  # possibly cut by the read
    prefixed = sum(
        1 for x in lines if _PREFIX.match(x[:160].decode("utf-8", "replace")) is not None
    )
    return prefixed >= 2 and prefixed >= _SHARE * len(lines)


class _Service(NamedTuple):
    assembler: RecordAssembler
    prefix: str  # as written, padding included: put back before a record's first line


class ComposeAssembler(RecordAssembler):
    """A RecordAssembler for compose output: one assembler per service, fed its lines
    without their prefix; a record's first line gets its prefix back. Lines without a
    prefix (compose's own) are a stream of their own. The base class's buffer stays empty.
    """

    def __init__(
        self,
        *,
        source: str,
        file_time: datetime,
        tz: tzinfo = UTC,
        max_lines: int = 200,
        max_bytes: int = 64 * 1024,
        shape: StampShape = START,
        learn_shape: bool = False,
    ) -> None:
        super().__init__(
            source=source, file_time=file_time, tz=tz, max_lines=max_lines, max_bytes=max_bytes
        )
        self.shape = shape
        self._source_given, self._tz_given = source, tz
        self._max_lines_given, self._max_bytes_given = max_lines, max_bytes
        self._learn_shapes = learn_shape
        self._file_time_now = file_time
        self._services: dict[str, _Service] = {}

    def feed(self, line: LogLine) -> list[Record]:
        """Records completed by this line (in its service)."""
        m = _PREFIX.match(line.text, 0, 160)
        name, prefix = ("", "") if m is None else (m[1], line.text[: m.end()])
        service = self._services.get(name)
        if service is None or service.prefix != prefix:
            # Its padding changes when a service with a longer name joins: the same service.
            assembler = self._make() if service is None else service.assembler
            service = self._services[name] = _Service(assembler, prefix)
        inner = line
        if prefix:
            inner = LogLine(
                text=line.text[len(prefix) :],
                number=line.number,
                offset=line.offset,
                end=line.end,
                truncated=line.truncated,
            )
        return self._prefixed(service, service.assembler.feed(inner))

    def _make(self) -> RecordAssembler:
        return RecordAssembler(
            source=self._source_given,
            file_time=self._file_time_now,
            tz=self._tz_given,
            max_lines=self._max_lines_given,
            max_bytes=self._max_bytes_given,
            shape=self.shape,
            learn_shape=self._learn_shapes,
        )

    @staticmethod
    def _prefixed(service: _Service, records: list[Record]) -> list[Record]:
        if not service.prefix:
            return records
        return [_with_prefix(r, service.prefix) for r in records]

    def flush(self) -> list[Record]:
        """Every service's buffered record, in the order they started."""
        records: list[Record] = []
        for service in self._services.values():
            records += self._prefixed(service, service.assembler.flush())
        records.sort(key=lambda r: r.offset)
        return records

    def pending_complete(self) -> bool:
        """Every service's buffered record is surely whole."""
        pending = [s.assembler for s in self._services.values() if s.assembler.pending_start()]
        return bool(pending) and all(a.pending_complete() for a in pending)

    def pending_unfinished(self) -> bool:
        """A service's buffered record is a traceback still waiting for its exception line."""
        return any(s.assembler.pending_unfinished() for s in self._services.values())

    def pending_start(self) -> tuple[int, int] | None:
        """The earliest start of anything buffered: a restart resumes there."""
        starts = [
            s for v in self._services.values() if (s := v.assembler.pending_start()) is not None
        ]
        return min(starts, default=None)

    def use_file_time(self, file_time: datetime) -> None:
        """The file's latest time, for every service."""
        super().use_file_time(file_time)
        self._file_time_now = file_time
        for service in self._services.values():
            service.assembler.use_file_time(file_time)

    def use_shape(self, shape: StampShape) -> None:
        """Where the services' stamps sit, learned late."""
        self.shape = shape
        for service in self._services.values():
            service.assembler.use_shape(shape)


def _with_prefix(record: Record, prefix: str) -> Record:
    return replace(record, text=prefix + record.text)
