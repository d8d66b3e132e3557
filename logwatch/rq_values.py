"""RQ's stored values, parsed: times, a job's function, a traceback's error line, zlib'd
exception text and started-registry members (`JOBID` before RQ 2.0, `JOBID:EXECUTIONID` from
2.0). Pure; `logwatch.rq_impact` reads the keys that hold them.
"""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EXC_MAX_BYTES",
    "decompress",
    "error_line",
    "function_name",
    "parse_rq_time",
    "split_member",
    "text_of",
]

ERROR_MAX = 200
EXC_MAX_BYTES = 64 * 1024  # a traceback larger than this is not read


def text_of(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def parse_rq_time(value: Any) -> datetime | None:
    """RQ's stored times: ISO strings ("2026-03-01T12:00:00.123456Z") or epoch seconds."""
    text = text_of(value).strip()
    if not text:
        return None
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_FUNCTION = re.compile(r"([A-Za-z_][\w.]{0,200})\(")


def function_name(description: Any) -> str:
    """The function of a job from its description ("tasks.send(...)"), never the arguments."""
    m = _FUNCTION.match(text_of(description))
    return m[1] if m else "?"


_SKIP = ("Traceback", "During handling", "The above exception", "  ", "\t", "^")


def error_line(traceback: str) -> str:
    """The exception's type and first line: the last line a traceback starts at column 0."""
    lines = [ln for ln in traceback.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        if not line.startswith(_SKIP):
            return line.strip()[:ERROR_MAX]
    return lines[0].strip()[:ERROR_MAX] if lines else ""


def decompress(raw: bytes) -> str:
    try:
        return zlib.decompressobj().decompress(raw, EXC_MAX_BYTES).decode("utf-8", "replace")
    except zlib.error:
        return raw.decode("utf-8", "replace")


def split_member(member: str) -> tuple[str, str | None]:
    """(job id, execution id) of a started-registry member (plain job id before RQ 2.0)."""
    job, sep, execution = member.rpartition(":")
    if sep and re.fullmatch(r"[0-9a-f]{32}", execution):
        return job, execution
    return member, None
