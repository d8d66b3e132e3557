"""Slack incoming webhooks: one post per change, no threads or edits (the URL fixes the
channel). The URL is the secret: it never appears in a message, a log line or an error."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterable, Sequence
from http.client import HTTPException
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk.webhook import WebhookClient

from logwatch.notify import KINDS, Delivered, Failed, Notification, NotificationKind, Outcome, Retry
from logwatch.notify.compose import render_message
from logwatch.notify.render import Route, choose_route
from logwatch.notify.sdk import (
    RETRY_HINT_S,
    mask,
    masked,
    retry_after,
    retry_handlers,
    sdk_logger,
    unreachable,
)
from logwatch.redact import MASK

# Incoming webhooks answer in plain text: https://api.slack.com/messaging/webhooks#handling_errors
_WEBHOOK_EXPLAIN = {
    "no_service": "the webhook was removed or its URL is wrong",
    "invalid_token": "the webhook URL is not valid",
    "no_active_hooks": "the webhook is disabled",
    "action_prohibited": "an admin restricted posting to that channel",
    "channel_not_found": "the webhook's channel was deleted",
    "channel_is_archived": "the webhook's channel is archived",
    "posting_to_general_channel_denied": "only admins may post to that channel",
    "invalid_payload": "Slack rejected the message",
    "no_text": "the message has no text",
}


class WebhookNotifier:
    """Slack incoming webhook: one post per change, no threads (the URL fixes the channel)."""

    def __init__(
        self,
        *,
        url: str,
        routes: Sequence[Route] = (),
        mention: str = "",
        events: Iterable[NotificationKind] = KINDS,
        timeout_s: float = 10.0,
        host: str | None = None,
        rate_limit_wait_s: float = 2.0,
        name: str = "webhook",
    ) -> None:
        self.name = name
        self.routes = tuple(routes)
        self.mention = mention
        self.events = frozenset(events) | {"test"}
        self.host = host
        self._secrets = (url.strip(),)
        self.timeout_s = float(max(1, math.ceil(timeout_s)))
        self._client = WebhookClient(
            url=url.strip(),
            timeout=int(self.timeout_s),
            logger=sdk_logger(self._secrets),
            retry_handlers=retry_handlers(rate_limit_wait_s),
        )

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={MASK!r})"

    def check(self) -> tuple[bool, str]:
        """At start: the URL's host resolves (the URL itself is the secret: never shown)."""
        host = urlsplit(self._secrets[0]).hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except OSError as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            return False, f"webhook: the URL's host {host!r} does not resolve: {why}"
        return True, f"webhook: ok, {host} resolves"

    def send(self, n: Notification) -> Outcome:
        """Post the incident's current state; errors come back as Retry or Failed."""
        if n.kind not in self.events:
            return Delivered()
        dest = choose_route(self.routes, n.incident, channel="", mention=self.mention)
        mention = dest.mention if n.kind == "opened" else ""
        message = render_message(n, mention=mention, host=self.host)
        what = "slack webhook"
        try:
            response = self._client.send(
                text=mask(message.text, self._secrets),
                blocks=masked(list(message.blocks), self._secrets),
                unfurl_links=False,
                unfurl_media=False,
            )
        except (URLError, OSError, HTTPException) as exc:
            return unreachable(what, exc)
        status = response.status_code
        body = mask((response.body or "").strip(), self._secrets)[:80]
        if 200 <= status < 300:
            return Delivered()
        if status == 429:
            after = retry_after(response.headers)
            return Retry(after_s=after, reason=f"{what}: rate limited for {after:g}s")
        if status >= 500:
            return Retry(after_s=RETRY_HINT_S, reason=f"{what}: HTTP {status} {body}".rstrip())
        explain = _WEBHOOK_EXPLAIN.get(body, "Slack refused the post")
        return Failed(reason=f"{what}: HTTP {status} {body or 'error'} ({explain})")
