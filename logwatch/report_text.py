"""Log text made safe to show: control and bidirectional characters made visible, HTML
escaped, Markdown code and table cells that log text cannot break out of.

Log lines are written by whoever can make the app log (a request path, a header): a
U+202E can reverse what an operator reads, an ESC can drive their terminal, a `|` or a run
of backticks can break a Markdown table or code block. Secrets are masked before this,
by the engine's Redactor; this only decides how the rest is shown.
"""

from __future__ import annotations

import html
import re

# C0 and C1 controls (tab kept), DEL, and the bidi embeddings, overrides, isolates and marks.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    return f"<U+{ord(m[0]):04X}>"


def neutralise(text: str, *, keep_newlines: bool = False) -> str:
    """The text with control and bidi characters written as `<U+202E>`; newlines too
    unless kept."""
    if not keep_newlines:
        text = text.replace("\r\n", "\n").replace("\n", "\u23ce ")
    return _UNSAFE.sub(_visible, text)


def esc(text: object, *, keep_newlines: bool = False) -> str:
    """Text for HTML (element content or a quoted attribute): neutralised, then escaped."""
    return html.escape(neutralise(str(text), keep_newlines=keep_newlines), quote=True)


def md_cell(text: object) -> str:
    """Text for a Markdown table cell: one line, `|` and backticks escaped."""
    value = neutralise(str(text))
    return re.sub(r"([|`\\*_<>\[\]])", r"\\\1", value)


def md_code(text: str) -> str:
    """Inline Markdown code that no backtick in the text can close early."""
    value = neutralise(text)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def md_block(lines: list[str]) -> list[str]:
    """A fenced Markdown code block that no line of the text can close early."""
    body = [neutralise(line) for line in lines]
    longest = max((len(run) for line in body for run in re.findall(r"`{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *body, fence]
