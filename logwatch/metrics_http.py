"""`/metrics` and `/healthz` over HTTP, on their own thread, for Prometheus and probes.

The exposition is prometheus-client's own WSGI app (content negotiation, OpenMetrics,
gzip); `/healthz` answers 200 while the agent's loop turns and its state store takes
writes, 503 with the reason otherwise. Served by the standard library's WSGI server with
a thread per request, so a slow scrape never holds up a health check. Off unless asked
for; a bare port listens on loopback only.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from logwatch.health import Verdict

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: a scrape every 15 s would fill the agent's log."""


class MetricsServer:
    """Serves a registry at /metrics and the agent's health at /healthz."""

    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, verdict: Callable[[], Verdict]
    ) -> None:
        self._metrics = make_wsgi_app(registry)
        self._verdict = verdict
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = make_server(
                host, port, self._app, server_class=server_class, handler_class=_Quiet
            )
        except OSError as exc:
            from logwatch.errors import ConfigError

            raise ConfigError(
                f"metrics: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="logwatch-metrics",
            daemon=True,
        )

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) it listens on (the port chosen by the OS for port 0)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Serve on a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            verdict = self._verdict()
            status = "503 Service Unavailable" if verdict.level == "down" else "200 OK"
            body = (verdict.line() + "\n").encode()
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        if path == "/metrics":
            result: Iterable[bytes] = self._metrics(environ, start_response)
            return result
        if path == "/":
            body = b"logwatch agent: /metrics (Prometheus), /healthz\n"
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: /metrics or /healthz\n"]
