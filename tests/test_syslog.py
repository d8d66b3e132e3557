"""The syslog receiver: framing, RFC 5424/3164 messages, and a real agent receiving a
real redis-py outage from Python's SysLogHandler, `logger --tcp` and a TLS client."""

from __future__ import annotations

import json
import logging
import logging.handlers
import socket
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.cli import main
from logwatch.sources.syslog import Framer, parse_message
from tests.container_rig import STAMP
from tests.watch_rig import WatchedAgent

REPO = Path(__file__).resolve().parent.parent
OUTAGE = REPO / "examples" / "outages" / "connection"
APP = (OUTAGE / "app.log").read_text().splitlines()
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frame", "host", "app", "time", "text"),
    [
        pytest.param(
            b'<11>1 2026-03-01T12:00:00.5Z web-1 morningai 42 - [meta k="a\\"]b"] \xef\xbb\xbfboom',
            "web-1",
            "morningai",
            datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC),
            "boom",
            id="rfc5424-structured-data-bom",
        ),
        pytest.param(
            b"<14>1 - - - - - - hello",
            "",
            "",
            None,
            "hello",
            id="rfc5424-nil-fields",
        ),
        pytest.param(
            b"<13>Mar  1 11:59:59 web-1 rq-worker[77]: job failed",
            "web-1",
            "rq-worker",
            datetime(2026, 3, 1, 11, 59, 59, tzinfo=UTC),
            "job failed",
            id="rfc3164",
        ),
        pytest.param(
            b"<13>Dec 31 23:59:59 web-1 app: last year",
            "web-1",
            "app",
            datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
            "last year",
            id="rfc3164-new-year",
        ),
        pytest.param(
            b"<11>morningai: Traceback (most recent call last):\n  File x",
            "",
            "morningai",
            None,
            "Traceback (most recent call last):\n  File x",
            id="syslog-handler",
        ),
    ],
)
def test_messages_parse(
    frame: bytes, host: str, app: str, time: datetime | None, text: str
) -> None:
    message = parse_message(frame, now=NOW)
    assert message is not None
    assert (message.host, message.app, message.time, message.text) == (host, app, time, text)


@pytest.mark.parametrize(
    "frame", [b"hello", b"<999>1 x", b'<11>1 2026-03-01T12:00:00Z h a - - [unclosed k="v"']
)
def test_malformed_messages_are_refused(frame: bytes) -> None:
    assert parse_message(frame, now=NOW) is None


MESSAGES = st.lists(
    st.text(
        st.characters(blacklist_characters="\0\n<", min_codepoint=32, blacklist_categories=("Cs",)),
        max_size=80,
    ).map(lambda t: f"<14>1 - h app - - - {t}"),
    min_size=1,
    max_size=20,
)


@given(messages=MESSAGES, framing=st.sampled_from(["octet", "newline", "nul"]), data=st.data())
@settings(max_examples=150, deadline=None)
def test_frames_survive_any_split(messages: list[str], framing: str, data: st.DataObject) -> None:
    """However TCP cuts the stream, the frames are the messages sent."""
    encoded = [m.encode() for m in messages]
    if framing == "octet":
        stream = b"".join(b"%d %s" % (len(m), m) for m in encoded)
    else:
        end = b"\n" if framing == "newline" else b"\0"
        stream = b"".join(m + end for m in encoded)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    framer = Framer(4096)
    frames: list[bytes] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        frames += framer.feed(stream[a:b])
    assert frames == encoded and framer.errors == []


def test_an_oversized_frame_is_dropped_and_the_next_kept() -> None:
    framer = Framer(100)
    big = b"<14>1 - h app - - - " + b"x" * 1000
    frames: list[bytes] = []
    stream = b"%d %s" % (len(big), big) + b"5 <14>a" + big + b"\n<14>ok\n"
    for i in range(0, len(stream), 37):
        frames += framer.feed(stream[i : i + 37])
        assert len(framer._buffer) <= 100 + 37  # bounded, whatever comes
    assert frames == [b"<14>a", b"<14>ok"]
    assert any("over the 100 bound" in e for e in framer.errors)


