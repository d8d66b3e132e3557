"""`logwatch probe` (ask a live Redis what is wrong) and `logwatch notify-test`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from logwatch.cli.app import AppContext, pass_app
from logwatch.clock import SystemClock
from logwatch.durations import parse_duration


@click.command("notify-test")
@pass_app
def notify_test(app: AppContext) -> None:
    """Send a test message through every configured notifier and say what worked.

    Exit 0 when every notifier delivered, 1 when one failed (bad token, unknown channel,
    unreachable URL). With no notifier configured, says how to configure one.
    """
    import socket

    from logwatch.notify import Delivered, Failed, close_notifiers, make_test_notification
    from logwatch.notify.settings import build_notifiers

    notifiers = build_notifiers(app.config.notify, host=socket.gethostname())
    if not notifiers:
        click.echo(
            "no notifier configured: set SLACK_BOT_TOKEN and LOGWATCH_SLACK_CHANNEL, or"
            " SLACK_WEBHOOK_URL, or a [slack]/[webhook]/[command] section in the config"
        )
        sys.exit(1)
    failed = 0
    try:
        for notifier in notifiers:
            outcome = notifier.send(make_test_notification(SystemClock().now()))
            if isinstance(outcome, Delivered):
                click.echo(f"{notifier.name}: ok")
                continue
            failed += 1
            why = (
                outcome.reason if isinstance(outcome, Failed) else f"unreachable: {outcome.reason}"
            )
            click.echo(f"{notifier.name}: FAILED: {why}")
    finally:
        close_notifiers(notifiers)
    sys.exit(1 if failed else 0)


@click.command()
@click.argument("url", metavar="[REDIS_URL]", required=False)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The app's .env to read REDIS_URL from when neither REDIS_URL nor the environment"
    " gives one (default: ./.env if present).",
)
@click.option(
    "--timeout",
    default="2s",
    show_default=True,
    help="Longest wait to connect, and for each reply (e.g. 500ms, 2s).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--rq",
    "rq",
    is_flag=True,
    help="Also read RQ's keys (read-only, bounded): per queue the waiting, failed, started"
    " and abandoned jobs, the workers, and the command that retries the failed ones.",
)
@pass_app
def probe(
    app: AppContext, url: str | None, env_file: Path | None, timeout: str, fmt: str, rq: bool
) -> None:
    """Check a live Redis (PING, INFO) and say what is wrong, with the runbook steps.

    REDIS_URL (redis://, rediss:// or unix://) is the argument, else REDIS_URL in the
    environment, else REDIS_URL in the app's .env, else the config's redis_url. Only reads:
    nothing is written to Redis. The password never appears in the output.

    \b
    Examples:
      logwatch probe redis://:PASSWORD@10.0.0.5:6379/0
      logwatch probe --env-file /srv/morningai/.env --format json
      logwatch probe --rq
    Exit codes: 0 healthy, 1 unhealthy or unreachable, 2 usage (no URL, malformed URL).
    """
    from logwatch.probe import run_probe_command

    timeout_s = parse_duration(timeout, what="--timeout")
    if timeout_s <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--timeout")
    text, code = run_probe_command(
        url,
        env=app.env,
        env_file=env_file,
        timeout_s=timeout_s,
        fmt=fmt,
        configured=lambda: app.config.redis_url,
        rq=rq,
    )
    click.echo(text, nl=False)
    sys.exit(code)
