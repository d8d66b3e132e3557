"""The redaction corpus: planted secrets of every known shape, in plain, JSON-line and
traceback records, must reach no output at all.

Each case is a Redis error line an app could write with a secret in it (the value is known,
so a leak is found by a plain substring search). Every way text leaves logwatch is checked
against the whole corpus: `scan` in its four formats, `logwatch test`, a real `watch
--dry-run --jsonl` run (its stdout, stderr, the --jsonl file and the sqlite state file with
its -wal, byte for byte), `logwatch incidents`, the Slack message renderer and a command
hook's stdin. Then a property: a generated secret of each shape in generated text is
always masked; and the other way round, normal Redis error lines keep their meaning.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from logwatch.config import build_config
from logwatch.matching import Matcher
from logwatch.model import Incident, Record
from logwatch.notify import Delivered, Notification
from logwatch.notify.command import CommandNotifier
from logwatch.notify.compose import render_message, render_reply
from logwatch.redact import MASK, Redactor, redact
from logwatch.rules import load_rule_pack, target_of
from logwatch.scan import scan
from logwatch.sources.history import expand_paths

REPO = Path(__file__).resolve().parent.parent
PACK = load_rule_pack()
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# -- the planted secrets ---------------------------------------------------------------

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtb3JuaW5nYWkiLCJleHAiOjE3NzI0MDB9"
    ".Qm9ndXNTaWduYXR1cmVQbGFudGVkRm9yVGVzdHMx"
)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTED9kq"
AWS_KEY_ID = "AKIAZQ7PLANTED4K3Y2X"
GITHUB = "ghp_Pl4ntedGithubTokenValue0123456789abcd"
SLACK = "xoxb-2718281828-3141592653-Pl4ntedSlackTokenValue"
STRIPE = "sk_live_Pl4ntedStripeKey0123456789"
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0Pl4ntedPemBodyAAAASC"
PW_LOWER = "lowerAuthPw-4Tq"
PW_MONITOR = "monitorPw-8Rz"
PW_FAILED = "failedPw2Vn"  # a word: the old pattern took it for a user name
TWO_WORDS = ("correct-horse-9Kd", "battery-staple-3Wq")
PW_CLI_PASS = "cliPassPw-6Lm"
PW_CLI_A = "cliDashAPw-5Hs"
PW_URL = "urlPw-7Jx"
PW_BEARER = "Pl4ntedBearerCredential77"
# Configured secrets where one contains the other: neither may leave a piece behind.
SHORT_KNOWN = "s3cret"
LONG_KNOWN = "s3cret-suffix-XYZ"

REFUSED = "Error 111 connecting to 10.0.0.5:6379. Connection refused."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


@dataclass(frozen=True, slots=True)
class Planted:
    """One corpus case: the exception class and message an app logs, the values that must
    never appear anywhere, and the target the incident must name (None: the default one,
    REDIS_URL's host and port)."""

    id: str
    exc: str
    message: str
    secrets: tuple[str, ...]
    target: str | None


CASES = (
    Planted("bare-jwt", "redis.exceptions.ConnectionError",
            f"session {JWT} lost: {REFUSED}", (JWT, *JWT.split(".")), "10.0.0.5:6379"),
    Planted("bare-aws-secret-access-key", "redis.exceptions.ConnectionError",
            f"s3 sync with {AWS_SECRET} stopped: {REFUSED}", (AWS_SECRET,), "10.0.0.5:6379"),
    Planted("aws-access-key-id", "redis.exceptions.ConnectionError",
            f"s3 sync as {AWS_KEY_ID} stopped: {REFUSED}", (AWS_KEY_ID[4:],), "10.0.0.5:6379"),
    Planted("github-token", "redis.exceptions.ConnectionError",
            f"deploy hook {GITHUB} stopped: {REFUSED}", (GITHUB[4:],), "10.0.0.5:6379"),
    Planted("slack-token", "redis.exceptions.ConnectionError",
            f"alert via {SLACK} stopped: {REFUSED}", (SLACK[5:],), "10.0.0.5:6379"),
    Planted("stripe-key", "redis.exceptions.ConnectionError",
            f"billing with {STRIPE} stopped: {REFUSED}", (STRIPE[8:],), "10.0.0.5:6379"),
    Planted("pem-private-key", "redis.exceptions.ConnectionError",
            f"TLS key -----BEGIN PRIVATE KEY-----{PEM_BODY}-----END PRIVATE KEY----- unused:"
            f" {REFUSED}", (PEM_BODY,), "10.0.0.5:6379"),
    Planted("bearer", "redis.exceptions.ConnectionError",
            f"upstream Authorization: Bearer {PW_BEARER} dropped: {REFUSED}", (PW_BEARER,),
            "10.0.0.5:6379"),
    Planted("auth-lower-case", "redis.exceptions.AuthenticationError",
            f"auth {PW_LOWER} -> {WRONGPASS}", (PW_LOWER,), None),
    Planted("monitor-quoted-auth", "redis.exceptions.AuthenticationError",
            f'replayed "AUTH" "{PW_MONITOR}" -> {WRONGPASS}', (PW_MONITOR,), None),
    Planted("auth-pw-failed", "redis.exceptions.AuthenticationError",
            f"AUTH {PW_FAILED} failed: {WRONGPASS}", (PW_FAILED,), None),
    Planted("password-two-words-quoted", "redis.exceptions.ConnectionError",
            f'Redis(password="{TWO_WORDS[0]} {TWO_WORDS[1]}") gave up: {REFUSED}', TWO_WORDS,
            "10.0.0.5:6379"),
    Planted("redis-cli-pass-flag", "redis.exceptions.ConnectionError",
            f"healthcheck `redis-cli --pass {PW_CLI_PASS} -h 10.0.0.5 ping` said: {REFUSED}",
            (PW_CLI_PASS,), "10.0.0.5:6379"),
    Planted("redis-cli-a-flag", "redis.exceptions.ConnectionError",
            f"healthcheck `redis-cli -h 10.0.0.5 -a {PW_CLI_A} ping` said: {REFUSED}",
            (PW_CLI_A,), "10.0.0.5:6379"),
    Planted("url-password-in-the-target", "redis.exceptions.ConnectionError",
            f"Error 111 connecting to redis://:{PW_URL}@10.1.1.1:7099. Connection refused.",
            (PW_URL,), "10.1.1.1:7099"),
    Planted("nested-configured-secrets", "redis.exceptions.ConnectionError",
            f"cache key {LONG_KNOWN} and {SHORT_KNOWN}: {REFUSED}",
            (SHORT_KNOWN, "suffix-XYZ"), "10.0.0.5:6379"),
)  # fmt: skip
KNOWN = (SHORT_KNOWN, LONG_KNOWN)
ENV = {  # where the configured secrets come from: REDIS_URL's password, the Slack token
    "REDIS_URL": f"redis://:{SHORT_KNOWN}@10.0.0.5:6379/0",
    "SLACK_BOT_TOKEN": LONG_KNOWN,
    "LOGWATCH_SLACK_CHANNEL": "#alerts",
}
DEFAULT_TARGET = "10.0.0.5:6379"  # REDIS_URL's
TARGETS = {c.target or DEFAULT_TARGET for c in CASES}
CONTEXTS = ("plain", "json", "traceback")
ALL_SECRETS = tuple(sorted({s for case in CASES for s in case.secrets}))


def marker(case: Planted, context: str) -> str:
    """A word that says which case a line is (no secret pattern touches it)."""
    return f"case_{case.id.replace('-', '_')}_{context}"


def record_text(case: Planted, context: str, when: datetime) -> str:
    """The case as a record of one context: a logging line, a JSON line or a traceback."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    message = f"{marker(case, context)} {case.message}"
    if context == "plain":
        return f"{stamp} ERROR [morningai.cache] {case.exc}: {message}\n"
    if context == "json":
        body = {"ts": when.isoformat(), "level": "error", "event": "redis_error",
                "error_type": case.exc.rsplit(".", 1)[1], "error": message}  # fmt: skip
        return json.dumps(body) + "\n"
    return (
        f"{stamp} ERROR [morningai.app] Exception on /api/v1/feed [GET]\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/venv/lib/python3.11/site-packages/redis/connection.py", line 369,'
        " in connect\n"
        "    raise ConnectionError(self._error_message(e))\n"
        f"{case.exc}: {message}\n"
    )


def corpus_log(cases: tuple[Planted, ...] = CASES, contexts: tuple[str, ...] = CONTEXTS) -> str:
    """Each case in each context, three times (every rule opens by then), a second apart."""
    out = []
    n = 0
    for case in cases:
        for context in contexts:
            for _ in range(3):
                out.append(record_text(case, context, T0 + timedelta(seconds=n)))
                n += 1
    return "".join(out)


def leaks(text: str | bytes) -> list[str]:
    """The planted values found in text (bytes: as UTF-8)."""
    data = text.encode() if isinstance(text, str) else text
    return [s for s in ALL_SECRETS if s.encode() in data]


def logwatch(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **ENV}
    env.pop("SLACK_WEBHOOK_URL", None)
    return subprocess.run([sys.executable, "-m", "logwatch", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log directory holding the corpus, and a config that keeps every sample."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "logs").mkdir()
    (root / "logs" / "app.log").write_text(corpus_log())
    (root / "logwatch.toml").write_text(
        '[logwatch]\nprobe = false\n[incidents]\nsamples = 200\nquiet_period = "1s"\n'
    )
    os.chmod(root / "logwatch.toml", 0o600)
    return root


def config_args(root: Path) -> list[str]:
    return ["--config", str(root / "logwatch.toml")]


# -- redaction itself: each failure the adversarial pass found -------------------------


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_matcher_masks_the_planted_secret(case: Planted, context: str) -> None:
    """Every part of an event (text, signature, fields, target) is made from redacted text."""
    matcher = Matcher(PACK, default_target="redis", redact=Redactor(KNOWN))
    text = record_text(case, context, T0).rstrip("\n")
    if context == "json":  # the record's text is the JSON record's string values, joined
        text = " ".join(v for v in json.loads(text).values() if isinstance(v, str))
    event = matcher.match(Record(source="app.log", line=1, offset=0, end=len(text), time=T0,
                                 text=text, lines=text.count("\n") + 1))  # fmt: skip
    assert event is not None
    shown = " ".join([event.text, event.signature, event.target, *event.fields.values()])
    assert not leaks(shown), shown
    assert event.target == (case.target or "redis")
    assert marker(case, context) in event.text


def test_configured_secret_that_contains_another_is_masked_whole() -> None:
    out = Redactor([SHORT_KNOWN, LONG_KNOWN])(f"a {LONG_KNOWN} b {SHORT_KNOWN} c")
    assert out == f"a {MASK} b {MASK} c"
    out = Redactor([LONG_KNOWN, SHORT_KNOWN])(f"x{LONG_KNOWN}{SHORT_KNOWN}y")
    assert "suffix" not in out and "s3c" not in out


def test_configured_secrets_that_overlap_leave_no_piece_of_either() -> None:
    out = Redactor(["abcdef-1", "ef-1ghij"])("key abcdef-1ghij end")
    assert out == f"key {MASK} end"


def test_url_password_never_reaches_the_target() -> None:
    """Found by the adversarial pass: the target kept the password, so it reached the
    agent's stderr and the Slack header."""
    assert target_of({"host": f"redis://:{PW_URL}@10.1.1.1", "port": "7099"}) == "10.1.1.1:7099"
    assert target_of({"host": "rediss://10.1.1.1", "port": "7099"}) == "10.1.1.1:7099"
    assert target_of({"host": "10.1.1.1", "port": "7099"}) == "10.1.1.1:7099"


# -- every output path -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "markdown"])
def test_scan_output_holds_no_planted_secret(corpus_dir: Path, fmt: str) -> None:
    done = logwatch(*config_args(corpus_dir), "scan", "logs", "--format", fmt, "--exit-zero",
                    cwd=corpus_dir)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not leaks(done.stdout + done.stderr)
    if fmt == "json":  # every case reached a sample: the check above saw all of them
        samples = " ".join(s for i in json.loads(done.stdout)["incidents"] for s in i["samples"])
        missing = [marker(c, x) for c in CASES for x in CONTEXTS if marker(c, x) not in samples]
        assert not missing
        targets = {i["target"] for i in json.loads(done.stdout)["incidents"]}
        assert targets == TARGETS


def test_logwatch_test_output_holds_no_planted_secret(corpus_dir: Path) -> None:
    done = logwatch(*config_args(corpus_dir), "test", "--all", "logs/app.log", cwd=corpus_dir)
    assert done.returncode == 0, done.stderr
    assert not leaks(done.stdout + done.stderr)
    assert all(marker(c, "plain") in done.stdout for c in CASES)


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


@pytest.fixture(scope="module")
def watched(corpus_dir: Path) -> Iterator[dict[str, bytes]]:
    """A real `watch --dry-run --jsonl` run over the corpus: everything it wrote."""
    work = corpus_dir / "watch"
    work.mkdir()
    state = work / "state.db"
    jsonl = work / "changes.jsonl"
    out, err = open(work / "stdout", "wb"), open(work / "stderr", "wb")  # noqa: SIM115
    env = {**os.environ, "PYTHONPATH": str(REPO), **ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", *config_args(corpus_dir), "-vv", "watch",
         str(corpus_dir / "logs"), "--from-start", "--dry-run", "--state", str(state),
         "--jsonl", str(jsonl), "--quiet-period", "1s"],
        cwd=work, env=env, stdout=out, stderr=err,
    )  # fmt: skip
    out.close()
    err.close()
    files: dict[str, bytes] = {}
    try:
        deadline = time.monotonic() + 60
        targets = TARGETS
        while time.monotonic() < deadline and proc.poll() is None:
            resolved = {json.loads(x)["incident"]["target"]
                        for x in _read(jsonl).decode().splitlines()
                        if '"incident.resolved"' in x}  # fmt: skip
            if resolved >= targets:
                break
            time.sleep(0.1)
        # While it runs: the WAL holds the latest pages.
        files["state.db (running)"] = _read(state)
        files["state.db-wal (running)"] = _read(state.with_name("state.db-wal"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    files["state.db"] = _read(state)
    files["state.db-wal"] = _read(state.with_name("state.db-wal"))
    files["jsonl"] = _read(jsonl)
    files["stdout"] = _read(work / "stdout")
    files["stderr"] = _read(work / "stderr")
    files["returncode"] = str(proc.returncode).encode()
    yield files


def test_watch_run_writes_no_planted_secret_anywhere(watched: dict[str, bytes]) -> None:
    assert watched["returncode"] == b"0", watched["stderr"][-2000:]
    assert watched["state.db (running)"]  # the state file was read while the agent ran
    found = {name: leaks(data) for name, data in watched.items()}
    assert not any(found.values()), found
    changes = [json.loads(x) for x in watched["jsonl"].decode().splitlines()]
    assert {c["incident"]["target"] for c in changes} == TARGETS
    samples = " ".join(s for c in changes for s in c["incident"]["samples"])
    assert all(marker(c, x) in samples for c in CASES for x in CONTEXTS)


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_incidents_command_shows_no_planted_secret(
    corpus_dir: Path, watched: dict[str, bytes], fmt: str
) -> None:
    state = corpus_dir / "watch" / "state.db"
    done = logwatch(*config_args(corpus_dir), "incidents", "--state", str(state), "--format",
                    fmt, cwd=corpus_dir)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "10.1.1.1:7099" in done.stdout
    assert not leaks(done.stdout + done.stderr)


def _incidents(case: Planted, tmp_path: Path) -> list[Incident]:
    """The incidents of one case in its three contexts, scanned in-process."""
    log = tmp_path / f"{case.id}.log"
    log.write_text(corpus_log((case,)))
    config = build_config({"logwatch": {"probe": False}, "incidents": {"samples": 50}}, ENV,
                          source="test")  # fmt: skip
    return scan(expand_paths([str(log)]), config, PACK, reference=True).incidents


def _notifications(incident: Incident) -> Iterator[Notification]:
    for n, kind in enumerate(("opened", "updated", "resolved"), 1):
        yield Notification(kind=kind, incident=incident, at=incident.last_seen, id=n)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_slack_messages_hold_no_planted_secret(case: Planted, tmp_path: Path) -> None:
    found = _incidents(case, tmp_path)
    assert found and {i.target for i in found} == {case.target or DEFAULT_TARGET}
    for incident in found:
        for n in _notifications(incident):
            for message in (render_message(n, host="app-1"), render_reply(n)):
                body = json.dumps([message.text, list(message.blocks)], ensure_ascii=False)
                assert not leaks(body), body


RECORDER = """
import os, sys
with open(os.environ["RECORD_TO"], "ab") as f:
    f.write(sys.stdin.buffer.read())
    f.write(("\\n".join(f"{k}={v}" for k, v in os.environ.items() if k.startswith("LOGWATCH"))
             + "\\n").encode())
"""


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_command_hook_stdin_holds_no_planted_secret(case: Planted, tmp_path: Path) -> None:
    record = tmp_path / "hook.out"
    hook = CommandNotifier(argv=[sys.executable, "-c", RECORDER],
                           env={"RECORD_TO": str(record), "PATH": os.defpath})  # fmt: skip
    found = _incidents(case, tmp_path)
    assert found
    for incident in found:
        for n in _notifications(incident):
            assert hook.send(n) == Delivered()
    data = record.read_bytes()
    assert marker(case, "traceback").encode() in data
    assert not leaks(data)


# -- the property: every shape, any surrounding text -----------------------------------

_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_URL_SAFE = _ALNUM + "-._~!$&'()*+,;=:%"
SEPARATORS = [" ", "\n", "\t", ": ", " (", "\n  ", "=", ", "]


def _word(min_size: int, alphabet: str = _ALNUM + "-_.!$%") -> st.SearchStrategy[str]:
    """A password-like word starting with a letter or digit."""
    return st.builds(lambda a, b: a + b, st.sampled_from(_ALNUM),
                     st.text(alphabet=alphabet, min_size=min_size - 1, max_size=30))  # fmt: skip


def _aws_secret(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=_ALNUM + "/+", min_size=37, max_size=37))
    mixed = draw(st.permutations(["Q", "q", "7"]))
    at = draw(st.integers(0, 37))
    return body[:at] + "".join(mixed) + body[at:]


@st.composite
def shaped(draw: st.DrawFn) -> tuple[str, str]:
    """(text of a secret in its shape, the secret)."""
    kind = draw(st.sampled_from([
        "jwt", "aws-secret", "aws-key-id", "github", "slack", "stripe", "pem", "url",
        "quoted", "single-quoted", "json", "pass-flag", "redis-cli-a", "auth", "monitor",
        "bearer",
    ]))  # fmt: skip
    if kind == "jwt":
        parts = [draw(st.text(alphabet=_B64URL, min_size=8, max_size=40)) for _ in range(3)]
        secret = "eyJ" + ".".join(parts)
        return secret, secret
    if kind == "aws-secret":
        secret = _aws_secret(draw)
        return secret, secret
    if kind == "aws-key-id":
        secret = draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16,
                              max_size=16))  # fmt: skip
        return draw(st.sampled_from(["AKIA", "ASIA"])) + secret, secret
    if kind == "github":
        secret = draw(st.text(alphabet=_ALNUM, min_size=36, max_size=40))
        return draw(st.sampled_from(["ghp_", "gho_", "ghs_"])) + secret, secret
    if kind == "slack":
        secret = draw(st.text(alphabet=_ALNUM, min_size=12, max_size=30))
        return f"xoxb-1234567890-{secret}", secret
    if kind == "stripe":
        secret = draw(st.text(alphabet=_ALNUM, min_size=12, max_size=30))
        return f"sk_live_{secret}", secret
    if kind == "pem":
        secret = draw(st.text(alphabet=_ALNUM + "+/", min_size=16, max_size=64))
        label = draw(st.sampled_from(["", "RSA ", "EC ", "OPENSSH "]))
        newline = draw(st.sampled_from(["\n", "\\n", ""]))
        return (f"-----BEGIN {label}PRIVATE KEY-----{newline}{secret}{newline}"
                f"-----END {label}PRIVATE KEY-----"), secret  # fmt: skip
    if kind == "url":
        secret = draw(_word(6, _URL_SAFE))
        user = draw(st.sampled_from(["", "app", "default"]))
        scheme = draw(st.sampled_from(["redis", "rediss", "https", "amqp"]))
        return f"{scheme}://{user}:{secret}@10.1.1.1:7099/0", secret
    if kind in ("quoted", "single-quoted", "json"):
        q = "'" if kind == "single-quoted" else '"'
        words = draw(st.lists(_word(4), min_size=1, max_size=3))
        secret = " ".join(words)
        key = draw(st.sampled_from(["password", "REDIS_PASSWORD", "client_secret", "token",
                                    "api_key", "passwd"]))  # fmt: skip
        if kind == "json":
            return f'{{"{key}": "{secret}"}}', secret
        return f"{key}={q}{secret}{q}", secret
    if kind == "pass-flag":
        secret = draw(_word(6))
        flag = draw(st.sampled_from(["--pass ", "--password ", "--password=", "--pass="]))
        return f"redis-cli {flag}{secret} ping", secret
    if kind == "redis-cli-a":
        secret = draw(_word(6))
        return f"redis-cli -h 10.0.0.5 -p 6379 -a {secret} ping", secret
    if kind == "auth":
        secret = draw(_word(6))
        command = draw(st.sampled_from(["AUTH", "auth", "Auth", "requirepass", "masterauth"]))
        user = draw(st.sampled_from(["", "default ", "app "]))
        return f"{command} {user}{secret}", secret
    if kind == "monitor":
        secret = draw(_word(6))
        user = draw(st.sampled_from(["", '"default" ']))
        command = draw(st.sampled_from(['"AUTH"', '"auth"']))
        return f'1700000000.123456 [0 10.0.0.9:52345] {command} {user}"{secret}"', secret
    secret = draw(st.text(alphabet=_ALNUM + "._-", min_size=12, max_size=40))
    return f"Authorization: Bearer {secret}", secret


