"""The syslog receiver: `watch --syslog tcp://127.0.0.1:6514` (or tls:// with a cert).

One thread runs an asyncio server; each connection has its own bounded Framer; messages
go to one assembler per sender (`syslog/<host>/<app>`), whose records the agent's loop
takes. A malformed frame is said once per connection and kind, and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import urlsplit

from logwatch.errors import ConfigError, SourceError
from logwatch.model import LogLine, Record
from logwatch.records import RecordAssembler
from logwatch.sources.followed import FileRecords
from logwatch.sources.identity import FileId
from logwatch.sources.journal import JOURNAL_DEV, stream_id
from logwatch.sources.syslog import Framer, SyslogMessage, parse_message
from logwatch.store import Cursor

__all__ = ["SyslogAssembler", "SyslogReceiver", "SyslogSpec"]

logger = logging.getLogger(__name__)

RECORD_WAIT_S = 0.3  # no message for this long: a sender's buffered record is whole
UNFINISHED_WAIT_S = 3.0  # ... or a traceback without its exception line: cut off
MAX_CONNECTIONS = 512
# Sources (host/app pairs) with an assembler: a sender names its own host and app, so a
# hostile one could make a new source per message. Past this, the oldest is flushed.
MAX_SENDERS = 1024
READ_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class SyslogSpec:
    """Where to listen, and the TLS certificate if any."""

    host: str
    port: int
    cert: str | None = None
    key: str | None = None

    @classmethod
    def parse(cls, url: str, cert: str | None = None, key: str | None = None) -> SyslogSpec:
        """From `tcp://HOST:PORT` or `tls://HOST:PORT` (which needs `cert`)."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
            raise ConfigError(f"--syslog: {url!r} is not tcp://HOST:PORT or tls://HOST:PORT")
        if parts.scheme == "tls" and not cert:
            raise ConfigError(f"--syslog: {url} needs --syslog-cert (and --syslog-key)")
        if parts.scheme == "tcp":  # the certificate is for the tls:// ones
            return cls(host=parts.hostname, port=port)
        return cls(host=parts.hostname, port=port, cert=cert, key=key)

    @property
    def name(self) -> str:
        """How it is named in logs and its stream id."""
        return f"syslog:{'tls' if self.cert else 'tcp'}://{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context (None: plain TCP); ConfigError for a bad cert/key."""
        if not self.cert:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"--syslog-cert {self.cert}: cannot load: {exc}") from None
        return context


class SyslogAssembler:
    """Messages -> records, one RecordAssembler per sender; a record has its first
    message's time (or the time it was received, for senders that send none)."""

    def __init__(self, *, tz: tzinfo, max_lines: int, max_bytes: int) -> None:
        self._tz, self._max_lines, self._max_bytes = tz, max_lines, max_bytes
        self._senders: dict[str, RecordAssembler] = {}
        self._times: dict[int, datetime] = {}
        self._seq = 0
        self._full_said = False

    def feed(self, message: SyslogMessage, peer: str, received: datetime) -> list[Record]:
        """Records completed by this message (of its sender)."""
        host = message.host or peer
        source = f"syslog/{host}/{message.app}" if message.app else f"syslog/{host}"
        records: list[Record] = []
        assembler = self._senders.get(source)
        if assembler is None:
            if len(self._senders) >= MAX_SENDERS:
                oldest = next(iter(self._senders))
                records += self._senders.pop(oldest).flush()
                if not self._full_said:
                    self._full_said = True
                    logger.warning("syslog: more than %d sources; the oldest are flushed and "
                                   "forgotten (said once)", MAX_SENDERS)  # fmt: skip
            assembler = self._senders[source] = RecordAssembler(
                source=source,
                file_time=received,
                tz=self._tz,
                max_lines=self._max_lines,
                max_bytes=self._max_bytes,
            )
        when = message.time or received
        for text in message.text.rstrip("\n").split("\n"):
            self._seq += 1
            self._times[self._seq] = when
            line = LogLine(
                text=text.rstrip("\r"), number=self._seq, offset=self._seq, end=self._seq
            )
            records += assembler.feed(line)
        return self._stamped(records)

    def _stamped(self, records: list[Record]) -> list[Record]:
        out = []
        for record in records:
            when = self._times.get(record.offset)
            out.append(record if when is None else replace(record, time=when, timed=True))
        pending = [s[0] for a in self._senders.values() if (s := a.pending_start()) is not None]
        earliest = min(pending, default=self._seq + 1)
        for seq in [s for s in self._times if s < earliest]:
            del self._times[seq]
        return out

    def flush(self, *, unfinished: bool = True) -> list[Record]:
        """Every sender's buffered record; with `unfinished=False`, not a traceback still
        waiting for its exception line."""
        records = [
            r
            for a in self._senders.values()
            if unfinished or not a.pending_unfinished()
            for r in a.flush()
        ]
        return self._stamped(sorted(records, key=lambda r: r.offset))


