"""Lines of one source -> records: timestamped starts, tracebacks, JSON lines.

A line that starts with a timestamp, or is a JSON object, starts a record. Indented
lines, traceback headers and chain separators, and the exception line that ends a
traceback join the record above; any other line starts an untimed record. Pure: the
file's time and zone are passed in.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from logwatch.model import LogLine, Record
from logwatch.stampshape import START, StampShape, line_shape, prefixed_stamp
from logwatch.timestamps import Stamp, parse_line_start, parse_value

__all__ = [
    "TIME_FIELDS",
    "TRACEBACK_FIELDS",
    "RecordAssembler",
    "assemble",
    "json_object",
    "starts_dated_record",
]

# python-json-logger, structlog, logstash, Bunyan/pino, journalctl -o json (the app's own
# time before the journal's receive time).
TIME_FIELDS = (
    "timestamp",
    "time",
    "@timestamp",
    "ts",
    "asctime",
    "date",
    "datetime",
    "created",
    "_SOURCE_REALTIME_TIMESTAMP",
    "__REALTIME_TIMESTAMP",
)
TRACEBACK_FIELDS = (
    "exc_info",
    "exception",
    "exc_text",
    "stack",
    "stack_trace",
    "traceback",
    "error.stack",
)

_TRACEBACK = "Traceback (most recent call last):"
_DURING = "During handling of the above exception, another exception occurred:"
_CAUSE = "The above exception was the direct cause of the following exception:"

# Where the buffered record is: in a plain entry, inside a traceback's frames (the next
# unindented untimed line is its exception line), or just past that exception line.
_PLAIN, _FRAMES, _RAISED = 0, 1, 2

_TAIL_LINES = 10  # the end of a huge traceback holds its exception line: always kept
_DAY = timedelta(days=1)
_HALF_DAY = timedelta(hours=12)
_HALF_YEAR = timedelta(days=183)
_SLACK = timedelta(minutes=1)
_MIN_YEAR, _MAX_YEAR = 1900, 9000  # stamps outside are garbage, never a log's time
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu"})
_NO_LINE = LogLine(text="", number=0, offset=0, end=0)
# Looked for in a line before learning a shape from it: literal-led, so it costs little.
# Anywhere in the line, as line_shape (and so a scan) reads it: colour codes make a
# prefix as long as they like.
_CLOCK = re.compile(r":\d\d:\d\d")


class RecordAssembler:
    """Turns the lines of one source into records.

    Feed lines in order; each call returns the records the line completed. In a live
    tail, call pending_complete() when input goes idle and flush() if it is true.
    """

    def __init__(
        self,
        *,
        source: str,
        file_time: datetime,
        tz: tzinfo = UTC,
        max_lines: int = 200,
        max_bytes: int = 64 * 1024,
        time_fields: Iterable[str] = TIME_FIELDS,
        traceback_fields: Iterable[str] = TRACEBACK_FIELDS,
        shape: StampShape = START,
        learn_shape: bool = False,
    ) -> None:
        if getattr(tz, "key", None) in _UTC_NAMES:
            tz = UTC  # ZoneInfo("UTC") means UTC, and UTC has fast paths
        if file_time.tzinfo is None:
            file_time = file_time.replace(tzinfo=tz)
        self._source = source
        self._file_time = file_time.astimezone(UTC)
        self._tz = tz
        # Stamps after a prefix (Django's `ERROR 2026-...`): how many tokens, 0 for none.
        self.shape = shape
        self._prefix_tokens = shape.prefix_tokens
        # A live file's shape, learned from its first stamped line when its head showed
        # none (uvicorn's undated access lines, then Django's `ERROR 2026-...`).
        self._learning = learn_shape and not shape.prefix_tokens
        self._time_fields = tuple(time_fields)
        self._traceback_fields = frozenset(traceback_fields)
        self._tail_lines = min(_TAIL_LINES, max_lines // 2)
        self._head_lines = max(1, max_lines - self._tail_lines)
        self._tail_chars = max_bytes // 4
        self._head_chars = max(1, max_bytes - self._tail_chars)
        self._max_chars = max(1, max_bytes)
        # Time of the last record whose own timestamp was parsed: the date for time-only
        # stamps, the year for year-less ones, the time for untimed records.
        self._anchor: datetime | None = None
        # The buffered record.
        self._first: LogLine | None = None
        self._last = _NO_LINE
        self._texts: list[str] = []
        self._chars = 0
        self._tail: deque[str] | None = None
        self._dropped = 0
        self._cut = False
        self._time = self._file_time
        self._timed = False
        self._state = _PLAIN
        self._json = False
        self._blanks = 0  # blank lines held until we see whether the record goes on

    def feed(self, line: LogLine) -> list[Record]:
        """Records completed by this line (usually none or one)."""
        text = line.text
        c = text[:1]
        if c == "\0" and (after := text.lstrip("\0")):
            # A hole: copytruncate under a writer without O_APPEND leaves NULs before the
            # line written after it (a line of NULs alone stays what it was).
            text = after
            line = replace(line, text=text)
            c = text[:1]
        if c == " " or c == "\t":
            if self._first is None:  # a continuation with nothing above: its own record
                self._open(line, None)
            else:
                self._continue(line)
            return []
        if not c:
            if self._first is not None:
                self._blanks += 1
            return []
        if (c == "T" or c == "D") and (
            text.startswith(_TRACEBACK) or text.startswith(_DURING) or text.startswith(_CAUSE)
        ):
            if self._first is None:
                self._open(line, None)
            else:
                self._continue(line)
            self._state = _FRAMES
            return []
        if c == "{" and text[-1] == "}":
            fields = json_object(text)
            if fields is not None:
                done = self.flush()
                self._open_json(line, fields)
                return done
        stamp = parse_line_start(text, self._tz)
        if stamp is None and self._prefix_tokens:
            stamp = prefixed_stamp(text, self._tz, self._prefix_tokens)
        if self._learning:
            stamp = self._learn(text, stamp)
        if stamp is None:
            if self._state == _FRAMES:  # the exception line that ends the traceback
                self._continue(line)
                self._state = _RAISED
                return []
            done = self.flush()
            self._open(line, None)
            return done
        when = stamp.when
        when = self._infer(stamp) if when is None else _plausible(when)
        if self._first is None:
            self._open(line, when)
            return []
        done = self.flush()
        self._open(line, when)
        return done

    def use_file_time(self, file_time: datetime) -> None:
        """The file's latest time (a live tail: the file was written again)."""
        if file_time.tzinfo is None:
            file_time = file_time.replace(tzinfo=self._tz)
        self._file_time = file_time.astimezone(UTC)

    def use_shape(self, shape: StampShape) -> None:
        """Where the file's stamps sit, learned late (a live file's first lines arrived)."""
        self.shape = shape
        self._prefix_tokens = shape.prefix_tokens
        if shape.prefix_tokens:
            self._learning = False

    def _learn(self, text: str, stamp: Stamp | None) -> Stamp | None:
        """Until a line shows a stamp: where it sits, if after a prefix (then the file's
        shape from here on)."""
        if stamp is not None:
            self._learning = False
            return stamp
        if _CLOCK.search(text) is None:
            return None  # no stamp a prefix is learned from (all hold a clock): the usual case
        shape = line_shape(text, self._tz)
        if shape is None or not shape.prefix_tokens:
            return None
        self.use_shape(shape)
        return prefixed_stamp(text, self._tz, shape.prefix_tokens)

    def flush(self) -> list[Record]:
        """End of input (or of a live burst): the buffered record, if any."""
        first = self._first
        if first is None:
            return []
        last = self._last
        texts = self._texts
        truncated = self._cut
        if self._tail is not None:  # the rare, bounded case: reset its state here
            texts = texts + self._trimmed_tail()
            truncated = truncated or self._dropped > 0 or self._cut
            self._tail = None
            self._dropped = 0
        record = Record(
            source=self._source,
            line=first.number,
            offset=first.offset,
            end=last.end,
            time=self._time,
            text=texts[0] if len(texts) == 1 else "\n".join(texts),
            lines=last.number - first.number + 1,
            truncated=truncated,
            timed=self._timed,
        )
        self._first = None
        if self._state:
            self._state = _PLAIN
        if self._json:
            self._json = False
        self._blanks = 0
        return [record]

    def pending_complete(self) -> bool:
        """Whether the buffered record is surely whole: it ends with a traceback's
        exception line, or is a JSON line (not one a traceback's header has joined: that
        waits for its exception line). A live agent flushes it without waiting."""
        return self._first is not None and (
            self._state == _RAISED or (self._json and self._state != _FRAMES)
        )

    def pending_unfinished(self) -> bool:
        """Whether the buffered record is a traceback still waiting for its exception line.
        A live reader waits longer before cutting it off: a writer's pause mid-traceback
        (journald writes one entry per line) must not make it two records, two events."""
        return self._first is not None and self._state == _FRAMES

    def pending_start(self) -> tuple[int, int] | None:
        """(byte offset, line number) of the buffered record's first line, if any: where
        a restarted reader must resume so the record is not lost."""
        first = self._first
        return None if first is None else (first.offset, first.number)

    # -- building the buffered record ------------------------------------------------

    def _open(self, line: LogLine, when: datetime | None) -> None:
        """Start buffering a record at `line` (flush() has emptied the buffer)."""
        self._first = self._last = line
        self._cut = line.truncated
        if when is None:
            self._time = self._anchor or self._file_time
            self._timed = False
        else:
            self._time = self._anchor = when
            self._timed = True
        text = line.text
        if len(text) < self._head_chars:
            self._texts = [text]
            self._chars = len(text) + 1
        else:
            self._texts = []
            self._chars = 0
            self._add(text)

    def _continue(self, line: LogLine) -> None:
        if self._blanks:  # blank lines inside the record (between chained tracebacks)
            for _ in range(self._blanks):
                self._add("")
            self._blanks = 0
        self._last = line
        if line.truncated:
            self._cut = True
        self._add(line.text)

    def _add(self, text: str) -> None:
        """Keep the first lines and a rolling tail; drop the middle of a huge record."""
        tail = self._tail
        if tail is None:
            size = len(text) + 1
            if len(self._texts) < self._head_lines and self._chars + size <= self._head_chars:
                self._texts.append(text)
                self._chars += size
                return
            if not self._texts:  # a first line longer than the head budget: kept whole
                # (up to max_bytes), so an error at its end is still seen (the reader has
                # already bounded it by max_line_bytes).
                kept = text[: self._max_chars]
                self._texts.append(kept)
                self._chars = len(kept) + 1
                if len(kept) < len(text):
                    self._cut = True
                return
            tail = self._tail = deque(maxlen=self._tail_lines)
        if len(tail) == tail.maxlen:
            self._dropped += 1
        tail.append(text)

    def _trimmed_tail(self) -> list[str]:
        """The tail lines that fit the tail's share of max_bytes, always the last one."""
        assert self._tail is not None
        kept: list[str] = []
        budget = self._tail_chars
        for text in reversed(self._tail):
            if len(text) + 1 > budget:
                if not kept:
                    kept.append(text[: max(0, budget - 1)])
                    self._cut = True
                break
            kept.append(text)
            budget -= len(text) + 1
        self._dropped += len(self._tail) - len(kept)
        kept.reverse()
        return kept

    def _open_json(self, line: LogLine, fields: dict[str, Any]) -> None:
        when = None
        for name in self._time_fields:
            value = fields.get(name)
            if isinstance(value, str | int | float):
                parsed = parse_value(value)
                if parsed is not None:
                    when = self._to_utc(parsed)
                    break
        message, traceback = _json_text(fields, self._traceback_fields)
        self._open(line, when)
        if message or traceback:  # else keep the raw line: {"tags": [...]} says nothing
            self._texts = []
            self._chars = 0
            if message:
                for text in message.split("\n"):
                    self._add(text)
            for text in traceback:
                self._add(text)
        self._json = True

    # -- time --------------------------------------------------------------------

    def _to_utc(self, when: datetime) -> datetime | None:
        zone = when.tzinfo
        if zone is None:
            if self._tz is UTC:
                return _plausible(when.replace(tzinfo=UTC))
            return _plausible(when.replace(tzinfo=self._tz))
        return _plausible(when)

    def _infer(self, stamp: Stamp) -> datetime | None:
        """The time of a stamp with a time of day but no date, or no year."""
        clock = stamp.clock
        if clock is None:  # pragma: no cover - a Stamp has one of the two
            return None
        try:
            if stamp.month:
                return self._yearless(stamp.month, stamp.day, clock)
            return self._time_only(clock)
        except (ValueError, OverflowError):  # 29 Feb in a common year, year 1 - 1
            return None

    def _local(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self._tz).astimezone(UTC)

    def _time_only(self, clock: time) -> datetime:
        """RQ's `08:23:06`: the date of the records around it, else of the file time."""
        anchor = self._anchor
        if anchor is None:
            file_time = self._file_time
            day = file_time.astimezone(self._tz).date()
            when = self._local(day, clock)
            # The file was last written at file_time: a later clock time is yesterday's.
            return self._local(day - _DAY, clock) if when > file_time + _SLACK else when
        day = anchor.astimezone(self._tz).date()
        when = self._local(day, clock)
        if when < anchor - _HALF_DAY:  # past midnight
            return self._local(day + _DAY, clock)
        if when > anchor + _HALF_DAY:  # a late line from before midnight
            return self._local(day - _DAY, clock)
        return when

    def _yearless(self, month: int, day: int, clock: time) -> datetime:
        """syslog's `Mar  1 12:00:00`: the year of the records around it, or the file's."""
        anchor = self._anchor
        ref = self._file_time if anchor is None else anchor
        year = ref.astimezone(self._tz).year
        when = self._local(date(year, month, day), clock)
        if anchor is None:
            # The file was last written at file_time: a later date is last year's.
            return self._local(date(year - 1, month, day), clock) if when > ref + _SLACK else when
        if when < anchor - _HALF_YEAR:  # past new year
            return self._local(date(year + 1, month, day), clock)
        if when > anchor + _HALF_YEAR:
            return self._local(date(year - 1, month, day), clock)
        return when


