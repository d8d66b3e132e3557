"""Slack through slack-sdk: the Web API (threads, edits) and incoming webhooks (one post each).

slack-sdk retries in the client only what is quick: a connection reset, once, and a 429
whose Retry-After is short. Everything longer (a long Retry-After, 5xx, Slack down) comes
back as `Retry` so the outbox owns the wait and the delivery thread never sleeps for
minutes inside an HTTP call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from http.client import HTTPException
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse, WebClient

from logwatch.notify import (
    Delivered,
    Failed,
    Notification,
    Outcome,
    Retry,
    ThreadRef,
)
from logwatch.notify.plan import Style, plan
from logwatch.notify.render import Message, Route, choose_route, render_test
from logwatch.notify.sdk import (
    RETRY_HINT_S,
    mask,
    masked,
    retry_after,
    retry_handlers,
    sdk_logger,
    unreachable,
)
from logwatch.notify.webhook import WebhookNotifier
from logwatch.redact import redact

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"

# Slack errors that go away by themselves; everything else needs a person.
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
              "request_timeout"}  # fmt: skip
# A root message we can no longer edit: say it in the thread instead.
_ROOT_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
_EXPLAIN = {
    "invalid_auth": "the bot token is not valid (check SLACK_BOT_TOKEN or [slack] token_file)",
    "not_authed": "no bot token was sent",
    "account_inactive": "the token belongs to a deactivated app or user",
    "token_revoked": "the bot token was revoked",
    "token_expired": "the bot token expired",
    "no_permission": "the token may not post there",
    "missing_scope": "the Slack app lacks the chat:write scope",
    "channel_not_found": "no such channel, or the bot cannot see it",
    "not_in_channel": "the bot is not in the channel (invite it, or add chat:write.public)",
    "is_archived": "the channel is archived",
    "restricted_action": "the workspace does not allow the bot to post there",
    "msg_too_long": "the message is too long",
    "no_text": "the message has no text",
    "invalid_blocks": "Slack rejected the message blocks",
}


class SlackNotifier:
    """Slack Web API: one root message per incident, updates in its thread, edited on resolve."""

    def __init__(
        self,
        *,
        token: str,
        channel: str,
        routes: Sequence[Route] = (),
        mention: str = "",
        api_url: str | None = None,
        timeout_s: float = 10.0,
        host: str | None = None,
        rate_limit_wait_s: float = 2.0,
        edit_root_on_update: bool = False,
        buttons: bool = False,
        broadcast_resolved: bool = True,
        name: str = "slack",
    ) -> None:
        self.name = name
        self.channel = channel
        self.edit_root_on_update = edit_root_on_update
        self.broadcast_resolved = broadcast_resolved
        self.style = Style(host=host, buttons=buttons, edit_root_on_update=edit_root_on_update)
        self._channel_lookup_failed = ""
        self.routes = tuple(routes)
        self.mention = mention
        self.api_url = api_url or DEFAULT_API_URL
        self.host = host
        self._secrets = (token.strip(),)
        self._channel_ids: dict[str, str] = {}
        self._warned_lookup = False
        self.timeout_s = float(max(1, math.ceil(timeout_s)))  # the outbox waits past it
        self._client = WebClient(
            token=token.strip(),
            base_url=self.api_url,
            timeout=int(self.timeout_s),
            logger=sdk_logger(self._secrets),
            retry_handlers=retry_handlers(rate_limit_wait_s),
        )

    def __repr__(self) -> str:
        return f"SlackNotifier(channel={self.channel!r}, api_url={redact(self.api_url)!r})"

    def send(self, n: Notification) -> Outcome:
        """Post, reply in the thread or edit the root; errors come back as Retry or Failed."""
        dest = choose_route(
            self.routes, n.incident, channel=self.channel, mention=self.mention,
            broadcast=self.broadcast_resolved,
        )  # fmt: skip
        if n.kind == "test":
            posted = self._post(dest.channel, render_test(host=self.host), n)
            return posted if isinstance(posted, Retry | Failed) else Delivered()
        thread = n.thread
        if thread is None and n.uncertain:
            # An earlier attempt may have been accepted without its answer reaching us
            # (killed mid-request, a timeout): find that root rather than post a second.
            thread = self._find_posted_root(dest.channel, n)
            if thread is not None:
                logger.info("slack root already posted incident=%s ts=%s", n.incident.id, thread.ts)
                if n.kind == "opened":
                    return Delivered(thread=thread)
        todo = plan(n, dest, self.style, thread)
        for edit in todo.edits:
            edited = self._update(edit.thread, edit.message)
            if edited is not None:
                return edited
        if todo.post is None:
            return Delivered(thread=thread)
        post = todo.post
        posted = self._post(post.channel, post.message, n, thread=post.thread,
                            broadcast=post.broadcast)  # fmt: skip
        if isinstance(posted, Retry | Failed):
            return posted
        if thread is None:
            return Delivered(thread=ThreadRef(channel=posted[0], ts=posted[1]))
        return Delivered(thread=thread)

    def check(self) -> tuple[bool, str]:
        """At start: the token works, the channel exists and the bot is in it. One line."""
        auth = self._call("auth.test", self.channel, self._client.auth_test)
        if not isinstance(auth, SlackResponse):
            reason = auth.reason if auth is not None else "no answer"
            return False, f"slack: {reason}"
        who = f"bot {auth.get('user') or '?'} in workspace {auth.get('team') or '?'}"
        channel_id = self._channel_id(self.channel, quiet=True)
        if channel_id is None:
            if self._channel_lookup_failed:
                why = self._channel_lookup_failed
                return True, f"slack: ok as {who}; cannot check {self.channel}: {why}"
            return False, (
                f"slack: channel {self.channel} not found: {_EXPLAIN['channel_not_found']}"
                " (check LOGWATCH_SLACK_CHANNEL or [slack] channel)"
            )

        def info() -> SlackResponse:
            return self._client.conversations_info(channel=channel_id)

        found = self._call("conversations.info", self.channel, info)
        if not isinstance(found, SlackResponse):
            reason = found.reason if found is not None else "no answer"
            return False, f"slack: {reason}"
        data = found.get("channel") or {}
        if data.get("is_archived"):
            return False, f"slack: channel {self.channel} is archived"
        if not data.get("is_member", True):
            bot = auth.get("user") or "logwatch"
            return False, (
                f"slack: the bot is not in {self.channel} ({channel_id}): /invite @{bot}"
                " there (or add the chat:write.public scope)"
            )
        return True, f"slack: ok as {who}, posting to {self.channel} ({channel_id})"

    def _find_posted_root(self, channel: str, n: Notification) -> ThreadRef | None:
        """The root message an earlier attempt of this notification posted, if Slack has it.

        Looks for the outbox id in the messages' metadata (conversations.history; needs the
        channels:history scope). When the lookup is not possible, the root may be posted a
        second time: at least once, never lost.
        """
        channel_id = self._channel_id(channel)
        if channel_id is None:
            return None

        def call() -> SlackResponse:
            return self._client.conversations_history(
                channel=channel_id, limit=200, include_all_metadata=True
            )

        result = self._call("conversations.history", channel, call)
        if not isinstance(result, SlackResponse):
            self._cannot_check(result)
            return None
        for message in result.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("id") == n.id and payload.get("incident") == n.incident.id:
                return ThreadRef(channel=channel_id, ts=str(message.get("ts")))
        return None

    def _channel_id(self, channel: str, *, quiet: bool = False) -> str | None:
        """A channel id from a name (conversations.list, needs channels:read), cached."""
        name = channel.lstrip("#")
        if channel.startswith(("C", "G", "D")) and channel.isalnum():
            return channel
        if name in self._channel_ids:
            return self._channel_ids[name]

        def call() -> SlackResponse:
            return self._client.conversations_list(
                types="public_channel,private_channel", limit=1000, exclude_archived=True
            )

        result = self._call("conversations.list", channel, call)
        if not isinstance(result, SlackResponse):
            self._channel_lookup_failed = result.reason if result is not None else "no answer"
            if not quiet:
                self._cannot_check(result)
            return None
        for found in result.get("channels") or []:
            self._channel_ids[str(found.get("name"))] = str(found.get("id"))
        return self._channel_ids.get(name)

    def _cannot_check(self, why: Retry | Failed | None) -> None:
        if not self._warned_lookup:
            self._warned_lookup = True
            reason = why.reason if why is not None else "no answer"
            logger.warning(
                "cannot check whether an unanswered root reached Slack (%s); it may be posted"
                " twice. Add the channels:read and channels:history scopes to avoid that.",
                reason,
            )

    def _post(
        self,
        channel: str,
        message: Message,
        n: Notification,
        *,
        thread: ThreadRef | None = None,
        broadcast: bool = False,
    ) -> tuple[str, str] | Retry | Failed:
        def call() -> SlackResponse:
            return self._client.chat_postMessage(
                channel=channel,
                text=mask(message.text, self._secrets),
                blocks=masked(list(message.blocks), self._secrets),
                thread_ts=thread.ts if thread else None,
                reply_broadcast=True if broadcast else None,
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": "logwatch_incident",
                    "event_payload": {"incident": n.incident.id, "kind": n.kind, "id": n.id},
                },
            )

        result = self._call("chat.postMessage", channel, call)
        if result is None or isinstance(result, Retry | Failed):
            return result or Failed(reason=f"slack: chat.postMessage to {channel}: no answer")
        ts = result.get("ts")
        if not isinstance(ts, str):
            return Failed(reason=f"slack: chat.postMessage to {channel}: answer without a ts")
        answered = result.get("channel")
        return (answered if isinstance(answered, str) and answered else channel), ts

    def _update(self, thread: ThreadRef, message: Message) -> Retry | Failed | None:
        def call() -> SlackResponse:
            return self._client.chat_update(
                channel=thread.channel,
                ts=thread.ts,
                text=mask(message.text, self._secrets),
                blocks=masked(list(message.blocks), self._secrets),
            )

        result = self._call("chat.update", thread.channel, call, tolerate=_ROOT_GONE)
        return None if result is None or isinstance(result, SlackResponse) else result

    def _call(
        self,
        method: str,
        channel: str,
        call: Callable[[], SlackResponse],
        *,
        tolerate: frozenset[str] = frozenset(),
    ) -> SlackResponse | Retry | Failed | None:
        """The answer, or the error as a value; None for a tolerated (logged) error."""
        what = f"slack: {method} to {channel}"
        try:
            return call()
        except SlackApiError as exc:
            response = exc.response
            status = getattr(response, "status_code", 0)
            data = getattr(response, "data", None)
            error = str(data.get("error", "")) if isinstance(data, dict) else ""
            if status == 429 or error == "ratelimited":
                after = retry_after(getattr(response, "headers", None))
                return Retry(after_s=after, reason=f"{what}: rate limited for {after:g}s")
            if status >= 500 or error in _TRANSIENT:
                code = error if error.isidentifier() else ""  # not the SDK's dump of an HTML page
                return Retry(after_s=RETRY_HINT_S, reason=f"{what}: HTTP {status} {code}".rstrip())
            explain = _EXPLAIN.get(error, f"HTTP {status}")
            if error in tolerate:
                logger.warning("slack root not editable, replying only: %s: %s", what, error)
                return None
            return Failed(reason=mask(f"{what}: {error or 'error'} ({explain})", self._secrets))
        except (URLError, OSError, HTTPException) as exc:
            return unreachable(what, exc)
        except SlackClientError as exc:
            return Failed(reason=mask(f"{what}: {type(exc).__name__}: {exc}", self._secrets))


# Re-exported: the webhook notifier lived here first.

__all__ = ["SlackNotifier", "WebhookNotifier"]
