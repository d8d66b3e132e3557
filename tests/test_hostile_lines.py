"""Hostile lines: every regex that runs over log text is linear in the line, or bounded by
a timeout that switches a rule off when it keeps firing.

A pattern that backtracks in quadratic time is invisible on a 200-character line and takes
seconds on a 64 KB one, so each is run over long near misses (a fragment that almost
starts a match, repeated; a prefix that starts one, then a long run that never finishes
it) with a bound that linear code meets with a wide margin (milliseconds) and a quadratic
pattern cannot (seconds at this size). Then the agent end to end: hostile lines must not
delay the next incident.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import regex

from logwatch import explain, matching, redact
from logwatch.matching import Matcher, message_of, normalise
from logwatch.model import Record, Severity
from logwatch.redact import Redactor
from logwatch.rules import OFF_FOR_S, TRIP_WINDOW_S, Rule, RulePack, load_rule_pack
from logwatch.timestamps import parse_line_start

REPO = Path(__file__).resolve().parent.parent
SIZE = 64_000  # characters per hostile line (the reader cuts lines at 64 KiB; records too)
BOUND_S = 1.0  # CPU-s per call (not wall: a loaded machine must not fail it): linear code
# takes milliseconds here, quadratic code seconds

# Fragments that almost start a match of some pattern, repeated to SIZE.
UNITS = [
    "a", "a.", "a@", "a:", "a-", "1", "1.", "[", "[a:", "A ", "a:/", "a:1", "\\", '"', "'",
    " ", "\t", "<", "0x", "-1", "w1234567", "Aa1/", "a\\\"", "\\\"", "a b",
    "password", "password ", 'password"', 'password="', 'pass: "', "secret=", "AUTH ",
    "auth\t", '"AUTH" ', '"AUTH" "', "eyJ", "eyJa.", "eyJaaaa.aaaa.", "xoxb-", "ghp_",
    "sk_live_", "AKIA", "redis-cli ", "redis-cli -a", "bearer ", "authorization ",
    "authorization: ", "://", "a://", "a://a:", "-----BEGIN PRIVATE KEY-----", "--pass",
    "requirepass ", "connecting to ", "Error 111 connecting to a:1", "[Errno 111] ",
    "Error Multiple exceptions: ", "while reading from a:1", "Timeout reading from ",
    "a://:a b", "a://a:a/", "a://a:a@", "acl setuser ", "user a on ", ">a ", '">a', "#",
    "auth-pass ", "sentinel auth-pass a ", '"requirepass" "a" ',
]  # fmt: skip
# A prefix that starts a match, then a long run of one fragment that never completes it.
PREFIXES = [
    "Error 111 connecting to ", "Error connecting to ", "Error while reading from ",
    "Timeout reading from ", "Timeout connecting to ", "Error Multiple exceptions: ",
    "Error 1 connecting to unix socket: ", "Error accepting a client connection: ",
    "password=", 'password="', "redis://", "AUTH ", "-----BEGIN PRIVATE KEY-----", "eyJ",
    "Authorization: ", "redis-cli ", "[", "x@", "x://", "redis://:", "redis://u:",
    "ACL SETUSER a on ", "user a on ", "sentinel auth-pass ",
]  # fmt: skip
RUNS = [
    "a",
    "a:1",
    "a:",
    "1",
    "a.",
    "a-",
    ":",
    "\\",
    "a@",
    "[a:",
    "/",
    "Aa1/",
    "a:1.",
    "\n",
    " ",
    "\t",
    "a b",
    ">a ",
    '"<a',
]


def hostile_texts() -> list[tuple[str, str]]:
    """(what, text) for every near miss, each about SIZE characters."""
    rng = random.Random(11)
    hexes = "".join(rng.choice("0123456789abcdef") for _ in range(SIZE))
    texts = [
        ("random hex", hexes),
        ("refused + hex", f"Error 111 connecting to 10.0.0.5:6379. {hexes}"),
    ]
    texts += [(f"{u!r} repeated", u * (SIZE // len(u))) for u in UNITS]
    literals = sorted({lit for rule in load_rule_pack().rules for lit in rule.literals})
    texts += [
        (f"{lit!r} a:1 repeated", f"{lit} a:1" * (SIZE // (len(lit) + 4))) for lit in literals
    ]
    texts += [(f"{p!r} + {r!r} run", p + r * (SIZE // len(r))) for p in PREFIXES for r in RUNS]
    return texts  # fmt: skip


TEXTS = hostile_texts()
PARTS = 3  # the whole-text stages' tests run over a third of TEXTS each


def slowest(
    run: Callable[[str], Any], texts: list[tuple[str, str]] | None = None
) -> tuple[float, str]:
    """The longest one call of run took over texts (all of TEXTS), and on which text."""
    worst = (0.0, "")
    for what, text in TEXTS if texts is None else texts:
        started = time.process_time()
        run(text)
        took = time.process_time() - started
        if took > worst[0]:
            worst = (took, what)
        if took > BOUND_S:
            break  # one is enough to fail; the rest would only add their seconds
    return worst


def _pattern_id(pattern: Any) -> str:
    return str(pattern.pattern)[:60]


@pytest.mark.parametrize(
    "pattern", [pytest.param(p, id=_pattern_id(p)) for p, _ in matching._MASKS]
)
def test_each_signature_mask_is_linear_on_hostile_lines(pattern: Any) -> None:
    took, what = slowest(lambda text: pattern.sub("<x>", text))
    assert took < BOUND_S, (what, took)


@pytest.mark.parametrize(
    "pattern", [pytest.param(p, id=_pattern_id(p)) for p, _ in redact._PATTERNS]
)
def test_each_redaction_pattern_is_linear_on_hostile_lines(pattern: Any) -> None:
    took, what = slowest(lambda text: pattern.sub("<x>", text))
    assert took < BOUND_S, (what, took)


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(normalise, id="normalise"),
        pytest.param(message_of, id="message_of"),
        pytest.param(Redactor(["known-secret-1", "known-secret-1-longer"]), id="redact"),
        pytest.param(parse_line_start, id="parse_line_start"),
        pytest.param(explain._ERRORISH.search, id="logwatch-test-errorish"),
    ],
)
@pytest.mark.parametrize("part", range(PARTS))
def test_text_stage_is_linear_on_hostile_lines(run: Callable[[str], Any], part: int) -> None:
    took, what = slowest(run, TEXTS[part::PARTS])  # in parts, that `pytest -n` spreads
    assert took < BOUND_S, (what, took)


def test_builtin_rules_are_linear_on_hostile_lines() -> None:
    """Without any timeout: a built-in rule that needed one would stall every line."""
    pack = RulePack(load_rule_pack().rules, match_timeout_s=3600)
    for rule in pack.rules:
        for pattern in rule.patterns:
            took, what = slowest(lambda text, p=pattern: p.search(text))  # type: ignore[misc]
            assert took < BOUND_S, (rule.id, pattern.pattern[:80], what, took)


def test_hex_tail_after_a_refused_line_does_not_stall_the_matcher() -> None:
    """Found by the adversarial pass: one normalisation of a refused line followed by
    45,000 random hex characters took 12.6 s (the email mask from every position)."""
    rng = random.Random(5)
    line = (
        "2026-03-01 12:00:00,001 ERROR [morningai.app] redis.exceptions.ConnectionError:"
        " Error 111 connecting to 10.0.0.5:6379. Connection refused. "
        + "".join(rng.choice("0123456789abcdef") for _ in range(45_000))
    )
    matcher = Matcher(load_rule_pack(), default_target="redis", redact=Redactor())
    started = time.process_time()
    for n in range(5):  # five distinct lines: the per-line cache does not help
        text = line + "0" * n
        event = matcher.match(Record(source="a.log", line=n, offset=0, end=len(text),
                                     time=datetime.now(UTC), text=text, lines=1))  # fmt: skip
        assert event is not None and event.target == "10.0.0.5:6379"
    assert time.process_time() - started < 5 * BOUND_S


# -- a user rule that keeps timing out -------------------------------------------------


class FakeMonotonic:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _rule(pattern: str, *, vetted: bool = False) -> Rule:
    return Rule(id="evil-backtracking", category="connection", severity=Severity.ERROR,
                patterns=(regex.compile(pattern),), literals=(), threshold=1, window_s=60.0,
                hint="", description="", origin="evil.toml", vetted=vetted)  # fmt: skip


HOSTILE_A = "a" * 40_000 + "!"  # `(a+)+$` backtracks exponentially: it always times out


def test_user_rule_that_keeps_timing_out_is_switched_off_then_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found by the adversarial pass: `(a+)+$` on 40,000 a's was warned about once, but
    every line still paid the timeout (20 lines: the next incident 21.8 s late)."""
    clock = FakeMonotonic()
    pack = RulePack([_rule(r"(a+)+$")], match_timeout_s=0.05, monotonic=clock)
    caplog.set_level(logging.WARNING, logger="logwatch.rules")
    for _ in range(3):
        assert pack.match(HOSTILE_A) is None
        clock.now += 1
    assert pack.switched_off() == ["evil-backtracking"]
    started = time.process_time()
    for _ in range(20):  # switched off: no line pays the timeout any more
        assert pack.match(HOSTILE_A) is None
    assert time.process_time() - started < 0.05
    assert pack.timeouts == {"evil-backtracking": 3}
    off = [r.getMessage() for r in caplog.records if "switched off" in r.getMessage()]
    assert off == [
        "rule evil-backtracking (evil.toml): timed out 3 times in 60s; switched off for 600s"
    ]
    clock.now += OFF_FOR_S  # then it is tried again
    assert pack.switched_off() == []
    assert pack.match(HOSTILE_A) is None
    assert pack.timeouts == {"evil-backtracking": 4}
    assert pack.match("aaa") is not None  # and still matches what it matches in time


