"""parse_notify_settings and build_notifiers: TOML sections + environment -> notifiers."""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path

import pytest

from logwatch.errors import ConfigError
from logwatch.model import Severity
from logwatch.notify.command import CommandNotifier
from logwatch.notify.render import Route
from logwatch.notify.settings import NotifySettings, build_notifiers, parse_notify_settings
from logwatch.notify.slack import SlackNotifier, WebhookNotifier

TOKEN = "xoxb-4242-4242-settingsSECRET"
HOOK = "https://hooks.slack.com/services/T0/B0/hookSECRET"


def parse(toml: str, env: dict[str, str] | None = None, base: Path | None = None) -> NotifySettings:
    return parse_notify_settings(
        tomllib.loads(toml), env or {}, source=str(base or "logwatch.toml"), base=base
    )


def test_nothing_configured_means_no_notifiers() -> None:
    settings = parse("")
    assert settings == NotifySettings() and build_notifiers(settings) == []


def test_slack_from_env_with_routes() -> None:
    settings = parse(
        """
        [slack]
        channel = "#alerts"
        mention = "@here"
        update_interval = "10m"
        routes = [
          {severity = "critical", category = "*", channel = "#ops-alerts", mention = "<!here>"},
          {severity = ["error", "warning"], category = "oom", channel = "#db"},
        ]
        """,
        {"SLACK_BOT_TOKEN": f" {TOKEN}\n", "LOGWATCH_SLACK_API_URL": "http://127.0.0.1:9/api"},
    )
    slack = settings.slack
    assert slack is not None
    assert (slack.token, slack.channel, slack.mention) == (TOKEN, "#alerts", "<!here>")
    assert slack.api_url == "http://127.0.0.1:9/api/" and slack.update_interval_s == 600
    assert slack.routes == (
        Route(severities=frozenset({Severity.CRITICAL}), channel="#ops-alerts", mention="<!here>"),
        Route(
            severities=frozenset({Severity.ERROR, Severity.WARNING}),
            categories=frozenset({"oom"}),
            channel="#db",
        ),
    )
    assert TOKEN not in repr(settings) and settings.secrets == (TOKEN,)
    [notifier] = build_notifiers(settings, host="app-1")
    assert isinstance(notifier, SlackNotifier) and notifier.name == "slack"
    assert TOKEN not in repr(notifier)


def test_env_channel_wins_over_the_file() -> None:
    settings = parse('[slack]\nchannel = "#file"', {"SLACK_BOT_TOKEN": TOKEN,
                                                   "LOGWATCH_SLACK_CHANNEL": "C0ENV"})  # fmt: skip
    assert settings.slack is not None and settings.slack.channel == "C0ENV"


def test_token_file_relative_to_the_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "secrets").mkdir()
    token_file = tmp_path / "secrets" / "slack-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    config = tmp_path / "logwatch.toml"
    toml = '[slack]\nchannel = "#alerts"\ntoken_file = "secrets/slack-token"\n'

    with caplog.at_level(logging.WARNING):
        settings = parse(toml, base=config)
    assert settings.slack is not None and settings.slack.token == TOKEN
    assert caplog.text == ""

    token_file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        parse(toml, base=config)
    assert "slack-token ([slack] token_file) and is readable by every user" in caplog.text
    assert TOKEN not in caplog.text


def test_token_in_a_world_readable_config_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "logwatch.toml"
    config.write_text("")
    os.chmod(config, 0o644)
    with caplog.at_level(logging.WARNING):
        settings = parse(f'[slack]\nchannel = "#a"\ntoken = "{TOKEN}"', base=config)
    assert settings.slack is not None
    assert "holds [slack] token and is readable by every user" in caplog.text


def test_slack_without_a_token_is_off_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        settings = parse('[slack]\nchannel = "#alerts"')
    assert settings.slack is None and "no token" in caplog.text


