"""The rules' regexes as a line filter (logwatch.regexfilter): a superset of the rules.

For every line, a rule whose pattern matches the line's decoded text is among the rules
the filter names for its bytes. Held on the annotated samples (each mutated by inserting
pieces that stress the translation: characters outside ASCII where \\s, \\d, \\w and
negated classes take them, invalid UTF-8, long runs) and on hand-made lines.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.regexfilter import RuleFilter, Untranslatable, translate
from logwatch.rules import RulePack, load_rule_pack
from tests.test_rules import ALL_SAMPLES, rule_text, write

hyperscan = pytest.importorskip("hyperscan")

PACK = load_rule_pack()
# The properties' examples, scaled down by LOGWATCH_REGEXFILTER_EXAMPLES (a per cent; the
# mutation run's short pass, benchmarks/mutation.py).
_PER_CENT = int(os.environ.get("LOGWATCH_REGEXFILTER_EXAMPLES", "100"))


def _scaled(examples: int) -> int:
    return max(5, examples * _PER_CENT // 100)


FILTER = RuleFilter(PACK, hyperscan)


def _must(pack: RulePack, raw: bytes) -> set[int]:
    """The rules whose patterns match the line's text, as the scan decodes it."""
    text = raw.decode("utf-8", "replace")
    return {
        i
        for i, rule in enumerate(pack.rules)
        if any(p.search(text) is not None for p in rule.patterns)
    }


def test_every_builtin_pattern_is_translated() -> None:
    assert FILTER.fallbacks == []


@pytest.mark.parametrize("sample", [pytest.param(s, id=s.id) for s in ALL_SAMPLES])
def test_samples(sample: object) -> None:
    raw = sample.line.encode()  # type: ignore[attr-defined]
    assert _must(PACK, raw) <= FILTER.rules_in(raw)


# Where the regex module's classes take more than ASCII: spaces, digits, letters outside
# it; what decodes to U+FFFD; separators and runs.
_PIECES = st.sampled_from(
    [
        "\u00a0", "\u2003", "\u3000", "\u0663", "\u0967", "\u00e9", "\u212a", "\U0001f600",
        "\x1c", "\x0b", "\t", " ", "  ", "-", ".", ":", "'", '"', "(", ")", "[", "]", "0",
        "6379", "-2", "111", "/", "x" * 300,
    ]
)  # fmt: skip
_BYTES = st.sampled_from([b"\xff", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80", b"\x80\x80"])


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    sample = draw(st.sampled_from([s for s in ALL_SAMPLES if s.rule is not None]))
    raw = sample.line.encode()
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(raw)))
        piece = draw(st.one_of(_PIECES.map(str.encode), _BYTES))
        cut = draw(st.integers(0, 2))  # replace what was there, or insert
        raw = raw[:at] + piece + raw[at + cut :]
    return raw


@settings(max_examples=_scaled(800), deadline=None)
@given(_mutated())
def test_mutated_samples(raw: bytes) -> None:
    assert _must(PACK, raw) <= FILTER.rules_in(raw)


@pytest.mark.parametrize(
    "line",
    [
        "Error \u0663 connecting to h:6379. Connection refused.",  # \d takes an Arabic-Indic 3
        "Error 111 connecting to h\u00e9\u00e9:6379.\u2003Connection refused.",
        "Error 111 connecting to \udcff:6379. Connection refused.",  # U+FFFD from bad bytes
        "Error -2 connecting to h:6379. -2.",  # (?P=code)
        "Error accepting a client connection: x",  # $
        "No master found for 'x'",  # a negative lookahead
    ],
)
def test_hand_made(line: str) -> None:
    raw = line.encode("utf-8", "surrogateescape")
    must = _must(PACK, raw)
    assert must, "the line must match a rule"
    assert must <= FILTER.rules_in(raw)


@pytest.mark.parametrize(
    "pattern",
    [r"a(?i)b", r"\p{L}x", r"[[a-z]--[aeiou]]", r"[\x00-\x1f]", r"\bx\b+", r"(?#c)x"],
)
def test_untranslatable(pattern: str) -> None:
    with pytest.raises(Untranslatable):
        translate(pattern)