class _Catastrophic:
    """A pattern that always times out, recording the timeout it was given."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def search(self, text: str, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)
        raise TimeoutError


def test_a_user_rule_that_timed_out_gets_a_tenth_of_the_timeout_until_it_is_switched_off() -> None:
    """The benchmark's user-rule case (20 lines that time out) cost 3 full timeouts before the
    switch-off; on probation the 2nd and 3rd cost a tenth each: about 1.2 s, not 3 s."""
    clock = FakeMonotonic()
    pattern = _Catastrophic()
    rule = dataclasses.replace(_rule("x"), patterns=(pattern,))  # type: ignore[arg-type]
    pack = RulePack([rule], match_timeout_s=1.0, monotonic=clock)
    for _ in range(20):
        assert pack.match("aaa") is None
        clock.now += 1
    assert pattern.timeouts == pytest.approx([1.0, 0.1, 0.1])
    assert pack.switched_off() == ["evil-backtracking"]
    clock.now += OFF_FOR_S  # tried again: a full timeout, then probation again
    pack.match("aaa")
    clock.now += TRIP_WINDOW_S + 1  # a timeout older than the window is forgiven
    pack.match("aaa")
    assert pattern.timeouts[3:] == pytest.approx([1.0, 1.0])


def test_timeouts_spread_over_more_than_the_window_do_not_switch_a_rule_off() -> None:
    clock = FakeMonotonic()
    pack = RulePack([_rule(r"(a+)+$")], match_timeout_s=0.05, monotonic=clock)
    for _ in range(5):
        assert pack.match(HOSTILE_A) is None
        clock.now += TRIP_WINDOW_S / 2 + 1
    assert pack.switched_off() == [] and pack.timeouts == {"evil-backtracking": 5}


def test_builtin_rule_is_never_switched_off() -> None:
    """Lines an attacker can write must not be able to switch detection off."""
    clock = FakeMonotonic()
    pack = RulePack([_rule(r"(a+)+$", vetted=True)], match_timeout_s=0.05, monotonic=clock)
    for _ in range(4):
        assert pack.match(HOSTILE_A) is None
    assert pack.switched_off() == [] and pack.timeouts == {"evil-backtracking": 4}


# -- the agent end to end --------------------------------------------------------------


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def _refused(port: int, tail: str = "") -> str:
    return (f"{_stamp()} ERROR [morningai.app] redis.exceptions.ConnectionError: Error 111"
            f" connecting to 10.0.0.5:{port}. Connection refused.{tail}\n")  # fmt: skip


def _opened_after_hostile_lines(tmp_path: Path, hostile: str, config: str = "") -> float:
    """Seconds from writing a refused burst on 10.0.0.5:7001 (right after `hostile`) to its
    incident.opened, in a real `watch --dry-run --jsonl` agent; at most 30."""
    (tmp_path / "logwatch.toml").write_text("[logwatch]\nprobe = false\n" + config)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text(f"{_stamp()} INFO [morningai.api] 200 GET /healthz 1.2ms\n")
    jsonl = tmp_path / "changes.jsonl"
    err = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "--config", str(tmp_path / "logwatch.toml"), "-v",
         "watch", str(logs), "--dry-run", "--state", str(tmp_path / "state.db"),
         "--jsonl", str(jsonl), "--quiet-period", "40s"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=err,
    )  # fmt: skip
    # 40 s: longer than the test waits, so the burst is never opened and resolved in one
    # batch (a "resolved" alone) when a loaded machine reads it late.
    err.close()
    agent_log = tmp_path / "agent.log"
    try:
        deadline = time.monotonic() + 20
        while "following" not in agent_log.read_text(errors="replace"):
            assert time.monotonic() < deadline and proc.poll() is None, agent_log.read_text()
            time.sleep(0.05)
        with open(log, "a") as fh:
            fh.write(hostile)
        started = time.monotonic()
        with open(log, "a") as fh:
            fh.write(_refused(7001) * 2)
        deadline = started + 30
        while time.monotonic() < deadline:
            text = jsonl.read_text() if jsonl.exists() else ""
            opened = [json.loads(x) for x in text.splitlines() if '"incident.opened"' in x]
            if any(o["incident"]["target"] == "10.0.0.5:7001" for o in opened):
                return time.monotonic() - started
            time.sleep(0.02)
        return 30.0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_hex_tails_after_refused_lines_do_not_delay_the_next_incident(tmp_path: Path) -> None:
    """Found by the adversarial pass: 5 refused lines each followed by 45,000 random hex
    characters delayed the next incident by 65 s (built-in pack, no user rule)."""
    rng = random.Random(3)
    hostile = "".join(
        _refused(6379, " " + "".join(rng.choice("0123456789abcdef") for _ in range(45_000)))
        for _ in range(5)
    )
    took = _opened_after_hostile_lines(tmp_path, hostile)
    assert took < 3.0, took


EVIL_RULE = """
[[rule]]
id = "evil-backtracking"
category = "connection"
severity = "error"
threshold = 1
window_s = 60
patterns = ['''(a+)+$''']
"""


def test_user_rule_that_keeps_timing_out_stops_delaying_the_next_incident(
    tmp_path: Path,
) -> None:
    """100 lines of 40,000 a's against `(a+)+$` with a 0.3 s timeout: 3 timeouts switch
    the rule off (the log says so) and the burst after them opens at once (about 1 s; 9 s
    on a machine loaded 10 times over), where every line paying the timeout would take 30 s
    (wall-clock timeouts: no load makes that shorter)."""
    (tmp_path / "evil.toml").write_text(EVIL_RULE)
    hostile = "".join(f"{_stamp()} INFO [morningai.api] {'a' * 40_000}!\n" for _ in range(100))
    took = _opened_after_hostile_lines(
        tmp_path, hostile, 'rules = ["evil.toml"]\nmatch_timeout = "300ms"\n'
    )
    assert took < 15.0, took
    log = (tmp_path / "agent.log").read_text()
    assert log.count("rule evil-backtracking (") == 1
    assert "switched off for 600s" in log


# -- JSON nested past the recursion limit ------------------------------------------------

DEEP = 30_000  # 60 KB of brackets: under the 64 KiB line bound, past json's recursion limit


def _deep_json(key: str = "a") -> str:
    return '{"' + key + '": ' + "[" * DEEP + "]" * DEEP + "}"


def test_json_nested_past_the_recursion_limit_is_no_record_field() -> None:
    """json.loads raises RecursionError (not ValueError) on it: each JSON reader of log
    text takes the line for what it is (not JSON, not an entry) instead of raising."""
    from logwatch.records import json_object
    from logwatch.sources.container import ContainerFormat, parse_entry
    from logwatch.sources.journal import parse_entry as journal_entry

    assert json_object(_deep_json()) is None
    assert parse_entry('{"log": ' + "[" * DEEP + "]" * DEEP + "}", ContainerFormat.DOCKER) is None
    assert journal_entry('{"__CURSOR": ' + "[" * DEEP + "]" * DEEP + "}") is None


def test_a_deeply_nested_json_line_does_not_stop_the_scan(tmp_path: Path) -> None:
    """It ended `scan` (both paths) and `logwatch test` with a RecursionError traceback."""
    from click.testing import CliRunner

    from logwatch.cli import main

    log = tmp_path / "app.log"
    refused = ("ERROR redis.exceptions.ConnectionError: Error 111 connecting to"
               " 10.0.0.5:6379. Connection refused.")  # fmt: skip
    log.write_text(
        _deep_json("time") + "\n"
        + "".join(f"2026-03-01 12:00:0{n},000 {refused}\n" for n in range(2))
    )  # fmt: skip
    for flags in ([], ["--reference"]):
        result = CliRunner().invoke(main, ["scan", "--format", "json", *flags, str(log)])
        assert result.exit_code == 1, result.output
        [incident] = json.loads(result.stdout)["incidents"]
        assert (incident["target"], incident["events"]) == ("10.0.0.5:6379", 2)


def test_a_deeply_nested_json_line_does_not_stall_the_agent(tmp_path: Path) -> None:
    """The agent's loop raised on it, kept the batch and raised again every poll: the
    outage written after it was never reported. Now its incident opens."""
    took = _opened_after_hostile_lines(tmp_path, _deep_json() + "\n")
    assert took < 30.0  # the helper's "never" (no bound on how fast: a loaded machine)
