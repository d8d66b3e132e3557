"""SlackNotifier and WebhookNotifier: slack-sdk's real clients against the local stand-in."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_standin import (  # noqa: F401 (fixtures)
    SlackStandin,
    make_incident,
    make_notification,
    no_leaked_threads_fixture,
    slack_fixture,
)

from logwatch.model import Change, Severity
from logwatch.notify import Delivered, Failed, Retry, ThreadRef
from logwatch.notify.render import Route
from logwatch.notify.slack import SlackNotifier, WebhookNotifier
from logwatch.outbox import Outbox
from logwatch.redact import Redactor
from logwatch.store import StateStore

pytestmark = pytest.mark.usefixtures("no_leaked_threads")


def notifier(standin: SlackStandin, **kwargs: object) -> SlackNotifier:
    options: dict[str, object] = {"token": standin.token, "channel": "#alerts", "timeout_s": 2}
    options.update(kwargs)
    return SlackNotifier(api_url=standin.api_url, **options)  # type: ignore[arg-type]


def texts(body: dict[str, object]) -> str:
    """Everything a reader could see in a request body, as one string."""
    return json.dumps([body.get("text"), body.get("blocks")], ensure_ascii=False)


def test_opened_posts_one_root_message_with_blocks_and_text(slack: SlackStandin) -> None:
    outcome = notifier(slack).send(make_notification("opened", id=7))

    assert outcome == Delivered(thread=ThreadRef(channel="C123", ts="1700000000.000100"))
    [post] = slack.requests
    assert post.api_method == "chat.postMessage"
    assert post.headers["authorization"] == f"Bearer {slack.token}"
    body = post.body
    assert body["channel"] == "#alerts" and "thread_ts" not in body
    assert "CRITICAL" in body["text"] and "127.0.0.1:6379" in body["text"]
    assert body["blocks"][0]["type"] == "header"
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["metadata"]["event_payload"] == {"incident": "inc-3f2a9c01d4", "kind": "opened",
                                                 "id": 7}  # fmt: skip


def test_updated_replies_in_the_thread(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack)
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered) and root.thread is not None

    outcome = slack_notifier.send(
        make_notification("updated", id=2, events=9000, thread=root.thread)
    )

    assert outcome == Delivered(thread=root.thread)
    [reply] = slack.requests[1:]  # no edit of the root per update: no edit storm
    assert reply.api_method == "chat.postMessage"
    assert reply.body["thread_ts"] == root.thread.ts and reply.body["channel"] == "C123"
    assert "reply_broadcast" not in reply.body
    assert "9,000 errors so far" in reply.body["text"]


def test_updated_can_keep_the_root_counts_live(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack, edit_root_on_update=True)
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered) and root.thread is not None

    slack_notifier.send(make_notification("updated", id=2, events=9000, thread=root.thread))

    update, reply = slack.requests[1:]
    assert update.api_method == "chat.update" and reply.api_method == "chat.postMessage"
    assert (update.body["channel"], update.body["ts"]) == ("C123", root.thread.ts)
    assert "9,000" in texts(update.body)


def test_resolved_edits_the_root_and_says_so_in_the_thread(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack, mention="<!here>")
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered)

    outcome = slack_notifier.send(make_notification("resolved", id=3, thread=root.thread))

    assert outcome == Delivered(thread=root.thread)
    assert [r.api_method for r in slack.requests] == ["chat.postMessage", "chat.update",
                                                      "chat.postMessage"]  # fmt: skip
    edited = slack.messages[("C123", root.thread.ts)]  # type: ignore[union-attr]
    assert edited["text"].startswith("\N{WHITE HEAVY CHECK MARK} RESOLVED")
    assert "after 1m 30s" in edited["text"] and "<!here>" not in texts(edited)
    reply = slack.requests[2].body
    assert reply["thread_ts"] == root.thread.ts  # type: ignore[union-attr]
    assert (
        "*Resolved*: Redis connection errors on 127.0.0.1:6379 after 1m 30s active,"
        " 2,316 errors in total; recovery not confirmed by a probe." in texts(reply)
    )
    assert reply["reply_broadcast"] is True  # the all-clear reaches the channel


def test_reopened_posts_in_the_same_thread_and_the_channel(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack, mention="<!here>")
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered)

    outcome = slack_notifier.send(make_notification("opened", id=4, reopened=1, thread=root.thread))

    assert outcome == Delivered(thread=root.thread)
    update, reply = slack.requests[1:]
    assert update.api_method == "chat.update"
    assert reply.body["thread_ts"] == root.thread.ts  # type: ignore[union-attr]
    assert reply.body["reply_broadcast"] is True
    assert reply.body["text"].startswith("<!here> ") and "REOPENED" in reply.body["text"]


def test_a_change_without_a_root_posts_a_new_root(slack: SlackStandin) -> None:
    outcome = notifier(slack).send(make_notification("resolved"))

    assert isinstance(outcome, Delivered) and outcome.thread is not None
    [post] = slack.requests
    assert "thread_ts" not in post.body and "RESOLVED" in post.body["text"]


def test_a_root_that_cannot_be_edited_still_gets_the_reply(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    slack_notifier = notifier(slack)
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered) and root.thread is not None
    del slack.messages[(root.thread.channel, root.thread.ts)]  # deleted by someone in Slack

    with caplog.at_level(logging.WARNING):
        outcome = slack_notifier.send(make_notification("resolved", thread=root.thread))

    assert outcome == Delivered(thread=root.thread)
    assert [r.api_method for r in slack.requests[1:]] == ["chat.update", "chat.postMessage"]
    assert "message_not_found" in caplog.text


def test_the_reply_waits_for_a_retryable_root_edit(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack)
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered)
    slack.fail_next(1, 503)

    outcome = slack_notifier.send(make_notification("resolved", thread=root.thread))

    assert isinstance(outcome, Retry)
    assert [r.api_method for r in slack.requests] == ["chat.postMessage", "chat.update"]


def test_429_with_a_long_retry_after_goes_back_to_the_outbox(slack: SlackStandin) -> None:
    slack.fail_next(1, 429, retry_after=30)
    started = time.monotonic()

    outcome = notifier(slack).send(make_notification("opened"))

    assert outcome == Retry(
        after_s=30.0, reason="slack: chat.postMessage to #alerts: rate limited for 30s"
    )
    assert len(slack.requests) == 1 and time.monotonic() - started < 5


def test_429_with_a_short_retry_after_is_retried_in_the_client(slack: SlackStandin) -> None:
    slack.fail_next(1, 429, retry_after=0)

    outcome = notifier(slack, rate_limit_wait_s=2.0).send(make_notification("opened"))

    assert isinstance(outcome, Delivered) and outcome.thread is not None
    assert [r.api_method for r in slack.requests] == ["chat.postMessage"] * 2


def test_5xx_is_retry_without_the_html_page(slack: SlackStandin) -> None:
    slack.fail_next(1, 500)

    outcome = notifier(slack).send(make_notification("opened"))

    assert isinstance(outcome, Retry) and outcome.after_s > 0
    assert outcome.reason == "slack: chat.postMessage to #alerts: HTTP 500"
    assert len(slack.requests) == 1  # 5xx is the outbox's job, not the client's


def test_down_is_retry_and_the_message_arrives_once_after(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack)
    slack.go_down()

    outcome = slack_notifier.send(make_notification("opened"))
    assert isinstance(outcome, Retry) and "unreachable" in outcome.reason
    assert "Connection refused" in outcome.reason

    slack.come_back()
    assert isinstance(slack_notifier.send(make_notification("opened")), Delivered)
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_timeout_is_retry(slack: SlackStandin) -> None:
    slack.delay_next(2, 5.0)  # the connection-error handler may try once more
    outcome = notifier(slack, timeout_s=1).send(make_notification("opened"))
    assert isinstance(outcome, Retry) and "timed out" in outcome.reason


@pytest.mark.parametrize(
    ("token", "channel", "error"),
    [
        pytest.param("xoxb-9999-wrong-SECRETTOKEN", "#alerts", "invalid_auth", id="invalid_auth"),
        pytest.param(None, "#nowhere", "channel_not_found", id="channel_not_found"),
    ],
)
def test_permanent_errors_fail_with_a_clear_reason_and_no_token(
    slack: SlackStandin, token: str | None, channel: str, error: str
) -> None:
    used = token or slack.token
    outcome = notifier(slack, token=used, channel=channel).send(make_notification("opened"))

    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith(f"slack: chat.postMessage to {channel}: {error} (")
    assert used not in outcome.reason and "\n" not in outcome.reason


def test_a_failed_root_edit_is_failed_and_posts_no_reply(slack: SlackStandin) -> None:
    thread = ThreadRef(channel="C123", ts="1700000000.000100")
    bad = notifier(slack, token="xoxb-revoked-SECRET")
    outcome = bad.send(make_notification("resolved", thread=thread))
    assert isinstance(outcome, Failed) and "chat.update to C123: invalid_auth" in outcome.reason
    assert [r.api_method for r in slack.requests] == ["chat.update"]


def test_log_line_markup_is_escaped_in_the_request(slack: SlackStandin) -> None:
    evil = "ERROR <!channel> <!here> <@U123> <https://evil.example|click here> & co"
    notifier(slack).send(make_notification("opened", samples=(evil,), target="<!here>:6379"))

    raw = next(slack.bodies())
    for markup in ("<!channel>", "<!here>", "<@U123>", "<https://evil"):
        assert markup not in raw
    assert "&lt;!channel&gt;" in raw and "&lt;https://evil.example|click here&gt;" in raw


def test_seeded_secrets_never_reach_slack(slack: SlackStandin) -> None:
    lines = [
        "redis.exceptions.AuthenticationError: url=redis://:hunter2SECRET@10.0.0.5:6379/0",
        "config password=s3cr3tSECRET api_key=AKIAIOSFODNN7EXAMPLE",
        f"leaked {slack.token}",
    ]
    redactor = Redactor()  # the caller redacts; the notifier must not undo it
    slack_notifier = notifier(slack)
    root = slack_notifier.send(make_notification("opened", samples=tuple(map(redactor, lines))))
    assert isinstance(root, Delivered)
    slack_notifier.send(make_notification("updated", thread=root.thread))
    slack_notifier.send(make_notification("resolved", thread=root.thread))

    bodies = list(slack.bodies())
    assert len(bodies) == 4  # post, reply, edit, reply
    for secret in ("hunter2SECRET", "s3cr3tSECRET", "AKIAIOSFODNN7EXAMPLE", slack.token):
        assert not any(secret in body for body in bodies), secret
    assert "redis://:***@10.0.0.5" in bodies[0]


def test_a_token_the_redactor_missed_is_masked_by_the_notifier() -> None:
    token = "corp-proxy-token-0123456789"  # not xox-shaped, so no pattern knows it
    with SlackStandin(token=token) as standin:
        outcome = notifier(standin).send(make_notification("opened", samples=(f"auth {token}",)))
        assert isinstance(outcome, Delivered)
        assert token not in next(standin.bodies())


@pytest.mark.parametrize(
    ("severity", "category", "channel", "mention"),
    [
        pytest.param(Severity.CRITICAL, "connection", "C999", "<!here>", id="critical-ops"),
        pytest.param(Severity.ERROR, "oom", "C456", "<!subteam^S0DB>", id="oom-db"),
        pytest.param(Severity.WARNING, "connection", "C123", "", id="default"),
    ],
)
def test_routes_pick_channel_and_mention(
    slack: SlackStandin, severity: Severity, category: str, channel: str, mention: str
) -> None:
    routes = [
        Route(severities=frozenset({Severity.CRITICAL}), channel="#ops-alerts", mention="<!here>"),
        Route(categories=frozenset({"oom"}), channel="#db", mention="<!subteam^S0DB>"),
    ]
    outcome = notifier(slack, routes=routes).send(
        make_notification("opened", severity=severity, category=category)
    )

    assert isinstance(outcome, Delivered) and outcome.thread is not None
    assert outcome.thread.channel == channel
    text = slack.requests[0].body["text"]
    assert text.startswith(f"{mention} ") if mention else not text.startswith("<")


def test_test_message_goes_to_the_default_channel(slack: SlackStandin) -> None:
    from logwatch.notify import make_test_notification

    outcome = notifier(slack, host="app-1").send(make_test_notification(make_incident().first_seen))
    assert outcome == Delivered()
    [post] = slack.requests
    assert post.body["channel"] == "#alerts" and "test message" in post.body["text"]


def test_token_is_absent_from_repr_and_logs(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    slack_notifier = notifier(slack)
    webhook = WebhookNotifier(url=slack.webhook_url)
    assert slack.token not in repr(slack_notifier) and "SECRET" not in repr(webhook)
    with caplog.at_level(logging.DEBUG):
        slack.fail_next(2, 500)
        slack_notifier.send(make_notification("opened"))
        webhook.send(make_notification("opened"))
        slack.go_down()
        slack_notifier.send(make_notification("opened"))
        webhook.send(make_notification("opened"))
    assert slack.token not in caplog.text and slack.webhook_path not in caplog.text


# -- incoming webhook -----------------------------------------------------------------


def test_webhook_posts_one_message_per_change(slack: SlackStandin) -> None:
    webhook = WebhookNotifier(url=slack.webhook_url, mention="<!here>", timeout_s=2)

    for kind in ("opened", "updated", "resolved"):
        assert webhook.send(make_notification(kind)) == Delivered()

    posts = slack.calls(slack.webhook_path)
    assert len(posts) == 3
    assert posts[0].body["text"].startswith("<!here> ") and posts[0].body["blocks"]
    assert not posts[1].body["text"].startswith("<!here>")
    assert "RESOLVED" in posts[2].body["text"]


def test_webhook_events_filter(slack: SlackStandin) -> None:
    webhook = WebhookNotifier(url=slack.webhook_url, events=("opened", "resolved"))
    assert webhook.send(make_notification("updated")) == Delivered()
    assert slack.requests == []


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        pytest.param((1, 500, None), Retry, id="500"),
        pytest.param((1, 429, 30), Retry, id="429"),
    ],
)
def test_webhook_transient_errors_are_retry(
    slack: SlackStandin, fault: tuple[int, int, int | None], expected: type
) -> None:
    count, status, after = fault
    slack.fail_next(count, status, retry_after=after)
    outcome = WebhookNotifier(url=slack.webhook_url).send(make_notification("opened"))
    assert isinstance(outcome, expected)
    if after:
        assert outcome == Retry(after_s=30.0, reason="slack webhook: rate limited for 30s")


def test_webhook_unknown_url_is_failed_without_the_url(slack: SlackStandin) -> None:
    url = slack.webhook_url.replace("XXXX", "YYYY")
    outcome = WebhookNotifier(url=url).send(make_notification("opened"))
    assert outcome == Failed(
        reason="slack webhook: HTTP 404 no_service (the webhook was removed or its URL is wrong)"
    )


def test_webhook_down_is_retry(slack: SlackStandin) -> None:
    webhook = WebhookNotifier(url=slack.webhook_url)
    slack.go_down()
    outcome = webhook.send(make_notification("opened"))
    assert isinstance(outcome, Retry) and "unreachable" in outcome.reason
    assert slack.webhook_path not in outcome.reason


def test_the_stand_in_refuses_connections_while_down_and_keeps_its_port() -> None:
    standin = SlackStandin().start()
    try:
        port = standin.port
        standin.go_down()
        standin.come_back()
        assert standin.port == port
    finally:
        standin.stop()


def test_a_timeout_is_an_uncertain_retry(slack: SlackStandin) -> None:
    """Sent, no answer: the outbox must treat it as possibly delivered, never a plain retry."""
    slack.delay_next(2, 5.0)
    outcome = notifier(slack, timeout_s=1).send(make_notification("opened"))
    assert isinstance(outcome, Retry) and outcome.uncertain, outcome


def test_slack_answering_after_the_client_timeout_gets_exactly_one_root(
    slack: SlackStandin, tmp_path: Path
) -> None:
    """Slack takes the root and answers after the client gave up (4 s against 1 s).

    The retry must wait until that request has surely settled (the timeout plus the
    outbox's in-flight time, 4 s here) and then find the root by its metadata id: asking
    at +2 s found nothing and posted a second root.
    """
    slack.delay_next(1, 4.0)
    store = StateStore(tmp_path / "state.db")
    incident, now = make_incident(), datetime.now(UTC)  # a fresh change: not too old to send
    [row] = store.commit_batch(
        cursors=[], changes=[Change(kind="opened", at=now, incident=incident)],
        incidents=[incident], grouper_state=None, notifiers=["slack"], now=now,
    )  # fmt: skip
    outbox = Outbox(store, [notifier(slack, timeout_s=1)], clock=lambda: datetime.now(UTC),
                    redact=Redactor(), in_flight_s=4.0)  # fmt: skip
    far = datetime(2100, 1, 1, tzinfo=UTC)
    try:
        deadline = time.monotonic() + 30
        while store.pending("slack", now=far):  # bounded: each pass tries what is due
            assert time.monotonic() < deadline, slack.requests
            outbox.deliver_due()
            time.sleep(0.05)
    finally:
        store.close()

    roots = [m for m in slack.messages.values() if "thread_ts" not in m]
    assert len(roots) == 1, [r.api_method for r in slack.requests]
    assert roots[0]["metadata"]["event_payload"]["id"] == row
    methods = [r.api_method for r in slack.requests]
    assert methods.count("chat.postMessage") == 1 and "conversations.history" in methods


# -- the start-up check, the lookup of an unanswered root, errors as values ------------------


def test_check_says_who_posts_where(slack: SlackStandin) -> None:
    assert notifier(slack).check() == (
        True, "slack: ok as bot logwatch in workspace Standin, posting to #alerts (C123)"
    )  # fmt: skip
    # A channel given by its id needs no lookup.
    assert notifier(slack, channel="C456").check() == (
        True, "slack: ok as bot logwatch in workspace Standin, posting to C456 (C456)"
    )  # fmt: skip
    assert "conversations.list" not in [r.api_method for r in slack.requests[-2:]]


@pytest.mark.parametrize(
    ("setup", "channel", "expected"),
    [
        pytest.param(
            {"token": "xoxb-9999-wrong-SECRETTOKEN"},
            "#alerts",
            "slack: slack: auth.test to #alerts: invalid_auth (the bot token is not valid"
            " (check SLACK_BOT_TOKEN or [slack] token_file))",
            id="bad-token",
        ),
        pytest.param(
            {},
            "#nowhere",
            "slack: channel #nowhere not found: no such channel, or the bot cannot see it"
            " (check LOGWATCH_SLACK_CHANNEL or [slack] channel)",
            id="no-channel",
        ),
        pytest.param(
            {"not_member": "C123"},
            "#alerts",
            "slack: the bot is not in #alerts (C123): /invite @logwatch there (or add the"
            " chat:write.public scope)",
            id="not-member",
        ),
        pytest.param(
            {"archived": "C123"}, "C123", "slack: channel C123 is archived", id="archived"
        ),
        pytest.param(
            {"archived": "C123"},
            "#alerts",
            "slack: channel #alerts not found: no such channel, or the bot cannot see it"
            " (check LOGWATCH_SLACK_CHANNEL or [slack] channel)",
            id="archived-by-name",
        ),
        pytest.param(
            {"refuse": "conversations.info"},
            "#alerts",
            "slack: slack: conversations.info to #alerts: no_permission (the token may not"
            " post there)",
            id="info-refused",
        ),
    ],
)
def test_check_fails_with_one_line_saying_why(
    slack: SlackStandin, setup: dict[str, str], channel: str, expected: str
) -> None:
    if "not_member" in setup:
        slack.not_member.add(setup["not_member"])
    if "archived" in setup:
        slack.archived.add(setup["archived"])
    if "refuse" in setup:
        slack.refuse[setup["refuse"]] = "no_permission"
    token = setup.get("token", slack.token)
    ok, line = notifier(slack, token=token, channel=channel).check()
    assert (ok, line) == (False, expected)
    assert "SECRETTOKEN" not in line


def test_check_passes_when_only_the_channel_lookup_is_not_allowed(slack: SlackStandin) -> None:
    """Without channels:read the channel cannot be checked, but posting may still work."""
    slack.refuse["conversations.list"] = "missing_scope"
    assert notifier(slack).check() == (
        True,
        "slack: ok as bot logwatch in workspace Standin; cannot check #alerts: slack:"
        " conversations.list to #alerts: missing_scope (the Slack app lacks the chat:write"
        " scope)",
    )


def test_an_uncertain_root_that_landed_is_not_posted_again(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    """The first attempt's answer was lost: the retry finds the root by its outbox id."""
    from dataclasses import replace

    slack_notifier = notifier(slack)
    slack_notifier.send(make_notification("opened", id=7))  # an earlier root of another row
    first = slack_notifier.send(make_notification("opened", id=8))
    assert isinstance(first, Delivered) and first.thread is not None
    with caplog.at_level(logging.INFO, logger="logwatch.notify.slack"):
        again = slack_notifier.send(replace(make_notification("opened", id=8), uncertain=True))
    assert again == first
    assert [r.getMessage() for r in caplog.records] == [
        f"slack root already posted incident=inc-3f2a9c01d4 ts={first.thread.ts}"
    ]
    methods = [r.api_method for r in slack.requests]
    assert methods.count("chat.postMessage") == 2  # the two roots, no third
    [history] = slack.calls("conversations.history")
    assert history.body["channel"] == "C123"

    # An update whose root landed unanswered replies in that thread, no new root.
    before = len(slack.calls("chat.postMessage"))
    update = replace(make_notification("updated", id=8), uncertain=True)
    assert slack_notifier.send(update) == first
    posts = slack.calls("chat.postMessage")
    assert len(posts) == before + 1 and posts[-1].body["thread_ts"] == first.thread.ts  # type: ignore[union-attr]
    # The channel's id was looked up once.
    assert len(slack.calls("conversations.list")) == 1


def test_an_uncertain_root_that_did_not_land_is_posted(slack: SlackStandin) -> None:
    from dataclasses import replace

    slack_notifier = notifier(slack)
    slack_notifier.send(make_notification("opened", id=7))
    outcome = slack_notifier.send(replace(make_notification("opened", id=9), uncertain=True))
    assert isinstance(outcome, Delivered) and outcome.thread is not None
    roots = [r for r in slack.calls("chat.postMessage") if "thread_ts" not in r.body]
    assert len(roots) == 2 and roots[1].body["metadata"]["event_payload"]["id"] == 9


def test_an_uncertain_root_is_posted_when_it_cannot_be_looked_up_and_that_is_said_once(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    """At least once, never lost: without channels:history the root may be posted twice."""
    from dataclasses import replace

    slack.refuse["conversations.history"] = "missing_scope"
    slack_notifier = notifier(slack)
    with caplog.at_level(logging.WARNING, logger="logwatch.notify.slack"):
        for row in (1, 2):
            n = replace(make_notification("opened", id=row), uncertain=True)
            assert isinstance(slack_notifier.send(n), Delivered)
    assert len(slack.calls("chat.postMessage")) == 2
    warned = [r.getMessage() for r in caplog.records if "cannot check" in r.getMessage()]
    assert len(warned) == 1 and "missing_scope" in warned[0]


def test_an_uncertain_root_whose_channel_is_unknown_is_posted_and_fails_there(
    slack: SlackStandin,
) -> None:
    from dataclasses import replace

    n = replace(make_notification("opened"), uncertain=True)
    outcome = notifier(slack, channel="#nowhere").send(n)
    assert isinstance(outcome, Failed) and "channel_not_found" in outcome.reason


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": ["12"]}, 12.0),
        ({"RETRY-AFTER": " 3 "}, 3.0),
        ({"Retry-After": "soon"}, 30.0),
        ({"Retry-After": "-1"}, 30.0),
        ({"Retry-After": "inf"}, 30.0),
        ({"Retry-After": []}, 30.0),
        ({"Content-Type": "text/plain"}, 30.0),
        (None, 30.0),
    ],
)
def test_retry_after_reads_seconds_or_falls_back(
    headers: dict[str, object] | None, seconds: float
) -> None:
    from logwatch.notify.sdk import retry_after

    assert retry_after(headers) == seconds


