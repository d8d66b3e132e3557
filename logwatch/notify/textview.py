"""A Slack message as it reads in Slack, in plain text: for `watch --dry-run` and notes.

Dates show their fallback (UTC), mentions their id, escapes are undone, buttons read
`[Acknowledge]`; bold and code marks stay, as Slack's own plain-text export keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from logwatch.notify.render import Message

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)>")
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")


def mrkdwn_text(text: str) -> str:
    """Slack mrkdwn as a reader sees it."""
    text = _DATE.sub(r"\1", text)
    text = _USER.sub(r"@\1", text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _GROUP.sub(lambda m: f"@{m[2] or m[1]}", text)
    text = text.replace("\u200b", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_text(blocks: Iterable[Mapping[str, Any]]) -> str:
    """The blocks of a message, one paragraph each."""
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(mrkdwn_text(str(block["text"]["text"])).upper())
        elif kind == "section":
            if "text" in block:
                out.append(mrkdwn_text(str(block["text"]["text"])))
            fields = [mrkdwn_text(str(f["text"])).replace("\n", ": ", 1)
                      for f in block.get("fields", ())]  # fmt: skip
            if fields:
                out.append("\n".join(fields))
        elif kind == "context":
            out.append(" ".join(mrkdwn_text(str(e.get("text", ""))) for e in block["elements"]))
        elif kind == "actions":
            labels = [f"[{e['text']['text']}]" for e in block["elements"] if "text" in e]
            out.append(" ".join(labels))
    return "\n".join(out)


def message_text(message: Message | Mapping[str, Any]) -> str:
    """A whole message: its push text, then its blocks."""
    if isinstance(message, Message):
        text, blocks = message.text, list(message.blocks)
    else:
        text, blocks = str(message.get("text", "")), list(message.get("blocks") or [])
    body = blocks_text(blocks)
    return f"push: {mrkdwn_text(text)}\n{body}" if body else mrkdwn_text(text)
