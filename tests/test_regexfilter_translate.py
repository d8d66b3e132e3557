"""logwatch.regexfilter's translation, construct by construct, held to what it promises:
a superset of the pattern over a line's bytes, and exactly the pattern on ASCII text but
where it widens on purpose (tests/regex_pieces.py writes that model); which rules a scan
names; the fallback to literals; the compiled database's cache.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from logwatch.regexfilter import Untranslatable, translate
from tests.regex_pieces import EXACT_ALPHABET, TEXT_PIECES, Piece, patterns
from tests.test_regexfilter import _scaled

hyperscan = pytest.importorskip("hyperscan")


@functools.lru_cache(maxsize=4096)
def _database(expression: str) -> Any:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[expression.encode("ascii")],
        flags=[hyperscan.HS_FLAG_ALLOWEMPTY | hyperscan.HS_FLAG_SINGLEMATCH],
    )
    return db


def _hs(expression: str, data: bytes) -> bool:
    """Whether Hyperscan finds the expression in the bytes."""
    hits: list[int] = []
    _database(expression).scan(data, match_event_handler=lambda *_a: hits.append(1))
    return bool(hits)


def _matches(pattern: str, data: bytes) -> bool:
    """Whether the translation of `pattern` is found in the bytes (by Hyperscan)."""
    return _hs(translate(pattern), data)


def _compiles(piece: Piece) -> bool:
    try:
        regex.compile(piece.full)
        regex.compile(piece.model)
    except regex.error:
        return False
    return True


_TEXTS = st.lists(st.sampled_from(TEXT_PIECES), max_size=12).map("".join) | st.text(
    EXACT_ALPHABET, max_size=16
)


@settings(max_examples=_scaled(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(piece=patterns(), data=st.data())
def test_on_ascii_text_a_translation_matches_exactly_what_its_pattern_does(
    piece: Piece, data: st.DataObject
) -> None:
    """No construct is widened (classes, escapes, repeats up to 16, groups, alternation):
    on ASCII the translation finds a match where the pattern does, and only there."""
    assume(_compiles(piece))
    texts = [data.draw(_TEXTS, label="text")]
    texts.append(data.draw(st.from_regex(piece.model, alphabet=EXACT_ALPHABET), label="drawn"))
    for text in texts:
        want = regex.search(piece.full, text) is not None
        assert _matches(piece.full, text.encode()) == want, (piece, text)


@settings(max_examples=_scaled(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(piece=patterns(widened=True), data=st.data())
def test_what_is_widened_is_widened_as_written(piece: Piece, data: st.DataObject) -> None:
    """Assertions dropped, possessive and atomic taken as greedy and plain: on ASCII the
    translation matches what the pattern so widened does, which holds what it matches."""
    assume(_compiles(piece))
    texts = [data.draw(_TEXTS, label="text")]
    texts.append(data.draw(st.from_regex(piece.model, alphabet=EXACT_ALPHABET), label="drawn"))
    for text in texts:
        want = regex.search(piece.model, text) is not None
        assert _matches(piece.full, text.encode()) == want, (piece, text)
        if regex.search(piece.full, text):
            assert want


# Characters outside ASCII of each UTF-8 length, and bytes that decode to U+FFFD.
_WIDE = ["\u0080", "\u00e9", "\u00a0", "\u0663", "\u2003", "\u20ac", "\U0001f600", "\u212a"]
_BAD = [b"\xff", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80", b"\x80\x80\x80", b"\xf0\x9f\x98"]
_CHUNKS = st.one_of(
    st.sampled_from(TEXT_PIECES).map(str.encode),
    st.sampled_from(_WIDE).map(str.encode),
    st.sampled_from(_BAD),
    st.text(EXACT_ALPHABET, max_size=3).map(str.encode),
)


@settings(max_examples=_scaled(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(piece=patterns(widened=True), data=st.data())
def test_a_translation_finds_every_match_in_any_bytes(piece: Piece, data: st.DataObject) -> None:
    """The superset: wherever the pattern matches a line's decoded text, the translation
    matches the line's bytes (characters outside ASCII, bytes that are not UTF-8)."""
    assume(_compiles(piece))
    raws = [b"".join(data.draw(st.lists(_CHUNKS, max_size=8), label="bytes"))]
    alphabet = st.characters(codec="utf-8") | st.sampled_from(_WIDE)
    raws.append(data.draw(st.from_regex(piece.model, alphabet=alphabet), label="drawn").encode())
    for raw in raws:
        if regex.search(piece.full, raw.decode("utf-8", "replace")):
            assert _matches(piece.full, raw), (piece, raw)


