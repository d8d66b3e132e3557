"""Record -> event: which rule wins, the target, the signature, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.matching import Matcher, message_of, normalise
from logwatch.model import Record
from logwatch.redact import Redactor
from logwatch.rules import load_rule_pack

PACK = load_rule_pack()
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def record(text: str) -> Record:
    return Record(source="app.log", line=1, offset=0, end=len(text), time=T0, text=text,
                  lines=text.count("\n") + 1)  # fmt: skip


def matcher(default: str = "redis") -> Matcher:
    return Matcher(PACK, default_target=default, redact=Redactor(["hunter2-pw"]))


CHAINED = """2026-03-01 12:00:00,001 ERROR [morningai] Exception on /api/v1/feed [GET]
Traceback (most recent call last):
  File "/srv/venv/lib/python3.11/site-packages/redis/connection.py", line 1296, in read_response
    raise ConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
redis.exceptions.ConnectionError: Connection closed by server.

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/venv/lib/python3.11/site-packages/redis/connection.py", line 1437, in read_response
    raise response
redis.exceptions.AuthenticationError: Authentication required."""


def test_chained_traceback_is_classified_by_the_exception_raised_last() -> None:
    """redis-py 8 after CLIENT KILL: closed while handling, then auth: an auth problem."""
    event = matcher().match(record(CHAINED))
    assert event is not None
    assert (event.rule, event.category) == ("auth-required", "auth")
    assert event.text == "redis.exceptions.AuthenticationError: Authentication required."


def test_app_message_with_redis_error_inside_matches_when_last_line_does_not() -> None:
    text = (
        "2026-03-01 12:00:00,001 ERROR [morningai.cache] redis GET failed (ConnectionError:"
        " Error 111 connecting to 10.0.0.5:6379. Connection refused.)\n"
        "Traceback (most recent call last):\n"
        '  File "/app/views.py", line 3, in feed\n'
        "KeyError: 'timezone'"
    )
    event = matcher().match(record(text))
    assert event is not None
    assert (event.category, event.target) == ("connection", "10.0.0.5:6379")


def test_unnamed_endpoint_gets_the_default_target() -> None:
    event = matcher("cache.internal:6380").match(
        record("redis.exceptions.TimeoutError: Timeout reading from socket")
    )
    assert event is not None and event.target == "cache.internal:6380"


def test_secrets_are_masked_before_the_signature_is_made() -> None:
    text = "redis.exceptions.ConnectionError: Error 111 connecting to redis://:hunter2-pw@h:6379."
    event = matcher().match(record(f"2026-03-01 12:00:00,001 ERROR x {text} Connection refused."))
    assert event is not None
    assert "hunter2-pw" not in event.signature + event.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Worker 631875ff35684672b232c4104a476cea: retrying in 4 seconds",
            "Worker <uuid>: retrying in <int> seconds",
            id="rq-worker-id",
        ),
        pytest.param(
            "Error 111 connecting to 10.0.0.5:6379.",
            "Error <int> connecting to <host>.",
            id="ip-port",
        ),
        pytest.param(
            "job 3f2a9c01-d4e5-4f60-8a7b-9c0d1e2f3a4b failed", "job <uuid> failed", id="uuid"
        ),
        pytest.param(
            "Error -2 connecting to redis:6379.",
            "Error <int> connecting to <host>.",
            id="named-host",
        ),
    ],
)
def test_signature_masks_variable_parts(text: str, expected: str) -> None:
    assert normalise(text) == expected


# -- the per-line cache: the stamp is cut off, the rest redacted and normalised once -----

HEADS = [
    "2026-03-01T12:00:00.123Z",
    "2026-03-01T14:00:00+02:00",
    "2026-03-01 12:00:00,123",
    "2026/03/01 12:00:00",
    "[2026-03-01 12:00:00 +0000]",
    '10.0.0.7 - admin [01/Mar/2026:12:00:00 +0000] "GET /feed HTTP/1.1" 500',
    "Mar  1 12:00:00",
    "1234:M 01 Mar 2026 12:00:00.123",
    "12:00:00",
    "1772366400.123",
    "[2026-03-01 12:00:00,123: ERROR/MainProcess]",
    "web-1  | 2026-03-01 12:00:00,123",
    "api_1 | [2026-03-01 12:00:00 +0000]",
]
SECRETISH = [
    " password=hunter3x",
    " redis://app:s3cr3t-pw@10.0.0.5:6379/0",
    " token: xoxb-1234567890-abcdef",
    " AUTH default s3cr3t",
    " Authorization: Bearer abcdefghijkl",
    " hunter2-pw",
    " ERROR [morningai.cache]",
    " 42",
    "\t",
]
ERRORS = [
    " redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused.",
    " could not connect to Redis instance: Error 111 connecting to redis:6379. Connection refused."
    " retrying in 4 seconds",
    " OOM command not allowed when used memory > 'maxmemory'.",
]


@settings(max_examples=300, deadline=None)
@given(
    head=st.sampled_from(HEADS),
    before=st.lists(st.sampled_from(SECRETISH), max_size=3),
    error=st.sampled_from(ERRORS),
    after=st.lists(st.sampled_from(SECRETISH), max_size=2),
)
def test_cached_text_and_signature_equal_redacting_the_whole_line(
    head: str, before: list[str], error: str, after: list[str]
) -> None:
    redact = Redactor(["hunter2-pw"])
    m = Matcher(PACK, default_target="redis", redact=redact)
    line = head + "".join(before) + error + "".join(after)
    for _ in range(2):  # the second time from the cache
        event = m.match(record(line))
        assert event is not None
        whole = redact(line.strip())
        assert event.text == whole[:500]
        assert event.signature == f"{event.rule}: {normalise(message_of(whole))}"
        assert "hunter2-pw" not in event.text and "s3cr3t" not in event.text


def test_a_configured_secret_inside_the_stamp_is_still_masked() -> None:
    """A password that happens to read like a date: the line is redacted whole."""
    m = Matcher(PACK, default_target="redis", redact=Redactor(["2026-03-01"]))
    event = m.match(record(f"2026-03-01 12:00:00,123 ERROR{ERRORS[0]}"))
    assert event is not None and "2026-03-01" not in event.text


def test_the_same_error_at_other_times_shares_one_signature_and_keeps_its_stamp() -> None:
    m = matcher()
    a = m.match(record(f"2026-03-01 12:00:00,123 ERROR{ERRORS[0]}"))
    b = m.match(record(f"2026-03-01 12:00:07,456 ERROR{ERRORS[0]}"))
    assert a is not None and b is not None
    assert a.signature == b.signature
    assert a.text.startswith("2026-03-01 12:00:00,123") and b.text.startswith(
        "2026-03-01 12:00:07,456"
    )


def test_a_json_line_chained_traceback_is_classified_by_the_exception_raised_last() -> None:
    """A JSON line is one file line whose record text holds the whole traceback: like a
    plain traceback it is an auth problem when AuthenticationError was raised last."""
    import json

    from logwatch.model import LogLine
    from logwatch.records import assemble

    tb = (
        "Traceback (most recent call last):\n"
        '  File "/app/x.py", line 1, in f\n'
        "redis.exceptions.ConnectionError: Connection closed by server.\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/app/x.py", line 3, in f\n'
        "redis.exceptions.AuthenticationError: Authentication required."
    )
    line = json.dumps(
        {"timestamp": "2026-03-01T12:00:00Z", "message": "job failed", "exc_info": tb}
    )
    (rec,) = assemble(
        [LogLine(text=line, number=1, offset=0, end=len(line) + 1)], source="a", file_time=T0
    )
    event = matcher().match(rec)
    assert event is not None and event.category == "auth"


def test_signature_keeps_upper_case_words_that_are_not_levels() -> None:
    assert "WORKER TIMEOUT" in normalise(
        message_of("[2026-03-01 12:00:00 +0000] [60] [CRITICAL] WORKER TIMEOUT (pid:60)")
    )
    assert message_of("2026-03-01 12:00:00,123 ERROR [app] boom") == "boom"


def test_django_lines_share_one_signature_without_their_stamps() -> None:
    lines = [
        f"ERROR 2026-12-01 04:54:5{n},411 log 23222 140 Error 111 connecting to redis:6379."
        " Connection refused."
        for n in range(3)
    ]
    events = [matcher().match(record(text)) for text in lines]
    assert all(e is not None for e in events)
    signatures = {e.signature for e in events if e is not None}
    assert len(signatures) == 1
    assert "2026" not in signatures.pop()


def test_words_before_a_prefixed_stamp_are_redacted() -> None:
    """The part before the message is kept unredacted only when it is a bare stamp; a
    prefix's words go through redaction like the message."""
    token = "ghp_" + "a1B2" * 9
    text = (
        f"ERROR {token} 2026-12-01 04:54:51 Error 111 connecting to redis:6379. Connection refused."
    )
    event = matcher().match(record(text))
    assert event is not None
    assert token not in event.text and token not in event.signature
