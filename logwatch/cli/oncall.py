"""The on-call commands: `logwatch silence add|list|expire` and `logwatch routes test`.

Registered on the main group by cli.py; like it, they parse and delegate. Exit codes: 0
done, 2 usage (a bad duration, an unknown silence id, an unknown severity).
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from logwatch.cli.app import FORMAT, AppContext, CliError, pass_app
from logwatch.clock import SystemClock, parse_when, shift
from logwatch.config import Config
from logwatch.durations import parse_duration
from logwatch.errors import LogwatchError
from logwatch.model import Incident, Severity
from logwatch.notify.render import choose_route, plain_date
from logwatch.oncall import Silence, silence_to_json
from logwatch.oncall_config import MaintenanceWindow
from logwatch.oncall_store import new_silence_id
from logwatch.report import format_duration

if TYPE_CHECKING:
    from logwatch.store import StateStore

STATE = click.option(
    "--state", type=click.Path(dir_okay=False, path_type=Path), help="State database."
)


def preview_notifier(cfg: Config, host: str) -> Any:
    """`watch --dry-run`'s printer, with the Slack settings if there are any."""
    from logwatch.notify.preview import PreviewNotifier

    s = cfg.notify.slack
    if s is None:
        return PreviewNotifier(sys.stdout, host=host)
    return PreviewNotifier(sys.stdout, channel=s.channel, routes=s.routes, mention=s.mention,
                           host=host, buttons=s.app_token is not None,
                           broadcast_resolved=s.broadcast_resolved)  # fmt: skip


def slack_buttons(cfg: Config) -> Any:
    """The Socket Mode listener of the buttons, when an app token is configured."""
    s = cfg.notify.slack
    if s is None or s.app_token is None:
        return None
    from logwatch.notify.actions import SlackButtons

    return SlackButtons(app_token=s.app_token, api_url=s.api_url, clock=SystemClock().now)


def oncall_lines(inc: Any) -> list[str]:
    """`inc-3f2a: silenced (sil-1) by alice until ...: resize`, `inc-3f2a: acknowledged by ...`."""
    from logwatch.notify.render import plain_date

    lines = []
    if inc.silence is not None:
        until = plain_date(inc.silence.ends) if inc.silence.ends else "it resolves"
        lines.append(f"{inc.id}: not notified: {inc.silence.describe()} (until {until})")
    if inc.ack is not None:
        lines.append(f"{inc.id}: acknowledged by {inc.ack.by} at {plain_date(inc.ack.at)}")
    return lines


def _store(app: AppContext, state: Path | None) -> StateStore:
    from logwatch.store import StateStore, default_state_path

    return StateStore(state or default_state_path(app.env))


def _scope(s: Silence) -> str:
    parts = [
        f"category {s.category}" if s.category else "",
        f"target {s.target}" if s.target else "",
        f"incident {s.incident}" if s.incident else "",
    ]
    return ", ".join(p for p in parts if p) or "every incident"


def _until(s: Silence) -> str:
    return plain_date(s.ends) if s.ends else "the incident resolves"


@click.group()
def silence() -> None:
    """Silences: incidents they match are recorded and listed, not notified.

    \b
    Examples:
      logwatch silence add --category oom --target 10.0.0.5:6379 --for 2h --reason resize
      logwatch silence list
      logwatch silence expire sil-3f2a9c01
    """


@silence.command("add")
@click.option("--category", help="Only incidents of this category (default: any).")
@click.option("--target", help="Only incidents on this Redis, host:port (default: any).")
@click.option("--for", "for_", required=True, help="How long: 30m, 2h, 1d.")
@click.option("--start", help="When it begins: ISO 8601 (default: now).")
@click.option("--reason", required=True, help="Why: shown with the incidents it silences.")
@click.option("--by", "by", help="Who (default: the login name).")
@STATE
@pass_app
def silence_add(
    app: AppContext,
    category: str | None,
    target: str | None,
    for_: str,
    start: str | None,
    reason: str,
    by: str | None,
    state: Path | None,
) -> None:
    """Silence incidents of a category and/or on a target for a while."""
    if not category and not target:
        raise click.UsageError(
            "give --category, --target or both (a silence of everything is a maintenance"
            " window: [[maintenance]] in the config)"
        )
    seconds = parse_duration(for_, what="--for")
    if seconds <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--for")
    now = SystemClock().now()
    begins = parse_when(start, now=now, tz=app.config.timezone, option="--start") if start else now
    entry = Silence(
        id=new_silence_id(),
        by=by or _login(),
        reason=reason.strip(),
        starts=begins,
        ends=shift(begins, seconds, option="--for", value=for_),
        category=category.strip() if category else None,
        target=target.strip() if target else None,
    )
    store = _store(app, state)
    try:
        store.add_silence(entry, now=now)
    finally:
        store.close()
    click.echo(f"{entry.id}: {_scope(entry)} silenced until {_until(entry)} ({entry.reason})")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@silence.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also the silences that are over.")
@FORMAT
@STATE
@pass_app
def silence_list(app: AppContext, show_all: bool, fmt: str, state: Path | None) -> None:
    """Silences in force (and to come), and the config's maintenance windows."""
    now = SystemClock().now()
    store = _store(app, state)
    try:
        found = store.silences(now=now, expired=show_all)
    finally:
        store.close()
    windows = list(app.config.oncall.maintenance)
    if fmt in ("json", "ndjson"):
        rows = [silence_to_json(s) for s in found]
        rows += [_window_json(w, now) for w in windows]
        text = "\n".join(json.dumps(r) for r in rows) if fmt == "ndjson" else json.dumps(rows)
        click.echo(text)
        return
    if not found and not windows:
        click.echo("no silences")
    for s in found:
        state_ = "in force" if s.starts <= now and (s.ends is None or now < s.ends) else "not now"
        click.echo(f"{s.id}  {_scope(s)}  from {plain_date(s.starts)} until {_until(s)}"
                   f"  by {s.by}: {s.reason}  ({state_})")  # fmt: skip
    for w in windows:
        click.echo(f"maint:{w.name}  {_window_scope(w)}  {_window_when(w)}  {_window_now(w, now)}")


