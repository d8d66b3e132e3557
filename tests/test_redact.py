"""Secrets never leave the machine: every known secret shape is masked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logwatch.redact import MASK, Redactor, redact

SECRET_CASES = [
    pytest.param(
        "connecting to redis://:s3cr3t-pw@10.0.0.5:6379/0", "s3cr3t-pw", id="redis-url-password"
    ),
    pytest.param(
        "REDIS_URL=rediss://app:hunter2x@cache:6380", "hunter2x", id="rediss-user-password"
    ),
    pytest.param(
        "token=xoxb-1234567890-0987654321-AbCdEfGh", "xoxb-1234567890", id="slack-bot-token"
    ),
    pytest.param(
        "posting to https://hooks.slack.com/services/T00/B00/XXXXyyyy", "XXXXyyyy", id="webhook"
    ),
    pytest.param("Authorization: Bearer eyJhbGciOi.JIUzI1Ni", "eyJhbGciOi", id="bearer"),
    pytest.param('{"password": "correct-horse"}', "correct-horse", id="json-password"),
    pytest.param("CONFIG SET requirepass n3wpass", "n3wpass", id="requirepass"),
    pytest.param("redis-cli -h x -a topsecret ping", "topsecret", id="redis-cli-a"),
    pytest.param("api_key=sk_live_abcdefghijklmnop", "abcdefghijklmnop", id="api-key"),
]


@pytest.mark.parametrize(("text", "secret"), SECRET_CASES)
def test_secret_is_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert MASK in out


KEEP_CASES = [
    pytest.param("redis.exceptions.AuthenticationError: Authentication required.", id="auth-error"),
    pytest.param("NOAUTH Authentication required.", id="noauth"),
    pytest.param("WRONGPASS invalid username-password pair or user is disabled.", id="wrongpass"),
    pytest.param("Client sent AUTH, but no password is set", id="auth-no-password"),
    pytest.param("Error 111 connecting to 10.0.0.5:6379. Connection refused.", id="endpoint"),
    pytest.param("401 Authentication required for /api/v1/admin (token expired)", id="token-word"),
]


@pytest.mark.parametrize("text", KEEP_CASES)
def test_error_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_known_secret_is_masked_anywhere() -> None:
    r = Redactor(["pa55-word-xyz"])
    assert "pa55-word-xyz" not in r("the value pa55-word-xyz leaked in a message")
    assert "known_secrets=1" in repr(r)
    assert "pa55" not in repr(r)


@given(
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=20),
)
def test_seeded_url_password_is_removed_from_any_surrounding_text(
    before: str, after: str, secret: str
) -> None:
    out = Redactor([secret])(f"{before} redis://:{secret}@redis:6379/0 {after}")
    assert secret not in out


def test_auth_password_at_the_end_of_a_line_is_masked_not_the_next_line() -> None:
    """Found by tests/test_fuzz.py: the optional AUTH username crossed the newline, so
    "AUTH secret" followed by a line masked the next line's first word, not the secret."""
    out = redact('AUTH s3cretpassw0rd\n  File "app.py", line 3')
    assert "s3cretpassw0rd" not in out
    assert out.endswith('\n  File "app.py", line 3')


def test_auth_password_that_starts_like_a_prose_word_is_masked() -> None:
    """Found by the redaction property test: `AUTH A.0000` was taken for the prose word
    "a" followed by punctuation, and the password was left in the text."""
    from logwatch.redact import redact

    assert "A.0000" not in redact("AUTH A.0000")
    assert "in.secret" not in redact("auth default in.secret")
    assert redact("AUTH failed, retrying") == "AUTH failed, retrying"


def _masked_by_model(text: str, secrets: list[str]) -> str:
    """The promise of configured secrets, computed character by character: every
    character inside an occurrence of a secret (of 4 characters or more) is covered, and
    each run of covered characters, however many secrets made it, becomes one mask."""
    covered = [False] * len(text)
    for secret in secrets:
        if len(secret) < 4:
            continue
        for at in range(len(text) - len(secret) + 1):
            if text.startswith(secret, at):
                covered[at : at + len(secret)] = [True] * len(secret)
    out: list[str] = []
    for i, ch in enumerate(text):
        if not covered[i]:
            out.append(ch)
        elif i == 0 or not covered[i - 1]:
            out.append(MASK)
    return "".join(out)


@given(
    text=st.text(alphabet="ab. ", max_size=30),
    secrets=st.lists(st.text(alphabet="ab", min_size=1, max_size=7), max_size=4),
)
def test_configured_secrets_each_covered_stretch_becomes_one_mask(
    text: str, secrets: list[str]
) -> None:
    """Overlapping, nested, adjacent and repeated secrets (a small alphabet makes them
    common) leave no piece behind and no mask next to another; shorter ones are kept."""
    assert Redactor(secrets)(text) == _masked_by_model(text, secrets)


