"""logwatch.regexfilter's RuleFilter: which rules one scan of a line's bytes names (by
their place in the pack), the fallback to a rule's literals, when there is no filter at
all (make_rule_filter), and the compiled database's cache under $LOGWATCH_CACHE_DIR.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
import regex

from logwatch.model import Severity
from logwatch.regexfilter import RuleFilter, Untranslatable, make_rule_filter
from logwatch.rules import Rule, RulePack

hyperscan = pytest.importorskip("hyperscan")


def _rule(
    id_: str, *patterns: str, literals: tuple[str, ...] = (), ignore_case: bool = False
) -> Rule:
    flags = regex.IGNORECASE if ignore_case else 0
    return Rule(
        id=id_,
        category="connection",
        severity=Severity.ERROR,
        patterns=tuple(regex.compile(p, flags) for p in patterns),
        literals=literals,
        threshold=1,
        window_s=60.0,
        hint="",
        description="",
        origin="test",
        ignore_case=ignore_case,
    )


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own cache: none reads another's database."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LOGWATCH_CACHE_DIR", str(cache))
    monkeypatch.delenv("LOGWATCH_FILTER", raising=False)
    return cache


_PACK = RulePack(
    [
        _rule("refused", r"Connection refused"),
        _rule("oom", r"OOM command not allowed", r"used_memory \d+ > maxmemory"),
        _rule("auth", r"(?i:WRONGPASS)", literals=("WRONGPASS", "wrongpass")),  # untranslatable
        _rule("timeout", r"Timeout (?:reading|writing)"),
    ]
)


@pytest.mark.parametrize(
    ("line", "want"),
    [
        (b"x: Connection refused", {0}),
        (b"OOM command not allowed when used memory", {1}),
        (b"used_memory 12 > maxmemory", {1}),  # a rule's second pattern names the rule
        (b"WRONGPASS invalid", {2}),  # by its literal
        (b"Timeout writing to socket", {3}),
        (b"Timeout reading; Connection refused", {0, 3}),
        (b"used_memory x > maxmemory", set()),
        (b"", set()),
        ("caf\u00e9 Connection refused".encode(), {0}),
    ],
)
def test_a_scan_names_the_rules_by_their_place_in_the_pack(line: bytes, want: set[int]) -> None:
    found = RuleFilter(_PACK, hyperscan)
    assert found.rules == 4
    assert found.fallbacks == ["auth"]
    assert found.rules_in(line) == want
    assert found.rules_in(memoryview(line)) == want


def test_a_rule_that_cannot_be_translated_is_named_by_its_literals_only() -> None:
    pack = RulePack([_rule("x", r"\p{Lu}oom", literals=("Boom", "\u00c9oom"))])
    found = RuleFilter(pack, hyperscan)
    assert found.fallbacks == ["x"]
    assert found.rules_in(b"a Boom") == {0}
    assert found.rules_in("\u00c9oom".encode()) == {0}
    assert found.rules_in(b"a Zoom") == set()  # the pattern matches; no literal is there
    assert found.rules_in(b"a boom") == set()


def test_a_fallback_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="logwatch.regexfilter"):
        RuleFilter(RulePack([_rule("x", r"(?i)boom", literals=("boom",))]), hyperscan)
    assert [r.getMessage() for r in caplog.records] == [
        "rule x: literals stand for its patterns (inline flags or an unknown group)"
    ]


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (_rule("x", r"(?i)boom"), "inline flags or an unknown group"),
        (_rule("x", r"boom", literals=("boom",), ignore_case=True), "ignore_case"),
    ],
)
def test_no_filter_is_logged_with_its_reason(
    caplog: pytest.LogCaptureFixture, rule: Rule, reason: str
) -> None:
    with caplog.at_level(logging.INFO, logger="logwatch.regexfilter"):
        assert make_rule_filter(RulePack([rule])) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"the rules' regexes filter no lines: {reason}"
    ]


@pytest.mark.parametrize(
    "rule",
    [
        _rule("nolit", r"\p{L}oom"),  # untranslatable, no literal to stand for it
        _rule("case", r"boom", literals=("boom",), ignore_case=True),  # literals lower-cased
    ],
)
def test_a_rule_neither_translated_nor_literal_leaves_no_filter(rule: Rule) -> None:
    pack = RulePack([_rule("ok", "fine"), rule])
    with pytest.raises(Untranslatable):
        RuleFilter(pack, hyperscan)
    assert make_rule_filter(pack) is None  # every line goes to the rules


def test_a_pattern_that_matches_nothing_at_all_names_its_rule_for_every_line() -> None:
    """An empty match is a match: a rule whose pattern matches the empty text (`x?`, one
    reduced to nothing by its dropped assertions) is named for every line."""
    pack = RulePack([_rule("empty", r"x?"), _rule("anchors", r"^$"), _rule("other", "y")])
    found = RuleFilter(pack, hyperscan)
    assert found.rules_in(b"") == {0, 1}
    assert found.rules_in(b"abc") == {0, 1}
    assert found.rules_in(b"y") == {0, 1, 2}


@pytest.mark.parametrize("value", ["aho-corasick", " Aho-Corasick\n", "AHO-CORASICK"])
def test_the_filter_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LOGWATCH_FILTER", value)
    assert make_rule_filter(_PACK) is None


@pytest.mark.parametrize("value", [None, "", "hyperscan", "aho"])
def test_otherwise_the_filter_is_hyperscans(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("LOGWATCH_FILTER", value)
    found = make_rule_filter(_PACK)
    assert isinstance(found, RuleFilter)
    assert found.rules_in(b"Timeout reading; Connection refused") == {0, 3}


def test_without_hyperscan_there_is_no_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import hyperscan: ImportError
    assert make_rule_filter(_PACK) is None


class _Counting:
    """Hyperscan, counting its compiles; `version` stands for another build's."""

    def __init__(self, version: str | None = None) -> None:
        self.compiles = 0
        self.__version__ = version or hyperscan.__version__

    def __getattr__(self, name: str) -> Any:
        return getattr(hyperscan, name)

    def Database(self, *args: Any, **kwargs: Any) -> Any:
        self.compiles += 1
        return hyperscan.Database(*args, **kwargs)


