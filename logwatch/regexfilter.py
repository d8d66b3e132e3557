r"""The rules' own regexes as a line filter: Hyperscan over a line's bytes, each rule's
patterns translated to a superset of what they match in the line's text.

A line holding a literal is most often a record alone (a dated line followed by another
record). Such a record's text is the line's bytes decoded; when no rule's pattern can
match it, no rule runs on it, and building the record is wasted. `RuleFilter` answers
which rules can match a line, from one Hyperscan scan of its bytes: a rule not named
cannot match the line's text (the `regex` module still makes the final decision on the
others).

`translate` writes a pattern of the `regex` module as a Hyperscan expression over the
UTF-8 bytes that matches wherever the pattern matches the decoded text, and possibly more:

- lookarounds, anchors and word boundaries are dropped (each only removes matches);
  a backreference matches any run of bytes;
- possessive and lazy quantifiers become greedy ones, atomic groups plain ones, a
  bounded repeat over 16 an unbounded one, a repeat of zero ({0}) one of at most once;
- a negated class holding an escape and its complement ([^\d\D]) takes any character,
  as the regex module reads it;
- every atom that can match a character outside ASCII (\s, \w, \d, ., a negated class)
  also matches any run of 1 to 4 bytes >= 0x80: a character outside ASCII is such a run
  in the bytes, and so is what decodes to U+FFFD (errors="replace" never takes an ASCII
  byte into an error); each decoded character is one repetition, so counts still hold.

Anything else (inline flags, Unicode properties, set operations, fuzzy constraints) is
not translated: such a rule falls back to its literals, one of which every text it
matches holds. A rule that ignores case, or is untranslatable without literals, leaves
no filter at all (`make_rule_filter` answers None). tests/test_regexfilter.py holds every
built-in pattern to the superset on random byte strings; tests/test_regexfilter_translate.py
holds random patterns to it, and to exactness on ASCII text where nothing is widened.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from logwatch.rules import RulePack

logger = logging.getLogger(__name__)

__all__ = ["RuleFilter", "make_rule_filter", "translate"]

_CACHE_VERSION = 1  # of the translation: a change to it must not load an old database
_HIGH = "(?:[\\x80-\\xff]{1,4})"  # one character outside ASCII, or one U+FFFD
_WIDEN_ABOVE = 16  # a bounded repeat with a larger upper bound is made unbounded
# ASCII whitespace: what \s takes at most (str.isspace's), and at least.
_SPACE_WIDE = frozenset(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")
_SPACE_NARROW = frozenset(b" \t\n\r\x0b\x0c")
_DIGIT = frozenset(b"0123456789")
_WORD = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_ALL = frozenset(range(128))
_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "a": 7}  # the regex module's
# A class escape's ASCII bytes, at most (where it stands for itself) and at least (inside
# a negated class, whose complement must be the widest); each also takes other characters.
_CLASS_ESCAPES: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    "s": (_SPACE_WIDE, _SPACE_NARROW),
    "S": (_ALL - _SPACE_NARROW, _ALL - _SPACE_WIDE),
    "d": (_DIGIT, _DIGIT),
    "D": (_ALL - _DIGIT, _ALL - _DIGIT),
    "w": (_WORD, _WORD),
    "W": (_ALL - _WORD, _ALL - _WORD),
}
_ZERO_WIDTH = frozenset("bBAZ")  # \b \B \A \Z: assertions, dropped
_FUZZY = frozenset("deis0123456789")  # what opens a fuzzy constraint after a "{"


class Untranslatable(Exception):
    """A construct the translation does not take."""


class _Atom:
    """One character's worth: the ASCII bytes it takes and whether it takes others."""

    __slots__ = ("ascii", "high")

    def __init__(self, ascii_: frozenset[int], high: bool) -> None:
        self.ascii = ascii_
        self.high = high

    def render(self) -> str:
        # Never empty: a class item takes an ASCII byte or a character outside ASCII.
        parts = []
        if self.ascii:
            if len(self.ascii) == 1:
                parts.append(f"\\x{next(iter(self.ascii)):02x}")
            else:
                parts.append("[" + "".join(f"\\x{b:02x}" for b in sorted(self.ascii)) + "]")
        if self.high:
            parts.append(_HIGH)
        return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _digits(text: str) -> bool:
    """Whether the text is ASCII digits, the only ones the regex module counts with."""
    return text.isascii() and text.isdigit()


def _literal(ch: str) -> str:
    """A character of the pattern as its UTF-8 bytes."""
    data = ch.encode("utf-8", "surrogatepass")
    text = "".join(f"\\x{b:02x}" for b in data)
    return text if len(data) == 1 else "(?:" + text + ")"