@pytest.mark.parametrize(
    ("secrets", "text", "expected"),
    [
        (["s3cret", "s3cret-suffix-XYZ"], "pw s3cret-suffix-XYZ end", "pw *** end"),
        (["abcdef", "defghi"], "<abcdefghi>", "<***>"),
        (["abcd", "efgh"], "abcdefgh abcd", "*** ***"),
        (["aaaa"], "aaaaa", "***"),
        (["abcd"], "abcd.abcd.abcd!", "***.***.***!"),  # every occurrence, each stretch kept apart
        (["abc"], "abc abcd", "abc abcd"),
        (["abcd"], "abc abcd", "abc ***"),
        (["", "wxyz"], "wxyz", "***"),
    ],
)
def test_configured_secrets_cases(secrets: list[str], text: str, expected: str) -> None:
    assert Redactor(secrets)(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The user tells the reader which account; the password goes, a colon in it too.
        ("redis://app:hunter2x@cache:6380/0", "redis://app:***@cache:6380/0"),
        ("redis://app:pa:ss@cache", "redis://app:***@cache"),
        ("redis://:pw0rd@cache", "redis://:***@cache"),
        ("https://tok3n@git.example", "https://***@git.example"),
        # The key and the value's quotes stay, whatever is inside goes.
        ('password="two words" x', 'password="***" x'),
        ("password='pw1' x", "password='***' x"),
        ("password=bare1 x", "password=*** x"),
        ('password="unclosed value', 'password="***'),
        ('password="', 'password="***'),
        ('{"token": "t0k"}', '{"token": "***"}'),
        # AUTH's one or two arguments, each masked.
        ("AUTH pw1", "AUTH ***"),
        ("AUTH default pw1", "AUTH *** ***"),
        ("auth pw1\nnext", "auth ***\nnext"),
    ],
)
def test_what_stays_around_a_masked_secret(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_in_says_whether_a_configured_secret_occurs() -> None:
    r = Redactor(["pa55-word-xyz"])
    assert r.known_in("x pa55-word-xyz y")
    assert not r.known_in("x pa55-word y")
    assert not Redactor().known_in("anything")


# -- the gates: each pattern runs only when its gate passes (redact._GATES) -----------------

# Pieces of every pattern's keywords, in cases and Unicode folds the (?i) patterns match
# (long s folds to s, the Kelvin sign to k), with the separators and values around them.
_PIECES = st.sampled_from(
    [
        "password",
        "PaSsWoRd",
        "pa\u017f\u017fword",
        "pwd",
        "auth",
        "AUTH",
        "Auth2",
        "requirepass",
        "masterauth",
        "secret",
        "token",
        "api_key",
        "api-key",
        "apikey",
        "ACCESS_KEY",
        "private-key",
        "credentials",
        "to\u212aen",
        "authorization",
        "Bearer",
        "redis-cli",
        " -a ",
        "--pass",
        "-requirepass",
        "--api-key",
        "--access-key",
        '"AUTH"',
        '"requirepass"',
        "redis://",
        "https://",
        ":\\/\\/",
        "@",
        ":",
        "=",
        "=>",
        " ",
        "\t",
        '"',
        "'",
        "\\",
        "/",
        ",",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "hooks.slack.com/services/",
        "eyJhbGciOi",
        ".",
        "xoxb-",
        "xapp-",
        "ghp_",
        "github_pat_",
        "sk_live_",
        "pk_test_",
        "whsec_",
        "AKIA",
        "ASIA",
        "ABCDEFGHIJKLMNOP",
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/Ab",
        "s3cr3t",
        "0123456789",
        "x",
        "\n",
        "#",
        "?",
        ">",
        "<",
        "redis://:",
        "ACL SETUSER ",
        "user app on ",
        "sentinel auth-pass ",
        "--sentinel-pass",
        "primaryauth",
        '"masterauth"',
        "6379",
    ]
)


def _ungated(text: str) -> str:
    from logwatch.redact import _PATTERNS

    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@given(st.lists(_PIECES, max_size=12).map("".join))
def test_gates_change_nothing(text: str) -> None:
    """A gate only skips a pattern that cannot match: the output is every pattern's."""
    assert redact(text) == _ungated(text)


@pytest.mark.parametrize(
    "text",
    [
        "pa\u017f\u017fword=hunter2",  # long s: (?i) matches it as "s", str.lower() keeps it
        "to\u212aen: abcdefgh",  # the Kelvin sign matches "k"
        "id=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/Ab done",
        "url redis://app:pw@host:1",
        '{"url": "redis:\\/\\/app:pw@host"}',  # JSON's escaped slashes
        "pwd=hunter2",
    ],
)
def test_gates_pass_folded_and_case_sensitive_shapes(text: str) -> None:
    assert redact(text) == _ungated(text) != text


# -- the red team's leaks: each of these secrets was in scan/test output ---------------------

LEAK_CASES = [
    # A URL password holding an unencoded /, +, =, #, ?, or a blank: up to the last @.
    pytest.param("REDIS_URL=redis://:k7Gq/Zp+3x==@redis:6379/0", ["k7Gq", "Zp+3x"], id="url-b64"),
    pytest.param("broker redis://default:Ab+Cd/Ef=Gh@redis:6379/0", ["Ab+Cd", "Ef=Gh"], id="url-b64-user"),
    pytest.param("ctx: redis://appuser:Qa2#x@redis:6379/0", ["Qa2", "#x@"], id="url-hash"),
    pytest.param("ctx: redis://:Qa3#x@redis:6379/0", ["Qa3", "#x@"], id="url-hash-nouser"),
    pytest.param("ctx: redis://appuser:Qa4?x@redis:6379/0", ["Qa4", "?x@"], id="url-query"),
    pytest.param("ctx: redis://appuser:Qa5/x@redis:6379/0", ["Qa5", "/x@"], id="url-slash"),
    pytest.param("ctx: redis://:Qa6 x@redis:6379/0", ["Qa6", " x@"], id="url-blank"),
    pytest.param("rediss://u:p@ss/w?rd#1@redis:6380 next", ["p@ss", "w?rd"], id="url-last-at"),
    pytest.param('{"url": "redis:\\/\\/u:k7\\/Gq@redis"}', ["k7"], id="url-json-escaped"),
    pytest.param("redis://:1234/5678@redis:6379", ["1234", "5678"], id="url-digits-slash"),
    # requirepass and masterauth each take one value: two on a line are both masked.
    pytest.param("requirepass Qa9sek masterauth Qb1sek", ["Qa9sek", "Qb1sek"], id="two-settings"),
    pytest.param(
        '"CONFIG" "SET" "requirepass" "Qc1" "masterauth" "Qc2sek"', ["Qc1", "Qc2sek"],
        id="monitor-two-settings",
    ),
    pytest.param("primaryauth Qc3sek", ["Qc3sek"], id="valkey-primaryauth"),
    # Redis ACL rules: >pw adds, <pw removes, #hash/!hash by SHA-256.
    pytest.param("ACL SETUSER app on >Qd7sek ~* +@all", ["Qd7sek"], id="acl-add"),
    pytest.param("acl setuser app <Qd8old >Qd8new", ["Qd8old", "Qd8new"], id="acl-remove"),
    pytest.param(
        "ACL SETUSER app on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        ["5e884898da"], id="acl-hash",
    ),
    pytest.param("ACL SETUSER app !5e884898da28047151d0", ["5e884898da"], id="acl-remove-hash"),
    pytest.param('"ACL" "SETUSER" "app" "on" ">Qd9 sek" "~*"', ["Qd9", " sek"], id="acl-monitor"),
    pytest.param(
        "user app on #5e884898da28047151d0e56f8dc62927 ~* &* +@all", ["5e884898da"],
        id="acl-list",
    ),
    pytest.param("user worker off >Qe0sek resetchannels", ["Qe0sek"], id="acl-file"),
    # Sentinel and TLS passwords.
    pytest.param("sentinel auth-pass mymaster Qe1sek", ["Qe1sek"], id="sentinel-auth-pass"),
    pytest.param("SENTINEL SET mymaster auth-pass Qe2sek", ["Qe2sek"], id="sentinel-set"),
    pytest.param("redis-sentinel --sentinel-pass Qe3sek", ["Qe3sek"], id="sentinel-pass"),
    pytest.param("tls-key-file-pass Qe4sek", ["Qe4sek"], id="tls-key-file-pass"),
    # Forms that already worked: held to it.
    pytest.param("CONFIG SET requirepass Qf1sek", ["Qf1sek"], id="config-set"),
    pytest.param("AUTH appuser Qf2sek", ["Qf2sek", "appuser"], id="auth-two-args"),
    pytest.param("redis-cli --user app --pass Qf3sek ping", ["Qf3sek"], id="cli-user-pass"),
    pytest.param("redis-cli -h r -a Qf4sek ping", ["Qf4sek"], id="cli-a"),
    pytest.param("REDISCLI_AUTH=Qf5sek redis-cli ping", ["Qf5sek"], id="rediscli-auth"),
    pytest.param("redis-server --requirepass Qf6sek --port 1", ["Qf6sek"], id="server-flag"),
    pytest.param('{"password": "Qf7 sek"}', ["Qf7", " sek"], id="json-password"),
    pytest.param("GET /cb?user=a&password=Qf8sek&x=1", ["Qf8sek"], id="query-string"),
    # Commands and argv as lists or tuples (JSON arrays, Python reprs, subprocess errors).
    pytest.param('"cmd": ["AUTH", "Qg1sek"]', ["Qg1sek"], id="json-array-auth"),
    pytest.param("execute_command('AUTH', 'app', 'Qg2sek')", ["Qg2sek"], id="tuple-auth-user"),
    pytest.param(
        "('requirepass', 'Qg3a', 'masterauth', 'Qg3b')", ["Qg3a", "Qg3b"], id="tuple-settings"
    ),
    pytest.param(
        "CalledProcessError: Command '['redis-server', '--requirepass', 'Qg4sek']' returned 1",
        ["Qg4sek"], id="argv-flag",
    ),
    pytest.param('{"argv": ["redis-cli","-a","Qg5sek","ping"]}', ["Qg5sek"], id="argv-cli-a"),
    pytest.param(
        "Command '['redis-cli', '-h', 'r', '-a', 'Qg6sek', 'ping']' returned", ["Qg6sek"],
        id="argv-cli-a-repr",
    ),
    # A tuple or list after a secret-looking key: requests' auth=(user, pw) in a traceback's
    # source line, a local's repr.
    pytest.param('    requests.post(url, auth=("api", "Qg7sek"))', ["Qg7sek"], id="auth-tuple"),
    pytest.param("auth_args = ('Qg8sek',)", ["Qg8sek"], id="auth-args-local"),
    pytest.param('{"passwords": ["Qg9a", "Qg9b"]}', ["Qg9a", "Qg9b"], id="json-list-value"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "pieces"), LEAK_CASES)
def test_red_team_secret_shapes_are_masked(text: str, pieces: list[str]) -> None:
    out = redact(text)
    for piece in pieces:
        assert piece not in out, out
    assert MASK in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The user and the host stay; the whole password, whatever is in it, goes.
        ("redis://:k7Gq/Zp+3x==@redis:6379/0", "redis://:***@redis:6379/0"),
        ("redis://app:a#b?c/d@redis:6379/0 x", "redis://app:***@redis:6379/0 x"),
        ("requirepass a1 masterauth b2", "requirepass *** masterauth ***"),
        ("ACL SETUSER app on >pw1 ~* +@all", "ACL SETUSER app on >*** ~* +@all"),
        ('"ACL" "SETUSER" "app" ">p w"', '"ACL" "SETUSER" "app" ">***"'),
        # A host's port is not a password: a later @ on the line (an address) stays.
        (
            "Error 111 connecting to redis://redis:6379/0. Paged ops@example.com",
            "Error 111 connecting to redis://redis:6379/0. Paged ops@example.com",
        ),
        ("redis://localhost:6379 up; mail a@b", "redis://localhost:6379 up; mail a@b"),
        ("ACL SETUSER app on ~cache:* +get", "ACL SETUSER app on ~cache:* +get"),
        # A listed command keeps its quotes and separators; the arguments are one mask.
        ("['AUTH', 'u', 'p']", "['AUTH', '***']"),
        ('["--pass","p"]', '["--pass","***"]'),
        ("auth=('u', 'p') ok", "auth=*** ok"),
        ("user app logged in from 10.0.0.1 <- ok", "user app logged in from 10.0.0.1 <- ok"),
    ],
)
def test_what_stays_around_the_red_team_shapes(text: str, expected: str) -> None:
    assert redact(text) == expected


@given(
    scheme=st.sampled_from(["redis", "rediss", "https", "amqp"]),
    user=st.text(alphabet="abcXYZ019._-[]~!$&'()*+,;=%", max_size=12),
    password=st.lists(
        st.text(alphabet="pqrsPQRS5678", min_size=1, max_size=6), min_size=1, max_size=4
    ).map(":".join),
)
def test_a_urls_user_stays_and_its_whole_password_goes_whatever_their_characters(
    scheme: str, user: str, password: str
) -> None:
    """A user in any characters userinfo allows (brackets too), a password holding colons:
    only the user is shown, never a piece of the password."""
    text = f"connecting to {scheme}://{user}:{password}@cache.internal:6379/0 failed"
    assert redact(text) == f"connecting to {scheme}://{user}:{MASK}@cache.internal:6379/0 failed"