def test_unreachable_is_uncertain_unless_the_connection_was_refused() -> None:
    """Refused: nothing was sent, a plain retry. Timed out or cut: it may have landed."""
    from urllib.error import URLError

    from logwatch.notify.sdk import unreachable as _unreachable

    refused = _unreachable("slack: x", URLError(ConnectionRefusedError(111, "refused")))
    assert not refused.uncertain and refused.after_s == 1.0
    assert refused.reason.startswith("slack: x: Slack unreachable: ")
    # Told by its type or by its text alone (a proxy's message).
    assert not _unreachable("slack: x", ConnectionRefusedError(111, "denied")).uncertain
    assert not _unreachable("slack: x", URLError(OSError("Connection refused"))).uncertain
    timed_out = _unreachable("slack: x", URLError(TimeoutError()))
    assert timed_out == Retry(after_s=1.0, reason="slack: x: Slack timed out", uncertain=True)
    by_text = _unreachable("slack: x", OSError("read timed out"))
    assert by_text == Retry(after_s=1.0, reason="slack: x: Slack timed out", uncertain=True)
    reset = _unreachable("slack: x", ConnectionResetError(104, "reset by peer"))
    assert reset == Retry(
        after_s=1.0, reason="slack: x: Slack unreachable: [Errno 104] reset by peer", uncertain=True
    )
    blank = _unreachable("slack: x", OSError())
    assert blank.reason == "slack: x: Slack unreachable: OSError"


