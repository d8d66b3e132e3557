"""The buttons of the root messages, heard through Slack's Socket Mode.

Socket Mode needs no public URL on an app server: the agent opens a WebSocket to Slack
(`apps.connections.open` with the app-level token, scope `connections:write`) and Slack
sends each button press down it. Every envelope is acknowledged at once (Slack wants it
within 3 s); the press goes on a queue the agent's loop reads (oncall_desk.py), which
records it in the state store and edits the root to show who pressed what.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient

from logwatch.logs import NOTICE
from logwatch.notify.compose import (
    ACTION_ACK,
    ACTION_SILENCE_1H,
    ACTION_SILENCE_RESOLVED,
    ACTION_UNSILENCE,
)
from logwatch.notify.sdk import sdk_logger
from logwatch.notify.slack import DEFAULT_API_URL
from logwatch.oncall import ButtonPress

logger = logging.getLogger(__name__)

ACTIONS = frozenset({ACTION_ACK, ACTION_SILENCE_1H, ACTION_SILENCE_RESOLVED, ACTION_UNSILENCE})


class SlackButtons:
    """A Socket Mode connection that turns button presses into ButtonPress values."""

    def __init__(
        self,
        *,
        app_token: str,
        api_url: str | None = None,
        clock: Callable[[], datetime],
        ping_interval_s: float = 10.0,
    ) -> None:
        self._token = app_token.strip()
        self._api_url = api_url or DEFAULT_API_URL
        self._clock = clock
        self._ping_interval_s = ping_interval_s
        self._client: SocketModeClient | None = None
        self._on_press: Callable[[ButtonPress], None] | None = None
        self._connecting: threading.Thread | None = None

    def __repr__(self) -> str:
        return "SlackButtons()"

    def start(self, on_press: Callable[[ButtonPress], None]) -> None:
        """Connect in the background (a slow or absent Slack must not hold up the agent)."""
        self._on_press = on_press
        self._connecting = threading.Thread(
            target=self._connect, name="logwatch-slack-buttons", daemon=True
        )
        self._connecting.start()

    def _connect(self) -> None:
        sdk = sdk_logger((self._token,))
        web = WebClient(base_url=self._api_url, timeout=10, logger=sdk)
        client = SocketModeClient(
            app_token=self._token,
            web_client=web,
            logger=sdk,
            ping_interval=self._ping_interval_s,
            concurrency=1,
        )
        client.socket_mode_request_listeners.append(self._on_request)
        self._client = client
        try:
            client.connect()
        except Exception as exc:  # the agent goes on without buttons; the SDK retries
            what = getattr(getattr(exc, "response", None), "data", None)
            error = what.get("error") if isinstance(what, dict) else type(exc).__name__
            logger.warning(
                "slack buttons: cannot open Socket Mode (%s): check SLACK_APP_TOKEN"
                " (connections:write) and that Socket Mode is on; buttons will not work",
                error,
            )
            return
        logger.log(NOTICE, "slack buttons: connected through Socket Mode")

    def stop(self) -> None:
        """Close the connection and the SDK's threads."""
        if self._connecting is not None:
            self._connecting.join(timeout=15)
        if self._client is not None:
            self._client.close()

    def _on_request(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        # Acknowledge first: Slack retries an envelope it has no answer for within 3 s.
        client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
        if req.type != "interactive" or req.payload.get("type") != "block_actions":
            return
        for press in presses(req.payload, self._clock()):
            logger.info("button %s pressed by %s incident=%s", press.action, press.user,
                        press.incident)  # fmt: skip
            if self._on_press is not None:
                self._on_press(press)


def presses(payload: dict[str, object], at: datetime) -> list[ButtonPress]:
    """The logwatch buttons of a `block_actions` payload; anything else is ignored."""
    user = payload.get("user")
    user_id = str(user.get("id", "")) if isinstance(user, dict) else ""
    actions = payload.get("actions")
    found = []
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict) or action.get("action_id") not in ACTIONS:
            continue
        value = action.get("value")
        if isinstance(value, str) and value.startswith("inc-") and len(value) <= 40 and user_id:
            found.append(
                ButtonPress(action=str(action["action_id"]), incident=value, user=user_id, at=at)
            )
    return found
