"""Rule pack tests: annotated samples (fail2ban style), pack validation, overrides, timeouts."""

from __future__ import annotations

import json
import logging
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from logwatch.errors import RuleError
from logwatch.model import Severity
from logwatch.rules import (
    CATEGORIES,
    VETTED_UNGUARDED_CHARS,
    RulePack,
    builtin_pack_path,
    load_rule_pack,
    target_of,
)

SAMPLES = Path(__file__).parent / "samples" / "redis"
TARGET_KEYS = ("host", "port", "endpoint")


@dataclass(frozen=True)
class Sample:
    """One annotated line: expected rule (None for no match) and fields."""

    file: str
    number: int
    line: str
    rule: str | None  # expected rule id, None when nothing may match
    near: str | None  # for a negative: the rule it is a near miss of
    fields: dict[str, str]
    source: str  # the comment naming where the line comes from

    @property
    def id(self) -> str:
        kind = self.rule or f"no-{self.near or 'rule'}"
        return f"{self.file}:{self.number}:{kind}"


def read_samples(path: Path) -> list[Sample]:
    """Parse one annotated sample file; ValueError for a malformed annotation."""
    out: list[Sample] = []
    comments: list[str] = []
    directive: tuple[str | None, str | None, dict[str, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        if raw.startswith("# match:") or raw.startswith("# nomatch"):
            if directive is not None:
                raise ValueError(f"{path.name}:{number}: two directives for one sample")
            verb, _, rest = raw[2:].partition(":") if ":" in raw else (raw[2:], "", "")
            words = shlex.split(rest)
            if verb.strip() == "match":
                if not words:
                    raise ValueError(f"{path.name}:{number}: '# match:' needs a rule id")
                fields = dict(w.split("=", 1) for w in words[1:])
                directive = (words[0], None, fields)
            else:
                directive = (None, words[0] if words else None, {})
            continue
        if raw.startswith("#"):
            comments.append(raw[1:].strip())
            continue
        if directive is None:
            raise ValueError(f"{path.name}:{number}: sample line without '# match:'/'# nomatch'")
        rule, near, fields = directive
        out.append(Sample(path.stem, number, raw, rule, near, fields, " ".join(comments)))
        comments, directive = [], None
    return out


ALL_SAMPLES = [s for p in sorted(SAMPLES.glob("*.log")) for s in read_samples(p)]
PACK = load_rule_pack()


def expected_target(sample: Sample) -> str | None:
    if "target" in sample.fields:
        return sample.fields["target"]
    return target_of(sample.fields)


@pytest.mark.parametrize("sample", [pytest.param(s, id=s.id) for s in ALL_SAMPLES])
def test_sample(sample: Sample) -> None:
    assert sample.source, "every sample names its source (client and version) in a comment"
    matches = PACK.match_all(sample.line)
    if sample.rule is None:
        assert matches == [], f"look-alike matched {[m.rule.id for m in matches]}"
        return
    assert [m.rule.id for m in matches] == [sample.rule], "exactly the expected rule matches"
    m = matches[0]
    assert PACK.match(sample.line) == m
    assert m.line == sample.line
    if sample.file != "decoys":
        assert m.rule.category == sample.file, "samples sit in the file of their category"
    want = {k: v for k, v in sample.fields.items() if k != "target"}
    assert {k: m.fields.get(k) for k in want} == want
    assert m.target == expected_target(sample)


def test_every_rule_has_positive_and_negative_samples() -> None:
    ids = {r.id for r in PACK.rules}
    positives = {s.rule for s in ALL_SAMPLES if s.rule}
    negatives = {s.near for s in ALL_SAMPLES if s.near}
    assert ids - positives == set(), "rules without a positive sample"
    assert ids - negatives == set(), "rules without a near-miss negative sample"
    assert (positives | negatives) - ids == set(), "samples name rules the pack lacks"


def test_every_category_has_two_client_versions() -> None:
    by_file: dict[str, set[str]] = {}
    for s in ALL_SAMPLES:
        if s.rule:
            by_file.setdefault(s.file, set()).add(s.source)
    for category in CATEGORIES:
        assert len(by_file.get(category, set())) >= 2, category


def test_builtin_pack_is_sane() -> None:
    assert builtin_pack_path().is_file()
    ids = [r.id for r in PACK.rules]
    assert len(ids) == len(set(ids))
    assert set(CATEGORIES) <= {r.category for r in PACK.rules}
    for rule in PACK.rules:
        assert rule.hint and rule.description and rule.literals, rule.id
        assert rule.origin == str(builtin_pack_path())
        # App-side rules need a repeat: a single failed request is a blip, not an outage.
        assert 1 <= rule.threshold <= 3, rule.id


def test_literals_prefilter_every_positive_sample() -> None:
    # A literal missing from a matching line would silently hide the match.
    for s in ALL_SAMPLES:
        if s.rule:
            rule = next(r for r in PACK.rules if r.id == s.rule)
            assert any(lit in s.line for lit in rule.literals), s.id


def test_match_in_multiline_record_reports_its_line() -> None:
    text = (
        "2026-03-01 12:00:00,123 ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/app/morningai/views/feed.py", line 57, in get_feed\n'
        "redis.exceptions.ConnectionError: "
        "Error 111 connecting to redis:6379. Connection refused.\r\n"
        "\n"
        "During handling of the above exception, another exception occurred:"
    )
    m = PACK.match(text)
    assert m is not None and m.rule.id == "connection-refused"
    assert m.line == (
        "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."
    )
    assert m.target == "redis:6379"


def test_no_match_on_empty_and_plain_text() -> None:
    assert PACK.match("") is None
    assert PACK.match_all("GET /healthz 200") == []


# ---- pack files: errors, overrides ----------------------------------------------------

GOOD = """
[[rule]]
id = "x"
category = "connection"
severity = "warning"
patterns = ['''boom (?P<host>\\S+):(?P<port>\\d+)''']
literals = ["boom"]
hint = "look"
"""


def write(tmp_path: Path, text: str, name: str = "my.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rule_text(**keys: object) -> str:
    base: dict[str, object] = {
        "id": "x",
        "category": "connection",
        "severity": "error",
        "patterns": ["boom"],
    }
    base.update(keys)
    lines = ["[[rule]]"]
    for key, value in base.items():
        if value is None:
            continue
        if isinstance(value, str):
            lines.append(f"{key} = '{value}'")
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, list):
            lines.append(f"{key} = [" + ", ".join(f"'{v}'" for v in value) + "]")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[[rule]\nid = 1", "my.toml: invalid TOML: ", id="bad-toml"),
        pytest.param("[[rule]]\nid x = 1\n", "(at line 2, column 4)", id="bad-toml-position"),
        pytest.param(rule_text(id=None), "my.toml: rule 1: missing 'id'", id="missing-id"),
        pytest.param(rule_text(id="Bad_Id"), "rule 'Bad_Id': id must be kebab-case", id="bad-id"),
        pytest.param(
            rule_text() + rule_text(), "my.toml: rule 'x': duplicate id in this file", id="dup-id"
        ),
        pytest.param(rule_text(patern="a"), "my.toml: rule 'x': unknown key 'patern'", id="key"),
        pytest.param(
            rule_text(category="Fooo!"), "rule 'x': invalid category 'Fooo!'", id="category"
        ),
        pytest.param(rule_text(category=None), "rule 'x': missing 'category'", id="no-category"),
        pytest.param(
            rule_text(severity="fatal"), "rule 'x': unknown severity 'fatal'", id="severity"
        ),
        pytest.param(
            rule_text(threshold=0), "rule 'x': threshold must be an integer >= 1, not 0", id="thr"
        ),
        pytest.param(rule_text(threshold=1.5), "threshold must be an integer", id="thr-float"),
        pytest.param(rule_text(window_s=0), "window_s must be a number of seconds > 0", id="win"),
        pytest.param(rule_text(patterns=[]), "rule 'x': 'patterns' is missing or empty", id="pe"),
        pytest.param(rule_text(patterns=None), "'patterns' is missing or empty", id="no-patterns"),
        pytest.param(
            rule_text(patterns=["ok", "(unclosed"]),
            "my.toml: rule 'x': pattern 2 does not compile: missing ) at position 9",
            id="regex",
        ),
        pytest.param(
            rule_text(patterns=["a*"]), "rule 'x': pattern 1 matches the empty string", id="empty"
        ),
        pytest.param(rule_text(literals=[""]), "literals must be a list of non-empty", id="lit"),
        pytest.param(rule_text(hint=3), "rule 'x': hint must be a string, not 3", id="hint"),
        pytest.param(rule_text(enabled="no"), "enabled must be true or false", id="enabled"),
        pytest.param("[rules]\nid = 'x'\n", "my.toml: unknown top-level key 'rules'", id="top"),
        pytest.param("rule = 3\n", "'rule' must be an array of tables", id="rule-not-table"),
    ],
)
def test_bad_pack_is_rejected_with_one_line_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as info:
        load_rule_pack([path], include_builtin=False)
    text_of = str(info.value)
    assert message in text_of
    assert text_of.startswith(str(path)) and "\n" not in text_of


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="cannot read rule pack: No such file or directory"):
        load_rule_pack([tmp_path / "nope.toml"], include_builtin=False)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(RuleError, match="invalid TOML"):
        load_rule_pack([bad], include_builtin=False)


