"""Secrets out of anything that leaves the machine: output, Slack, webhooks, agent logs.

Redaction works on the shape of a secret, not on a list of known sentences:

- the configured secrets (REDIS_URL's password, the Slack token...), wherever they are;
- a URL's userinfo wherever a URL is (`redis://user:***@host`, `https://***@host`);
- the value after a secret-looking key (`password=`, `"token": `, `REDIS_PASSWORD: `),
  a quoted value whole (`password="two words"`);
- the argument after a password flag (`--pass`, `--password=`, redis-cli's `-a`) and
  after AUTH, requirepass or masterauth in any case, MONITOR's `"AUTH" "pw"` included;
- tokens of known kinds: JWT, AWS keys, GitHub, Slack, Stripe, PEM private keys, and
  the credential of an Authorization header or a Bearer.

Every pattern is linear in the text, so a hostile line cannot stall the agent: an
unbounded run starts only where a lookbehind says the run cannot be entered from the
left (two attempts never scan the same characters), and keywords are followed by
bounded gaps (tests/test_hostile_lines.py holds them to it on 64 KB near misses).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import regex

MASK = "***"

# A quoted argument or value, closed or running to the end of the line: a value whose
# closing quote is missing is masked to the end rather than leaked after the first word.
_DQ = r'"(?:[^"\\\n]|\\.)*+"?'
_SQ = r"'(?:[^'\\\n]|\\.)*+'?"
# A value written inside a JSON string: \"secret\" (the escaped quotes bound it).
_ESC_DQ = r'\\+"(?:[^"\\\n]|\\+(?!"))*+(?:\\+")?'
# Words that follow AUTH in messages about authentication rather than in the command.
_AUTH_WORDS = (
    "a|after|against|an|and|are|as|at|attempt|attempts|be|before|but|by|called|command|"
    "commands|denied|disabled|enabled|error|errors|expired|extension|fail|failed|fails|"
    "failure|for|from|header|if|in|invalid|is|mechanism|method|missing|module|needed|no|not|"
    "of|ok|on|option|options|or|plugin|rejected|request|required|response|set|succeeded|"
    "success|successful|supported|the|then|timed|timeout|to|unsupported|using|via|was|were|"
    "when|while|with|without|wrong"
)
# Commands and settings whose arguments are credentials.
_PW_COMMANDS = "auth2?|requirepass|masterauth|primaryauth"
# An AUTH argument: quoted, or a bare word that is not a placeholder (<password>), an
# earlier mask or punctuation.
# A prose word ends the text or is followed by a blank, after punctuation at most:
# "AUTH failed." is prose, "AUTH a.0000" a password that starts like a word.
_AUTH_ARG = (
    rf"(?!(?:{_AUTH_WORDS})(?=[.,;:!?)]*+(?:\s|$)))"
    rf"(?:{_DQ}|{_SQ}|(?![<*(\[{{,;:.!?-])\S++)"
)


def _keep_user(m: regex.Match[str]) -> str:
    """`://user:***@`: the user tells the reader which account; the rest is the secret."""
    info = m.group("info")
    user, colon, _ = info.partition(":")
    return f"{m.group('lead')}{user}:{MASK}@" if colon else f"{m.group('lead')}{MASK}@"


def _keep_url_user(m: regex.Match[str]) -> str:
    return f"{m.group('lead')}{m.group('user')}:{MASK}@"


def _keep_quotes(m: regex.Match[str]) -> str:
    """The key and the value's quotes stay (`"password": "***"`); everything inside goes."""
    value = m.group("value")
    lead = _QUOTE.match(value)
    if lead is None:
        return f"{m.group(1)}{MASK}"
    quote = lead.group()
    closed = len(value) > len(quote) and value.endswith(quote[-1])
    return f"{m.group(1)}{quote}{MASK}{quote if closed else ''}"


_QUOTE = regex.compile(r"\\*[\"']")


def _quoted_args(m: regex.Match[str]) -> str:
    """`"AUTH" "***"`, `('AUTH', '***')`: the command, its separator, one quoted mask."""
    quote = m.group("value")[0]
    return f"{m.group('cmd')}{m.group('sep')}{quote}{MASK}{quote}"


def _auth_args(m: regex.Match[str]) -> str:
    second = f"{m.group('gap')}{MASK}" if m.group("arg2") is not None else ""
    return f"{m.group('cmd')}{MASK}{second}"


