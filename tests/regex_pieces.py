"""Random patterns of the `regex` module, each with the pattern its translation
(logwatch.regexfilter.translate) must match exactly on ASCII text.

A `Piece` holds the pattern handed to the translation (`full`) and its model: the same
pattern with what the translation widens on purpose written the way it is widened
(assertions dropped, possessive quantifiers and atomic groups greedy and plain, a repeat
of zero taken at most once). The model is written in the dialect both `regex` and the
standard `re` read, so hypothesis can draw texts from it.
"""

from __future__ import annotations

import functools
import re
import string
from typing import NamedTuple

from hypothesis import strategies as st


class Piece(NamedTuple):
    """A pattern for the translation and the pattern it stands for, exactly, on ASCII."""

    full: str
    model: str
    kind: str = "atom"  # or "group"; "other" (an assertion, a sequence) takes no quantifier


_SPECIAL = ".^$*+?{}[]\\|()"
_SIMPLE = {"\n": "n", "\t": "t", "\r": "r", "\x0c": "f", "\x0b": "v", "\x07": "a"}
_PRINTABLE = [chr(c) for c in range(32, 127)]
# ASCII but \x1c-\x1f, which str.isspace takes and the regex module's \s does not (the
# translation's \s takes them: widened); texts are drawn from the same.
_ASCII = [chr(c) for c in range(128) if not 0x1C <= c <= 0x1F]
# A range's last character: written plain, so none the class syntax reads otherwise.
_RANGE_END = [c for c in _PRINTABLE if c.isalnum() or c in "!\"#%'*+,./:;<=>?@_`{}"]


@st.composite
def _literal(draw: st.DrawFn) -> Piece:
    c = draw(st.sampled_from(_ASCII))
    code = ord(c)
    forms = [
        f"\\x{code:02x}",
        f"\\x{code:02X}",
        f"\\u{code:04x}",
        f"\\u{code:04X}",
        f"\\U{code:08x}",
    ]
    if c in _SIMPLE:
        forms.append("\\" + _SIMPLE[c])
    if c in _SPECIAL or (c in _PRINTABLE and not c.isalnum()):
        forms.append("\\" + c)
    if c in _PRINTABLE and c not in _SPECIAL:
        forms.append(c)
    return Piece(draw(st.sampled_from(forms)), f"\\x{code:02x}")


def _same(text: str) -> Piece:
    return Piece(text, text)


_CLASS_ESCAPES = ["\\d", "\\D", "\\s", "\\S", "\\w", "\\W"]


@st.composite
def _class_item(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["char", "char", "range", "escape", "simple"]))
    if kind == "escape":
        return draw(st.sampled_from(_CLASS_ESCAPES))
    if kind == "simple":
        return "\\" + draw(st.sampled_from(sorted(_SIMPLE.values())))
    if kind == "range":
        lo = draw(st.sampled_from(_PRINTABLE))
        start = lo if lo.isalnum() else "\\" + lo
        ends = [c for c in _RANGE_END if c >= lo]
        return start + "-" + draw(st.sampled_from(ends)) if ends else start
    c = draw(st.sampled_from(_ASCII))
    if c.isalnum():
        return c
    if c in _PRINTABLE:
        return "\\" + c
    return c  # a control character, written as itself


@st.composite
def _class(draw: st.DrawFn) -> Piece:
    items = draw(st.lists(_class_item(), min_size=1, max_size=4))
    negated = draw(st.booleans())
    if negated:  # the regex module takes [^\d\D] for any character: a test of its own
        items = [x for x in items if not (len(x) == 2 and x[1].swapcase() in "".join(items))]
        items = items or ["a"]
    if draw(st.integers(0, 9)) == 0:
        items.insert(0, "]")  # a "]" first is a member
    text = "[" + ("^" if negated else "") + "".join(items) + "]"
    return _same(text)


_ATOMS = st.one_of(
    _literal(),
    _literal(),
    st.sampled_from([".", *_CLASS_ESCAPES]).map(_same),
    _class(),
)