@settings(max_examples=600, deadline=None)
@given(
    case=shaped(),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    sep1=st.sampled_from(SEPARATORS),
    sep2=st.sampled_from(SEPARATORS),
)
def test_a_secret_of_any_shape_in_any_text_is_masked(
    case: tuple[str, str], before: str, after: str, sep1: str, sep2: str
) -> None:
    shape, secret = case
    text = f"{before}{sep1}{shape}{sep2}{after}"
    assume(text.count(secret) == 1)  # the secret only where it is a secret
    out = redact(text)
    assert secret not in out, (text, out)
    for word in secret.split(" "):
        if len(word) >= 4:
            assert word not in out.replace(MASK, "\0"), (text, out)


# -- and not too much ------------------------------------------------------------------


def _sample_lines() -> list[str]:
    lines = []
    for path in sorted(glob.glob(str(REPO / "tests" / "samples" / "redis" / "*.log"))):
        with open(path, encoding="utf-8") as fh:
            lines += [x.rstrip("\n") for x in fh if x.strip() and not x.startswith("#")]
    return lines


def test_redis_sample_lines_pass_redaction_unchanged() -> None:
    """No sample line holds a secret: redaction leaves every one of them as it was."""
    lines = _sample_lines()
    assert len(lines) > 100
    changed = [(x, redact(x)) for x in lines if redact(x) != x]
    assert not changed


