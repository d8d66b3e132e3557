"""Secrets out of anything that leaves the machine: output, Slack, webhooks, agent logs."""

from __future__ import annotations

from collections.abc import Iterable

import regex

MASK = "***"

# Each pattern keeps the part that tells the reader what was there and masks the secret.
_PATTERNS: tuple[tuple[regex.Pattern[str], str], ...] = (
    # redis://user:password@host, rediss://:password@host, http(s)://user:pass@host
    (regex.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s@/'\"]+(@)"), rf"\1{MASK}\2"),
    # Slack tokens: xoxb-, xoxp-, xoxa-, xoxs-, xoxe-, xapp-
    (regex.compile(r"\bxox[abposre]-[A-Za-z0-9-]{8,}"), f"xox?-{MASK}"),
    (regex.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), f"xapp-{MASK}"),
    # Slack incoming webhook URLs carry their secret in the path
    (
        regex.compile(
            r"https://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/[\w/-]+"
        ),
        f"https://hooks.slack.com/services/{MASK}",
    ),
    # Authorization: Bearer …, Basic …; a bare "Bearer <token>"
    (
        regex.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?[A-Za-z]+\s+)[^\s\"']+"),
        rf"\1{MASK}",
    ),
    (regex.compile(r"(?i)(\bbearer\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}"), rf"\1{MASK}"),
    # key=value and "key": "value" for secret-looking keys
    (
        regex.compile(
            r"(?i)(\b[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey)[\w-]*"
            r"[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*)([^\s\"',;&})]+)"
        ),
        rf"\1{MASK}",
    ),
    # redis-cli -a PASSWORD / AUTH password / CONFIG SET requirepass password
    (regex.compile(r"(?i)(\bredis-cli\b[^\n]*?\s-a\s+)(\S+)"), rf"\1{MASK}"),
    (
        # [ \t]: `AUTH user pass` is one line; "AUTH secret\n  next line" masks the secret
        regex.compile(r"(\b(?:AUTH|requirepass|masterauth)[ \t]+(?:\w+[ \t]+)?)(?!\*\*\*|<)(\S+)"),
        rf"\1{MASK}",
    ),
    # AWS access keys and generic long API keys with well-known prefixes
    (regex.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), rf"\1{MASK}"),
    (regex.compile(r"\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{10,}"), rf"\1_\2_{MASK}"),
)


class Redactor:
    """Masks secrets in text; also masks exact values it was told about (the configured ones)."""

    __slots__ = ("_known",)

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._known = sorted({s for s in known_secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Redactor(known_secrets={len(self._known)})"

    def known_in(self, text: str) -> bool:
        """Whether one of the configured secrets occurs in text."""
        return any(secret in text for secret in self._known)

    def __call__(self, text: str) -> str:
        """The text with every secret masked."""
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


redact = Redactor()
