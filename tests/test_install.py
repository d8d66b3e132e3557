"""Clean installs: the distribution's name, `logwatch init`, paths that are not Debian
Logwatch's, and shell completion."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner

from logwatch.cli import main

REPO = Path(__file__).resolve().parent.parent
DEBIAN_LOGWATCH = (
    "/etc/logwatch/",
    "/usr/sbin/logwatch",
    "/var/lib/logwatch/",
    "/var/cache/logwatch",
)


def test_distribution_name_is_not_pypis_logwatch() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == "logwatch-redis"
    assert project["scripts"] == {"logwatch": "logwatch.cli:main"}


def test_unit_readme_and_init_agree_on_paths_that_are_not_debian_logwatchs() -> None:
    unit = (REPO / "config" / "logwatch-redis.service").read_text()
    readme = (REPO / "README.md").read_text()
    service = readme[readme.index("## Running it as a service") : readme.index("## Watching")]
    steps = service[service.index("```sh") : service.rindex("```")]  # what a user runs
    settings = "\n".join(x for x in unit.splitlines() if not x.startswith("#"))
    for text in (settings, steps):
        ours = text.replace("logwatch-redis", "OURS")
        for path in DEBIAN_LOGWATCH:
            assert path not in ours, path
    assert "EnvironmentFile=-/etc/logwatch-redis/env" in unit
    assert "--config /etc/logwatch-redis/logwatch.toml" in unit
    assert "StateDirectory=logwatch-redis" in unit
    from logwatch.cli.init import SYSTEM_DIR

    assert str(SYSTEM_DIR) == "/etc/logwatch-redis"
    assert "logwatch init" in service and "logwatch-redis.service" in service
    # The README's service steps name the unit file that exists.
    for name in re.findall(r"config/[\w.-]+\.service", readme):
        assert (REPO / name).is_file(), name


def test_init_writes_a_commented_config_and_a_private_env(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "logwatch-redis"
    old = os.umask(0)  # a permissive umask must not make the env file readable
    try:
        result = CliRunner().invoke(main, ["init", "--dir", str(target)], env={})
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    env = target / "env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert stat.S_IMODE((target / "logwatch.toml").stat().st_mode) == 0o644
    assert all(line.startswith("#") or not line for line in env.read_text().splitlines())
    config = (target / "logwatch.toml").read_text()
    assert config == (REPO / "config" / "logwatch.toml").read_text()
    checked = CliRunner().invoke(main, ["check", "--config", str(target / "logwatch.toml")], env={})
    assert checked.exit_code == 0, checked.output


def test_init_keeps_existing_files_unless_forced(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("SLACK_BOT_TOKEN=xoxb-real\n")
    env.chmod(0o644)
    result = CliRunner().invoke(main, ["init", "--dir", str(tmp_path)], env={})
    assert result.exit_code == 2 and "exists" in result.stderr
    assert env.read_text() == "SLACK_BOT_TOKEN=xoxb-real\n"
    result = CliRunner().invoke(main, ["init", "--dir", str(tmp_path), "--force"], env={})
    assert result.exit_code == 0
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_init_into_an_unwritable_place_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["init", "--dir", str(blocker / "sub")], env={})
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "Traceback" not in result.output


def test_shell_completion_as_documented() -> None:
    readme = (REPO / "README.md").read_text()
    assert "_LOGWATCH_COMPLETE=bash_source logwatch" in readme
    script = subprocess.run(
        [str(Path(sys.executable).parent / "logwatch")],
        env={**os.environ, "_LOGWATCH_COMPLETE": "bash_source"},
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert "complete -o nosort -F _logwatch_completion logwatch" in script
    words = subprocess.run(
        [str(Path(sys.executable).parent / "logwatch")],
        env={**os.environ, "_LOGWATCH_COMPLETE": "bash_complete", "COMP_WORDS": "logwatch wat",
             "COMP_CWORD": "1"},
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert "watch" in words
