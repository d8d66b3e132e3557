"""What Slack should receive for one notification: edits of the root, then at most one post.

Pure: the Web API notifier carries the plan out, `watch --dry-run` prints it. Edits come
first because they are idempotent (a Retry may repeat them), and the one non-idempotent
post last, so a Retry never leaves a duplicate reply behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from logwatch.notify import Notification, ThreadRef
from logwatch.notify.compose import outage_of, render_reply, render_root, root_changed
from logwatch.notify.render import Destination, Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """chat.postMessage: a root (thread None) or a reply, maybe broadcast to the channel."""

    channel: str
    message: Message
    thread: ThreadRef | None = None
    broadcast: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """chat.update of the root message."""

    thread: ThreadRef
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Style:
    """How this workspace's messages look: the host line, buttons, live root counts."""

    host: str | None = None
    buttons: bool = False  # an app token is configured: Acknowledge and Silence work
    edit_root_on_update: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Edits of the root, then the post (if any)."""

    edits: tuple[Edit, ...] = ()
    post: Post | None = None


def plan(n: Notification, dest: Destination, style: Style, thread: ThreadRef | None) -> Plan:
    """The requests one notification becomes, given the root of its thread (if posted)."""
    outage = outage_of(n)
    if thread is None:
        # A new outage, or a change whose root was never posted (it failed, it was silenced,
        # Slack was configured later): the full state as the root. Only news pages.
        paging = n.kind in ("opened", "reminder") or (n.kind == "updated" and n.before is None)
        mention = dest.mention if paging and outage.open else ""
        root = render_root(n, mention=mention, host=style.host, buttons=style.buttons)
        return Plan(post=Post(channel=dest.channel, message=root))
    news = style.edit_root_on_update or root_changed(n.before, n.incident)
    edit_root = n.kind in ("opened", "resolved") or (n.kind == "updated" and news)
    edits: tuple[Edit, ...] = ()
    if edit_root:
        root = render_root(n, host=style.host, buttons=style.buttons)
        edits = (Edit(thread=thread, message=root),)
    reopened = n.kind == "opened" and n.incident.reopened > 0 and n.incident.id == outage.root.id
    mention = dest.mention if reopened or n.kind == "reminder" else ""
    reply = render_reply(n, mention=mention)
    # The all-clear reaches the channel, not only those who follow the thread; so does a
    # reopen, which pages.
    broadcast = (n.kind == "resolved" and not outage.open and dest.broadcast) or reopened
    return Plan(
        edits=edits,
        post=Post(channel=thread.channel, message=reply, thread=thread, broadcast=broadcast),
    )
