"""Historical sources: paths, directories and globs -> log families, rotated files oldest first."""

from __future__ import annotations

import glob
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from logwatch.errors import SourceError

logger = logging.getLogger(__name__)

_COMPRESSED = (".gz", ".bz2", ".xz")
# app.log.3.gz, app.log.1, app.log-20260301.gz, app.log.2026-03-01, app-2026-03-01.log
_NUMBERED = re.compile(r"^(?P<base>.+?)\.(?P<n>\d{1,3})$")
_DATED = re.compile(r"^(?P<base>.+?)[.-](?P<date>\d{4}-?\d{2}-?\d{2}(?:[-_T]?\d{2,6})?)$")
# /var/lib/docker/containers/<id>/ holds <id>-json.log (and .1, .2...) beside the
# container's config, hosts, resolv.conf...: only the logs are read there.
DOCKER_CONFIG, DOCKER_LOG = "config.v2.json", "-json.log"
_SKIP_SUFFIXES = (".pid", ".lock", ".sock", ".swp", ".tmp", ".db", ".sqlite", ".sqlite3", ".pos")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFamily:
    """A log and its rotated siblings, oldest first: app.log.2.gz, app.log.1, app.log."""

    name: str
    files: tuple[Path, ...]


def rotation_key(path: Path) -> tuple[str, tuple[int, int, str]]:
    """(family base name, order key): higher numbers are older, dates ascend, the live file last."""
    name = path.name
    for suffix in _COMPRESSED:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if m := _NUMBERED.match(name):
        return str(path.parent / m["base"]), (0, -int(m["n"]), "")
    if m := _DATED.match(name):
        return str(path.parent / m["base"]), (1, 0, m["date"].replace("-", ""))
    return str(path.parent / name), (2, 0, "")


def looks_like_log(path: Path) -> bool:
    """Not hidden, not a pid/lock/socket/database file."""
    name = path.name
    return not name.startswith(".") and not name.endswith(_SKIP_SUFFIXES)


def glob_root(pattern: str) -> Path:
    """The deepest directory before a glob's first wildcard: logs/*.log -> logs."""
    return Path(re.split(r"[*?\[]", pattern, maxsplit=1)[0] + "x").parent


def stays_inside(path: Path, root: Path) -> bool:
    """Whether `path`, symlinks resolved, is `root` or under it (root resolved too)."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
    except (OSError, ValueError):
        return False


def _escapes(path: Path, root: Path, follow_symlinks: bool) -> bool:
    """A symlink found under a watched directory that leads out of it (said once per run)."""
    if follow_symlinks or stays_inside(path, root):
        return False
    if path not in _said_escapes:
        _said_escapes.add(path)
        logger.warning(
            "%s: symlink out of %s, not followed (set [logwatch] follow_symlinks = true)",
            path,
            root,
        )
    return True


_said_escapes: set[Path] = set()


def expand_paths(args: list[str], *, follow_symlinks: bool = False) -> list[LogFamily]:
    """Files, directories (recursive) and globs -> families; SourceError for a missing path.

    A symlink met while walking a directory or matching a glob is followed only when it
    stays inside that directory, unless follow_symlinks: a log directory writable by the
    app must not let it point logwatch at /etc/shadow. A file named itself is read.
    """
    files: list[Path] = []
    for arg in args:
        path = Path(arg)
        if any(c in arg for c in "*?[") and not path.exists():
            matches = sorted(Path(p) for p in glob.glob(arg, recursive=True))
            if not matches:
                raise SourceError(f"{arg}: no file matches this pattern")
            root = glob_root(arg)
            for match in matches:
                if _escapes(match, root, follow_symlinks):
                    continue
                files.extend(walk_logs(match, follow_symlinks) if match.is_dir() else [match])
        elif path.is_dir():
            found = walk_logs(path, follow_symlinks)
            if not found:
                logger.warning("%s: directory holds no log files", arg)
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise SourceError(f"{arg}: no such file or directory")
    return group_families(files)


def group_families(files: list[Path]) -> list[LogFamily]:
    """Group files into rotation families, each ordered oldest first; duplicates dropped."""
    families: dict[str, list[tuple[tuple[int, int, str], Path]]] = {}
    seen: set[Path] = set()
    for path in files:
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        base, order = rotation_key(path)
        families.setdefault(base, []).append((order, path))
    return [
        LogFamily(name=base, files=tuple(p for _, p in sorted(members)))
        for base, members in sorted(families.items())
    ]


def walk_logs(root: Path, follow_symlinks: bool = False) -> list[Path]:
    """The log-looking regular files under a directory, recursively, hidden ones left out.

    A FIFO, socket or device in the directory is skipped with a warning (once): opening a
    FIFO would wait for a writer forever. Named on the command line, one is read.
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if DOCKER_CONFIG in filenames:  # a docker container's directory: its logs only
            filenames = [n for n in filenames if DOCKER_LOG in n]
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if (
                looks_like_log(path)
                and _regular(path)
                and not _escapes(path, root, follow_symlinks)
            ):
                found.append(path)
    return found


def _regular(path: Path) -> bool:
    """A regular file (through symlinks); said once when it is not."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True  # a dangling link or a race: reading it reports the error
    if stat.S_ISREG(mode):
        return True
    if path not in _said_special:
        _said_special.add(path)
        kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
        logger.warning("%s: not a regular file (%s), skipped", path, kind)
    return False


_said_special: set[Path] = set()
