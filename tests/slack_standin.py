"""A Slack Web API and incoming-webhook stand-in on 127.0.0.1 for tests.

Test modules import the fixtures by their function names (`slack_fixture`,
`no_leaked_threads_fixture`) and use them as `slack` and `no_leaked_threads`.

It speaks Slack's JSON (`{"ok": false, "error": ...}` with HTTP 200 for API errors, `ts`
and `channel` on success, 429 with Retry-After), records every request it receives and
can be told to fail: 429 or 500 for the next K requests, slow answers, or be down
(nothing listening, so connections are refused) and come back on the same port.

Socket Mode too: `apps.connections.open` (with the app-level token) answers a
`ws://127.0.0.1:PORT` URL where a WebSocket server (the `websockets` package) says hello,
sends the `block_actions` envelopes a test asks for (`press`) and records the client's
acknowledgements (`acked`).

    with SlackStandin() as slack:
        client = WebClient(token=slack.token, base_url=slack.api_url)
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from logwatch.model import Incident, Severity
from logwatch.notify import Notification

TOKEN = "xoxb-1111-2222-standinSECRETtoken"
APP_TOKEN = "xapp-1-A000-3333-standinAPPsecret"
CHANNELS = {"#alerts": "C123", "#ops-alerts": "C999", "#db": "C456"}
WEBHOOK_PATH = "/services/T000/B000/XXXXwebhookSECRET"


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]  # JSON or form fields; blocks/metadata decoded
    raw: bytes

    @property
    def api_method(self) -> str:
        """`chat.postMessage` for `/api/chat.postMessage`."""
        return self.path.removeprefix("/api/")


@dataclass
class _Fault:
    status: int
    retry_after: int | None = None
    delay_s: float = 0.0
    cut: bool = False  # close the connection without an answer


class _Server(ThreadingHTTPServer):
    # Request threads are joined by server_close(), so stop() leaves no thread behind.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True


@dataclass
class SlackStandin:
    """The stand-in: start() it, point clients at api_url / webhook_url, stop() it."""

    token: str = TOKEN
    channels: dict[str, str] = field(default_factory=lambda: dict(CHANNELS))
    webhook_path: str = WEBHOOK_PATH
    port: int = 0
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _requests: list[Recorded] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _server: _Server | None = None
    _thread: threading.Thread | None = None
    _seq: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _release: threading.Event = field(default_factory=threading.Event)
    app_token: str = APP_TOKEN
    not_member: set[str] = field(default_factory=set)  # channel ids the bot is not in
    archived: set[str] = field(default_factory=set)  # channel ids archived
    refuse: dict[str, str] = field(default_factory=dict)  # API method -> the error it answers
    bot_user: str = "logwatch"  # the user name auth.test answers
    _ws: Any = None
    _ws_thread: threading.Thread | None = None
    _sockets: list[Any] = field(default_factory=list)
    _acks: list[str] = field(default_factory=list)
    _sent: list[dict[str, Any]] = field(default_factory=list)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SlackStandin:
        """Listen (on an ephemeral port the first time, the same port after go_down)."""
        assert self._server is None, "already running"
        self._release.clear()
        server = _Server(("127.0.0.1", self.port), self._handler_class())
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-standin"
        )
        self._thread.start()
        self._start_ws()
        return self

    def _start_ws(self) -> None:
        from websockets.sync.server import serve

        self._ws = serve(self._ws_session, "127.0.0.1", 0)
        self._ws_thread = threading.Thread(target=self._ws.serve_forever, name="slack-standin-ws")
        self._ws_thread.start()

    def _ws_session(self, connection: Any) -> None:
        with self._changed:
            self._sockets.append(connection)
            self._changed.notify_all()
        connection.send(json.dumps({"type": "hello", "num_connections": 1,
                                    "connection_info": {"app_id": "A000"}}))  # fmt: skip
        try:
            for raw in connection:
                message = json.loads(raw)
                with self._changed:
                    if "envelope_id" in message:
                        self._acks.append(message["envelope_id"])
                    self._changed.notify_all()
        except Exception:  # the client went away: its session is over
            pass
        finally:
            with self._changed:
                self._sockets.remove(connection)

    @property
    def ws_url(self) -> str:
        """Where apps.connections.open sends Socket Mode clients."""
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}/link/?ticket=standin"

    def socket_clients(self) -> int:
        """How many Socket Mode clients are connected."""
        with self._changed:
            return len(self._sockets)

    def press(self, action_id: str, value: str, *, user: str = "U0ALICE") -> str:
        """Send a block_actions envelope (a button pressed) to every connected client;
        returns its envelope id."""
        with self._changed:
            self._seq += 1
            envelope = f"env-{self._seq}"
            sockets = list(self._sockets)
        payload = {"type": "block_actions", "user": {"id": user, "username": user.lower()},
                   "actions": [{"type": "button", "action_id": action_id, "value": value,
                                "block_id": "logwatch_oncall"}],
                   "container": {"type": "message"}, "team": {"id": "T000"}}  # fmt: skip
        body = {"envelope_id": envelope, "type": "interactive", "payload": payload,
                "accepts_response_payload": False}  # fmt: skip
        for connection in sockets:
            connection.send(json.dumps(body))
        with self._changed:
            self._sent.append(body)
        return envelope

    def acked(self, envelope: str) -> bool:
        """True once a client acknowledged the envelope."""
        with self._changed:
            return envelope in self._acks

    def wait_acked(self, envelope: str, timeout: float = 5.0) -> bool:
        """Wait (bounded) for the acknowledgement of an envelope."""
        with self._changed:
            return self._changed.wait_for(lambda: envelope in self._acks, timeout=timeout)

    def wait_socket(self, timeout: float = 15.0) -> bool:
        """Wait (bounded) for a Socket Mode client to connect."""
        with self._changed:
            return self._changed.wait_for(lambda: bool(self._sockets), timeout=timeout)

    def stop(self) -> None:
        """Stop listening and join every thread; idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._release.set()  # let slow answers finish now
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "slack stand-in thread did not stop"
        self._server = self._thread = None
        if self._ws is not None and self._ws_thread is not None:
            self._ws.shutdown()
            self._ws_thread.join(timeout=10)
            assert not self._ws_thread.is_alive(), "slack stand-in websocket did not stop"
            self._ws = self._ws_thread = None

    def go_down(self) -> None:
        """Stop listening: clients get connection refused until come_back()."""
        self.stop()

    def come_back(self) -> None:
        """Listen again on the same port."""
        self.start()

    def __enter__(self) -> SlackStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests point clients at ------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL for WebClient (`http://127.0.0.1:PORT/api/`)."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        """The one incoming-webhook URL that exists."""
        return f"http://127.0.0.1:{self.port}{self.webhook_path}"

    # -- scripted faults -----------------------------------------------------------------

    def fail_next(self, count: int, status: int, *, retry_after: int | None = None) -> None:
        """Answer the next `count` requests with `status` (429 carries Retry-After)."""
        with self._changed:
            self._faults.extend(_Fault(status, retry_after) for _ in range(count))

    def cut_next(self, count: int) -> None:
        """Read the next `count` requests and close their connections without an answer."""
        with self._changed:
            self._faults.extend(_Fault(0, cut=True) for _ in range(count))

    def delay_next(self, count: int, seconds: float) -> None:
        """Answer the next `count` requests normally but only after `seconds`."""
        with self._changed:
            self._faults.extend(_Fault(0, delay_s=seconds) for _ in range(count))

    # -- assertions ----------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Every request received so far, in order."""
        with self._changed:
            return list(self._requests)

    def calls(self, api_method: str) -> list[Recorded]:
        """The requests to one API method (`chat.postMessage`) or path."""
        return [r for r in self.requests if api_method in (r.api_method, r.path)]

    def wait_for(self, predicate: Callable[[list[Recorded]], bool], timeout: float = 5.0) -> bool:
        """Wait (bounded) until the recorded requests satisfy the predicate."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self._requests), timeout=timeout)

    def bodies(self) -> Iterator[str]:
        """The raw body of every request, decoded, for secret searches."""
        for r in self.requests:
            yield r.raw.decode("utf-8", "replace")

    # -- the HTTP side ---------------------------------------------------------------------

    def _record(self, recorded: Recorded) -> _Fault | None:
        with self._changed:
            self._requests.append(recorded)
            self._changed.notify_all()
            return self._faults.pop(0) if self._faults else None

    def _next_ts(self) -> str:
        with self._changed:
            self._seq += 1
            return f"1700000000.{100 * self._seq:06d}"

    def _api(self, method: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if method == "api.test":
            return {"ok": True}
        if method == "apps.connections.open":
            if headers.get("authorization") != f"Bearer {self.app_token}":
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.ws_url}
        if headers.get("authorization") != f"Bearer {self.token}":
            error = "not_authed" if "authorization" not in headers else "invalid_auth"
            return {"ok": False, "error": error}
        if method in self.refuse:
            return {"ok": False, "error": self.refuse[method]}
        if method == "auth.test":
            return {"ok": True, "team": "Standin", "user": self.bot_user, "team_id": "T000",
                    "user_id": "U000", "bot_id": "B000"}  # fmt: skip
        channel = str(body.get("channel", ""))
        channel_id = self.channels.get(
            channel, channel if channel in self.channels.values() else ""
        )
        if method == "chat.postMessage":
            if not channel_id:
                return {"ok": False, "error": "channel_not_found"}
            if not body.get("text") and not body.get("blocks"):
                return {"ok": False, "error": "no_text"}
            thread_ts = body.get("thread_ts")
            ts = self._next_ts()
            message = {"type": "message", "ts": ts, "text": body.get("text", ""),
                       "blocks": body.get("blocks", []), "user": "U000", "bot_id": "B000"}  # fmt: skip
            if thread_ts:
                message["thread_ts"] = thread_ts
            metadata = body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if metadata:
                message["metadata"] = metadata
            with self._changed:
                self.messages[(channel_id, ts)] = message
            return {"ok": True, "channel": channel_id, "ts": ts, "message": message}
        if method == "chat.update":
            if channel not in self.channels.values():  # chat.update takes ids only
                return {"ok": False, "error": "channel_not_found"}
            key = (channel, str(body.get("ts", "")))
            with self._changed:
                if key not in self.messages:
                    return {"ok": False, "error": "message_not_found"}
                self.messages[key].update(text=body.get("text", ""), blocks=body.get("blocks", []))
            return {"ok": True, "channel": channel, "ts": key[1], "text": body.get("text", "")}
        if method == "conversations.info":
            if not channel_id:
                return {"ok": False, "error": "channel_not_found"}
            name = next(n for n, cid in self.channels.items() if cid == channel_id)
            return {"ok": True, "channel": {"id": channel_id, "name": name.lstrip("#"),
                                            "is_member": channel_id not in self.not_member,
                                            "is_archived": channel_id in self.archived}}  # fmt: skip
        if method == "conversations.list":
            # Like Slack: public channels only unless asked (private ids start with G here),
            # archived ones unless excluded, 100 per page unless a limit is given.
            types = str(body.get("types") or "public_channel").split(",")
            exclude = str(body.get("exclude_archived", "")).lower() in ("1", "true")
            listed = [
                {"id": cid, "name": name.lstrip("#")}
                for name, cid in self.channels.items()
                if ("private_channel" if cid.startswith("G") else "public_channel") in types
                and not (exclude and cid in self.archived)
            ]
            return {"ok": True, "channels": listed[: int(body.get("limit") or 100)]}
        if method == "conversations.history":
            if channel not in self.channels.values():  # ids only, like Slack
                return {"ok": False, "error": "channel_not_found"}
            with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
            with self._changed:
                roots = [dict(m) for (cid, _), m in self.messages.items()
                         if cid == channel and "thread_ts" not in m]  # fmt: skip
            if not with_metadata:
                for message in roots:
                    message.pop("metadata", None)
            roots.sort(key=lambda m: m["ts"], reverse=True)
            return {"ok": True, "messages": roots[: int(body.get("limit", 100))]}
        return {"ok": False, "error": "unknown_method"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                path, _, query = self.path.partition("?")
                body = _parse(headers, raw)
                body.update({k: v[-1] for k, v in parse_qs(query).items()})  # GET parameters
                recorded = Recorded(self.command, path, headers, body, raw)
                fault = standin._record(recorded)
                if fault and fault.cut:
                    self.close_connection = True
                    return
                if fault and fault.delay_s:
                    standin._release.wait(fault.delay_s)
                elif fault:
                    self._fault(fault, api=path.startswith("/api/"))
                    return
                if path.startswith("/api/"):
                    answer = standin._api(recorded.api_method, headers, recorded.body)
                    status = 404 if answer.get("error") == "unknown_method" else 200
                    self._send(status, json.dumps(answer), "application/json; charset=utf-8")
                elif path == standin.webhook_path:
                    body = recorded.body
                    if not body.get("text") and not body.get("blocks"):
                        self._send(400, "no_text")
                    else:
                        self._send(200, "ok")
                else:
                    self._send(404, "no_service")

            def _fault(self, fault: _Fault, *, api: bool) -> None:
                if fault.status == 429:
                    text = (
                        json.dumps({"ok": False, "error": "ratelimited"}) if api else "rate_limited"
                    )
                    extra = {
                        "Retry-After": str(
                            fault.retry_after if fault.retry_after is not None else 1
                        )
                    }
                    self._send(429, text, "application/json" if api else "text/plain", extra)
                else:  # Slack's own 5xx pages are not JSON
                    self._send(fault.status, "<html>upstream connect error</html>", "text/html")

            def _send(self, status: int, text: str, ctype: str = "text/plain",
                      extra: dict[str, str] | None = None) -> None:  # fmt: skip
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _parse(headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    if not text:
        return {}
    if headers.get("content-type", "").startswith("application/json"):
        try:
            value = json.loads(text)
        except ValueError:
            return {"_unparsed": text}
        return value if isinstance(value, dict) else {"_json": value}
    body: dict[str, Any] = {k: v[-1] for k, v in parse_qs(text).items()}
    for key in ("blocks", "attachments", "metadata"):
        if isinstance(body.get(key), str):
            with contextlib.suppress(ValueError):  # keep what the client sent
                body[key] = json.loads(body[key])
    return body


# -- shared by the notify tests ------------------------------------------------------------

T0 = datetime(2026, 3, 1, 2, 54, 57, tzinfo=UTC)


def make_incident(**changes: Any) -> Incident:
    """A critical connection incident on 127.0.0.1:6379, with `changes` applied."""
    base = Incident(
        id="inc-3f2a9c01d4",
        category="connection",
        target="127.0.0.1:6379",
        severity=Severity.CRITICAL,
        status="open",
        first_seen=T0,
        last_seen=T0 + timedelta(seconds=90),
        events=2316,
        signatures={"connection-refused: Error <int> connecting to <host>.": 2316},
        sources={"logs/app.log": 2000, "logs/worker.log": 316},
        rules={"connection-refused": 2316},
        samples=("redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:6379.",),
        hint="Redis is not accepting connections.\n1. Confirm Redis is down: redis-cli -h <host> ping",
    )
    return replace(base, **changes)


def make_notification(kind: str = "opened", *, id: int = 1, **changes: Any) -> Notification:
    """A notification of `kind` for make_incident(); `thread=` goes to the notification."""
    thread = changes.pop("thread", None)
    incident = make_incident(**changes)
    if kind == "resolved" and "status" not in changes:
        incident = replace(incident, status="resolved", resolved_at=incident.last_seen)
    return Notification(kind=kind, incident=incident, at=incident.last_seen, id=id, thread=thread)  # type: ignore[arg-type]


@pytest.fixture(name="slack")
def slack_fixture() -> Iterator[SlackStandin]:
    """A running stand-in, stopped (threads joined) after the test whatever happens."""
    standin = SlackStandin().start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture(name="no_leaked_threads")
def no_leaked_threads_fixture() -> Iterator[None]:
    """Fails the test if it leaves a thread running."""
    before = set(threading.enumerate())
    yield
    leaked = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