class _Translator:
    def __init__(self, source: str) -> None:
        self.src = source
        self.i = 0
        self.out: list[str] = []
        # Whether the last thing written can take a quantifier (an atom or a group).
        self.quantifiable = False

    def run(self) -> str:
        src = self.src
        while self.i < len(src):
            c = src[self.i]
            if c == "\\":
                self._escape()
            elif c == "[":
                self._atom(self._class())
            elif c == "(":
                self._group()
            elif c == ")":
                self.out.append(")")
                self.i += 1
                self.quantifiable = True
            elif c == "|":
                self.out.append("|")
                self.i += 1
                self.quantifiable = False
            elif c in "^$":
                self.i += 1  # an anchor: dropped
                self.quantifiable = False
            elif c == ".":
                self.i += 1
                self._atom(_Atom(_ALL - {10}, True))
            elif c in "*+?{":
                self._quantifier()
            else:
                self.i += 1
                self._emit(_literal(c))
        return "".join(self.out)

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.quantifiable = True

    def _atom(self, atom: _Atom) -> None:
        self._emit(atom.render())

    def _escape(self) -> None:
        src = self.src
        if self.i + 1 >= len(src):
            raise Untranslatable("a trailing backslash")
        e = src[self.i + 1]
        self.i += 2
        if e in _CLASS_ESCAPES:
            self._atom(_Atom(_CLASS_ESCAPES[e][0], True))
        elif e in _ZERO_WIDTH:
            self.quantifiable = False
        elif e in _SIMPLE_ESCAPES:
            self._emit(f"\\x{_SIMPLE_ESCAPES[e]:02x}")
        elif e.isdigit():
            if e == "0":
                raise Untranslatable("an octal escape")
            while self.i < len(src) and src[self.i].isdigit():
                self.i += 1
            self._emit("(?:[\\x00-\\xff]*)")  # a backreference: any bytes
        elif e == "x":
            self._emit(_literal(chr(self._hex(2))))
        elif e == "u":
            self._emit(_literal(chr(self._hex(4))))
        elif e == "U":
            self._emit(_literal(chr(self._hex(8))))
        elif e.isalnum():
            raise Untranslatable(f"the escape \\{e}")
        else:
            self._emit(_literal(e))

    def _hex(self, n: int) -> int:
        digits = self.src[self.i : self.i + n]
        if len(digits) != n or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise Untranslatable("a short hex escape")
        self.i += n
        return int(digits, 16)

    def _class(self) -> _Atom:
        src = self.src
        i = self.i + 1
        negated = src[i : i + 1] == "^"
        if negated:
            i += 1
        ascii_: set[int] = set()
        high = False
        escapes: set[str] = set()
        first = True
        while True:
            if i >= len(src):
                raise Untranslatable("an open class")
            c = src[i]
            if c == "]" and not first:
                i += 1
                break
            first = False
            if c == "[" or src.startswith(("&&", "--", "||", "~~"), i):
                raise Untranslatable("a nested class or set operation")
            if c == "\\":
                e = src[i + 1 : i + 2]
                i += 2
                if e in _CLASS_ESCAPES:
                    ascii_ |= _CLASS_ESCAPES[e][1 if negated else 0]
                    high = True
                    escapes.add(e)
                    continue
                if e in _SIMPLE_ESCAPES:
                    lo = _SIMPLE_ESCAPES[e]
                elif e.isalnum() or not e:
                    raise Untranslatable(f"the class escape \\{e}")
                else:
                    lo = ord(e)
            else:
                lo = ord(c)
                i += 1
            if src[i : i + 1] == "-" and src[i + 1 : i + 2] not in ("]", ""):
                hi_c = src[i + 1]
                if hi_c == "\\":
                    raise Untranslatable("an escaped range end")
                hi = ord(hi_c)
                i += 2
                if hi < lo:
                    raise Untranslatable("a reversed range")
            else:
                hi = lo
            ascii_ |= set(range(lo, min(hi, 127) + 1))
            if hi > 127:
                high = True
        self.i = i
        if negated and any(e.swapcase() in escapes for e in escapes):
            # The regex module takes [^\d\D] (an escape and its complement) for any character.
            return _Atom(_ALL, True)
        if negated:
            return _Atom(_ALL - ascii_, True)
        return _Atom(frozenset(ascii_), high)

    def _group(self) -> None:
        src = self.src
        if src.startswith(("(?=", "(?!", "(?<=", "(?<!"), self.i):
            self.i = self._group_end(self.i)  # a lookaround: dropped whole
            self.quantifiable = False
            return
        if src.startswith("(?P=", self.i):
            end = src.find(")", self.i)
            if end < 0:
                raise Untranslatable("an open backreference")
            self.i = end + 1
            self._emit("(?:[\\x00-\\xff]*)")
            return
        if src.startswith("(?P<", self.i) or src.startswith("(?<", self.i):
            end = src.find(">", self.i)
            if end < 0:
                raise Untranslatable("an open group name")
            self.i = end + 1
        elif src.startswith(("(?:", "(?>"), self.i):
            self.i += 3
        elif src.startswith("(?", self.i):
            raise Untranslatable("inline flags or an unknown group")
        else:
            self.i += 1
        self.out.append("(?:")
        self.quantifiable = False

    def _group_end(self, start: int) -> int:
        """Offset just past the group opened at `start`."""
        src = self.src
        depth = 0
        i = start
        while i < len(src):
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c == "[":
                probe = _Translator(src)
                probe.i = i
                probe._class()
                i = probe.i
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise Untranslatable("an open group")

    def _quantifier(self) -> None:
        src = self.src
        c = src[self.i]
        if c == "{":
            end = src.find("}", self.i)
            body = src[self.i + 1 : end] if end > 0 else ""
            lo_s, comma, hi_s = body.partition(",")
            if (
                end < 0
                or not (_digits(lo_s) or (not lo_s and comma))
                or (hi_s and not _digits(hi_s))
            ):
                if end > 0 and src[self.i + 1 : self.i + 2] in _FUZZY:
                    # The regex module reads a fuzzy constraint ({e<=1}, {1<=s<=2}) there.
                    raise Untranslatable("a fuzzy constraint")
                # Not a quantifier: the regex module reads it as a literal "{".
                self.i += 1
                self._emit(_literal("{"))
                return
            lo = int(lo_s or 0)
            hi = int(hi_s) if hi_s else (lo if not comma else None)
            self.i = end + 1
            if hi is not None and hi > _WIDEN_ABOVE:
                hi = None
            elif hi == 0:
                hi = 1  # Hyperscan takes no repeat of zero: at most once is a superset
            text = f"{{{lo}}}" if hi == lo else f"{{{lo},{'' if hi is None else hi}}}"
        else:
            self.i += 1
            text = c
        if not self.quantifiable:
            raise Untranslatable("a quantifier on an assertion")
        if src[self.i : self.i + 1] in ("+", "?"):
            self.i += 1  # possessive or lazy: the same matches' ends, greedily
        self.out.append(text)
        self.quantifiable = False