def _plausible(when: datetime) -> datetime | None:
    """The time in UTC, or None for a year no log holds (0001, 9999): such a stamp would
    overflow converting to UTC or adding a quiet period, and stall the agent on its line."""
    if not _MIN_YEAR <= when.year <= _MAX_YEAR:
        return None
    return when if when.tzinfo is UTC else when.astimezone(UTC)


def starts_dated_record(
    text: str,
    tz: tzinfo | None = None,
    time_fields: Iterable[str] = TIME_FIELDS,
    shape: StampShape = START,
) -> bool:
    """Whether RecordAssembler.feed starts a record at this line with a full date of its own.

    Such a line resets everything the records before it could carry over (the date of
    time-only stamps, the year of syslog's, the time of untimed records), so assembly can
    start afresh there and produce the records a feed from the file's start would.
    """
    c = text[:1]
    if not c or c == " " or c == "\t":
        return False
    if (c == "T" or c == "D") and (
        text.startswith(_TRACEBACK) or text.startswith(_DURING) or text.startswith(_CAUSE)
    ):
        return False
    if c == "{" and text[-1] == "}":
        fields = json_object(text)
        if fields is not None:
            for name in time_fields:
                value = fields.get(name)
                if isinstance(value, str | int | float):
                    parsed = parse_value(value)
                    if parsed is not None:  # the field feed() takes: a year no log holds is no time
                        return _MIN_YEAR <= parsed.year <= _MAX_YEAR
            return False
    stamp = parse_line_start(text, tz)
    if stamp is None and shape.prefix_tokens:
        stamp = prefixed_stamp(text, tz, shape.prefix_tokens)
    when = None if stamp is None else stamp.when
    return when is not None and _MIN_YEAR <= when.year <= _MAX_YEAR  # as feed()'s _plausible


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a line holds, or None (not JSON, or JSON but not an object)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, a lone surrogate; nesting past the
        return None  # recursion limit ('{"a": [[[[...' 60 KB deep) is no log record
    return value if isinstance(value, dict) else None


