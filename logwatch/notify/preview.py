"""`watch --dry-run`: each message printed as it would read in Slack, nothing sent.

It plans like the Web API notifier (the root, its edits, the replies, which are broadcast)
with the configured routes, and prints the text rendering of each message's blocks.
Silenced changes are left out, as Slack would not get them; reminders are shown.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TextIO

from logwatch.notify import Delivered, Notification, Outcome, ThreadRef
from logwatch.notify.plan import Style, plan
from logwatch.notify.render import Route, choose_route
from logwatch.notify.textview import message_text

RULE = "\N{BOX DRAWINGS LIGHT HORIZONTAL}" * 3


class PreviewNotifier:
    """Prints what Slack would receive."""

    #: The on-call desk treats it as Slack: silenced changes skip it, reminders reach it.
    stands_in_for_remote = True

    def __init__(
        self,
        stream: TextIO,
        *,
        channel: str = "#alerts",
        routes: Sequence[Route] = (),
        mention: str = "",
        host: str | None = None,
        buttons: bool = False,
        broadcast_resolved: bool = True,
        name: str = "preview",
    ) -> None:
        self.name = name
        self._stream = stream
        self._channel = channel
        self._routes = tuple(routes)
        self._mention = mention
        self._broadcast = broadcast_resolved
        self._style = Style(host=host, buttons=buttons)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PreviewNotifier(channel={self._channel!r})"

    def send(self, n: Notification) -> Outcome:
        """Print the plan's messages; the root gets a made-up thread for what follows."""
        dest = choose_route(self._routes, n.incident, channel=self._channel,
                            mention=self._mention, broadcast=self._broadcast)  # fmt: skip
        todo = plan(n, dest, self._style, n.thread)
        parts = []
        for edit in todo.edits:
            parts.append(f"{RULE} {edit.thread.channel}: the first message, edited {RULE}")
            parts.append(message_text(edit.message))
        if todo.post is not None:
            post = todo.post
            if post.thread is None:
                where = "new message"
            else:
                where = "reply in its thread" + (" (also sent to the channel)" if post.broadcast
                                                 else "")  # fmt: skip
            parts.append(f"{RULE} {post.channel}: {where} {RULE}")
            parts.append(message_text(post.message))
        with self._lock:
            self._stream.write("\n".join(parts) + "\n\n")
            self._stream.flush()
        thread = n.thread or ThreadRef(channel=dest.channel, ts=f"dry-run:{n.incident.thread_key}")
        return Delivered(thread=thread)