# One ACL rule that carries a password or its hash, bare or quoted (redis-cli, MONITOR).
_ACL_RULE = regex.compile(
    r"(?<!\S)(?:(?P<q>[\"'])(?P<qs>[<>#!])(?:(?!(?P=q))[^\\\n]|\\.)*+(?P=q)?|(?P<s>[<>#!])\S++)"
)


def _acl_rule(m: regex.Match[str]) -> str:
    quote = m.group("q")
    if quote is None:
        return f"{m.group('s')}{MASK}"
    return f"{quote}{m.group('qs')}{MASK}{quote}"


def _acl_rules(m: regex.Match[str]) -> str:
    return str(_ACL_RULE.sub(_acl_rule, m.group()))


_Replacement = str | Callable[[regex.Match[str]], str]
# Each pattern keeps the part that tells the reader what was there and masks the secret.
# Order matters where shapes nest: a PEM block and URLs before key=value pairs.
_PATTERNS: tuple[tuple[regex.Pattern[str], _Replacement], ...] = (
    # PEM private keys, to their END line (or to the end of the text when it is cut off).
    (
        regex.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY-----(?:(?!-----END)[\s\S])*+"
            r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY-----)?"
        ),
        f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----",
    ),
    # Slack incoming webhook URLs carry their secret in the path.
    (
        regex.compile(
            r"https://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/[\w/-]+"
        ),
        f"https://hooks.slack.com/services/{MASK}",
    ),
    # A URL's password (scheme://user:password@host): everything from the colon after the
    # user to the last @ before the host, whatever is in between: an unencoded /, ?, # or
    # blank too (redis://:k7Gq/Zp+3x==@redis). The run never crosses the next URL or the
    # line's end, so each character is read from one URL's start only: linear.
    (
        regex.compile(
            r"(?P<lead>(?<=[A-Za-z0-9]):(?:\\?/){2})(?P<user>[^\s:/?#@\"<>\\\[\]]*+):"
            # Without blanks: to the last @ of the run.
            r"(?:(?:(?!:\\?/\\?/)[^\s\"])*@"
            # With blanks, unless a port stands where the password would (host:6379/0).
            r"|(?!\d{1,5}(?!\w))(?:(?!:\\?/\\?/)[^\n\"])*@)"
        ),
        _keep_url_user,
    ),
    # A URL's userinfo (redis://user:password@host, https://token@host): as urllib reads
    # it, up to the last @ before the path; JSON's escaped slashes (:\/\/) too.
    (
        regex.compile(r"(?P<lead>(?<=[A-Za-z0-9]):(?:\\?/){2})(?P<info>[^\s/?#\"<>\\]*)@"),
        _keep_user,
    ),
    # Authorization: Bearer …, Basic …, or a bare credential; then any "Bearer <token>".
    (
        regex.compile(
            r"(?i)((?<![a-z])authorization\\?[\"']?\s{0,8}[:=]\s{0,8}\\?[\"']?"
            r"(?:(?:bearer|basic|token|digest|bot|apikey)\s{1,8})?)[^\s\"'\\,;]+"
        ),
        rf"\1{MASK}",
    ),
    (regex.compile(r"(?i)((?<![a-z])bearer\s{1,8})[A-Za-z0-9._~+/=-]{8,}"), rf"\1{MASK}"),
    # MONITOR and redis-cli echo commands as quoted words: "AUTH" "user" "pw",
    # "CONFIG" "SET" "requirepass" "pw"; a command as a list or tuple too (JSON's
    # ["AUTH", "pw"], Python's ('AUTH', 'user', 'pw')); up to two arguments are the credentials.
    (
        regex.compile(
            rf"(?i)(?P<cmd>(?P<q>[\"'])(?:{_PW_COMMANDS})(?P=q))"
            r"(?P<sep>[ \t]{0,8},[ \t]{0,8}|[ \t]+)"
            rf"(?P<value>{_DQ}|{_SQ})(?:(?P=sep)(?![\"'](?:{_PW_COMMANDS})[\"'])(?:{_DQ}|{_SQ}))?"
        ),
        _quoted_args,
    ),
    # AUTH pw, auth user pw, requirepass pw, masterauth pw: the command, not the prose
    # ("AUTH failed", "AUTH <password> called without...").
    (
        regex.compile(
            rf"(?i)(?P<cmd>(?<![\w-])(?:{_PW_COMMANDS})[ \t]{{1,8}}){_AUTH_ARG}"
            # A second argument (AUTH's user, then password) unless it is the next
            # setting: `requirepass a masterauth b` is two settings, each masked.
            rf"(?:(?P<gap>[ \t]{{1,8}})(?!(?:{_PW_COMMANDS})(?![\w-]))(?P<arg2>{_AUTH_ARG}))?"
        ),
        _auth_args,
    ),
    # Redis ACL password rules after ACL SETUSER or in an ACL file's or ACL LIST's
    # `user NAME on|off ...`: >pw adds, <pw removes, #hash and !hash by their SHA-256.
    (
        regex.compile(
            r"(?i)(?:(?<![\w-])acl[\"']?[ \t]{1,8}[\"']?setuser"
            r"|(?<![\w-])user[ \t]{1,8}[^\s\"']++[ \t]{1,8}(?=(?:on|off)(?!\S)))[^\n]*+"
        ),
        _acl_rules,
    ),
    # Sentinel's `sentinel auth-pass <master> <pw>` and `SENTINEL SET <m> auth-pass <pw>`,
    # `sentinel-pass`, and TLS key-file passphrases, in config files and on command lines.
    (
        regex.compile(
            r"(?i)(?P<cmd>(?<![\w-])(?:sentinel[ \t]{1,8}auth-pass[ \t]{1,8}[^\s\"']++[ \t]{1,8}"
            r"|(?:--)?(?:auth-pass|sentinel-pass|tls-(?:client-)?key-file-pass)[ \t]{1,8}))"
            rf"(?:{_DQ}|{_SQ}|\S++)"
        ),
        rf"\g<cmd>{MASK}",
    ),
    # Password flags: --pass pw, --password=pw, -pass pw; redis-cli's -a pw.
    (
        regex.compile(
            # An argv list too: '--requirepass', 'pw' and "--pass","pw".
            r"(?i)((?<![\w-])--?(?:pass(?:word|wd)?|requirepass|masterauth|auth|token|secret"
            r"|api-?key|access-key|secret-key)(?:[ \t]{1,8}|=|[\"'][ \t]{0,8},[ \t]{0,8}))(?!-)"
            rf"(?P<value>{_DQ}|{_SQ}|\S++)"
        ),
        _keep_quotes,
    ),
    (
        regex.compile(
            r"(?i)((?<![\w-])redis-cli\b[^\n]{0,200}?"
            r"(?:[ \t]-a[ \t]{1,8}|[\"'][ \t]{0,8},[ \t]{0,8}[\"']-a[\"'][ \t]{0,8},[ \t]{0,8}))"
            rf"(?P<value>{_DQ}|{_SQ}|\S++)"
        ),
        _keep_quotes,
    ),
    # key=value, key: value, "key": "value", key => 'value' for secret-looking keys; a
    # quoted value is masked whole.
    (
        regex.compile(
            r"(?i)((?:pass(?:word|wd|phrase)|secret|token|api[_-]?key|access[_-]?key"
            r"|private[_-]?key|credentials?|requirepass|masterauth|(?<![a-z])(?:pass|pwd|auth)(?![a-z]))"
            r"[\w.-]{0,40}\\{0,3}[\"']?\s{0,8}(?:=>?|:)\s{0,8})"
            # A tuple or list whole: auth=("user", "pw"), "password": ["pw"].
            rf"(?P<value>{_ESC_DQ}|{_DQ}|{_SQ}|[(\[][^)\]\n]*+[)\]]?|[^\s\"',;&}})\]\\]+)"
        ),
        _keep_quotes,
    ),
    # Tokens of known kinds, wherever they stand.
    (regex.compile(r"(?<![\w-])eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"), f"eyJ{MASK}"),
    (regex.compile(r"(?<![\w-])(xox[abposre]|xapp)-[A-Za-z0-9-]{8,}"), rf"\1-{MASK}"),
    (regex.compile(r"(?<![A-Za-z0-9_])(gh[pousr]_)[A-Za-z0-9]{30,}"), rf"\1{MASK}"),
    (regex.compile(r"(?<![A-Za-z0-9_])(github_pat_)[A-Za-z0-9_]{22,}"), rf"\1{MASK}"),
    (regex.compile(r"(?<![A-Za-z0-9_])(sk|pk|rk)_(live|test)_[A-Za-z0-9]{10,}"), rf"\1_\2_{MASK}"),
    (regex.compile(r"(?<![A-Za-z0-9_])(whsec_)[A-Za-z0-9]{20,}"), rf"\1{MASK}"),
    (
        regex.compile(
            r"(?<![A-Za-z0-9])(AKIA|ASIA|AROA|AIDA|AGPA|ANPA)[A-Z0-9]{16}(?![A-Za-z0-9])"
        ),
        rf"\1{MASK}",
    ),
    # An AWS secret access key: 40 characters of base64 with upper, lower and digits.
    (
        regex.compile(
            r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])"
            r"(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
        ),
        MASK,
    ),
)

