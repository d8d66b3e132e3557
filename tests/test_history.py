"""Historical sources: rotated siblings oldest first, globs, directories, bad paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from logwatch.errors import SourceError
from logwatch.sources.history import expand_paths, rotation_key


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")


def test_rotated_siblings_oldest_first(tmp_path: Path) -> None:
    touch(tmp_path, "app.log", "app.log.1", "app.log.2.gz", "app.log.3.gz", "app.log.10.gz")
    (family,) = expand_paths([str(tmp_path)])
    assert [p.name for p in family.files] == [
        "app.log.10.gz",
        "app.log.3.gz",
        "app.log.2.gz",
        "app.log.1",
        "app.log",
    ]


def test_dated_rotation_ascends_before_live_file(tmp_path: Path) -> None:
    touch(tmp_path, "app.log", "app.log-20260302.gz", "app.log-20260301.gz")
    (family,) = expand_paths([str(tmp_path)])
    assert [p.name for p in family.files] == [
        "app.log-20260301.gz",
        "app.log-20260302.gz",
        "app.log",
    ]


def test_directories_are_walked_recursively_and_families_kept_apart(tmp_path: Path) -> None:
    touch(tmp_path, "web/app.log", "worker/worker.log", "worker/worker.log.1", ".hidden", "x.pid")
    families = expand_paths([str(tmp_path)])
    assert sorted(Path(f.name).name for f in families) == ["app.log", "worker.log"]


def test_glob_and_duplicates(tmp_path: Path) -> None:
    touch(tmp_path, "a.log", "b.log", "c.txt")
    families = expand_paths([str(tmp_path / "*.log"), str(tmp_path / "a.log")])
    assert [Path(f.name).name for f in families] == ["a.log", "b.log"]


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        pytest.param("nope/app.log", "no such file or directory", id="missing"),
        pytest.param("nope/*.log", "no file matches", id="empty-glob"),
    ],
)
def test_missing_paths_name_the_path(tmp_path: Path, arg: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        expand_paths([str(tmp_path / arg)])
    assert str(tmp_path / arg) in str(info.value)


def test_rotation_key_family_names() -> None:
    assert rotation_key(Path("/l/app.log.2.gz"))[0] == "/l/app.log"
    assert rotation_key(Path("/l/app.log.1"))[0] == "/l/app.log"
    assert rotation_key(Path("/l/app.log"))[0] == "/l/app.log"