def test_an_untranslatable_rule_falls_back_to_its_literals(tmp_path: object) -> None:
    path = write(tmp_path, rule_text(patterns=[r"(?i)boom\p{L}"], literals=["boom"]))  # type: ignore[arg-type]
    pack = load_rule_pack([path], include_builtin=False)
    found = RuleFilter(pack, hyperscan)
    assert found.fallbacks == ["x"]
    assert found.rules_in(b"a BOOM here") == set()
    assert found.rules_in(b"a boom here") == {0}


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        (r"a\s+b", "a\u2003b", "a-b"),
        (r"a[^\s)]{2}b", "a\u00e9\u00e9b", "a))b"),
        (r"x\d{1,3}y", "x\u0663\u0663\u0663y", "xy"),
        (r"(?<!q)foo\b(?=z)", "qfooz", "fo"),
        (r"a\S+b", "a\x1cb", "a b"),
        (r"a[^\s)]b", "a\x1cb", "a)b"),  # the regex module's \s does not take \x1c
    ],
)
def test_translations(pattern: str, yes: str, no: str) -> None:
    import regex

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[translate(pattern).encode()], flags=[hyperscan.HS_FLAG_ALLOWEMPTY])
    hits: list[int] = []

    def found(text: str) -> bool:
        hits.clear()
        db.scan(text.encode(), match_event_handler=lambda *a: hits.append(1))
        return bool(hits)

    if regex.search(pattern, yes):
        assert found(yes)
    assert not found(no)


def test_the_database_is_cached_and_a_bad_cache_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGWATCH_CACHE_DIR", str(tmp_path))
    line = b"redis.exceptions.ConnectionError: Error 111 connecting to h:1. Connection refused."
    first = RuleFilter(PACK, hyperscan).rules_in(line)
    (cached,) = tmp_path.glob("rules-*.hsdb")
    compiles: list[int] = []
    real = hyperscan.Database

    def counting(*args: object, **kwargs: object) -> object:
        compiles.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hyperscan, "Database", counting)
    assert RuleFilter(PACK, hyperscan).rules_in(line) == first != set()
    assert compiles == []  # loaded
    cached.write_bytes(b"not a database")
    assert RuleFilter(PACK, hyperscan).rules_in(line) == first
    assert compiles == [1]
    assert cached.read_bytes() != b"not a database"  # written again