def test_user_pack_adds_rule_first_with_fields(tmp_path: Path) -> None:
    pack = load_rule_pack([write(tmp_path, GOOD)])
    assert pack.rules[0].id == "x" and len(pack.rules) == len(PACK.rules) + 1
    rule = pack.rules[0]
    assert (rule.severity, rule.threshold, rule.window_s) == (Severity.WARNING, 3, 60.0)
    assert rule.origin == str(tmp_path / "my.toml") and rule.description == "x"
    m = pack.match(
        "12:00:00 boom cache-1:6380 and Error 111 connecting to r:1. Connection refused."
    )
    assert m is not None and m.rule.id == "x" and m.target == "cache-1:6380"


def test_user_pack_replaces_and_disables_builtin_rules(tmp_path: Path) -> None:
    text = rule_text(id="oom", category="oom", severity="warning", patterns=["maxmemory"])
    text += rule_text(id="readonly-replica", enabled=False, category=None, patterns=None)
    pack = load_rule_pack([write(tmp_path, text)])
    ids = [r.id for r in pack.rules]
    assert "readonly-replica" not in ids
    assert ids.index("oom") == [r.id for r in PACK.rules].index("oom")  # keeps its place
    oom = pack.rules[ids.index("oom")]
    assert oom.severity is Severity.WARNING and oom.origin.endswith("my.toml")
    assert pack.match("ReadOnlyError: You can't write against a read only replica.") is None