# -- constructs one by one -----------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?:connection){e<=1} refused",  # fuzzy: the regex module takes "connectiom"
        r"x{e}",
        r"x{i<=1,d<=1}",
        r"x{1<=e<=2}",
        r"x{s<2}",
        r"x{e<=0}",  # no error allowed: not fuzzy, yet no literal "{" either
    ],
)
def test_a_fuzzy_constraint_is_not_taken_for_literal_text(pattern: str) -> None:
    """The regex module reads {e<=1} after an item as a fuzzy constraint, not as text: a
    translation holding the braces as literals would miss every line the rule matches."""
    compiled = regex.compile(pattern)
    assert compiled.search("connectiom refused" if "conn" in pattern else "x")
    with pytest.raises(Untranslatable):
        translate(pattern)


@pytest.mark.parametrize(
    ("pattern", "text", "other"),
    [
        ('{"level":', '{"level":', '"level":'),  # a "{" that opens nothing is a literal
        (r"x{a}", "x{a}", "xa"),
        (r"x{1,2", "x{1,2", "x"),
        (r"x{a,1}", "x{a,1}", "x"),
        ("x{\u0663}", "x{\u0663}", "xxx"),  # a digit outside ASCII counts nothing
        ("x{\u0663,1}", "x{\u0663,1}", "x"),
    ],
)
def test_braces_that_are_no_repeat_are_text(pattern: str, text: str, other: str) -> None:
    assert regex.search(pattern, text)
    assert _matches(pattern, text.encode())
    assert not regex.search(pattern, other)
    assert not _matches(pattern, other.encode())


@pytest.mark.parametrize(
    ("pattern", "text", "twice"),
    [
        (r"ab{0}c", "ac", "abbc"),
        (r"a(?:bc){0}d", "ad", "abcbcd"),
        (r"ab{0,0}c", "ac", "abbc"),
        (r"ab{,0}c", "ac", "abbc"),
    ],
)
def test_a_repeat_of_zero_compiles_and_keeps_every_match(
    pattern: str, text: str, twice: str
) -> None:
    """Hyperscan refuses {0}: the translation takes the item at most once instead."""
    assert regex.search(pattern, text)
    assert _matches(pattern, text.encode())
    assert not _matches(pattern, b"a")
    assert not _matches(pattern, twice.encode())


@pytest.mark.parametrize("pattern", [r"x[^\d\D]y", r"x[^\S\s]y", r"x[^a\W\w]y"])
def test_a_negated_class_of_an_escape_and_its_complement_takes_any_character(
    pattern: str,
) -> None:
    """The regex module matches [^\\d\\D] (which names no character) on any character."""
    for text in ["xay", "x5y", "x y", "x\ny", "x\u00e9y"]:
        if regex.search(pattern, text):
            assert _matches(pattern, text.encode()), text
    assert not _matches(pattern, b"xy")


# Atoms that take characters outside ASCII, and a character of each UTF-8 length.
_HIGH_ATOMS = [".", r"\s", r"\S", r"\d", r"\D", r"\w", r"\W", r"[^a]", "[a-\u00ff]", "[\u00e9]", "[a-\u0080]",
               r"[\s]", r"[\d]", r"[^\d]", r"[\w-]", r"[^\s)]"]  # fmt: skip


@pytest.mark.parametrize("atom", _HIGH_ATOMS)
def test_an_atom_outside_ascii_is_one_to_four_bytes_above_0x7f(atom: str) -> None:
    """A superset where the atom takes a character outside ASCII (or bytes read as
    U+FFFD), yet one character is at most four bytes and at least one."""
    pattern = f"<{atom}>"
    taken = 0
    for ch in _WIDE:
        if regex.search(pattern, f"<{ch}>"):
            taken += 1
            assert _matches(pattern, f"<{ch}>".encode()), ch
    for bad in _BAD:
        if regex.search(pattern, f"<{bad.decode('utf-8', 'replace')}>"):
            assert _matches(pattern, b"<" + bad + b">"), bad
    assert taken  # every one of these atoms takes some
    assert not _matches(pattern, b"<>")
    assert not _matches(pattern, b"<" + b"\x80" * 5 + b">")
    assert not _matches(f"<{atom}{{2}}>", b"<" + b"\x80" * 9 + b">")
    if regex.search(f"<{atom}{{2}}>", "<\ufffd\ufffd>"):
        assert _matches(f"<{atom}{{2}}>", b"<\xff\xff>")