# What each pattern needs before it can match, checked first: most lines hold none of it,
# and a substring test costs far less than the pattern's search (the key=value and AWS
# patterns cost ~0.1 ms on a long JSON line each). A tuple: one of these in the text's
# casefold, which holds the fold of everything a (?i) pattern matches (the long s and the
# Kelvin sign included, which str.lower() keeps) and of every literal a case-sensitive one
# does; a pattern: a match of it in the text. Each gate is necessary for its pattern
# (tests/test_redact.py holds the output to the ungated patterns').
_Gate = tuple[str, ...] | re.Pattern[str]
_GATES: tuple[_Gate, ...] = (
    ("-----begin",),
    ("hooks.slack",),
    (":/", ":\\/"),
    (":/", ":\\/"),
    ("authorization",),
    ("bearer",),
    ('"auth', "'auth", "requirepass", "masterauth", "primaryauth"),
    ("auth", "requirepass"),
    ("user",),
    ("-pass",),
    ("-pass", "-requirepass", "-masterauth", "-auth", "-token", "-secret", "-api", "-access-key"),
    ("redis-cli",),
    (
        "pass",
        "secret",
        "token",
        "apikey",
        "api_key",
        "api-key",
        "accesskey",
        "access_key",
        "access-key",
        "privatekey",
        "private_key",
        "private-key",
        "credential",
        "pwd",
        "auth",
    ),
    ("eyj",),
    ("xox", "xapp"),
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ("github_pat_",),
    ("_live_", "_test_"),
    ("whsec_",),
    ("akia", "asia", "aroa", "aida", "agpa", "anpa"),
    # A run of exactly 40 (bounded to 40 per start: linear).
    re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"),
)
assert len(_GATES) == len(_PATTERNS)