def translate(source: str) -> str:
    """The Hyperscan expression over UTF-8 bytes for a `regex` pattern; Untranslatable
    when it holds a construct the translation does not take."""
    return _Translator(source).run()


class RuleFilter:
    """Which rules can match a line's text, from one Hyperscan scan of its bytes."""

    def __init__(self, pack: RulePack, hyperscan: Any) -> None:
        expressions: list[bytes] = []
        ids: list[int] = []
        self.fallbacks: list[str] = []  # rules searched for by their literals
        for index, rule in enumerate(pack.rules):
            try:
                if rule.ignore_case:
                    raise Untranslatable("ignore_case")
                translated = [translate(p.pattern) for p in rule.patterns]
            except Untranslatable as exc:
                if not rule.literals or rule.ignore_case:
                    raise
                logger.debug("rule %s: literals stand for its patterns (%s)", rule.id, exc)
                self.fallbacks.append(rule.id)
                translated = [
                    "".join(f"\\x{b:02x}" for b in lit.encode("utf-8")) for lit in rule.literals
                ]
            for expr in translated:
                expressions.append(expr.encode("ascii"))
                ids.append(index)
        self.rules = len(pack.rules)
        self._db = _database(hyperscan, expressions, ids)
        self._hs = hyperscan
        self._local = threading.local()  # a scratch space serves one thread at a time

    def rules_in(self, line: bytes | memoryview) -> set[int]:
        """Indexes (in pack order) of the rules whose patterns may match the line's text."""
        found: set[int] = set()
        add = found.add

        def on_match(id_: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
            add(id_)

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        self._db.scan(line, match_event_handler=on_match, scratch=scratch)
        return found


def _cache_dir() -> Path:
    """Where compiled databases are kept: $LOGWATCH_CACHE_DIR, else the user's cache."""
    explicit = os.environ.get("LOGWATCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "logwatch"


def _database(hyperscan: Any, expressions: list[bytes], ids: list[int]) -> Any:
    """The compiled database (about half a second for the built-in pack), from the cache
    when an earlier run compiled the same expressions with the same Hyperscan."""
    flag = hyperscan.HS_FLAG_ALLOWEMPTY | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_DOTALL
    key = hashlib.sha256(
        repr((_CACHE_VERSION, hyperscan.__version__, flag, expressions, ids)).encode()
    ).hexdigest()[:32]
    path = _cache_dir() / f"rules-{key}.hsdb"
    try:
        return hyperscan.loadb(path.read_bytes(), mode=hyperscan.HS_MODE_BLOCK)
    except Exception:  # absent, unreadable or not a database of this build: compile it
        pass
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=expressions, ids=ids, elements=len(ids), flags=[flag] * len(ids))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rules-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(hyperscan.dumpb(db))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home: compile each time
        logger.debug("cannot cache the rules' database in %s: %s", path.parent, exc)
    return db


def make_rule_filter(pack: RulePack) -> RuleFilter | None:
    """The pack's RuleFilter, or None: Hyperscan not installed (`logwatch[fast]`) or
    turned off (LOGWATCH_FILTER=aho-corasick), or a rule neither translated nor
    literal."""
    if os.environ.get("LOGWATCH_FILTER", "").strip().lower() == "aho-corasick":
        return None
    try:
        import hyperscan
    except ImportError:
        return None
    try:
        return RuleFilter(pack, hyperscan)
    except Exception as exc:  # Untranslatable, hyperscan.error (a CPU it has no build for)
        logger.info("the rules' regexes filter no lines: %s", exc)
        return None