# -- a real agent, real senders ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def app_records() -> list[str]:
    """The outage's log records (a traceback is one record), as logger.exception sends."""
    records: list[str] = []
    for line in APP:
        if STAMP.match(line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


def plain_events() -> int:
    result = CliRunner().invoke(main, ["scan", "--format", "json", str(OUTAGE / "app.log")], env={})
    (incident,) = json.loads(result.stdout)["incidents"]
    events: int = incident["events"]
    return events


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tls")
    key, crt = root / "key.pem", root / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return crt, key


@pytest.mark.slow
def test_agent_receives_an_outage_over_tcp_and_tls(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    crt, key = cert
    tcp, tls = free_port(), free_port()
    agent = WatchedAgent(tmp_path, '[incidents]\nquiet_period = "10m"\n')
    agent.start(
        "--syslog", f"tcp://127.0.0.1:{tcp}", "--syslog", f"tls://127.0.0.1:{tls}",
        "--syslog-cert", str(crt), "--syslog-key", str(key),
    )  # fmt: skip
    try:
        # 1. The app logs through SysLogHandler over TCP (NUL-framed, no timestamp: the
        # receive time), one message per record, a traceback inside its message.
        handler = logging.handlers.SysLogHandler(("127.0.0.1", tcp), socktype=socket.SOCK_STREAM)
        handler.ident = "morningai: "
        sent = datetime.now(UTC)
        for text in app_records():
            handler.emit(logging.LogRecord("morningai", logging.ERROR, "", 0, text, None, None))
        handler.close()
        # 2. A garbage frame, then util-linux logger over plain TCP (newline framing).
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            s.sendall(b"this is not syslog\n")
        subprocess.run(
            ["logger", "--server", "127.0.0.1", "--port", str(tcp), "--tcp", "--rfc5424",
             "-t", "ops", "deploy finished"],
            check=True, timeout=30,
        )  # fmt: skip
        # 3. A TLS client sends RQ's lines octet-counted in RFC 5424 with their own times.
        worker_time = datetime.now(UTC) - timedelta(seconds=30)
        context = ssl.create_default_context(cafile=str(crt))
        raw = socket.create_connection(("127.0.0.1", tls))
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            for n in range(3):
                stamp = (worker_time + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
                body = (
                    f"<11>1 {stamp} worker-1 rq-worker 7 - - Worker w{n}: could not connect"
                    " to Redis instance: Error 111 connecting to 127.0.0.1:59355."
                    " Connection refused. retrying in 2 seconds..."
                ).encode()
                s.sendall(b"%d %s" % (len(body), body))
            # A clean TLS close (close_notify both ways): a client that closes with the
            # server's session tickets unread sends a reset, and its kernel and ours drop
            # what the server had not read yet.
            s.unwrap()

        def counted() -> bool:
            changes = agent.changes()
            return bool(changes) and _events(agent) == plain_events() + 3

        agent.wait_until(counted, timeout=30, what="every error counted")
        log = agent.log()
        assert log.count("malformed frame skipped") == 1 and "not a syslog message" in log
    finally:
        assert agent.proc is not None
        agent.proc.terminate()
        agent.proc.wait(timeout=30)
    (incident,) = _incidents(agent)
    assert incident["sources"] == {
        "syslog/127.0.0.1/morningai": plain_events(),
        "syslog/worker-1/rq-worker": 3,
    }
    first = datetime.fromisoformat(incident["first_seen"])
    assert abs(first - worker_time) < timedelta(milliseconds=1)  # the sender's own time
    assert datetime.fromisoformat(incident["last_seen"]) >= sent  # received, not earlier


def _incidents(agent: WatchedAgent) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        main, ["incidents", "--state", str(agent.state), "--format", "json"], env={}
    )
    found = json.loads(result.stdout)
    out: list[dict[str, object]] = found["incidents"] if isinstance(found, dict) else found
    return out


def _events(agent: WatchedAgent) -> int:
    return sum(int(str(i["events"])) for i in _incidents(agent))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(["--syslog", "udp://127.0.0.1:514"], "is not tcp://", id="scheme"),
        pytest.param(["--syslog", "tls://127.0.0.1:6514"], "needs --syslog-cert", id="no-cert"),
        pytest.param(
            ["--syslog", "tls://127.0.0.1:6514", "--syslog-cert", "/nonexistent.pem"],
            "cannot load",
            id="bad-cert",
        ),
        pytest.param(["--syslog-cert", "c.pem"], "no --syslog tls://", id="cert-alone"),
    ],
)
def test_bad_syslog_options_are_one_line_errors(args: list[str], says: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["watch", *args, "--state", str(tmp_path / "s.db")], env={})
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["logwatch", "watch", "--syslog", f"tcp://127.0.0.1:{port}",
             "--state", str(tmp_path / "s.db")],
            capture_output=True, text=True, timeout=60, env={"PATH": str(Path(sys.executable).parent)},
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_a_sender_naming_a_new_app_per_message_cannot_grow_the_receiver_without_bound() -> None:
    """A sender names its own host and app: one per message must not make one assembler
    each for ever. Past MAX_SENDERS the oldest is flushed: nothing is lost."""
    from logwatch.sources import syslog_server
    from logwatch.sources.syslog import SyslogMessage

    assembler = syslog_server.SyslogAssembler(tz=UTC, max_lines=200, max_bytes=65536)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    count = syslog_server.MAX_SENDERS * 2 + 5
    records = []
    for n in range(count):
        message = SyslogMessage(host="h", app=f"app{n}", time=now, text=f"line {n}")
        records += assembler.feed(message, "10.0.0.1", now)
        assert len(assembler._senders) <= syslog_server.MAX_SENDERS
    records += assembler.flush()
    assert sorted(r.text for r in records) == sorted(f"line {n}" for n in range(count))