def test_disabling_an_unknown_rule_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "[[rule]]\nid = 'gone'\nenabled = false\n")
    with caplog.at_level(logging.WARNING, logger="logwatch.rules"):
        pack = load_rule_pack([path])
    assert len(pack.rules) == len(PACK.rules)
    assert "rule 'gone': disabled but no earlier pack defines it" in caplog.text


def test_rule_without_literals_always_runs(tmp_path: Path) -> None:
    pack = load_rule_pack([write(tmp_path, rule_text(patterns=["fatal (?P<endpoint>/\\S+)"]))])
    m = pack.match("fatal /run/r.sock")
    assert m is not None and m.rule.id == "x" and m.target == "/run/r.sock"


def test_ignore_case_rule(tmp_path: Path) -> None:
    text = rule_text(patterns=["redis down"], literals=["Redis Down"], ignore_case=True)
    pack = load_rule_pack([write(tmp_path, text)], include_builtin=False)
    assert pack.rules[0].literals == ("redis down",)
    assert pack.match("ALERT: REDIS DOWN") is not None
    assert pack.match("redis up") is None


def test_catastrophic_pattern_times_out_and_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # `(a+)+$` is optimised by the regex module; `(a|aa)+$` still backtracks exponentially.
    text = rule_text(id="slow", patterns=["(a|aa)+$"], literals=["aaa"])
    text += rule_text(id="fast", patterns=["b$"], literals=["b"])
    pack = load_rule_pack([write(tmp_path, text)], include_builtin=False, match_timeout_s=0.05)
    line = "a" * 40 + "b"
    with caplog.at_level(logging.WARNING, logger="logwatch.rules"):
        first = pack.match(line)
        second = pack.match(line)
    assert first is not None and first.rule.id == "fast" and second == first
    assert pack.timeouts == {"slow": 2}
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["rule slow: match timed out after 0.1s; skipped"]