def test_a_cut_connection_is_retried_once_in_the_client(slack: SlackStandin) -> None:
    """A post whose connection is cut may have landed: one quick retry in the client, then
    the outbox's uncertain retry (which checks before posting again), never a third post."""
    slack.cut_next(1)
    assert isinstance(notifier(slack).send(make_notification("opened")), Delivered)
    assert len(slack.calls("chat.postMessage")) == 2
    slack.cut_next(2)
    outcome = notifier(slack).send(make_notification("opened", id=2))
    assert isinstance(outcome, Retry) and outcome.uncertain, outcome
    assert len(slack.calls("chat.postMessage")) == 4


def test_what_slack_sdk_logs_reaches_logwatchs_log_masked(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    """slack-sdk's client logger is quiet but for CRITICAL; what it does log goes to
    logwatch's log (not Python's last-resort stderr), named as logwatch's, token masked."""
    from logwatch.notify.sdk import sdk_logger

    sdk = sdk_logger([slack.token])
    assert not sdk.isEnabledFor(logging.ERROR)
    with caplog.at_level(logging.DEBUG, logger="logwatch.notify.slack"):
        sdk.critical("request with %s failed", slack.token)
    [record] = [r for r in caplog.records if "failed" in r.getMessage()]
    assert record.getMessage() == "request with *** failed"
    assert record.name.startswith("logwatch.notify") and slack.token not in caplog.text


def test_the_sdk_log_filter_masks_the_token() -> None:
    from logwatch.notify.sdk import MaskSecrets as _MaskSecrets

    record = logging.LogRecord(
        "sdk", logging.ERROR, __file__, 1, "sent %s to %s", ("xoxb-SECRET-1", "C1"), None
    )
    assert _MaskSecrets(["xoxb-SECRET-1", ""]).filter(record)
    assert record.getMessage() == "sent *** to C1"
    plain = logging.LogRecord("sdk", logging.ERROR, __file__, 1, "sent %s", ("ok",), None)
    assert _MaskSecrets(["xoxb-SECRET-1"]).filter(plain) and plain.args == ("ok",)


def test_check_names_the_bot_to_invite_and_finds_channels_by_any_name(
    slack: SlackStandin,
) -> None:
    slack.bot_user = "lw-bot"
    slack.not_member.add("C123")
    assert (
        notifier(slack)
        .check()[1]
        .endswith("/invite @lw-bot there (or add the chat:write.public scope)")
    )
    # A name without "#", a private channel, and private or DM ids.
    slack.channels.update({"#priv": "G777", "#dm": "D888"})
    assert notifier(slack, channel="ops-alerts").check()[1].endswith("posting to ops-alerts (C999)")
    assert notifier(slack, channel="#priv").check()[1].endswith("posting to #priv (G777)")
    before = len(slack.calls("conversations.list"))
    for channel_id in ("G777", "D888"):
        assert (
            notifier(slack, channel=channel_id)
            .check()[1]
            .endswith(f"posting to {channel_id} ({channel_id})")
        )
    assert len(slack.calls("conversations.list")) == before  # ids need no lookup


def test_check_finds_a_channel_past_the_first_hundred(slack: SlackStandin) -> None:
    slack.channels.update({f"#team-{n:03d}": f"C9{n:03d}" for n in range(150)})
    assert notifier(slack, channel="#team-140").check()[1].endswith("(C9140)")


def test_check_does_not_warn_about_unanswered_roots(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    slack.refuse["conversations.list"] = "missing_scope"
    with caplog.at_level(logging.WARNING, logger="logwatch.notify.slack"):
        assert notifier(slack).check()[0]
    assert "unanswered" not in caplog.text


def test_a_root_that_cannot_be_looked_up_says_why_once(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace

    for refused, method in (
        ("conversations.list", "#alerts"),
        ("conversations.history", "#alerts"),
    ):
        slack.refuse = {refused: "missing_scope"}
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="logwatch.notify.slack"):
            slack_notifier = notifier(slack)
            for row in (1, 2):
                slack_notifier.send(replace(make_notification("opened", id=row), uncertain=True))
        [warning] = [r.getMessage() for r in caplog.records]
        assert warning == (
            f"cannot check whether an unanswered root reached Slack (slack: {refused} to"
            f" {method}: missing_scope (the Slack app lacks the chat:write scope)); it may be"
            " posted twice. Add the channels:read and channels:history scopes to avoid that."
        )


def test_an_unanswered_root_is_found_among_the_channels_last_two_hundred(
    slack: SlackStandin,
) -> None:
    """Slack answers 100 messages unless asked for more: a busy channel hides the root."""
    from dataclasses import replace

    slack_notifier = notifier(slack)
    first = slack_notifier.send(make_notification("opened", id=5))
    assert isinstance(first, Delivered)
    for n in range(150):  # other roots posted since (newest first in the history)
        slack.messages[("C123", f"1800000000.{n:06d}")] = {
            "type": "message",
            "ts": f"1800000000.{n:06d}",
        }
    again = slack_notifier.send(replace(make_notification("opened", id=5), uncertain=True))
    assert again == first and len(slack.calls("chat.postMessage")) == 1


def test_root_metadata_and_the_test_message(slack: SlackStandin) -> None:
    """Slack keeps metadata only with an event_type; a test message is no broadcast."""
    from logwatch.notify import make_test_notification

    slack_notifier = notifier(slack)
    slack_notifier.send(make_notification("opened"))
    assert slack.requests[0].body["metadata"]["event_type"] == "logwatch_incident"
    slack_notifier.send(make_test_notification(make_incident().first_seen))
    assert "reply_broadcast" not in slack.requests[-1].body


def test_an_answer_without_a_ts_is_failed(slack: SlackStandin) -> None:
    from slack_sdk.web import SlackResponse

    slack_notifier = notifier(slack)

    def answer(**kwargs: object) -> SlackResponse:
        return SlackResponse(client=None, http_verb="POST", api_url="", req_args={},
                             data={"ok": True}, headers={}, status_code=200)  # fmt: skip

    slack_notifier._client.chat_postMessage = answer  # type: ignore[method-assign]
    outcome = slack_notifier.send(make_notification("opened"))
    assert outcome == Failed(reason="slack: chat.postMessage to #alerts: answer without a ts")


def test_check_without_user_team_or_membership_fields(slack: SlackStandin) -> None:
    """Slack may leave fields out: `?` stands for a missing name, membership is assumed."""
    from slack_sdk.web import SlackResponse

    slack_notifier = notifier(slack, channel="C123")

    def response(data: dict[str, object]) -> SlackResponse:
        return SlackResponse(client=None, http_verb="POST", api_url="", req_args={},
                             data=data, headers={}, status_code=200)  # fmt: skip

    slack_notifier._client.auth_test = lambda **kw: response({"ok": True})  # type: ignore[method-assign]
    slack_notifier._client.conversations_info = lambda **kw: response(  # type: ignore[method-assign]
        {"ok": True, "channel": {"id": "C123"}}
    )
    assert slack_notifier.check() == (
        True,
        "slack: ok as bot ? in workspace ?, posting to C123 (C123)",
    )


def test_defaults_no_mention_no_buttons_and_a_reply_keeps_its_root(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack)
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered) and root.thread is not None
    notifier(slack, mention="", buttons=False).send(make_notification("opened"))
    default, explicit = slack.requests[0].body, slack.requests[1].body
    assert texts(default) == texts(explicit)
    assert not any(block.get("type") == "actions" for block in default["blocks"])
    # An update replies in the thread: the outcome names the same root.
    assert slack_notifier.send(make_notification("updated", id=2, thread=root.thread)) == root


def test_the_all_clear_stays_in_the_thread_when_broadcasts_are_off(slack: SlackStandin) -> None:
    slack_notifier = notifier(slack, broadcast_resolved=False)
    root = slack_notifier.send(make_notification("opened"))
    assert isinstance(root, Delivered)
    slack_notifier.send(make_notification("resolved", id=3, thread=root.thread))
    reply = slack.requests[-1].body
    assert reply["thread_ts"] == root.thread.ts and "reply_broadcast" not in reply  # type: ignore[union-attr]


def test_the_test_message_names_the_host_and_says_when_it_failed(slack: SlackStandin) -> None:
    from logwatch.notify import make_test_notification

    test = make_test_notification(make_incident().first_seen)
    notifier(slack, host="app-7").send(test)
    assert "app-7" in texts(slack.requests[0].body)
    slack.fail_next(1, 500)
    assert isinstance(notifier(slack).send(test), Retry)


def test_a_channel_name_without_its_hash_is_looked_up(slack: SlackStandin) -> None:
    assert notifier(slack, channel="alerts").check()[1].endswith("posting to alerts (C123)")


def test_an_answer_without_a_channel_keeps_the_channel_asked(slack: SlackStandin) -> None:
    from slack_sdk.web import SlackResponse

    slack_notifier = notifier(slack)
    for data in ({"ok": True, "ts": "1.2"}, {"ok": True, "ts": "1.2", "channel": ""}):

        def answer(data: dict[str, object] = data, **kwargs: object) -> SlackResponse:
            return SlackResponse(client=None, http_verb="POST", api_url="", req_args={},
                                 data=data, headers={}, status_code=200)  # fmt: skip

        slack_notifier._client.chat_postMessage = answer  # type: ignore[method-assign]
        outcome = slack_notifier.send(make_notification("opened"))
        assert outcome == Delivered(thread=ThreadRef(channel="#alerts", ts="1.2"))


def test_check_invites_logwatch_when_slack_names_no_bot_user(slack: SlackStandin) -> None:
    from slack_sdk.web import SlackResponse

    slack_notifier = notifier(slack, channel="C123")

    def response(data: dict[str, object]) -> SlackResponse:
        return SlackResponse(client=None, http_verb="POST", api_url="", req_args={},
                             data=data, headers={}, status_code=200)  # fmt: skip

    slack_notifier._client.auth_test = lambda **kw: response({"ok": True})  # type: ignore[method-assign]
    slack_notifier._client.conversations_info = lambda **kw: response(  # type: ignore[method-assign]
        {"ok": True, "channel": {"id": "C123", "is_member": False}}
    )
    assert "/invite @logwatch there" in slack_notifier.check()[1]


def _api_error(status: int, data: object, headers: dict[str, object] | None = None) -> object:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import SlackResponse

    response = SlackResponse(client=None, http_verb="POST", api_url="", req_args={},
                             data=data, headers=headers or {}, status_code=status)  # type: ignore[arg-type]  # fmt: skip

    def call() -> SlackResponse:
        raise SlackApiError("error", response)

    return call


@pytest.mark.parametrize(
    ("status", "data", "headers", "expected"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": ["45"]},
         Retry(after_s=45.0, reason="slack: m to #c: rate limited for 45s")),
        (429, "rate_limited", {"Retry-After": ["7"]},
         Retry(after_s=7.0, reason="slack: m to #c: rate limited for 7s")),
        (200, {"ok": False, "error": "ratelimited"}, None,
         Retry(after_s=30.0, reason="slack: m to #c: rate limited for 30s")),
        (503, "<html>upstream</html>", None, Retry(after_s=1.0, reason="slack: m to #c: HTTP 503")),
        (200, {"ok": False, "error": "internal_error"}, None,
         Retry(after_s=1.0, reason="slack: m to #c: HTTP 200 internal_error")),
        (200, {"ok": False, "error": "invalid_auth"}, None,
         Failed(reason="slack: m to #c: invalid_auth (the bot token is not valid (check"
                       " SLACK_BOT_TOKEN or [slack] token_file))")),
        (200, {"ok": False, "error": "odd_thing"}, None,
         Failed(reason="slack: m to #c: odd_thing (HTTP 200)")),
        (400, {"ok": False}, None, Failed(reason="slack: m to #c: error (HTTP 400)")),
        (400, "Bad Request", None, Failed(reason="slack: m to #c: error (HTTP 400)")),
    ],
)  # fmt: skip
def test_slack_errors_are_sorted_into_retry_and_failed(
    slack: SlackStandin,
    status: int,
    data: object,
    headers: dict[str, object] | None,
    expected: object,
) -> None:
    outcome = notifier(slack)._call("m", "#c", _api_error(status, data, headers))  # type: ignore[arg-type]
    assert outcome == expected


