"""Historical sources: paths, directories and globs -> log families, rotated files oldest first."""

from __future__ import annotations

import glob
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from logwatch.errors import SourceError

logger = logging.getLogger(__name__)

_COMPRESSED = (".gz", ".bz2", ".xz")
# app.log.3.gz, app.log.1, app.log-20260301.gz, app.log.2026-03-01, app-2026-03-01.log
_NUMBERED = re.compile(r"^(?P<base>.+?)\.(?P<n>\d{1,3})$")
_DATED = re.compile(r"^(?P<base>.+?)[.-](?P<date>\d{4}-?\d{2}-?\d{2}(?:[-_T]?\d{2,6})?)$")
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


def expand_paths(args: list[str]) -> list[LogFamily]:
    """Files, directories (recursive) and globs -> families; SourceError for a missing path."""
    files: list[Path] = []
    for arg in args:
        path = Path(arg)
        if any(c in arg for c in "*?[") and not path.exists():
            matches = sorted(Path(p) for p in glob.glob(arg, recursive=True))
            if not matches:
                raise SourceError(f"{arg}: no file matches this pattern")
            for match in matches:
                files.extend(_walk(match) if match.is_dir() else [match])
        elif path.is_dir():
            found = _walk(path)
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


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in sorted(filenames) if looks_like_log(Path(f)))
    return found