@pytest.mark.parametrize(
    "pattern", ["<a>", "<[a-c]>", r"<\x41>", r"<[\-a]>", r"<[\n\t ]>", "<[a-\x7f]>", "<[\x7f]>"]
)
def test_an_ascii_atom_takes_no_byte_above_0x7f(pattern: str) -> None:
    for raw in [b"<\xc3\xa9>", b"<\xff>", b"<\x80>", "<\U0001f600>".encode()]:
        assert not _matches(pattern, raw), raw


def test_a_character_outside_ascii_is_its_own_utf8_bytes() -> None:
    assert _matches("x\u00e9y", "x\u00e9y".encode())
    assert not _matches("x\u00e9y", "x\u00e8y".encode())
    assert not _matches("x\u00e9y", b"x\xffy")
    assert _matches(r"x\u20acy", "x\u20acy".encode())
    assert _matches(r"x\U0001f600y", "x\U0001f600y".encode())
    assert _matches(r"x\xe9y", "x\u00e9y".encode())
    # A quantifier takes the whole character, not its last byte.
    assert _matches("x\u00e9{2}y", "x\u00e9\u00e9y".encode())
    assert not _matches("x\u00e9{2}y", "x\u00e9y".encode())
    assert _matches("x\u20ac+y", "x\u20ac\u20acy".encode())
    assert _matches(r"x\u20ac?y", b"xy")


@pytest.mark.parametrize("n", [1, 2, 15, 16])
def test_a_repeat_up_to_16_counts_exactly(n: int) -> None:
    for pattern in [f"<a{{{n}}}>", f"<(?:a){{{n},{n}}}>", f"<\\w{{{n}}}>", f"<a{{0,{n}}}>"]:
        assert _matches(pattern, b"<" + b"a" * n + b">"), pattern
        assert not _matches(pattern, b"<" + b"a" * (n + 1) + b">"), pattern
    assert not _matches(f"<a{{{n}}}>", b"<" + b"a" * (n - 1) + b">")
    assert not _matches(f"<a{{{n},16}}>", b"<" + b"a" * (n - 1) + b">")


def test_a_repeat_over_16_keeps_its_least_and_loses_its_most() -> None:
    """A large bound would cost Hyperscan a large database: the repeat is made unbounded."""
    assert _matches("<a{17}>", b"<" + b"a" * 17 + b">")
    assert _matches("<a{17}>", b"<" + b"a" * 18 + b">")
    assert not _matches("<a{17}>", b"<" + b"a" * 16 + b">")
    assert _matches("<a{3,40}>", b"<" + b"a" * 41 + b">")
    assert not _matches("<a{3,40}>", b"<aa>")


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        (r"(\d+)-\1!", "1-2!", "x-2!"),  # a backreference takes any text
        (r"(?P<n>\d)-(?P=n)!", "1-x\ny!", "1-"),
        (r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10!", "abcdefghijZZ!", "abcdefghij"),
        (r"a(?=[)])b", "ab", "a)b"),  # a lookaround is dropped whole
        (r"a(?=\))b", "ab", "a)b"),
        (r"a(?=(b)c)d", "ad", "abcd"),
        (r"a(?![^]x)])b", "ab", "a]b"),
        (r"a(?<=[(]|\()b", "ab", "a(b"),
        (r"a(?<!q)b\b", "ab", "aqb"),
        (r"^a$|\Ab\Z", "xax", "xx"),
        (r"(?>a+)a!", "aa!", "a!"),  # atomic: a plain group
        (r"a++a!", "aa!", "!"),  # possessive: greedy
        (r"a{1,3}+a!", "aaa!", "!"),
        (r"a*?b", "b", "a"),  # lazy: the same matches
        (r"ba+?", "ba", "b"),
        (r"(a)-\1", "a-", "-"),
        (r"(?P<n>a)-(?P=n)(b)!", "a-xb!", "a-x!"),
        (r"(?P<n>a)->", "a->", "->"),
        (r"(?<n>a)->", "a->", "->"),
    ],
)
def test_widened_constructs(pattern: str, yes: str, no: str) -> None:
    assert _matches(pattern, yes.encode())
    assert not _matches(pattern, no.encode())


