"""Notifier settings from the TOML `[slack]`, `[webhook]`, `[command]` sections and the env.

Environment wins over the file: `SLACK_BOT_TOKEN`, `LOGWATCH_SLACK_CHANNEL`,
`LOGWATCH_SLACK_API_URL`, `SLACK_WEBHOOK_URL`. Errors are one line naming the file,
section, key and value, except secrets, which are never repeated back.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import regex

from logwatch.errors import ConfigError
from logwatch.model import Severity
from logwatch.notify import NotificationKind, Notifier
from logwatch.notify.render import Route
from logwatch.redact import redact
from logwatch.toml_table import TomlTable, shown

logger = logging.getLogger(__name__)

CHANGE_KINDS: tuple[NotificationKind, ...] = ("opened", "updated", "resolved")
_KEYS = {
    "slack": {"channel", "token", "token_file", "api_url", "routes", "mention", "timeout",
              "update_interval", "app_token", "app_token_file", "broadcast_resolved"},
    "webhook": {"url", "url_file", "events", "mention", "timeout"},
    "command": {"argv", "timeout", "events", "retries"},
}  # fmt: skip
_ROUTE_KEYS = {"severity", "category", "channel", "mention", "broadcast"}
_CHANNEL = regex.compile(r"^#?[A-Za-z0-9._-]{1,80}$")
_MENTION = regex.compile(
    r"^(?:<!here>|<!channel>|<!everyone>|<!subteam\^[A-Z0-9]+(?:\|[^<>&|]*)?>|<@[UW][A-Z0-9]+>)$"
)
_SHORT_MENTIONS = {"here": "<!here>", "channel": "<!channel>", "everyone": "<!everyone>"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackSettings:
    """The Web API notifier: token, default channel, routes."""

    token: str = field(repr=False)
    channel: str
    api_url: str | None = None
    routes: tuple[Route, ...] = ()
    mention: str = ""
    timeout_s: float = 10.0
    update_interval_s: float | None = None  # None: the [incidents] update_interval applies
    # The app-level token (xapp-, connections:write) for the buttons through Socket Mode;
    # None: no buttons.
    app_token: str | None = field(default=None, repr=False)
    broadcast_resolved: bool = True  # the all-clear reply goes to the channel too


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    """The incoming-webhook notifier."""

    url: str = field(repr=False)
    events: tuple[NotificationKind, ...] = CHANGE_KINDS
    mention: str = ""
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSettings:
    """The command hook: argv (never a shell), timeout, which changes, retries."""

    argv: tuple[str, ...]
    timeout_s: float = 10.0
    events: tuple[NotificationKind, ...] = CHANGE_KINDS
    retries: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifySettings:
    """Every configured notifier; None where one is not configured."""

    slack: SlackSettings | None = None
    webhook: WebhookSettings | None = None
    command: CommandSettings | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The token and webhook URL, for the Redactor's known secrets."""
        slack = (self.slack.token, self.slack.app_token) if self.slack else ()
        return tuple(s for s in (*slack, self.webhook and self.webhook.url) if s)


class _Reader(TomlTable):
    """A notifier section: the typed keys plus Slack's own kinds (events, mention, channel)."""

    def duration(self, key: str, default: float, *, positive: bool = True) -> float:
        """A timeout or interval: more than 0."""
        return super().duration(key, default, positive=positive)

    def events(self) -> tuple[NotificationKind, ...]:
        value = self.table.get("events", list(CHANGE_KINDS))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(v in CHANGE_KINDS for v in value):
            self.refuse("events", f"a list of {', '.join(CHANGE_KINDS)}", value)
        return tuple(cast(list[NotificationKind], value))

    def mention(self, value: object, key: str = "mention") -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            parts = [_SHORT_MENTIONS.get(p.lstrip("@"), p) for p in value.split()]
            if parts and all(_MENTION.match(p) for p in parts):
                return " ".join(parts)
        raise ConfigError(
            f"{self.where(key)}: invalid mention {shown(value)} (expected <!here>, <!channel>,"
            " <!subteam^ID> or <@USERID>)"
        )

    def channel(self, value: object, key: str = "channel") -> str:
        if not isinstance(value, str) or not _CHANNEL.match(value.strip()):
            raise ConfigError(
                f"{self.where(key)}: invalid channel {shown(value)} (expected #name or an id"
                " like C0123)"
            )
        return value.strip()


