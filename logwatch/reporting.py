"""The reports of a scan beyond its incident list: the html page, the markdown
post-mortem and the table's sparklines. Wires a scan's families to a NightCollector, and
its result, redis-server's own log and the files' first stamps into a Night.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from logwatch.config import Config
from logwatch.dating import read_head
from logwatch.errors import SourceError
from logwatch.night import Facts, Night, NightCollector, tier_of
from logwatch.redact import Redactor
from logwatch.serverlog import looks_like_server_log, read_server_events
from logwatch.sources.history import LogFamily
from logwatch.sources.reader import is_binary, open_log

logger = logging.getLogger(__name__)

#: Formats that need more than the incidents (and so the scan's observer).
NIGHT_FORMATS = frozenset({"html", "markdown"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanFiles:
    """The files of a scan as the reports name them: label, path and tier."""

    paths: dict[str, Path]  # label -> path
    tiers: dict[str, str]  # label -> tier
    server_logs: frozenset[str]  # labels of redis-server's own logs


def report_files(families: Sequence[LogFamily], labels: Mapping[Path, str]) -> ScanFiles:
    """Label, path and tier of every file; redis-server's logs found by their content."""
    paths: dict[str, Path] = {}
    tiers: dict[str, str] = {}
    server: set[str] = set()
    for family in families:
        names = [labels.get(p, str(p)) for p in family.files]
        is_server = any(_server_head(p) for p in family.files[-1:])
        if is_server:
            server.update(names)
        tier = "redis-server" if is_server else tier_of(family.name)
        for path, name in zip(family.files, names, strict=True):
            paths[name] = path
            tiers[name] = tier
    return ScanFiles(paths=paths, tiers=tiers, server_logs=frozenset(server))


def _server_head(path: Path) -> bool:
    try:
        with open_log(path) as stream:
            head = stream.read(4096)
    except (OSError, SourceError, ValueError, EOFError):  # unreadable: the scan says why
        return False
    return not is_binary(head) and looks_like_server_log(head)


def collector(files: ScanFiles, config: Config, *, sightings: bool = True) -> NightCollector:
    """The scan's observer; without sightings it counts events only (the table's sparklines)."""
    return NightCollector(secrets=config.secrets, files=files.tiers, sightings=sightings)


def night_of_scan(
    gathered: NightCollector,
    result: object,
    files: ScanFiles,
    config: Config,
    *,
    since: datetime | None,
    until: datetime | None,
    reference: bool,
    server_log: bool = True,
) -> Night:
    """The Night of a finished scan (result: scan.ScanReport); without `server_log`,
    redis-server's own log is not read (the table needs only the incidents' errors)."""
    from logwatch.scan import ScanReport

    assert isinstance(result, ScanReport)
    tz = config.timezone
    server = read_server_events(
        [(files.paths[name], name) for name in sorted(files.server_logs) if server_log],
        tz=tz,
        redact=Redactor(config.secrets),
        since=since,
        until=until,
    )
    stats = result.stats
    facts = Facts(
        files=stats.files,
        bytes=stats.bytes,
        lines=stats.lines,
        records=stats.records,
        events=stats.events,
        seconds=stats.seconds,
        isolated=result.isolated_events,
        dating=result.dating,
        warnings=tuple(stats.skipped),
        undated=tuple(result.undated),
        quiet_period_s=config.grouping.quiet_period_s,
        path="reference" if reference else "fast",
    )
    return gathered.night(result.incidents, facts, server, start=_first_stamp(files, tz, since))


def _first_stamp(files: ScanFiles, tz: tzinfo, since: datetime | None) -> datetime | None:
    """The earliest full stamp at the head of a file (a look at 64 KB of each)."""
    firsts = []
    for path in files.paths.values():
        first = read_head(path, tz).first
        if first is not None:
            firsts.append(first)
    found = min(firsts, default=None)
    if found is not None and since is not None:
        found = max(found, since)
    return found


def render(fmt: str, night: Night, *, tz: tzinfo) -> str:
    """The html page or the markdown post-mortem of a Night."""
    if fmt == "html":
        from logwatch.report_html import render_html

        return render_html(night, tz=tz)
    from logwatch.postmortem import render_postmortem

    return render_postmortem(night, tz=tz)