def _window_scope(w: MaintenanceWindow) -> str:
    parts = [
        f"category {', '.join(sorted(w.categories))}" if w.categories else "",
        f"target {w.target}" if w.target else "",
    ]
    return ", ".join(p for p in parts if p) or "every incident"


def _window_when(w: MaintenanceWindow) -> str:
    if w.start is not None and w.end is not None:
        return f"from {plain_date(w.start)} until {plain_date(w.end)}"
    days = ",".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d] for d in sorted(w.days))
    assert w.daily_start is not None and w.daily_end is not None
    return f"weekly {days} {w.daily_start:%H:%M}-{w.daily_end:%H:%M} ({w.tz})"


def _window_now(w: MaintenanceWindow, now: datetime) -> str:
    bounds = w.bounds(now)
    return f"(in force until {plain_date(bounds[1])})" if bounds else "(not now)"


def _window_json(w: MaintenanceWindow, now: datetime) -> dict[str, object]:
    bounds = w.bounds(now)
    return {
        "id": f"maint:{w.name}",
        "kind": "maintenance",
        "scope": _window_scope(w),
        "when": _window_when(w),
        "in_force_until": bounds[1].isoformat() if bounds else None,
        "reason": w.reason,
    }


@silence.command("expire")
@click.argument("silence_id")
@click.option("--by", "by", help="Who (default: the login name).")
@STATE
@pass_app
def silence_expire(app: AppContext, silence_id: str, by: str | None, state: Path | None) -> None:
    """End a silence now; an incident it kept quiet that is still open is notified then."""
    now = SystemClock().now()
    store = _store(app, state)
    try:
        found = store.silence(silence_id)
        if found is None:
            raise CliError(
                LogwatchError(f"no silence {silence_id!r} (see `logwatch silence list`)")
            )
        ended = store.expire_silences([silence_id], now=now, by=by or _login())
    finally:
        store.close()
    click.echo(f"{silence_id}: expired" if ended else f"{silence_id}: was already over")


@click.group()
def routes() -> None:
    """Where incidents go: `logwatch routes test --category oom --severity critical`."""


@routes.command("test")
@click.option("--category", required=True, help="The incident's category (connection, oom...).")
@click.option("--severity", default="critical", show_default=True, help="Its severity.")
@click.option("--target", default="redis:6379", show_default=True, help="Its Redis, host:port.")
@pass_app
def routes_test(app: AppContext, category: str, severity: str, target: str) -> None:
    """Which route, channel and mention an incident would get, and what would keep it quiet."""
    try:
        level = Severity.parse(severity)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--severity") from None
    known = sorted({rule.category for rule in app.pack.rules})
    if category not in known:
        click.echo(f"note: no rule has category {category!r} (known: {', '.join(known)})")
    now = SystemClock().now()
    inc = Incident(id="inc-routes-test", category=category, target=target, severity=level,
                   status="open", first_seen=now, last_seen=now, events=1, signatures={},
                   sources={}, rules={}, samples=(), hint="")  # fmt: skip
    for line in route_lines(app, inc, now):
        click.echo(line)


def route_lines(app: AppContext, inc: Incident, now: datetime) -> list[str]:
    """What `routes test` says, one line each."""
    cfg = app.config
    oncall = cfg.oncall
    lines = []
    if (s := cfg.notify.slack) is not None:
        dest = choose_route(s.routes, inc, channel=s.channel, mention=s.mention,
                            broadcast=s.broadcast_resolved)  # fmt: skip
        which = (
            f"route {dest.route} of [slack] routes" if dest.route else "no route matched: defaults"
        )
        reminders = (
            f"a reminder every {format_duration(oncall.repeat_interval_s)} until acknowledged"
            if inc.severity >= Severity.CRITICAL and oncall.repeat_interval_s > 0
            else "no reminders (critical only)"
        )
        lines.append(
            f"slack: {which}: channel {dest.channel}, mention {dest.mention or 'none'};"
            f" all-clear {'broadcast to the channel' if dest.broadcast else 'in the thread only'};"
            f" {reminders}; buttons {'on' if s.app_token else 'off (no SLACK_APP_TOKEN)'}"
        )
    if (w := cfg.notify.webhook) is not None:
        dest = choose_route((), inc, channel="", mention=w.mention)
        lines.append(f"webhook: a post per change ({', '.join(w.events)}),"
                     f" mention {dest.mention or 'none'}")  # fmt: skip
    if (c := cfg.notify.command) is not None:
        lines.append(f"command: {c.argv[0]} on {', '.join(c.events)}")
    if not lines:
        lines.append("no notifier configured: the agent prints changes on stdout")
    for i, rule in enumerate(oncall.inhibit, 1):
        if inc.category in rule.targets:
            lines.append(f"inhibited (not notified) while a {' or '.join(sorted(rule.sources))}"
                         f" incident is open on {inc.target}: [[inhibit]] {i}")  # fmt: skip
    for window in oncall.maintenance:
        if window.covers(inc.category, inc.target):
            lines.append(f"maintenance window {window.name!r} covers it: {_window_when(window)}"
                         f" {_window_now(window, now)}")  # fmt: skip
    return lines