def test_empty_pack_matches_nothing() -> None:
    pack = RulePack([])
    assert pack.match("Error 111 connecting to r:1. Connection refused.") is None


@pytest.mark.parametrize(
    "literals",
    [
        pytest.param(["connecting to", "connect", "closed by server"], id="contained"),
        pytest.param(["Timeout reading", "Timeout writing", "Time"], id="shared-prefix"),
        pytest.param(["a.b", "(x)", "[y]"], id="regex-metachars"),
    ],
)
def test_rules_run_exactly_when_one_of_their_literals_is_in_the_text(
    tmp_path: Path, literals: list[str]
) -> None:
    """Overlapping and contained literals each select their own rule."""
    rules = "".join(
        f'[[rule]]\nid = "r{i}"\ncategory = "connection"\nseverity = "error"\n'
        f"literals = [{json.dumps(lit)}]\npatterns = [{json.dumps(re.escape(lit))}]\n"
        f'hint = "h"\n\n'
        for i, lit in enumerate(literals)
    )
    path = tmp_path / "pack.toml"
    path.write_text(rules)
    pack = load_rule_pack([path], include_builtin=False)
    texts = [s.line for s in ALL_SAMPLES] + ["xa.by", "(x)", "a-b", "[y", "Tim", "connecting to"]
    for text in texts:
        got = [m.rule.id for m in pack.match_all(text)]
        assert got == [f"r{i}" for i, lit in enumerate(literals) if lit in text], text


def test_literal_selection_agrees_with_trying_every_rule() -> None:
    """Every sample, through the pack's selection and through each rule in turn."""
    for sample in ALL_SAMPLES:
        every = [r.id for r in PACK.rules if PACK.match_rule(r, sample.line) is not None]
        assert [m.rule.id for m in PACK.match_all(sample.line)] == every, sample.line


def test_match_rule_checks_one_rule() -> None:
    oom = next(r for r in PACK.rules if r.id == "oom")
    line = "OutOfMemoryError: command not allowed when used memory > 'maxmemory'."
    found = PACK.match_rule(oom, line)
    assert found is not None and found.rule is oom
    assert PACK.match_rule(oom, "Error 111 connecting to r:1. Connection refused.") is None


# -- the match timeout: every user rule, built-in rules on long texts -------------------


def test_only_builtin_rules_are_vetted(tmp_path: Path) -> None:
    """A user's rule, and a user's replacement of a built-in one, always run guarded."""
    replacement = rule_text(id="oom", category="oom", patterns=["OOM"], literals=["OOM"])
    pack = load_rule_pack([write(tmp_path, replacement + rule_text(id="mine"))])
    vetted = {r.id: r.vetted for r in pack.rules}
    assert vetted["mine"] is False and vetted["oom"] is False
    assert all(v for rule_id, v in vetted.items() if rule_id not in {"mine", "oom"})


