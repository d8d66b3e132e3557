"""Files the agent creates: private under any umask, never through a symlink.

The state database's parent directories are created mode 700 even under umask 000; a
dangling `--state` symlink is refused rather than followed to create its target; `--jsonl`
never appends through a symlink. Each refusal is one line, exit 2, nothing created.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from logwatch.errors import ConfigError, StateError
from logwatch.notify.console import JsonlNotifier
from logwatch.store import StateStore

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def umask_000() -> Iterator[None]:
    """The process umask set to 000 for the test (the loosest an operator can leave it)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def watch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`logwatch watch ...` as a user runs it; it must refuse at once, so a start is a failure."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "watch", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
        pytest.fail(f"the agent started instead of refusing: {err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_state_parent_directories_are_0700_under_umask_000(tmp_path: Path, umask_000: None) -> None:
    path = tmp_path / "state" / "deep" / "logwatch" / "state.db"
    StateStore(path).close()

    created = [tmp_path / "state", tmp_path / "state" / "deep", path.parent]
    assert {str(d): oct(mode(d)) for d in created} == {str(d): "0o700" for d in created}
    assert oct(mode(path)) == "0o600"


def test_an_existing_state_directory_keeps_its_mode(tmp_path: Path, umask_000: None) -> None:
    common = tmp_path / "common"
    common.mkdir(mode=0o755)
    os.chmod(common, 0o755)
    StateStore(common / "state.db").close()
    assert oct(mode(common)) == "0o755"  # not ours to change; the file itself is private
    assert oct(mode(common / "state.db")) == "0o600"


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("elsewhere.db", id="missing-file"),
        pytest.param("no-such-dir/elsewhere.db", id="missing-directory"),
    ],
)
def test_a_dangling_state_symlink_is_refused_not_followed(tmp_path: Path, target: str) -> None:
    link = tmp_path / "state.db"
    link.symlink_to(tmp_path / target)

    with pytest.raises(StateError, match=r"symbolic link") as raised:
        StateStore(link)
    assert str(link) in str(raised.value) and "\n" not in str(raised.value)
    assert not (tmp_path / target).exists() and not (tmp_path / "no-such-dir").exists()

    logs = tmp_path / "logs"
    logs.mkdir()
    result = watch(str(logs), "--state", str(link), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "symbolic link" in line and str(link) in line and "Traceback" not in result.stderr
    assert not (tmp_path / target).exists()


def test_jsonl_through_a_symlink_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "changes.jsonl"
    link.symlink_to(victim)

    with pytest.raises(ConfigError, match="symbolic link"):
        JsonlNotifier(link)

    logs = tmp_path / "logs"
    logs.mkdir()
    result = watch(str(logs), "--state", str(tmp_path / "s.db"), "--jsonl", str(link),
                   cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "--jsonl" in line and str(link) in line and "symbolic link" in line
    assert victim.read_text() == "precious\n"


def test_jsonl_dangling_symlink_creates_nothing(tmp_path: Path) -> None:
    link = tmp_path / "changes.jsonl"
    link.symlink_to(tmp_path / "created-through-the-link.jsonl")
    with pytest.raises(ConfigError, match="symbolic link"):
        JsonlNotifier(link)
    assert not (tmp_path / "created-through-the-link.jsonl").exists()