class SyslogReceiver:
    """A syslog server on its own thread; the agent's loop takes the records it read."""

    def __init__(
        self,
        spec: SyslogSpec,
        *,
        tz: tzinfo,
        max_lines: int,
        max_bytes: int,
        max_frame: int = 64 * 1024,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.file = FileId(JOURNAL_DEV, stream_id(spec.name))
        self._assembler = SyslogAssembler(tz=tz, max_lines=max_lines, max_bytes=max_bytes)
        self._max_frame = max_frame
        self._wake = wake
        self._ready: queue.Queue[list[Record]] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._last_input = time.monotonic()
        self._connections = 0
        self.address: tuple[str, int] | None = None  # where it listens (port 0: the one given)

    def start(self, saved: list[Cursor]) -> None:
        """Listen (SourceError when the address cannot be bound)."""
        context = self.spec.ssl_context()
        self._thread = threading.Thread(
            target=self._run, args=(context,), name="syslog", daemon=True
        )
        self._thread.start()
        self._started.wait(timeout=10)
        if self._error is not None:
            raise SourceError(f"{self.name}: cannot listen: {self._error}")
        logger.info("syslog listening on %s", self.address)

    def take(self) -> list[FileRecords]:
        """The records received since the last call."""
        records: list[Record] = []
        while True:
            try:
                records += self._ready.get_nowait()
            except queue.Empty:
                break
        return [FileRecords(self.file, Path(self.name), True, records)] if records else []

    def cursor(self) -> Cursor | None:
        """Syslog has no replay: nothing to resume."""
        return None

    def stop(self) -> None:
        """Close the server and connections; what was buffered is handed over."""
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._hand_over(self._assembler.flush())

    # -- the thread --------------------------------------------------------------------

    def _run(self, context: ssl.SSLContext | None) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                asyncio.start_server(
                    self._serve, self.spec.host, self.spec.port, ssl=context, limit=READ_BYTES
                )
            )
        except OSError as exc:
            self._error = exc
            self._started.set()
            loop.close()
            return
        sockname = server.sockets[0].getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        self._started.set()
        flusher = loop.create_task(self._idle_flush())
        try:
            loop.run_forever()
        finally:
            server.close()
            flusher.cancel()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _idle_flush(self) -> None:
        while True:
            await asyncio.sleep(RECORD_WAIT_S / 2)
            idle = time.monotonic() - self._last_input
            if idle >= RECORD_WAIT_S:
                cut = idle >= UNFINISHED_WAIT_S
                self._hand_over(self._assembler.flush(unfinished=cut))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_info = writer.get_extra_info("peername")
        peer = str(peer_info[0]) if peer_info else "unknown"
        if self._connections >= MAX_CONNECTIONS:
            logger.warning(
                "syslog: %d connections already, refusing peer=%s", MAX_CONNECTIONS, peer
            )
            writer.close()
            return
        self._connections += 1
        framer = Framer(self._max_frame)
        said: set[str] = set()
        try:
            while data := await reader.read(READ_BYTES):
                self._last_input = time.monotonic()
                received = datetime.now(UTC)
                records: list[Record] = []
                for frame in framer.feed(data):
                    message = parse_message(frame, now=received)
                    if message is None:
                        framer.errors.append("not a syslog message (no <PRI>)")
                        continue
                    records += self._assembler.feed(message, peer, received)
                for error in framer.errors:
                    if error not in said:  # once per connection and kind
                        said.add(error)
                        logger.warning("syslog peer=%s: malformed frame skipped: %s", peer, error)
                framer.errors.clear()
                self._hand_over(records)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            logger.info("syslog peer=%s: connection ended: %s", peer, exc)
        finally:
            self._connections -= 1
            writer.close()

    def _hand_over(self, records: list[Record]) -> None:
        if records:
            self._ready.put(records)
            self._wake()