@st.composite
def _quantified(draw: st.DrawFn, items: st.SearchStrategy[Piece], widened: bool) -> Piece:
    item = draw(items)
    if item.kind == "other":
        item = Piece("(?:" + item.full + ")", "(?:" + item.model + ")", "group")
    kind = draw(st.sampled_from(["*", "+", "?", "{n}", "{n,m}", "{n,}", "{,m}"]))
    # Bounds up to 16 on an atom; small ones on a group (Hyperscan refuses nested large ones).
    bounds = [0, 1, 2, 3] + ([5, 16] if item.kind == "atom" else [])
    n = draw(st.sampled_from(bounds))
    m = draw(st.sampled_from([x for x in (1, 2, 3, 4, 7, 16) if n <= x <= max(bounds)]))
    full = model = kind
    if kind == "{n}":
        full = model = f"{{{n}}}"
        if n == 0:  # Hyperscan takes no repeat of zero: at most once
            model = "{0,1}"
    elif kind == "{n,m}":
        full = model = f"{{{n},{m}}}"
    elif kind == "{n,}":
        full = model = f"{{{n},}}"
    elif kind == "{,m}":
        full, model = f"{{,{m}}}", f"{{0,{m}}}"
    suffix = draw(st.sampled_from(["", "", "?"] + ["+"] * widened))  # greedy, lazy, possessive
    model_suffix = "?" if suffix == "?" else ""
    return Piece(item.full + full + suffix, item.model + model + model_suffix, "other")


def _group(inner: Piece, kind: str) -> Piece:
    if kind == "atomic":
        return Piece("(?>" + inner.full + ")", "(?:" + inner.model + ")", "group")
    if kind == "named":
        return Piece("(?P<@>" + inner.full + ")", "(?P<@>" + inner.model + ")", "group")
    if kind == "angle":
        return Piece("(?<@>" + inner.full + ")", "(?P<@>" + inner.model + ")", "group")
    if kind == "capture":
        return Piece("(" + inner.full + ")", "(" + inner.model + ")", "group")
    return Piece("(?:" + inner.full + ")", "(?:" + inner.model + ")", "group")


def _assertion(inner: Piece, kind: str) -> Piece:
    if kind in ("(?=", "(?!", "(?<=", "(?<!"):
        return Piece(kind + inner.full + ")", "", "other")
    return Piece(kind, "", "other")


def _sequence(items: list[Piece]) -> Piece:
    return Piece("".join(p.full for p in items), "".join(p.model for p in items), "other")


def _alternation(branches: list[Piece]) -> Piece:
    return Piece("|".join(p.full for p in branches), "|".join(p.model for p in branches), "other")


def _extend(children: st.SearchStrategy[Piece], widened: bool) -> st.SearchStrategy[Piece]:
    kinds = ["plain", "capture", "named", "angle"] + (["atomic"] if widened else [])
    groups = st.builds(
        _group, st.lists(children, min_size=1, max_size=3).map(_sequence), st.sampled_from(kinds)
    )
    alternations = st.builds(
        _group,
        st.lists(st.lists(children, max_size=3).map(_sequence), min_size=2, max_size=3).map(
            _alternation
        ),
        st.sampled_from(kinds),
    )
    options = [
        _quantified(st.one_of(children, groups, alternations), widened),
        groups,
        alternations,
    ]
    if widened:
        simple = st.builds(
            _assertion,
            st.just(Piece("", "")),
            st.sampled_from(["^", "$", "\\b", "\\B", "\\A", "\\Z"]),
        )
        around = st.builds(
            _assertion,
            st.lists(children, min_size=1, max_size=2).map(_sequence),
            st.sampled_from(["(?=", "(?!", "(?<=", "(?<!"]),
        )
        options += [simple, around]
    return st.one_of(*options)


def _named(piece: Piece) -> Piece:
    """Each named group its own name (g1, g2, ...), the same in both."""

    def number(text: str) -> str:
        count = iter(range(1, 10_000))
        return re.sub(r"\(\?P?<@>", lambda m: m.group().replace("@", f"g{next(count)}"), text)

    return Piece(number(piece.full), number(piece.model), piece.kind)


@functools.cache
def patterns(widened: bool = False) -> st.SearchStrategy[Piece]:
    """Whole patterns (a sequence, maybe an alternation); `widened`: with assertions,
    possessive quantifiers and atomic groups (which the model writes as widened)."""
    tree = st.recursive(_ATOMS, functools.partial(_extend, widened=widened), max_leaves=6)
    sequence = st.lists(tree, min_size=1, max_size=4).map(_sequence)
    top = st.one_of(sequence, st.lists(sequence, min_size=2, max_size=3).map(_alternation))
    return top.map(_named)


# Where the regex module's classes and the translation's agree byte for byte.
EXACT_ALPHABET = "".join(_ASCII)
TEXT_PIECES = [*string.ascii_letters[:6], "0", "9", " ", "\t", "\n", "_", "-", "]", "\\", "{"]
