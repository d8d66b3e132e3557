"""How the commands write: incidents rendered in a format, colours on a terminal, a report
to stdout or a private file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any

import click

from logwatch.cli.app import CliError
from logwatch.errors import LogwatchError


def render(
    fmt: str,
    incidents: list[Any],
    stats: dict[str, Any],
    tz: tzinfo,
    isolated: int,
    tty: bool,
    *,
    dating: dict[str, str] | None = None,
    undated: list[Any] | None = None,
    night: Any = None,
    compact: bool = False,
) -> str:
    from logwatch import report

    notes: dict[str, Any] = {"dating": dating, "undated": undated or ()}
    if fmt == "json":
        return report.render_json(incidents, stats, **notes) + "\n"
    if fmt == "ndjson":
        return report.render_ndjson(incidents)
    if fmt == "markdown":
        return report.render_markdown(incidents, stats, tz=tz, isolated=isolated, **notes)
    colour = tty and sys.stdout.isatty()
    sparks = None
    if night is not None:
        from logwatch.sparkline import incident_sparks

        sparks = incident_sparks(night)
    return report.render_table(
        incidents,
        stats,
        tz=tz,
        isolated=isolated,
        style=styler(colour),
        sparks=sparks,
        compact=compact,
        **notes,
    )


COLOURS = {"critical": "red", "error": "red", "warning": "yellow", "info": "cyan", "title": None}


def styler(enabled: bool) -> Callable[[str, str], str]:
    def style(text: str, role: str) -> str:
        if not enabled:
            return text
        return click.style(text, fg=COLOURS.get(role), bold=True)

    return style


def emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        # Created private (reports hold log excerpts); an existing file keeps its mode.
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CliError(LogwatchError(f"{output}: cannot write: {exc.strerror}")) from None