def test_a_tolerated_error_is_none(slack: SlackStandin) -> None:
    call = _api_error(200, {"ok": False, "error": "message_not_found"})
    tolerate = frozenset({"message_not_found"})
    assert notifier(slack)._call("m", "#c", call, tolerate=tolerate) is None  # type: ignore[arg-type]


def test_the_style_carries_host_and_buttons(slack: SlackStandin) -> None:
    notifier(slack, host="app-7", buttons=True).send(make_notification("opened"))
    body = slack.requests[0].body
    assert "app-7" in texts(body)
    assert any(block.get("type") == "actions" for block in body["blocks"])


def test_the_timeout_is_whole_seconds_one_at_least() -> None:
    assert SlackNotifier(token="xoxb-1", channel="#c", timeout_s=0.2).timeout_s == 1.0
    assert SlackNotifier(token="xoxb-1", channel="#c", timeout_s=2.5).timeout_s == 3.0


def test_slack_sdk_itself_stays_quiet(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    """The outcome is logged once by the outbox; the SDK must not log every attempt."""
    with caplog.at_level(logging.DEBUG):
        slack.fail_next(1, 500)
        notifier(slack).send(make_notification("opened"))
        notifier(slack).send(make_notification("opened"))
    assert [r.name for r in caplog.records if r.name.startswith("slack_sdk")] == []
    assert [r.name for r in caplog.records if r.name.endswith(".sdk")] == []


def test_a_short_429_is_retried_once_in_the_client_and_not_at_all_when_turned_off(
    slack: SlackStandin,
) -> None:
    slack.fail_next(2, 429, retry_after=0)
    assert isinstance(notifier(slack).send(make_notification("opened")), Retry)
    assert len(slack.requests) == 2  # one retry in the client, then the outbox's turn
    slack.fail_next(1, 429, retry_after=0)
    outcome = notifier(slack, rate_limit_wait_s=0).send(make_notification("opened"))
    assert isinstance(outcome, Retry) and len(slack.requests) == 3


def test_a_429_waiting_exactly_the_bound_is_retried_in_the_client(slack: SlackStandin) -> None:
    slack.fail_next(1, 429, retry_after=1)
    outcome = notifier(slack, rate_limit_wait_s=1.0).send(make_notification("opened"))
    assert isinstance(outcome, Delivered) and len(slack.requests) == 2


def test_a_429_without_retry_after_is_not_retried_in_the_client() -> None:
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState

    from logwatch.notify.sdk import ShortRateLimitRetryHandler

    request = HttpRequest(method="POST", url="http://x/api/m", headers={}, body_params={})
    handler = ShortRateLimitRetryHandler(max_wait_s=2.0)
    for headers, retried in (
        ({}, False),
        ({"retry-after": ["1"]}, True),
        ({"Retry-After": ["3"]}, False),
    ):
        response = HttpResponse(status_code=429, headers=headers, body={}, data=b"")
        assert handler._can_retry(state=RetryState(), request=request, response=response) is retried


def test_an_empty_secret_masks_nothing() -> None:
    from logwatch.notify.sdk import mask as _mask

    assert _mask("abc xoxb-1 def", ["", "xoxb-1"]) == "abc *** def"


def test_errors_as_values_name_the_method_and_mask_the_token(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    from urllib.error import URLError

    from slack_sdk.errors import SlackRequestError

    slack_notifier = notifier(slack)

    def refused() -> object:
        raise URLError(ConnectionRefusedError(111, "Connection refused"))

    def bad_request() -> object:
        raise SlackRequestError(f"cannot send with {slack.token}")

    outcome = slack_notifier._call("chat.postMessage", "#a", refused)  # type: ignore[arg-type]
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("slack: chat.postMessage to #a: Slack unreachable: ")
    assert slack_notifier._call("m", "#a", bad_request) == Failed(  # type: ignore[arg-type]
        reason="slack: m to #a: SlackRequestError: cannot send with ***"
    )
    with caplog.at_level(logging.WARNING, logger="logwatch.notify.slack"):
        call = _api_error(200, {"ok": False, "error": "message_not_found"})
        slack_notifier._call("chat.update", "C1", call, tolerate=frozenset({"message_not_found"}))  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records] == [
        "slack root not editable, replying only: slack: chat.update to C1: message_not_found"
    ]