class RecordingPattern:
    """Stands in for a compiled pattern: records the timeout each search was given."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def search(self, text: str, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)


def test_a_vetted_rule_runs_unguarded_only_on_short_texts() -> None:
    """Skipping the timeout for built-ins must stop at long texts; user rules keep it."""
    base = PACK.rules[0]
    assert base.vetted
    vetted, user = RecordingPattern(), RecordingPattern()
    pack = RulePack(
        [
            replace(base, id="vetted", vetted=True, literals=("aaa",), patterns=(vetted,)),  # type: ignore[arg-type]
            replace(base, id="user", vetted=False, literals=("aaa",), patterns=(user,)),  # type: ignore[arg-type]
        ],
        match_timeout_s=0.5,
    )
    short, long = "aaa", "aaa" + "x" * VETTED_UNGUARDED_CHARS
    assert pack.match(short) is None and pack.match(long) is None
    assert vetted.timeouts == [None, 0.5]
    assert user.timeouts == [0.5, 0.5]


ADVERSARIAL = [
    "Error 1 connecting to ",
    "Error connecting to a:1. ",
    "Error Multiple exceptions: [Errno 99] x, ",
    "connecting to unix socket: /a/b ",
    "a:1:2:3:4:5 ",
    "Error while reading from ",
    "Command # 1 (SET a b) of pipeline caused error: ",
    "could not connect to Redis instance: ",
    "\t \t ",
    "Error accepting a client connection: ",
    "Could not create server TCP listening socket ",
]


@pytest.mark.parametrize("piece", ADVERSARIAL)
def test_builtin_patterns_do_not_backtrack_on_texts_they_run_unguarded(piece: str) -> None:
    """Up to the length where the timeout is left off, repeated near-misses stay cheap: a
    backtracking pattern would take seconds here, a linear one microseconds (0.2 s is a
    margin of thousands, not a speed target)."""
    text = (piece * (VETTED_UNGUARDED_CHARS // len(piece)))[:VETTED_UNGUARDED_CHARS]
    for rule in PACK.rules:
        for pattern in rule.patterns:
            pattern.search(text, timeout=0.2)  # TimeoutError fails the test


# -- an access log's request lines: any rule's words in a URL are not a Redis error ---------

_LITERALS = sorted({lit for rule in PACK.rules for lit in rule.literals})


def _request_lines(word: str) -> list[str]:
    """Access-log lines (nginx/Apache combined) whose request holds word in its URL."""
    lines = []
    for w in {word.replace(" ", "%20"), word.replace(" ", "+"), word.replace(" ", "-")}:
        for path in (f"/{w}", f"/api/{w}/x", f"/?q={w}", f"/search?a=1&err={w}", f"/{w}.html"):
            for method in ("GET", "POST"):
                lines.append(
                    f'203.0.113.9 - - [26/Nov/2026:14:50:01 +0000] "{method} {path} HTTP/1.1"'
                    ' 404 179 "-" "Mozilla/5.0 (scanner)"'
                )
    if " " not in word:  # a malformed request target: a bare token, logged as sent
        lines.append(f'10.0.0.1 - - [26/Nov/2026:14:50:01 +0000] "GET {word} HTTP/1.1" 400 0')
    return lines


@pytest.mark.parametrize("word", sorted({*_LITERALS, "BusyLoadingError", "MaxConnectionsError"}))
def test_a_rule_word_in_a_request_url_opens_nothing(word: str) -> None:
    """The red team's scanner 404s (`GET /WRONGPASS HTTP/1.1`, `/NOPERM`,
    `/BusyLoadingError`, `/MaxConnectionsError`) opened critical auth/loading/max_clients
    incidents: every rule wants the error's own context, never a bare token in a URL."""
    for line in _request_lines(word):
        assert PACK.match(line) is None, line


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("redis GET feed:1 failed: MaxConnectionsError", "client-pool-exhausted"),
        ("redis.MaxConnectionsError('Too many connections')", "client-pool-exhausted"),
        ("cache write failed: CLUSTERDOWN", "cluster-down"),
        ('{"error_type":"BusyLoadingError"}', "loading"),
        ("retry after BusyLoadingError.", "loading"),
        ("NOPERM No permissions to access a key", "auth-no-permission"),
        (
            "redis.exceptions.NoPermissionError: No permissions to access a channel",
            "auth-no-permission",
        ),
        ("ResponseError: WRONGPASS invalid password", "auth-failed"),
    ],
)
def test_class_names_and_codes_in_their_own_context_still_match(line: str, rule: str) -> None:
    m = PACK.match(line)
    assert m is not None and m.rule.id == rule, line
