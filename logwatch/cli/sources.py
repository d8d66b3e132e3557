"""Options for sources that are not files: the journal (watch, scan), syslog (watch).

The options keep their values in the click context (`chosen`), so a command takes them
with one decorator and one call, and cli.py stays a list of commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click

from logwatch.clock import SystemClock
from logwatch.config import Config
from logwatch.errors import ConfigError
from logwatch.model import Record
from logwatch.sources.journalctl import JournalFollower, JournalSpec, read_journal
from logwatch.sources.streams import Stream, StreamFactory
from logwatch.sources.syslog_server import SyslogReceiver, SyslogSpec

F = TypeVar("F", bound=Callable[..., Any])
_KEY = "logwatch.sources"


@dataclass(slots=True)
class SourceChoice:
    """What the source options said."""

    journal: bool = False
    units: list[str] = field(default_factory=list)
    directory: str | None = None
    files: list[str] = field(default_factory=list)
    syslog: list[str] = field(default_factory=list)
    syslog_cert: str | None = None
    syslog_key: str | None = None

    @property
    def journal_spec(self) -> JournalSpec | None:
        """The journal to read, if any (--unit or a journal location imply --journal)."""
        if not (self.journal or self.units or self.directory or self.files):
            return None
        return JournalSpec(
            directory=self.directory, files=tuple(self.files), units=tuple(self.units)
        )

    @property
    def any(self) -> bool:
        """Some source besides files was asked for."""
        return self.journal_spec is not None or bool(self.syslog)


def chosen(ctx: click.Context | None = None) -> SourceChoice:
    """The source options of the current command."""
    ctx = ctx or click.get_current_context()
    choice = ctx.meta.get(_KEY)
    if not isinstance(choice, SourceChoice):
        choice = ctx.meta[_KEY] = SourceChoice()
    return choice


def _keep(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value not in (None, (), False):
            setattr(chosen(ctx), name, list(value) if isinstance(value, tuple) else value)

    return callback


def journal_options(func: F) -> F:
    """--journal, --unit, --journal-directory, --journal-file."""
    options = [
        click.option(
            "--journal",
            is_flag=True,
            expose_value=False,
            callback=_keep("journal"),
            help="Read the systemd journal (through journalctl).",
        ),
        click.option(
            "--unit",
            multiple=True,
            metavar="UNIT",
            expose_value=False,
            callback=_keep("units"),
            help="Journal: only this unit (globs: 'rq-worker@*'); repeatable.",
        ),
        click.option(
            "--journal-directory",
            metavar="DIR",
            expose_value=False,
            callback=_keep("directory"),
            help="Journal: the journal files in DIR instead of the system's.",
        ),
        click.option(
            "--journal-file",
            multiple=True,
            metavar="FILE",
            expose_value=False,
            callback=_keep("files"),
            help="Journal: this journal file (globs too); repeatable.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def syslog_options(func: F) -> F:
    """--syslog (repeatable), --syslog-cert, --syslog-key."""
    options = [
        click.option(
            "--syslog",
            multiple=True,
            metavar="URL",
            expose_value=False,
            callback=_keep("syslog"),
            help="Receive syslog on tcp://HOST:PORT (tls://HOST:PORT with --syslog-cert);"
            " repeatable.",
        ),
        click.option(
            "--syslog-cert",
            metavar="PEM",
            expose_value=False,
            callback=_keep("syslog_cert"),
            help="Syslog over TLS: the server certificate (chain) file.",
        ),
        click.option(
            "--syslog-key",
            metavar="PEM",
            expose_value=False,
            callback=_keep("syslog_key"),
            help="Syslog over TLS: the certificate's private key (default: in --syslog-cert).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def journal_streams(
    config: Config, since: datetime | None, until: datetime | None
) -> list[Iterable[Record]]:
    """A scan's journal records (none without --journal)."""
    spec = chosen().journal_spec
    if spec is None:
        return []
    return [
        read_journal(
            spec,
            since=since,
            until=until,
            tz=config.timezone,
            max_lines=config.max_record_lines,
            max_bytes=config.max_record_bytes,
        )
    ]


def stream_factories(start: str, lookback_s: float | None) -> tuple[StreamFactory, ...]:
    """The agent's streams, as the options asked: the journal, syslog receivers."""
    choice = chosen()
    since = None
    if lookback_s is not None:
        since = SystemClock().now() - timedelta(seconds=lookback_s)
    factories: list[StreamFactory] = []
    journal_spec = choice.journal_spec
    if journal_spec is not None:
        spec = journal_spec

        def journal(config: Config, wake: Callable[[], None]) -> Stream:
            return JournalFollower(
                spec,
                tz=config.timezone,
                max_lines=config.max_record_lines,
                max_bytes=config.max_record_bytes,
                start=start,
                since=since,
                wake=wake,
            )

        factories.append(journal)
    for url in choice.syslog:
        factories.append(
            _syslog_factory(SyslogSpec.parse(url, choice.syslog_cert, choice.syslog_key))
        )
    tls = any(url.startswith("tls://") for url in choice.syslog)
    if (choice.syslog_cert or choice.syslog_key) and not tls:
        raise ConfigError("--syslog-cert/--syslog-key: no --syslog tls://HOST:PORT to use them")
    return tuple(factories)


def _syslog_factory(spec: SyslogSpec) -> StreamFactory:
    spec.ssl_context()  # a certificate that does not load: said now, exit 2

    def receiver(config: Config, wake: Callable[[], None]) -> Stream:
        return SyslogReceiver(
            spec,
            tz=config.timezone,
            max_lines=config.max_record_lines,
            max_bytes=config.max_record_bytes,
            max_frame=config.max_line_bytes,
            wake=wake,
        )

    return receiver
