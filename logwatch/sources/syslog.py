"""Syslog over TCP: framing (RFC 6587) and messages (RFC 5424, RFC 3164). Pure.

Frames come octet-counted (`57 <14>1 2026-...`) or end at a newline (rsyslog, `logger
--tcp`, Render's streams) or at a NUL (Python's SysLogHandler over TCP, whose message
holds the whole traceback with its newlines: a connection that ended a frame with NUL
is NUL-framed from then on). A frame longer than the bound is dropped and said, never
held: memory per connection stays under the bound plus one read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from logwatch.timestamps import parse_value

__all__ = ["Framer", "SyslogMessage", "parse_message"]

_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424 = re.compile(
    r"(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ", re.ASCII
)  # version, timestamp, hostname, app-name, procid, msgid; structured data follows
_RFC3164_STAMP = re.compile(r"([A-Z][a-z]{2}) ( \d|\d\d) (\d\d:\d\d:\d\d) ", re.ASCII)
_TAG = re.compile(r"([\w.@/-]{1,48})(?:\[[^\]\s]{1,32}\])?: ", re.ASCII)
_MONTHS = {
    m: n
    for n, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SyslogMessage:
    """One syslog message."""

    host: str  # the sender's hostname, "" when the message has none
    app: str  # its APP-NAME or tag, "" when it has none
    time: datetime | None  # its own timestamp (aware UTC), None when it has none
    text: str  # the message itself (may hold several lines)


class Framer:
    """Bytes of one connection -> frames; at most `max_frame` bytes held."""

    def __init__(self, max_frame: int = 64 * 1024) -> None:
        self._max = max_frame
        self._buffer = bytearray()
        self._nul = False  # the sender ends frames with NUL (SysLogHandler)
        self._skip = 0  # bytes of an oversized octet-counted frame still to drop
        self._discarding = False  # inside an oversized delimited frame
        self.errors: list[str] = []  # malformed frames, said by the caller and cleared

    def feed(self, data: bytes) -> list[bytes]:
        """The frames these bytes completed."""
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            data = data[dropped:]
        self._buffer += data
        frames: list[bytes] = []
        while self._buffer:
            frame = self._next()
            if frame is None:
                break
            if frame:
                frames.append(bytes(frame))
        if len(self._buffer) > self._max:  # no end in sight: drop what is held
            self.errors.append(f"frame longer than {self._max} bytes, dropped")
            self._buffer.clear()
            self._discarding = not self._skip
        return frames

    def _next(self) -> bytes | None:
        """One frame off the buffer; b"" for a dropped one, None when more is needed."""
        buf = self._buffer
        first = buf[:1]
        if not self._discarding and first.isdigit() and first != b"0":
            space = buf.find(b" ", 0, 12)
            if space == -1:
                if len(buf) >= 12 or not buf.isdigit():
                    return self._malformed(len(buf), "octet count without its space")
                return None
            if not buf[:space].isdigit():
                return self._delimited()
            length = int(buf[:space])
            if length > self._max:
                self.errors.append(f"frame of {length} bytes over the {self._max} bound, dropped")
                available = len(buf) - space - 1
                if available >= length:
                    del buf[: space + 1 + length]
                else:
                    self._skip = length - available
                    buf.clear()
                return b""
            if len(buf) < space + 1 + length:
                return None
            frame = bytes(buf[space + 1 : space + 1 + length])
            del buf[: space + 1 + length]
            return frame
        return self._delimited()

    def _delimited(self) -> bytes | None:
        buf = self._buffer
        nul = buf.find(b"\0")
        if nul != -1:
            self._nul = True
        end = nul if self._nul else _line_end(buf)
        if end == -1:
            return None
        frame = bytes(buf[:end]).rstrip(b"\r\n")
        del buf[: end + 1]
        if self._discarding:  # the tail of an oversized frame
            self._discarding = False
            return b""
        if self._nul:
            frame = frame.lstrip(b"\n")  # a newline sent after the NUL by some senders
        return frame

    def _malformed(self, size: int, why: str) -> bytes:
        self.errors.append(why)
        del self._buffer[:size]
        return b""


def _line_end(buf: bytearray) -> int:
    """The newline that ends a frame: one followed by the next frame's `<`, a digit
    (octet counting), or the end of what has come (a newline inside a message is kept)."""
    start = 0
    while True:
        end = buf.find(b"\n", start)
        if (
            end == -1
            or end + 1 == len(buf)
            or buf[end + 1 : end + 2] in (b"<",)
            or buf[end + 1 : end + 2].isdigit()
        ):
            return end
        start = end + 1


def parse_message(
    frame: bytes, *, tz: tzinfo = UTC, now: datetime | None = None
) -> SyslogMessage | None:
    """A message from one frame; None when it does not start with a <PRI>."""
    text = frame.decode("utf-8", "replace")
    m = _PRI.match(text)
    if m is None or int(m[1]) > 191:
        return None
    rest = text[m.end() :]
    v = _RFC5424.match(rest)
    if v is not None and v[1] == "1":
        body = _after_structured_data(rest[v.end() :])
        if body is None:
            return None
        stamp = None if v[2] == "-" else parse_value(v[2])
        return SyslogMessage(
            host="" if v[3] == "-" else v[3],
            app="" if v[4] == "-" else v[4],
            time=_utc(stamp, tz),
            text=body.removeprefix("\ufeff"),
        )
    host, when = "", None
    s = _RFC3164_STAMP.match(rest)
    if s is not None:
        when = _yearless(s, tz, now or datetime.now(UTC))
        rest = rest[s.end() :]
        h = re.match(r"(\S+) ", rest)
        if h is not None and not _TAG.match(rest):
            host, rest = h[1], rest[h.end() :]
    t = _TAG.match(rest)
    app = ""
    if t is not None:
        app, rest = t[1], rest[t.end() :]
    return SyslogMessage(host=host, app=app, time=when, text=rest)


def _after_structured_data(rest: str) -> str | None:
    """The MSG after RFC 5424's STRUCTURED-DATA (`-` or `[id k="v"]...`); None if broken."""
    if rest.startswith("-"):
        return rest[2:] if rest[1:2] == " " else rest[1:]
    i = 0
    while rest[i : i + 1] == "[":
        i += 1
        while i < len(rest) and rest[i] != "]":
            if rest[i] == '"':  # a quoted value: \" \\ \] escapes
                i += 1
                while i < len(rest) and rest[i] != '"':
                    i += 2 if rest[i] == "\\" else 1
            i += 1
        if i >= len(rest):
            return None
        i += 1
    if i == 0:
        return None
    return rest[i + 1 :] if rest[i : i + 1] == " " else rest[i:]


def _utc(when: datetime | None, tz: tzinfo) -> datetime | None:
    if when is None:
        return None
    try:
        return (when if when.tzinfo else when.replace(tzinfo=tz)).astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00: no time (the message's arrival's)
        return None


def _yearless(m: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    """RFC 3164's `Mar  1 12:00:00`: this year's, or last year's if that is in the future."""
    month = _MONTHS.get(m[1])
    if month is None:
        return None
    local_now = now.astimezone(tz)
    try:
        when = datetime.fromisoformat(
            f"{local_now.year}-{month:02d}-{int(m[2]):02d}T{m[3]}"
        ).replace(tzinfo=tz)
        if (when.astimezone(UTC) - now).days >= 1:  # December's lines read in January
            when = when.replace(year=when.year - 1)
    except ValueError:
        return None
    return when.astimezone(UTC)