def _gated(gate: _Gate, text: str, folded: str) -> bool:
    """Whether the text passes the gate: its pattern may match."""
    if isinstance(gate, tuple):
        return any(needle in folded for needle in gate)
    return gate.search(text) is not None


class Redactor:
    """Masks secrets in text; also masks exact values it was told about (the configured ones)."""

    __slots__ = ("_known",)

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is found whole.
        self._known = sorted({s for s in known_secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Redactor(known_secrets={len(self._known)})"

    def known_in(self, text: str) -> bool:
        """Whether one of the configured secrets occurs in text."""
        return any(secret in text for secret in self._known)

    def __call__(self, text: str) -> str:
        """The text with every secret masked."""
        if self._known:
            text = self._mask_known(text)
        folded = text.casefold()
        for (pattern, replacement), gate in zip(_PATTERNS, _GATES, strict=True):
            if not _gated(gate, text, folded):
                continue
            text, n = pattern.subn(replacement, text)
            if n:
                folded = text.casefold()
        return text

    def _mask_known(self, text: str) -> str:
        """Each stretch covered by configured secrets becomes one mask: two that overlap
        (`abcdef`, `defghi` in `abcdefghi`) or nest leave no piece of either behind."""
        spans: list[tuple[int, int]] = []
        for secret in self._known:
            at = text.find(secret)
            while at >= 0:
                spans.append((at, at + len(secret)))
                at = text.find(secret, at + 1)
        if not spans:
            return text
        spans.sort()
        out: list[str] = []
        done = 0
        start, end = spans[0]
        for s, e in spans[1:]:
            if s <= end:
                end = max(end, e)
                continue
            out += [text[done:start], MASK]
            done, (start, end) = end, (s, e)
        out += [text[done:start], MASK, text[end:]]
        return "".join(out)


redact = Redactor()
