"""The shape cache: messages of one shape have one signature, and secrets stay out of keys."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logwatch import matching
from logwatch.matching import _MASKS, Matcher, normalise
from logwatch.model import Record
from logwatch.redact import Redactor
from logwatch.rules import load_rule_pack
from logwatch.shapes import shape_of, shape_safe

_ID = re.compile(r"(?<!\w)(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}(?!\w)")
_PIECES = st.sampled_from(
    [
        "0", "7", "42", "1.2", "-3", "10.0.0.5", "6379", ":", ".", "-", "@", "/", "://",
        "[", "]", "<", ">", " ", "  ", "x", "0x", "0X", "w", "a", "f", "B", "E", "g", "z",
        "deadbeef", "DEADBEEF", "5852cf7196fe50a9", "d5dc9f9d8c3544ad4c149bb999289e6b",
        "a3732721-6310-755c-1234-5852cf7196fe", "redis", "host", "user", "ERROR ", "DEBUG ",
        "Error 111 connecting to", "é", "٣", "_", "+", "=", "ab12", "12ab", "w1a2b3c4",
    ]
)  # fmt: skip


def _twin(text: str, rng: random.Random) -> str:
    """Another message of the same shape: other ids of the same length and first class,
    other numbers of the same length."""

    def other_id(m: re.Match[str]) -> str:
        n = len(m.group())
        while True:
            first = rng.choice("0123456789" if m.group()[0] <= "9" else "abcdefABCDEF")
            new = first + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(n - 1))
            if re.search("[0-9]", new) and re.search("[a-fA-F]", new):
                return new

    text = _ID.sub(other_id, text)
    return re.sub(
        r"(?<![\w<])[0-9]+(?!\w)",
        lambda m: "".join(rng.choice("0123456789") for _ in m.group()),
        text,
    )


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=30), seed=st.integers(0, 2**32))
def test_one_shape_one_signature(pieces: list[str], seed: int) -> None:
    text = "".join(pieces)
    twin = _twin(text, random.Random(seed))
    assert shape_of(twin) == shape_of(text)
    assert normalise(twin) == normalise(text)


def test_the_masks_pass_the_guard() -> None:
    assert shape_safe(pattern for pattern, _ in _MASKS)
    assert matching._BY_SHAPE


@pytest.mark.parametrize(
    "pattern",
    [r"[0-5]", r"[a-c]x", r"Error 111", r"\bdead", r"\d{2}7", r"(a)\1", r"\x41", r"1x"],
)
def test_the_guard_refuses_masks_that_tell_digits_or_hex_letters_apart(pattern: str) -> None:
    assert not shape_safe([re.compile(pattern)])
    assert not shape_safe([*(p for p, _ in _MASKS), re.compile(pattern)])


def _record(text: str, n: int) -> Record:
    when = datetime(2026, 3, 1, 12, 0, n % 60, tzinfo=UTC)
    return Record(source="app.log", line=n, offset=0, end=len(text), time=when, text=text)


_LINES = [
    "2026-03-01 12:00:{s:02d},{n:03d} ERROR [app] redis.exceptions.ConnectionError: Error 111"
    " connecting to 10.0.{n}.5:6379. Connection refused. req={h}",
    "redis.exceptions.ConnectionError: Error {n} connecting to redis:6379. Connection refused.",
    "2026-03-01 12:00:{s:02d},000 WARNING [tasks] send_digest user={n}: redis HSET digest:{n}"
    " failed (ConnectionError: Error -2 connecting to redis:6379. Name or service not known.)",
    "2026-03-01 12:00:{s:02d} ERROR [app] redis.exceptions.AuthenticationError: invalid"
    " username-password pair or user is disabled. id={h} redis://:pw{h}@cache:6379/0",
]


def test_events_are_the_same_with_and_without_the_shape_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(5)
    records = [
        _record(
            rng.choice(_LINES).format(
                n=rng.randrange(1000), s=rng.randrange(60), h=f"{rng.getrandbits(64):016x}"
            ),
            n,
        )
        for n in range(400)
    ]
    pack = load_rule_pack()

    def events() -> list[object]:
        matcher = Matcher(pack, default_target="redis:6379", redact=Redactor())
        return [matcher.match(r) for r in records]

    cached = events()
    monkeypatch.setattr(matching, "_BY_SHAPE", False)
    assert events() == cached
    assert sum(e is not None for e in cached) > 300


def test_a_secret_never_reaches_a_cache_key_in_clear() -> None:
    secret = "s3cr3tPassw0rd"
    matcher = Matcher(
        load_rule_pack(), default_target="redis:6379", redact=Redactor(known_secrets=[secret])
    )
    line = (
        "2026-03-01 12:00:00 ERROR [app] redis.exceptions.AuthenticationError: invalid"
        f" username-password pair or user is disabled. redis://:{secret}@cache:6379/0"
    )
    for text in (line, line.replace("2026-03-01 12:00:00 ERROR [app] ", "")):
        event = matcher.match(_record(text, 1))
        assert event is not None and secret not in event.text
    keys = repr(list(matcher._seen)) + repr(list(matcher._signatures))
    assert matcher._signatures and matcher._seen
    assert secret not in keys and secret.encode() not in b"".join(k[1] for k in matcher._seen)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=30))
@example(pieces=["d5dc9f9d8c3544ad4c149bb999289e6b", "://", "host"])  # a url: first a letter
@example(pieces=["5852cf7196fe50a9", "://", "host"])  # no url: first a digit
@example(pieces=["a3732721-6310-755c-1234-5852cf7196fe"])  # a uuid: its parts' lengths
@example(pieces=["user", "=", "42", " ", "ab12cd34"])  # an id of eight
def test_a_shape_is_a_message_of_its_own_shape(pieces: list[str]) -> None:
    """The shape replaces ids and numbers by ones of the same class and length: it has
    the message's signature (else a cached signature would be another shape's)."""
    text = "".join(pieces)
    assert normalise(shape_of(text)) == normalise(text)
    assert shape_of(shape_of(text)) == shape_of(text)


def test_ids_whose_first_class_differs_have_other_shapes() -> None:
    # "deadbeef1://cache" is a url (its scheme starts with a letter), "1deadbeef://cache"
    # is an id then "://cache": one cache key would give one the other's signature.
    url, hexid = "deadbeef1://cache", "1deadbeef://cache"
    assert normalise(url) != normalise(hexid)
    assert shape_of(url) != shape_of(hexid)
    line = "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Refused. "
    records = [_record(line + t, 1) for t in (url, hexid)]
    matcher = Matcher(load_rule_pack(), default_target="redis:6379", redact=Redactor())
    events = [matcher.match(r) for r in records]
    assert all(e is not None for e in events)
    signatures = [e.signature for e in events if e is not None]
    assert signatures[0] != signatures[1]


@pytest.mark.parametrize(
    "pattern",
    [r"[A-Z]+", r"[a-z]+", r"[A-F]", r"[a-f]", r"[^0-9]", r"[0-9A-Za-z_]", r"0X[0-9A-F]+",
     r"0x\d", r"[^^0-9]"],
)  # fmt: skip
def test_the_guard_accepts_whole_classes_and_0x(pattern: str) -> None:
    # A refused mask would switch the shape cache off: every JSON line a miss.
    assert shape_safe([re.compile(pattern)])


@pytest.mark.parametrize("pattern", [r"(\d)\1", r"(?P<d>\d)(?P=d)", r"(?P<n>\d)(?P=n)"])
def test_the_guard_refuses_backreferences(pattern: str) -> None:
    # "11" and "12" have one shape; a backreference tells them apart.
    assert re.fullmatch(pattern, "11") and not re.fullmatch(pattern, "12")
    assert not shape_safe([re.compile(pattern)])