def parse_notify_settings(
    data: Mapping[str, Any], env: Mapping[str, str], *, source: str, base: Path | None
) -> NotifySettings:
    """Validate `[slack]`, `[webhook]`, `[command]` plus the environment."""
    root = base.parent if base is not None else Path()
    tables: dict[str, Mapping[str, Any]] = {}
    for section, keys in _KEYS.items():
        table = data.get(section, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table")
        for key in table:
            if key not in keys:
                raise ConfigError(f"{source}: [{section}] unknown key {key!r}")
        tables[section] = table
    slack = _slack(_Reader(source, "slack", tables["slack"]), env, root, base)
    webhook = _webhook(_Reader(source, "webhook", tables["webhook"]), env, root, base)
    command = _command(_Reader(source, "command", tables["command"]), root)
    return NotifySettings(slack=slack, webhook=webhook, command=command)


def _slack(
    r: _Reader, env: Mapping[str, str], root: Path, base: Path | None
) -> SlackSettings | None:
    token = _secret(r, env, "SLACK_BOT_TOKEN", "token", "token_file", root, base)
    # Every key is checked whether Slack is on or not: `logwatch check` run without the
    # token must refuse what the agent, which has it, would refuse.
    file_channel = r.string("channel")
    if file_channel is not None:
        r.channel(file_channel)
    channel = env.get("LOGWATCH_SLACK_CHANNEL") or file_channel
    routes = _routes(r)
    api_url = _api_url(r, env)
    mention = r.mention(r.table.get("mention"))
    timeout_s = r.duration("timeout", 10.0)
    interval = r.duration("update_interval", 1.0) if "update_interval" in r.table else None
    app_token = _secret(r, env, "SLACK_APP_TOKEN", "app_token", "app_token_file", root, base)
    if app_token is not None and not app_token.startswith("xapp-"):
        logger.warning("%s: the Slack app token does not look like one (xapp-...)", r.source)
    broadcast = r.flag("broadcast_resolved", True)
    if token is None:
        if r.table:
            logger.warning(
                "%s: [slack] has no token (SLACK_BOT_TOKEN or token_file): Slack is off", r.source
            )
        return None
    if not token.startswith("xox"):
        logger.warning("%s: the Slack token does not look like a bot token (xoxb-...)", r.source)
    if channel is None:
        raise ConfigError(
            f"{r.where('channel')}: required with a Slack token (or set LOGWATCH_SLACK_CHANNEL)"
        )
    return SlackSettings(
        token=token,
        channel=_channel_from(r, env, channel),
        api_url=api_url,
        routes=routes,
        mention=mention,
        timeout_s=timeout_s,
        update_interval_s=interval,
        app_token=app_token,
        broadcast_resolved=broadcast,
    )


def _api_url(r: _Reader, env: Mapping[str, str]) -> str | None:
    file_url = r.string("api_url")
    api_url = env.get("LOGWATCH_SLACK_API_URL") or file_url
    if api_url is None:
        return None
    if urlsplit(api_url).scheme not in ("http", "https") or not urlsplit(api_url).hostname:
        what = "LOGWATCH_SLACK_API_URL" if env.get("LOGWATCH_SLACK_API_URL") else r.where("api_url")
        raise ConfigError(f"{what}: not an http(s) URL: {redact(api_url)!r}")
    return api_url if api_url.endswith("/") else api_url + "/"


def _channel_from(r: _Reader, env: Mapping[str, str], channel: str) -> str:
    if env.get("LOGWATCH_SLACK_CHANNEL"):
        return _Reader("", "", {}).channel(channel, "LOGWATCH_SLACK_CHANNEL")
    return r.channel(channel)


def _routes(r: _Reader) -> tuple[Route, ...]:
    value = r.table.get("routes", [])
    if not isinstance(value, list):
        r.refuse("routes", "a list of tables", value)
    routes = []
    for i, item in enumerate(value, 1):
        key = f"routes[{i}]"
        if not isinstance(item, Mapping):
            r.refuse(key, "a table", item)
        unknown = sorted(set(item) - _ROUTE_KEYS)
        if unknown:
            raise ConfigError(f"{r.where(key)}: unknown key {unknown[0]!r}")
        severities = _names(r, f"{key}.severity", item.get("severity", "*"))
        try:
            sevs = None if severities is None else frozenset(Severity.parse(s) for s in severities)
        except ValueError as exc:
            raise ConfigError(f"{r.where(key + '.severity')}: {exc}") from None
        categories = _names(r, f"{key}.category", item.get("category", "*"))
        channel = item.get("channel")
        routes.append(
            Route(
                severities=sevs,
                categories=None if categories is None else frozenset(categories),
                channel=None if channel is None else r.channel(channel, f"{key}.channel"),
                mention=r.mention(item.get("mention"), f"{key}.mention"),
                broadcast=_broadcast(r, f"{key}.broadcast", item.get("broadcast")),
            )
        )
    return tuple(routes)


def _broadcast(r: _Reader, key: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    r.refuse(key, "true or false", value)


def _names(r: _Reader, key: str, value: object) -> list[str] | None:
    """`"*"` (None: any), a name, or a list of names."""
    if value == "*":
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        r.refuse(key, '"*", a name or a list of names', value)
    return [v.strip() for v in value]


def _webhook(
    r: _Reader, env: Mapping[str, str], root: Path, base: Path | None
) -> WebhookSettings | None:
    url = _secret(r, env, "SLACK_WEBHOOK_URL", "url", "url_file", root, base)
    events, mention = r.events(), r.mention(r.table.get("mention"))
    timeout_s = r.duration("timeout", 10.0)
    if url is None:
        if r.table:
            logger.warning(
                "%s: [webhook] has no URL (SLACK_WEBHOOK_URL or url_file): webhook is off", r.source
            )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The URL is the secret: name where it came from, never the value.
        raise ConfigError(f"{r.where('url')}: the webhook URL is not an http(s) URL")
    return WebhookSettings(url=url, events=events, mention=mention, timeout_s=timeout_s)


def _command(r: _Reader, root: Path) -> CommandSettings | None:
    if not r.table:
        return None
    timeout_s, events = r.duration("timeout", 10.0), r.events()
    retries = r.integer("retries", 3, minimum=0)
    argv = r.table.get("argv")
    if isinstance(argv, str):
        raise ConfigError(
            f"{r.where('argv')}: expected a list of arguments, not a shell string"
            f' (e.g. ["/usr/local/bin/maint-mode", "on"]), got {argv!r}'
        )
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
        r.refuse("argv", "a non-empty list of strings", argv)
    program = argv[0]
    if "/" in program:
        path = Path(program) if Path(program).is_absolute() else root / program
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ConfigError(f"{r.where('argv')}: not an executable file: {str(path)!r}")
        program = str(path)
    elif shutil.which(program) is None:
        logger.warning("%s: %s not found on PATH (yet)", r.where("argv"), program)
    return CommandSettings(
        argv=(program, *argv[1:]), timeout_s=timeout_s, events=events, retries=retries
    )


def _secret(
    r: _Reader,
    env: Mapping[str, str],
    env_name: str,
    key: str,
    file_key: str,
    root: Path,
    base: Path | None,
) -> str | None:
    """A token or URL from the environment, the config file, or a file it names."""
    # Both keys are checked even when the environment wins: the agent may run without it.
    value = r.string(key, secret=True)
    name = r.string(file_key)
    if env.get(env_name, "").strip():
        return _clean(env[env_name], env_name)
    if value is not None:
        if base is not None:
            _warn_if_readable(base, f"{r.source} holds [{r.section}] {key}")
        return _clean(value, r.where(key))
    if name is None:
        return None
    path = Path(name).expanduser()
    path = path if path.is_absolute() else root / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"{r.where(file_key)}: cannot read {str(path)!r}: {reason}") from None
    if not text.strip():
        raise ConfigError(f"{r.where(file_key)}: {str(path)!r} is empty")
    _warn_if_readable(path, f"{path} ([{r.section}] {file_key})")
    return _clean(text, r.where(file_key))


def _clean(value: str, where: str) -> str:
    value = value.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ConfigError(f"{where}: the secret contains whitespace or control characters")
    return value


def _warn_if_readable(path: Path, what: str) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        logger.warning("%s and is readable by every user: chmod 600 it", what)


def build_notifiers(
    settings: NotifySettings, *, host: str | None = None, env: Mapping[str, str] | None = None
) -> list[Notifier]:
    """One notifier per configured destination (Slack, webhook, command)."""
    # Imported here so that `logwatch scan`, which reads this config too, never loads slack-sdk.
    from logwatch.notify.command import CommandNotifier
    from logwatch.notify.slack import SlackNotifier
    from logwatch.notify.webhook import WebhookNotifier

    notifiers: list[Notifier] = []
    if (s := settings.slack) is not None:
        notifiers.append(
            SlackNotifier(
                token=s.token,
                channel=s.channel,
                routes=s.routes,
                mention=s.mention,
                api_url=s.api_url,
                timeout_s=s.timeout_s,
                host=host,
                buttons=s.app_token is not None,
                broadcast_resolved=s.broadcast_resolved,
            )
        )
    if (w := settings.webhook) is not None:
        notifiers.append(
            WebhookNotifier(
                url=w.url,
                mention=w.mention,
                events=w.events,
                timeout_s=w.timeout_s,
                host=host,
            )
        )
    if (c := settings.command) is not None:
        notifiers.append(
            CommandNotifier(
                argv=c.argv, timeout_s=c.timeout_s, events=c.events, retries=c.retries, env=env
            )
        )
    return notifiers


__all__ = [
    "CommandSettings",
    "NotifySettings",
    "SlackSettings",
    "WebhookSettings",
    "build_notifiers",
    "parse_notify_settings",
]