def _json_text(fields: dict[str, Any], traceback_fields: frozenset[str]) -> tuple[str, list[str]]:
    """The record text of a JSON line: scalar values joined by spaces, then tracebacks."""
    parts: list[str] = []
    traceback: list[str] = []
    for key, value in fields.items():
        if key in traceback_fields:
            _add_traceback(value, traceback)
        elif isinstance(value, str):
            parts.append(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(str(value))
        elif isinstance(value, dict):  # one level of nesting: {"error": {"stack": ...}}
            for sub_key, sub_value in value.items():
                if f"{key}.{sub_key}" in traceback_fields:
                    _add_traceback(sub_value, traceback)
                elif isinstance(sub_value, str):
                    parts.append(sub_value)
                elif isinstance(sub_value, int | float) and not isinstance(sub_value, bool):
                    parts.append(str(sub_value))
    return " ".join(parts), traceback


def _add_traceback(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.extend(value.rstrip("\n").split("\n"))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.extend(item.rstrip("\n").split("\n"))
        _add_dict_traceback(value, out, 0)


def _add_dict_traceback(chain: list[Any], out: list[str], depth: int) -> None:
    """structlog's dict_tracebacks: a chain of {"exc_type", "exc_value", "exceptions"} dicts,
    the raised one first; written as Python prints it, causes first, `Type: value` each
    (the frames are left out: their locals may hold anything, a password too)."""
    if depth > 8:  # an ExceptionGroup's members nest; a hostile line cannot recurse for long
        return
    for item in reversed(chain):
        if not isinstance(item, dict):
            continue
        kind, text = item.get("exc_type"), item.get("exc_value")
        if not isinstance(kind, str) or not isinstance(text, str):
            continue
        members = item.get("exceptions")
        if isinstance(members, list):
            for member in members:
                if isinstance(member, list):
                    _add_dict_traceback(member, out, depth + 1)
        out.extend(f"{kind}: {text}".rstrip("\n").split("\n"))


def assemble(
    lines: Iterable[LogLine],
    *,
    source: str,
    file_time: datetime,
    tz: tzinfo = UTC,
    max_lines: int = 200,
    max_bytes: int = 64 * 1024,
    time_fields: Iterable[str] = TIME_FIELDS,
    traceback_fields: Iterable[str] = TRACEBACK_FIELDS,
    shape: StampShape = START,
) -> Iterator[Record]:
    """The records of `lines`: feed them all to a RecordAssembler, then flush."""
    assembler = RecordAssembler(
        source=source,
        file_time=file_time,
        tz=tz,
        max_lines=max_lines,
        max_bytes=max_bytes,
        time_fields=time_fields,
        traceback_fields=traceback_fields,
        shape=shape,
    )
    feed = assembler.feed
    for line in lines:
        yield from feed(line)
    yield from assembler.flush()
