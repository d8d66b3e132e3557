"""What a log line can do to the reader of a report or a Slack message: reorder it with a
right-to-left override, drive the terminal with control characters, or close the code
span around a target with a backtick. None of it may reach the reader as such."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_standin import make_incident, make_notification

from logwatch.notify.compose import fallback_text, render_message, render_reply
from logwatch.notify.render import inline_code
from logwatch.report import md_code, render_markdown, render_table, visible

RLO = "\u202e"
HOSTILE = [
    pytest.param(f"10.0.0.5:{RLO}9736", id="right-to-left-override"),
    pytest.param("10.0.0.5:\u2066evil\u2069", id="bidi-isolate"),
    pytest.param("10.0.0.5:\u200f6379", id="right-to-left-mark"),
    pytest.param("\x1b[2J\x1b[31mredis:6379", id="terminal-escape"),
    pytest.param("redis:6379\rOK      ", id="carriage-return"),
    pytest.param("redis\x00:6379\x7f\x85", id="nul-del-c1"),
    pytest.param("redis\u2028:6379", id="line-separator"),
]
STATS = {"files": 1, "bytes": 10, "lines": 3, "seconds": 0.1}


def _hidden(text: str) -> list[str]:
    """The control, bidi and invisible characters in text (newlines and tabs aside)."""
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
    ]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _slack_texts(target: str, sample: str) -> list[str]:
    """Every string of every Slack message for an incident on target with sample."""
    texts = []
    for kind in ("opened", "updated", "resolved"):
        n = make_notification(kind, target=target, samples=(sample,), sources={sample: 1},
                              diagnosis=sample, signatures={sample: 1})  # fmt: skip
        for message in (render_message(n, host=sample), render_reply(n)):
            texts += [message.text, *_strings(list(message.blocks))]
        texts.append(fallback_text(n))
    return texts


@pytest.mark.parametrize("target", HOSTILE)
def test_bidi_and_control_characters_reach_slack_escaped(target: str) -> None:
    """Found by the adversarial pass: U+202E and other bidi/control characters reached Slack."""
    joined = "\n".join(_slack_texts(target, f"ConnectionError: Error 111 connecting to {target}."))
    assert not _hidden(joined), _hidden(joined)
    assert "\\" in joined  # shown as escapes (\\u202e, \\x1b, \\r), not dropped silently


@pytest.mark.parametrize("target", HOSTILE)
def test_bidi_and_control_characters_reach_the_table_report_escaped(target: str) -> None:
    incident = make_incident(target=target, samples=(f"Error 111 connecting to {target}.",),
                             sources={f"logs/{target}.log": 3})  # fmt: skip
    for text in (
        render_table([incident], STATS, tz=UTC),
        render_markdown([incident], STATS, tz=UTC),
    ):
        assert not _hidden(text), _hidden(text)


def test_backtick_in_a_target_cannot_break_out_of_slack_inline_code() -> None:
    """Found by the adversarial pass: a backtick in a target closed the inline code, so the
    rest of the target was read as mrkdwn."""
    target = "redis`*bold* _it_ ~x~`:6379"
    n = make_notification("opened", target=target)
    status = render_message(n).blocks[1]["text"]["text"]
    code = status[status.index("`") : status.rindex("`") + 1]
    assert code.count("`") == 2, status
    assert "*bold*" in code  # the mrkdwn stays inside the code span, shown as text


def test_backtick_in_a_target_stays_inside_markdown_code() -> None:
    incident = make_incident(target="a``b`:6379|x", samples=("```\nEOF",))
    text = render_markdown([incident], STATS, tz=UTC)
    assert "```` ```\\nEOF" not in text
    assert "| ```a``b`:6379\\|x``` |" in text  # a three-backtick fence around two; | escaped
    block = text[text.index("````\n") :]  # the samples' fence outgrows the run inside
    assert block.startswith("````\n```\\nEOF\n````")


@given(st.text(max_size=60))
def test_any_target_is_one_slack_code_span_without_hidden_characters(target: str) -> None:
    code = inline_code(target)
    assert code.startswith("`") and code.endswith("`") and code.count("`") == 2
    assert "\n" not in code and not _hidden(code)


@given(st.text(max_size=60))
def test_any_target_is_one_markdown_code_span(target: str) -> None:
    code = md_code(target)
    fence = code[: len(code) - len(code.lstrip("`"))]
    inner = code[len(fence) : len(code) - len(fence)]
    assert code.endswith(fence) and fence not in inner
    assert "\n" not in code and not _hidden(code)


def test_visible_keeps_ordinary_text_and_escapes_the_rest() -> None:
    assert visible("Error 111 connecting to 10.0.0.5:6379.\tüñí 日本 🚀\n") == (
        "Error 111 connecting to 10.0.0.5:6379.\tüñí 日本 🚀\n"
    )
    assert visible(f"a{RLO}b\x1bc") == "a\\u202eb\\x1bc"
    assert json.loads(json.dumps(visible(RLO))) == "\\u202e"