_LINE = b"Timeout reading; Connection refused"


def test_a_thread_makes_its_scratch_space_once() -> None:
    """A scan needs a scratch space; a line's scan does not allocate one anew."""
    made: list[int] = []

    class Counting(_Counting):
        def Scratch(self, db: Any) -> Any:
            made.append(1)
            return hyperscan.Scratch(db)

    found = RuleFilter(_PACK, Counting())
    for _ in range(3):
        assert found.rules_in(_LINE) == {0, 3}
    assert made == [1]
    done = threading.Thread(target=lambda: found.rules_in(_LINE))
    done.start()
    done.join()
    assert made == [1, 1]  # another thread, its own


def test_a_database_compiled_once_is_loaded_from_the_cache(_cache: Path) -> None:
    first = _Counting()
    assert RuleFilter(_PACK, first).rules_in(_LINE) == {0, 3}
    assert first.compiles == 1
    assert [p.name.startswith("rules-") for p in _cache.iterdir()] == [True]  # no temp left
    again = _Counting()
    assert RuleFilter(_PACK, again).rules_in(_LINE) == {0, 3}
    assert again.compiles == 0


def test_another_pack_or_another_hyperscan_compiles_its_own(_cache: Path) -> None:
    """Same expressions, other rules (a pattern moved to a rule of its own), or another
    Hyperscan build: a database of the cache would answer wrong, so none is reused."""
    one = RulePack([_rule("a", "foo", "bar")])
    two = RulePack([_rule("a", "foo"), _rule("b", "bar")])
    assert RuleFilter(one, _Counting()).rules_in(b"bar") == {0}
    counting = _Counting()
    assert RuleFilter(two, counting).rules_in(b"bar") == {1}
    assert counting.compiles == 1
    other = _Counting(version="0.0.1-other")
    assert RuleFilter(two, other).rules_in(b"bar") == {1}
    assert other.compiles == 1
    assert len(list(_cache.glob("rules-*.hsdb"))) == 3


def test_the_cache_is_made_where_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / "a" / "b" / "c"
    monkeypatch.setenv("LOGWATCH_CACHE_DIR", str(deep))
    RuleFilter(_PACK, hyperscan)
    assert len(list(deep.glob("rules-*.hsdb"))) == 1


def test_a_cache_that_cannot_be_written_only_costs_a_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LOGWATCH_CACHE_DIR", str(blocker / "cache"))
    for _ in range(2):
        counting = _Counting()
        with caplog.at_level(logging.DEBUG, logger="logwatch.regexfilter"):
            assert RuleFilter(_PACK, counting).rules_in(_LINE) == {0, 3}
        assert counting.compiles == 1
    said = f"cannot cache the rules' database in {blocker / 'cache'}: "
    told = [r.getMessage() for r in caplog.records if not r.getMessage().startswith("rule ")]
    assert [m[: len(said)] for m in told] == [said, said]
    assert all(m[len(said) :].startswith("[Errno ") for m in told)


def test_the_database_is_written_in_the_cache_whatever_the_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written next to its place and renamed there: a system temporary directory that is
    missing (or on another file system) does not keep the cache from being written."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-dir"))
    RuleFilter(_PACK, _Counting())
    again = _Counting()
    RuleFilter(_PACK, again)
    assert again.compiles == 0


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({"LOGWATCH_CACHE_DIR": "explicit"}, "explicit"),
        ({"LOGWATCH_CACHE_DIR": "", "XDG_CACHE_HOME": "xdg"}, "xdg/logwatch"),
        ({"XDG_CACHE_HOME": "xdg"}, "xdg/logwatch"),
        ({"XDG_CACHE_HOME": ""}, "home/.cache/logwatch"),
        ({}, "home/.cache/logwatch"),
    ],
)
def test_where_the_cache_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], where: str
) -> None:
    """$LOGWATCH_CACHE_DIR, else $XDG_CACHE_HOME/logwatch, else ~/.cache/logwatch."""
    monkeypatch.delenv("LOGWATCH_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key, value in env.items():
        monkeypatch.setenv(key, str(tmp_path / value) if value else "")
    RuleFilter(_PACK, hyperscan)
    assert [p.parent for p in tmp_path.rglob("rules-*.hsdb")] == [tmp_path / where]
