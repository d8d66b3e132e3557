r"""A message's shape: what its signature depends on, so that one is computed per shape.

JSON lines carry a request id, a user id and a duration each: keyed by their text, a
cache of signatures misses on every line. The signature (matching.normalise) masks
numbers and hex ids, and its masks tell characters apart only by class: a digit is `\d`
or `[0-9...]`, a hex letter `[a-f...]`, `\w` or `[a-z]`. So they match at the same places
in two messages that differ only in which digit or hex letter stands where, and what
they mask whole leaves no trace of its characters. Two kinds of words are always masked
whole: a number (a word of ASCII digits, not after "<": the number mask, or a host, uuid
or url mask that takes it with its neighbours), and an id (a word of 8 or more hex
characters with a digit and a letter: the hex mask, unless a uuid, url, host or email
mask takes it first; which one depends on its length and, for a url's scheme, on its
first character being a letter). `shape_of` replaces the first with zeros of the same
length and the second with an id of the same length and first class; every other
character stays, so the signature is a function of the shape.

`shape_safe` checks the masks' side of it on their source: it refuses a pattern with a
literal digit or hex letter (other than `0x`) outside a character class, or a class that
splits the digits or the hex letters (`[0-5]`, `[a-c]`). matching.Matcher keys its
signature cache by shape only when the masks pass; tests/test_shapes.py holds the
invariance to random messages. The shape is taken of the redacted message, so a secret
the redaction knows never reaches a cache key in clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["shape_of", "shape_safe"]

# An id: a whole word of 8 or more hex characters, a digit and a letter among them.
_ID = re.compile(r"(?<!\w)(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}(?!\w)")
# A number: a whole word of ASCII digits, not after "<" (normalise's number mask skips it).
_NUMBER = re.compile(r"(?<![\w<])[0-9]+(?!\w)")


def _id_shape(m: re.Match[str]) -> str:
    n = len(m.group())
    return ("0a" if m.group()[0] <= "9" else "a0") + "a" * (n - 2)


def shape_of(text: str) -> str:
    """The text with its ids and numbers replaced as the module docstring says."""
    return _NUMBER.sub(lambda m: "0" * len(m.group()), _ID.sub(_id_shape, text))


# Pattern source, token by token: an escape, a character class, a {m,n} quantifier, a
# group's opening (flags, lookaround, name), or one literal character.
_TOKEN = re.compile(
    r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|\{\d*(?:,\d*)?\}"
    r"|\(\?(?:P<\w+>|<[=!]|[=!:]|[aiLmsux-]+[:)])|.",
    re.S,
)
_CLASS_ESCAPES = re.compile(r"\\[dwsDWS]|\\[^0-9A-Za-z]")
_SAFE_ESCAPES = frozenset("dwsbDWSBAZ") | frozenset(r""".-+*?()[]{}|^$/:@#<>=!\\"' """)
_DIGITS_AND_HEX = frozenset("0123456789abcdefABCDEF")


def _class_safe(body: str) -> bool:
    """Whether a class body takes all digits or none, and all hex letters of a case or
    none: only whole ranges (0-9, a-z, a-f, A-Z, A-F), class escapes and punctuation."""
    body = body.removeprefix("^")
    for whole in ("0-9", "a-z", "a-f", "A-Z", "A-F"):
        body = body.replace(whole, "")
    body = _CLASS_ESCAPES.sub("", body)
    return not any(c.isalnum() for c in body)


def shape_safe(patterns: Iterable[re.Pattern[str]]) -> bool:
    """Whether every pattern tells digits and hex letters apart only by class."""
    for pattern in patterns:
        source = pattern.pattern
        if "(?P=" in source:  # a named backreference: (?P<n>\d)(?P=n) takes 11, not 12
            return False
        for m in _TOKEN.finditer(source):
            token = m.group()
            if token.startswith("[") and len(token) > 1:
                if not _class_safe(token[1:-1]):
                    return False
            elif token.startswith("\\"):
                if token[1:] not in _SAFE_ESCAPES:
                    return False
            elif token in _DIGITS_AND_HEX and not _zero_x(source, m):
                return False
    return True


def _zero_x(source: str, m: re.Match[str]) -> bool:
    """Whether the literal is the 0 of a `0x` (shape_of keeps that digit)."""
    return m.group() == "0" and source[m.end() : m.end() + 1] in ("x", "X")