def test_webhook_and_command(tmp_path: Path) -> None:
    hook = tmp_path / "maint.sh"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o700)
    settings = parse(
        """
        [webhook]
        events = ["opened", "resolved"]
        mention = "<!channel>"
        [command]
        argv = ["./maint.sh", "on", "--reason", "redis"]
        timeout = "5s"
        events = "opened"
        retries = 0
        """,
        {"SLACK_WEBHOOK_URL": HOOK},
        base=tmp_path / "logwatch.toml",
    )
    assert settings.webhook is not None and settings.webhook.events == ("opened", "resolved")
    assert settings.command is not None
    assert settings.command.argv == (str(hook), "on", "--reason", "redis")
    assert (settings.command.timeout_s, settings.command.retries) == (5.0, 0)
    assert HOOK not in repr(settings) and settings.secrets == (HOOK,)
    webhook, command = build_notifiers(settings)
    assert isinstance(webhook, WebhookNotifier) and isinstance(command, CommandNotifier)
    assert HOOK not in repr(webhook)


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        pytest.param('[slack]\ncolour = "red"', {}, "[slack] unknown key 'colour'", id="unknown-key"),
        pytest.param("slack = 3", {}, "[slack] must be a table", id="not-a-table"),
        pytest.param("[slack]", {"SLACK_BOT_TOKEN": TOKEN},
                     "[slack] channel: required with a Slack token", id="no-channel"),
        pytest.param('[slack]\nchannel = "#has space"', {"SLACK_BOT_TOKEN": TOKEN},
                     "[slack] channel: invalid channel '#has space'", id="bad-channel"),
        pytest.param("[slack]", {"SLACK_BOT_TOKEN": TOKEN, "LOGWATCH_SLACK_CHANNEL": "a b"},
                     "LOGWATCH_SLACK_CHANNEL: invalid channel 'a b'", id="bad-env-channel"),
        pytest.param('[slack]\nchannel = "#a"\nmention = "@team"', {"SLACK_BOT_TOKEN": TOKEN},
                     "[slack] mention: invalid mention '@team'", id="bad-mention"),
        pytest.param('[slack]\nchannel = "#a"\nroutes = [{severity = "fatal"}]',
                     {"SLACK_BOT_TOKEN": TOKEN}, "[slack] routes[1].severity: unknown severity 'fatal'",
                     id="bad-route-severity"),
        pytest.param('[slack]\nchannel = "#a"\nroutes = [{channel = "#b", when = 1}]',
                     {"SLACK_BOT_TOKEN": TOKEN}, "[slack] routes[1]: unknown key 'when'", id="route-key"),
        pytest.param('[slack]\nchannel = "#a"\napi_url = "ftp://x"', {"SLACK_BOT_TOKEN": TOKEN},
                     "[slack] api_url: not an http(s) URL: 'ftp://x'", id="bad-api-url"),
        pytest.param('[slack]\nchannel = "#a"\ntimeout = "soon"', {"SLACK_BOT_TOKEN": TOKEN},
                     "[slack] timeout: invalid duration 'soon'", id="bad-timeout"),
        pytest.param("[slack]", {"SLACK_BOT_TOKEN": "xoxb-has space", "LOGWATCH_SLACK_CHANNEL": "#a"},
                     "SLACK_BOT_TOKEN: the secret contains whitespace", id="bad-token"),
        pytest.param('[slack]\nchannel = "#a"\ntoken_file = "/nonexistent/token"', {},
                     "[slack] token_file: cannot read '/nonexistent/token': No such file", id="no-file"),
        pytest.param("", {"SLACK_WEBHOOK_URL": "hooks.slack.com/services/T/B/hookSECRET"},
                     "[webhook] url: the webhook URL is not an http(s) URL", id="bad-webhook"),
        pytest.param('[webhook]\nevents = ["paged"]', {"SLACK_WEBHOOK_URL": HOOK},
                     "[webhook] events: expected a list of opened, updated, resolved", id="bad-events"),
        pytest.param('[command]\nargv = "maint-mode on; rm -rf /"', {},
                     "[command] argv: expected a list of arguments, not a shell string", id="shell"),
        pytest.param("[command]\nargv = []", {}, "[command] argv: expected a non-empty list",
                     id="empty-argv"),
        pytest.param('[command]\nargv = ["/nonexistent/hook"]', {},
                     "[command] argv: not an executable file: '/nonexistent/hook'", id="no-hook"),
        pytest.param('[command]\nargv = ["true"]\nretries = -1', {},
                     "[command] retries: expected an integer >= 0, got -1", id="retries"),
    ],
)  # fmt: skip
def test_errors_name_file_section_key_and_value_but_no_secret(
    toml: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(toml, env)
    text = str(raised.value)
    assert message in text and "\n" not in text
    for secret in (TOKEN, "hookSECRET", "xoxb-has space"):
        assert secret not in text


def test_build_passes_the_environment_to_the_command() -> None:
    settings = parse('[command]\nargv = ["true"]')
    [command] = build_notifiers(settings, env={"PATH": "/usr/bin", "SLACK_BOT_TOKEN": TOKEN})
    assert isinstance(command, CommandNotifier)
    assert TOKEN not in repr(command) and TOKEN not in str(vars(command))  # withheld from hooks