_ONE_CHARACTER = [
    ".", r"\s", r"\S", r"\d", r"\D", r"\w", r"\W", r"\n", r"\t", r"\r", r"\f", r"\v", r"\a",
    r"\x4A", r"\x4a", r"\u004A", r"\U0000004a", r"\.", r"\-", r"\ ", "a", "Z", "~", "#", "]", "}",
    r"[\s]", r"[\S]", r"[\d]", r"[\D]", r"[\w]", r"[\W]", r"[^\s]", r"[^\S]", r"[^\d]",
    r"[^\D]", r"[^\w]", r"[^\W]", r"[^\s)]", r"[\n\t\r\f\v\a]", r"[^\n\t\r\f\v\a]", "[a-a]",
    "[]a]", "[^]a]", "[a-]", "[-a]", "[\\]-]", r"[\--/]", "[ -~]", "[^ -~]", "[!-/]",
    "[a-\x7f]", "[a-\u00e9]", "[0-9A-Fa-f_]", r"[^0-9\s]", "[\\^]", "[a^]",
]  # fmt: skip


@pytest.mark.parametrize("atom", _ONE_CHARACTER)
def test_one_character_of_each_kind_on_every_ascii_byte(atom: str) -> None:
    r"""Each class, escape and literal against each ASCII character, alone and between two
    others: exactly what the regex module takes, but \x1c-\x1f (which str.isspace takes
    and the regex module's \s does not) only where the translation widens \s to them."""
    for code in range(128):
        c = chr(code)
        want = regex.search(f"<{atom}>", f"<{c}>") is not None
        got = _matches(f"<{atom}>", f"<{c}>".encode())
        if "\x1c" <= c <= "\x1f":
            assert got or not want, (atom, c)  # a superset there
        else:
            assert got == want, (atom, c)
        assert _matches(atom, c.encode()) == got, (atom, c)


def test_a_surrogate_escape_translates() -> None:
    """No decoded line holds a lone surrogate: the pattern's is its own bytes, matching none."""
    assert _matches(r"x\ud800|y", b"y")
    assert not _matches(r"x\ud800", b"x\xef\xbf\xbd")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("a\\", "a trailing backslash"),
        (r"\0", "an octal escape"),
        (r"\x4", "a short hex escape"),
        (r"\xg1", "a short hex escape"),
        (r"\xX1", "a short hex escape"),
        (r"\u12", "a short hex escape"),
        (r"\U1234567", "a short hex escape"),
        (r"\p{L}", "the escape \\p"),
        (r"\N{EN DASH}", "the escape \\N"),
        (r"\G", "the escape \\G"),
        (r"\X", "the escape \\X"),
        (r"\e", "the escape \\e"),
        ("[abc", "an open class"),
        ("[a-", "an open class"),
        (r"[a[b]]", "a nested class or set operation"),
        (r"[a&&b]", "a nested class or set operation"),
        (r"[\w--_]", "a nested class or set operation"),
        (r"[a||b]", "a nested class or set operation"),
        (r"[a~~b]", "a nested class or set operation"),
        (r"[\p{L}]", "the class escape \\p"),
        (r"[\x41]", "the class escape \\x"),
        ("[a\\", "the class escape \\"),
        (r"[a-\z]", "an escaped range end"),
        (r"[z-a]", "a reversed range"),
        (r"a(?P=name", "an open backreference"),
        (r"(?P<name", "an open group name"),
        (r"(?<name", "an open group name"),
        (r"(?i)x", "inline flags or an unknown group"),
        (r"(?#c)x", "inline flags or an unknown group"),
        (r"(?=ab", "an open group"),
        (r"(?=[a)", "an open class"),
        (r"^*", "a quantifier on an assertion"),
        (r"\b+", "a quantifier on an assertion"),
        (r"(?=a)*", "a quantifier on an assertion"),
        (r"a|*", "a quantifier on an assertion"),
        (r"(*a)", "a quantifier on an assertion"),
        ("x{e<=1}", "a fuzzy constraint"),
    ],
)
def test_untranslatable(pattern: str, reason: str) -> None:
    """What the translation does not take, with the reason the debug log gives for it."""
    with pytest.raises(Untranslatable) as caught:
        translate(pattern)
    assert str(caught.value) == reason
