"""render: incident changes -> Slack blocks and text; pure, escaped, within Slack's limits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
from slack_standin import make_incident, make_notification

from logwatch.model import Severity
from logwatch.notify.compose import render_message, render_reply
from logwatch.notify.render import (
    BLOCKS_MAX,
    FIELD_MAX,
    HEADER_MAX,
    SECTION_MAX,
    TEXT_MAX,
    Route,
    choose_route,
    clip,
    code_block,
    escape,
)
from logwatch.redact import Redactor

OUR_DATES = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time_secs\}\|[\d :-]+UTC>")


def strings(blocks: Any) -> list[str]:
    """Every text string inside blocks."""
    if isinstance(blocks, str):
        return [blocks]
    if isinstance(blocks, dict):
        return [s for v in blocks.values() for s in strings(v)]
    if isinstance(blocks, list | tuple):
        return [s for v in blocks for s in strings(v)]
    return []


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("<!channel> Redis is down", id="channel"),
        pytest.param("<!here|here> ping", id="here"),
        pytest.param("hi <@U123> and <#C999>", id="user"),
        pytest.param("see <http://evil.example|click> now", id="link"),
        pytest.param("<!subteam^S123> & <!date^1^{date}|x>", id="subteam-date"),
    ],
)
def test_log_text_cannot_form_slack_markup(line: str) -> None:
    n = make_notification("opened", samples=(line, line), target=line, category=line)
    message = render_message(n, host=line)
    reply = render_reply(make_notification("opened", samples=(line,), reopened=1))

    for text in [message.text, reply.text, *strings(message.blocks), *strings(reply.blocks)]:
        # The only markup allowed is ours: Slack's date formatting.
        stripped = OUR_DATES.sub("", text)
        assert "<" not in stripped and ">" not in stripped, text


def test_escape_and_clip_keep_entities_whole() -> None:
    assert escape("a & <b>") == "a &amp; &lt;b&gt;"
    clipped = clip(escape("x" * 8 + "<<<<"), 12)
    assert clipped.endswith("\N{HORIZONTAL ELLIPSIS}") and len(clipped) <= 12
    assert not clipped[:-1].endswith(("&", "&l", "&lt"))


def test_a_sample_cannot_close_its_code_block() -> None:
    block = code_block("before ``` after ```` end")
    assert block.startswith("```") and block.endswith("```")
    assert block.count("```") == 2
    assert code_block("plain") == "```plain```"
    assert code_block("`edge`").count("```") == 2


def test_everything_stays_within_slack_limits() -> None:
    huge = "E" * 50_000
    n = make_notification(
        "opened",
        samples=(huge, huge, huge),
        hint=huge,
        target="t" * 500,
        sources={f"/var/log/app-{i}.log": i for i in range(5000)},
        rules={f"rule-{i}": i for i in range(500)},
        linked=tuple(f"inc-{i}" for i in range(500)),
    )
    message = render_message(n, mention="<!here>", host="h" * 5000)

    assert len(message.text) <= TEXT_MAX and len(message.blocks) <= BLOCKS_MAX
    assert len(message.blocks[0]["text"]["text"]) <= HEADER_MAX
    for block in message.blocks:
        if "text" in block and block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_MAX
        for item in block.get("fields", []) + block.get("elements", []):
            assert len(item["text"]) <= FIELD_MAX
    assert len(json.dumps(list(message.blocks))) < 16_000  # comfortably postable


def test_opened_puts_severity_category_and_target_first() -> None:
    message = render_message(make_notification("opened"), mention="<!here>", host="app-1")
    header = message.blocks[0]["text"]["text"]
    assert header.startswith("\N{LARGE RED CIRCLE} CRITICAL")
    assert "connection" in header and "127.0.0.1:6379" in header
    assert message.text == (
        "<!here> \N{LARGE RED CIRCLE} CRITICAL: Redis connection errors on 127.0.0.1:6379"
        " (2 files on app-1)."
    )
    body = "\n".join(strings(message.blocks))
    for expected in ("2,316 errors", "1,544.0/min", "logs/app.log (2,000)", "app-1", "*What to do*",
                     "redis-cli -h &lt;host&gt; ping", "```redis.exceptions.ConnectionError"):  # fmt: skip
        assert expected in body
    assert "<!date^1772333697^" in body  # first seen, in each reader's own time zone


def test_resolved_shows_duration_and_total_and_pages_nobody() -> None:
    message = render_message(make_notification("resolved"), mention="<!here>")
    assert message.text.startswith("\N{WHITE HEAVY CHECK MARK} RESOLVED: Redis connection")
    assert "after 1m 30s active" in message.text and "<!here>" not in json.dumps(message.blocks)
    body = json.dumps(message.blocks, ensure_ascii=False)
    assert "2,316 errors in total" in body
    assert "```" not in body  # samples are for open incidents
    assert "What to do" not in body and "redis-cli" not in body  # no runbook in the all-clear


def test_reopened_says_so() -> None:
    n = make_notification("opened", reopened=2)
    assert "REOPENED" in render_message(n).text
    reply = render_reply(n, mention="<!here>")
    assert (
        reply.text.startswith("<!here> ") and "*Reopened* (2x)" in reply.blocks[0]["text"]["text"]
    )


def test_update_reply_is_short() -> None:
    reply = render_reply(make_notification("updated", events=10_000))
    assert len(reply.blocks) == 1 and "10,000 errors so far" in reply.text


def test_render_keeps_redacted_samples_redacted() -> None:
    line = Redactor()("ConnectionError: redis://:hunter2@cache:6379 token=xoxb-12345678-abcdef")
    body = json.dumps(list(render_message(make_notification("opened", samples=(line,))).blocks))
    assert "hunter2" not in body and "xoxb-12345678" not in body and "***" in body


def test_routes_first_match_wins_with_defaults() -> None:
    routes = [
        Route(severities=frozenset({Severity.CRITICAL}), channel="#ops-alerts", mention="<!here>"),
        Route(categories=frozenset({"oom", "misconf"}), channel="#db"),
        Route(categories=frozenset({"auth"}), mention="<@U42>"),
    ]

    def route(**changes: Any) -> tuple[str, str]:
        d = choose_route(routes, make_incident(**changes), channel="#alerts", mention="")
        return d.channel, d.mention

    assert route() == ("#ops-alerts", "<!here>")
    assert route(severity=Severity.ERROR, category="oom") == ("#db", "")
    assert route(severity=Severity.ERROR, category="auth") == ("#alerts", "<@U42>")
    assert route(severity=Severity.WARNING) == ("#alerts", "")


def test_render_is_pure() -> None:
    code = (
        "import sys, logwatch.notify.render\n"
        "bad = {'slack_sdk', 'sqlite3', 'watchdog'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