KEEP_MEANING = [
    pytest.param(f"Error 111 connecting to redis://:{PW_URL}@10.1.1.1:7099. Connection refused.",
                 "connection-refused", "10.1.1.1:7099", ["Connection refused", "10.1.1.1:7099"],
                 id="url-password"),
    pytest.param(f"redis.exceptions.AuthenticationError: AUTH {PW_FAILED} failed: {WRONGPASS}",
                 "auth-failed", None, ["AUTH *** failed", "WRONGPASS invalid"], id="auth-failed"),
    pytest.param(f"Error 113 connecting to cache.internal:6380. No route to host. password={PW_LOWER}",
                 "connection-failed", "cache.internal:6380", ["No route to host", "password=***"],
                 id="key-value"),
    pytest.param("redis.exceptions.AuthenticationError: AUTH <password> called without any password"
                 " configured for the default user.", "auth-no-password-set", None,
                 ["AUTH <password> called without any password configured"], id="auth-placeholder"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "rule", "target", "kept"), KEEP_MEANING)
def test_redacted_redis_lines_keep_their_meaning(
    line: str, rule: str, target: str | None, kept: list[str]
) -> None:
    out = redact(line)
    assert not leaks(out)
    found = PACK.match(out)
    assert found is not None and found.rule.id == rule and found.target == target
    for words in kept:
        assert words in out