def test_a_pause_inside_a_traceback_does_not_cut_it_in_two() -> None:
    """A sender logging a traceback one message per line pauses after the frames, longer
    than the record wait: the exception line still joins its traceback (one event)."""
    lines = [
        "2026-11-26 14:50:00,000 ERROR [app] Exception on /feed [GET]",
        "Traceback (most recent call last):",
        '  File "/app/redis/connection.py", line 369, in connect',
    ]
    raised = "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379."
    head = b"".join(f"<11>1 - web-1 app - - - {t}\n".encode() for t in lines)
    records = _received([head, f"<11>1 - web-1 app - - - {raised}\n".encode()], raised, 1.2)
    assert [r.text for r in records] == ["\n".join([*lines, raised])]


def _received(frames: list[bytes], last: str, pause_s: float = 0.0) -> list[Any]:
    """The records a real receiver on a loopback port makes of frames sent on one
    connection (`pause_s` after each but the last), once one holds `last` (10 s at most)."""
    from logwatch.sources.syslog_server import SyslogReceiver, SyslogSpec

    receiver = SyslogReceiver(
        SyslogSpec(host="127.0.0.1", port=0), tz=UTC, max_lines=200, max_bytes=65536
    )
    receiver.start([])
    records: list[Any] = []
    try:
        assert receiver.address is not None
        with socket.create_connection(receiver.address[:2], timeout=5) as sock:
            for frame in frames[:-1]:
                sock.sendall(frame)
                time.sleep(pause_s)  # the pause under test, not a wait for something
                records += [r for b in receiver.take() for r in b.records]
            sock.sendall(frames[-1])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(last in r.text for r in records):
                time.sleep(0.1)
                records += [r for b in receiver.take() for r in b.records]
    finally:
        receiver.stop()
    return records + [r for b in receiver.take() for r in b.records]


@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-14:00"]
)
def test_a_stamp_past_datetimes_range_in_utc_is_no_time(stamp: str) -> None:
    """It raised OverflowError converting to UTC: the message keeps its text, and takes
    the time it arrived, as a message without a stamp does."""
    message = parse_message(f"<11>1 {stamp} web-1 app - - - x".encode(), now=NOW)
    assert message is not None and (message.time, message.text) == (None, "x")


def test_a_frame_out_of_datetimes_range_does_not_cut_the_connection() -> None:
    """A sender's stamp that overflowed killed its connection with a traceback in the
    agent's log, and every message sent on it after that was lost."""
    raised = "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379."
    frames = [
        b"<11>1 0001-01-01T00:00:00+14:00 web-1 app - - - year one\n",
        f"<11>1 - web-1 app - - - {raised}\n".encode(),
    ]
    assert [r.text for r in _received(frames, raised)] == ["year one", raised]