def test_threads_each_get_their_own_answers() -> None:
    """The agent may skim from more than one thread: each call's answer is its own line's."""
    import threading

    lines = {
        b"Error 111 connecting to h:1. Connection refused.": FILTER.rules_in(
            b"Error 111 connecting to h:1. Connection refused."
        ),
        b"WRONGPASS invalid username-password pair": FILTER.rules_in(
            b"WRONGPASS invalid username-password pair"
        ),
        b"nothing here": set(),
    }
    wrong: list[object] = []
    start = threading.Barrier(4)

    def work(line: bytes, want: set[int]) -> None:
        start.wait()
        for _ in range(3000):
            try:
                got = FILTER.rules_in(line)
            except Exception as exc:  # hyperscan's "scratch in use"
                wrong.append(exc)
                return
            if got != want:
                wrong.append(got)
                return

    threads = [threading.Thread(target=work, args=item) for item in [*lines.items()] * 2][:4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def _outcome(found: object) -> object:
    return None if found is None else (found.rule.id, found.fields, found.line)  # type: ignore[attr-defined]


@settings(max_examples=_scaled(800), deadline=None)
@given(_mutated())
def test_the_rules_named_give_the_packs_match(raw: bytes) -> None:
    """RulePack.match with `only` (the filter's answer) finds what the whole pack finds."""
    text = raw.decode("utf-8", "replace")
    assert _outcome(PACK.match(text, FILTER.rules_in(raw))) == _outcome(PACK.match(text))


def test_only_the_rules_named_are_tried() -> None:
    line = "Error 111 connecting to h:1. Connection refused."
    assert PACK.match(line, set()) is None  # no rule named: none tried
    assert _outcome(PACK.match(line, FILTER.rules_in(line.encode()))) == _outcome(PACK.match(line))


def test_a_rule_named_still_needs_its_literal() -> None:
    """The pack tries a rule only when one of its literals is in the text: a regex match
    without one (two spaces where the literal has one) is no match, named or not."""
    line = "Could  not connect to Redis instance: boom. Retrying in 1 seconds"
    rules = FILTER.rules_in(line.encode())
    assert rules  # the regex alone would match
    assert PACK.match(line) is None
    assert PACK.match(line, rules) is None


# -- tight, not only a superset: on ASCII text the translation matches what the rule does --

# Constructs the translation widens on purpose (dropped assertions, a backreference taken
# for any text, possessive and atomic taken as greedy): patterns holding one are left out.
_WIDENED = ("(?=", "(?!", "(?<=", "(?<!", "(?P=", "(?>", "\\b", "\\B", "\\A", "\\Z", "$",
            "++", "*+", "?+", "}+")  # fmt: skip
_EXACT = [
    p.pattern
    for rule in PACK.rules
    if not rule.ignore_case
    for p in rule.patterns
    if not any(w in p.pattern for w in _WIDENED)
    and not any(p.pattern[i] == "^" and p.pattern[i - 1 : i] != "[" for i in range(len(p.pattern)))
]
# Printable ASCII and tab: where the regex module's classes and the translation's agree
# byte for byte (\x1c-\x1f are spaces to str.isspace, not to the regex module: widened).
_ASCII = st.sampled_from(
    [" ", "  ", "\t", "-", ".", ":", "'", '"', "(", ")", "[", "]", "0", "6379", "111", "/",
     "a", "Z", "_", "x" * 20, ",", "=", "@", "Error ", "connecting to ", "h:1"]
)  # fmt: skip


@st.composite
def _ascii_mutated(draw: st.DrawFn) -> str:
    samples = [s.line for s in ALL_SAMPLES if s.rule is not None and s.line.isascii()]
    text = draw(st.sampled_from(samples))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(_ASCII) + text[at + cut :]
    return text


def test_most_builtin_patterns_are_held_to_exactness() -> None:
    assert len(_EXACT) >= 20  # the property below must hold many patterns, not none


@settings(max_examples=_scaled(300), deadline=None)
@given(_ascii_mutated())
def test_on_ascii_text_the_translation_matches_exactly_what_the_pattern_does(text: str) -> None:
    """A wider translation loses no event but builds and matches look-alikes the passover
    would have passed over: on ASCII the filter names a rule only where it matches."""
    import re

    import regex

    raw = text.encode()
    for pattern in _EXACT:
        want = regex.search(pattern, text) is not None
        got = re.search(translate(pattern).encode(), raw) is not None
        assert got == want, (pattern, text)


# Printable ASCII and tab: no \x1c-\x1f, which str.isspace takes and the regex module's
# \s does not (the translation widens there), nothing outside ASCII (taken as any run).
_ALPHABET = "".join(chr(c) for c in range(32, 127)) + "\t"


@pytest.mark.parametrize("pattern", _EXACT)
@settings(max_examples=_scaled(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_the_translation_matches_the_pattern_matches(
    pattern: str, data: st.DataObject
) -> None:
    """Both ways, on texts made from each side's own expression: every ASCII text the
    translation matches, the pattern matches (tight), and the other way round (a superset)."""
    import re

    import regex

    translated = translate(pattern)
    text = data.draw(st.from_regex(translated, alphabet=_ALPHABET), label="from the translation")
    assert regex.search(pattern, text) is not None
    try:
        re.compile(pattern)
    except re.error:  # the regex module's syntax only: the first half stands
        return
    own = data.draw(st.from_regex(pattern, alphabet=_ALPHABET), label="from the pattern")
    assert re.search(translated.encode(), own.encode()) is not None
