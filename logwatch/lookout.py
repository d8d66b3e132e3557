"""What a scan sees beyond its events, for the html and markdown reports.

Two kinds of records are worth keeping that no rule matched: error-looking ones (what the
rule pack missed, as `logwatch test` lists them) and HTTP 5xx lines of gunicorn's and
uvicorn's access logs (the outage's impact on users). Each becomes a small Sighting:
time, source, kind, a normalised redacted signature and a redacted sample.

The fast scan assembles records only around literals, so the words that make a record
error-looking are literals too (NEEDLES, searched only when a report asks for them), and
the test here is case-exact on the same words: a record whose text passes holds one of
them in the file, so both scan paths see the same sightings.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, NamedTuple

from logwatch.matching import normalise
from logwatch.model import Event, Record
from logwatch.redact import Redactor
from logwatch.timestamps import parse_line_start

SightingKind = Literal["missed", "http5xx"]

MAX_SAMPLE = 300
_CACHE_MAX = 4096

# Words of an error-looking record, each in three casings: lower, Capitalised, UPPER.
_WORDS = (
    "error",
    "exception",
    "traceback",
    "fail",
    "failed",
    "failure",
    "refused",
    "timeout",
    "timed out",
    "time out",
    "critical",
    "fatal",
    "denied",
)
# CamelCase exception class names: ConnectionError, ConnectTimeout, LockNotOwnedException.
_SUFFIXES = ("Error", "Exception", "Timeout")


def _casings(word: str) -> tuple[str, str, str]:
    return word, word[:1].upper() + word[1:], word.upper()


_ERRORISH = re.compile(
    r"\b(?:"
    + "|".join(re.escape(c) for w in _WORDS for c in _casings(w))
    + r")\b|[a-z0-9_](?:"
    + "|".join(_SUFFIXES)
    + r")\b"
)
# `"GET /x HTTP/1.1" 503 ...` (gunicorn), `- "GET / HTTP/1.1" 500 Internal...` (uvicorn)
_HTTP5XX = re.compile(r'"[A-Z]{3,8} \S+ HTTP/[0-9.]+\\?" (5[0-9][0-9])\b')
_PROTOCOLS = ("HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3")


def _needles() -> tuple[bytes, ...]:
    words = {c.encode() for w in _WORDS for c in _casings(w)} | {s.encode() for s in _SUFFIXES}
    # An access line in a JSON field has its quotes escaped.
    http = {f"{p}{q} 5".encode() for p in _PROTOCOLS for q in ('"', '\\"')}
    found = sorted(words | http, key=len)
    return tuple(n for i, n in enumerate(found) if not any(s in n for s in found[:i]))


#: The literals a record needs to be a sighting: the fast scan searches them too.
NEEDLES = _needles()


# What comes before a message once its stamp is cut: tags ([1], [morningai.api], [pid 7],
# pid:role) and one level word (or redis-server's # * . - mark). Upper-case words after
# them are the message's own (gunicorn's "[CRITICAL] WORKER TIMEOUT").
_HEAD = re.compile(
    r"^\s*(?:\[[^\]]{0,80}\]\s*|\d+:[A-Z]\s+)*"
    r"(?:(?:DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|CRIT|FATAL|ALERT|EMERG)\b:?\s*"
    r"|[#*.-]\s+)?"
    r"(?:\[[^\]]{0,80}\]\s*)*"
)


def _message(line: str) -> str:
    """A line without the tags and level before its message (its stamp already cut)."""
    return _HEAD.sub("", line, count=1)


class Sighting(NamedTuple):
    """A record no rule matched that a report still shows (small: it crosses processes)."""

    time: datetime
    source: str
    kind: SightingKind
    signature: str  # normalised and redacted; for http5xx, the status code
    sample: str  # redacted, at most MAX_SAMPLE characters


class Lookout:
    """Record (and its event, if any) -> a Sighting or None. Runs in scan workers."""

    def __init__(self, secrets: tuple[str, ...] | list[str] = ()) -> None:
        self._redact = Redactor(secrets)
        self._seen: dict[str, tuple[str, str]] = {}

    @property
    def needles(self) -> tuple[bytes, ...]:
        """The literals the fast scan must search for these sightings."""
        return NEEDLES

    def __call__(self, record: Record, event: Event | None) -> Sighting | None:
        """What to keep of a record: None for events and ordinary records."""
        if event is not None:
            return None
        text = record.text
        first, _, rest = text.partition("\n")
        code = _HTTP5XX.search(first)
        if code is not None:
            sample = self._redact(first)[:MAX_SAMPLE]
            return Sighting(
                time=record.time, source=record.source, kind="http5xx",
                signature=code[1], sample=sample,
            )  # fmt: skip
        if _ERRORISH.search(text) is None:
            return None
        last = rest[rest.rfind("\n") + 1 :] if rest else ""
        # A traceback's last line says what was raised; a plain record says it in its first.
        signature, shown = self._signature(last.strip() or first)
        sample = shown if not last.strip() else f"{self._sample(first)} … {shown}"
        return Sighting(
            time=record.time, source=record.source, kind="missed",
            signature=signature, sample=sample[:MAX_SAMPLE],
        )  # fmt: skip

    def _sample(self, line: str) -> str:
        return self._redact(line)[:MAX_SAMPLE]

    def _signature(self, line: str) -> tuple[str, str]:
        """(signature, redacted line); made once per distinct line after its stamp."""
        stamp = parse_line_start(line)
        rest = line[stamp.end :] if stamp is not None else line
        cached = self._seen.get(rest)
        if cached is None:
            redacted = self._redact(rest.strip())
            cached = (normalise(_message(redacted)) or redacted[:80], redacted)
            if len(self._seen) >= _CACHE_MAX:
                self._seen.clear()
            self._seen[rest] = cached
        signature, redacted = cached
        head = line[: stamp.end] if stamp is not None else ""
        return signature, self._redact(head) + (" " if head else "") + redacted


def errorish(text: str) -> bool:
    """Whether a text looks like an error (the words Lookout keeps records for)."""
    return _ERRORISH.search(text) is not None
