"""Every config key takes the TOML type it documents, or `logwatch check` refuses it.

`probe = "no"` once passed `check` and SIGHUP and loaded as True. The table below holds
every key of every section with values of the wrong type (and the values that parse but
cannot work: non-finite or overflowing durations); each must be refused by `logwatch check`
with one line naming the file, the key and the value (a secret's type only), exit 2.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.config import _KNOWN, load_config
from logwatch.notify.settings import _KEYS

#: (section, key, TOML value, how the error shows the value). A secret's value is never
#: repeated: the error names its type.
WRONG: list[tuple[str, str, str, str]] = [
    ("logwatch", "paths", "5", "got 5"),
    ("logwatch", "paths", "[1, 2]", "got [1, 2]"),
    ("logwatch", "paths", "true", "got true"),
    ("logwatch", "timezone", "5", "got 5"),
    ("logwatch", "timezone", "1979-05-27", "got datetime.date(1979, 5, 27)"),
    ("logwatch", "redis_url", "5", "got an integer"),
    ("logwatch", "redis_url", "[]", "got a list"),
    ("logwatch", "redis_url", "'http://x:pw-in-url@host/'", "not a redis://"),
    ("logwatch", "rules", "5", "got 5"),
    ("logwatch", "rules", "[false]", "got [false]"),
    ("logwatch", "builtin_rules", "'false'", "got 'false'"),
    ("logwatch", "builtin_rules", "0", "got 0"),
    ("logwatch", "match_timeout", "true", "got true"),
    ("logwatch", "match_timeout", "'fast'", "'fast'"),
    ("logwatch", "match_timeout", "inf", "got inf"),
    ("logwatch", "match_timeout", "[1]", "got [1]"),
    ("logwatch", "probe", "'no'", "got 'no'"),
    ("logwatch", "probe", "1", "got 1"),
    ("logwatch", "follow_symlinks", "'yes'", "got 'yes'"),
    ("logwatch", "probe_interval", "true", "got true"),
    ("logwatch", "probe_interval", "inf", "got inf"),
    ("logwatch", "probe_failures", "'2'", "got '2'"),
    ("logwatch", "probe_failures", "0", "got 0"),
    ("metrics", "listen", "true", "got true"),
    ("metrics", "listen", "'nowhere'", "got 'nowhere'"),
    ("metrics", "max_sources", "'5'", "got '5'"),
    ("heartbeat", "url", "5", "got an integer"),
    ("heartbeat", "fail_url", "true", "got a boolean"),
    ("heartbeat", "interval", "'soon'", "'soon'"),
    ("heartbeat", "timeout", "false", "got false"),
    ("quiet", "default_within", "true", "got true"),
    ("quiet", "default_within", "'never'", "got 'never'"),
    ("incidents", "quiet_period", "true", "got true"),
    ("incidents", "quiet_period", "nan", "got nan"),
    ("incidents", "quiet_period", "1e300", "got 1e+300"),
    ("incidents", "quiet_period", "'999999999d'", "got '999999999d'"),
    ("incidents", "reopen_window", "false", "got false"),
    ("incidents", "reopen_window", "{a = 1}", "got {a = 1}"),
    ("incidents", "update_interval", "inf", "got inf"),
    ("incidents", "samples", "'5'", "got '5'"),
    ("incidents", "samples", "true", "got true"),
    ("incidents", "samples", "5.5", "got 5.5"),
    ("incidents", "confirmed_quiet", "'soon'", "'soon'"),
    ("incidents", "confirmed_quiet", "0", "must be more than 0"),
    ("incidents", "repeat_interval", "true", "got true"),
    ("incidents", "probe_wait", "'5s'", "at most 2s"),
    ("records", "max_lines", "'200'", "got '200'"),
    ("records", "max_bytes", "true", "got true"),
    ("records", "max_line_bytes", "1.5", "got 1.5"),
    ("slack", "channel", "5", "got 5"),
    ("slack", "token", "5", "got an integer"),
    ("slack", "token", "true", "got a boolean"),
    ("slack", "token_file", "5", "got 5"),
    ("slack", "api_url", "5", "got 5"),
    ("slack", "routes", "'#ops'", "got '#ops'"),
    ("slack", "routes", "[5]", "got 5"),
    ("slack", "routes", "[{severity = 5}]", "got 5"),
    ("slack", "routes", "[{category = true}]", "got true"),
    ("slack", "routes", "[{channel = 5}]", "5"),
    ("slack", "routes", "[{mention = false}]", "false"),
    ("slack", "mention", "5", "5"),
    ("slack", "timeout", "true", "got true"),
    ("slack", "timeout", "'soon'", "'soon'"),
    ("slack", "update_interval", "false", "got false"),
    ("slack", "app_token", "5", "got an integer"),
    ("slack", "app_token_file", "[]", "got []"),
    ("slack", "broadcast_resolved", "'yes'", "got 'yes'"),
    ("slack", "routes", "[{broadcast = 'no'}]", "got 'no'"),
    ("webhook", "url", "5", "got an integer"),
    ("webhook", "url_file", "[]", "got []"),
    ("webhook", "events", "5", "got 5"),
    ("webhook", "events", "[true]", "got [true]"),
    ("webhook", "mention", "true", "true"),
    ("webhook", "timeout", "inf", "got inf"),
    ("command", "argv", "5", "got 5"),
    ("command", "argv", "[1]", "got [1]"),
    ("command", "timeout", "true", "got true"),
    ("command", "events", "{}", "got {}"),
    ("command", "retries", "'3'", "got '3'"),
    ("command", "retries", "true", "got true"),
    ("fleet", "database_url", "5", "got an integer"),
    ("fleet", "database_url", "'mysql://u:pw-in-url@h/db'", "not a postgresql://"),
    ("fleet", "host", "5", "got 5"),
    ("fleet", "host", "'web 1'", "without spaces"),
    ("fleet", "fallback_after", "true", "got true"),
    ("fleet", "host_deadline", "0", "must be more than 0"),
    ("fleet", "reopen_window", "'soon'", "'soon'"),
    ("fleet", "min_hosts", "0", "got 0"),
    ("fleet", "lease", "inf", "got inf"),
    ("fleet", "heartbeat", "[]", "got []"),
    ("fleet", "poll", "false", "got false"),
]
SECRET_KEYS = {
    ("logwatch", "redis_url"),
    ("slack", "token"),
    ("slack", "app_token"),
    ("webhook", "url"),
    ("heartbeat", "url"),
    ("heartbeat", "fail_url"),
    ("fleet", "database_url"),
}


def test_the_table_covers_every_key() -> None:
    keys = {(s, k) for s, keys in (*_KNOWN.items(), *_KEYS.items()) for k in keys}
    assert keys == {(s, k) for s, k, _, _ in WRONG}


@pytest.mark.parametrize(
    ("section", "key", "value", "shown"),
    [pytest.param(*case, id=f"{case[0]}.{case[1]}={case[2]}") for case in WRONG],
)
def test_a_wrong_typed_value_is_refused_naming_file_key_and_value(
    tmp_path: Path, section: str, key: str, value: str, shown: str
) -> None:
    config = tmp_path / "lw.toml"
    config.write_text(f"[{section}]\n{key} = {value}\n")
    # No token in the environment: a wrong [slack] key is refused even while Slack is off,
    # so `check` agrees with the agent that later gets SLACK_BOT_TOKEN.
    result = CliRunner().invoke(main, ["--config", str(config), "check"], env={})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert f"{config}: [{section}] {key}" in lines[0]
    assert shown in lines[0]
    if (section, key) in SECRET_KEYS:
        assert "pw-in-url" not in lines[0]


@pytest.mark.parametrize(
    ("value", "loaded"),
    [pytest.param("true", True, id="true"), pytest.param("false", False, id="false")],
)
def test_a_boolean_key_takes_a_toml_boolean(tmp_path: Path, value: str, loaded: bool) -> None:
    config = tmp_path / "lw.toml"
    config.write_text(f"[logwatch]\nprobe = {value}\nbuiltin_rules = {value}\n")
    cfg = load_config(config, {})
    assert (cfg.probe, cfg.builtin_rules) == (loaded, loaded)


def test_sighup_refuses_a_string_for_a_boolean_and_keeps_the_running_config(
    tmp_path: Path,
) -> None:
    """The agent reloads on SIGHUP: `probe = "no"` is refused there too, named in one line."""
    config = tmp_path / "lw.toml"
    config.write_text("[logwatch]\nprobe = false\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    err_path = tmp_path / "agent.log"
    cmd = [sys.executable, "-m", "logwatch", "--config", str(config), "-v", "watch", str(logs),
           "--state", str(tmp_path / "state.db")]  # fmt: skip
    with open(err_path, "wb") as err:
        agent = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:

        def wait_for(text: str) -> None:
            deadline = time.monotonic() + 20
            while text not in err_path.read_text():
                assert agent.poll() is None and time.monotonic() < deadline, err_path.read_text()
                time.sleep(0.05)

        wait_for("agent started")
        config.write_text('[logwatch]\nprobe = "no"\n')
        agent.send_signal(signal.SIGHUP)
        wait_for("reload refused")
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(timeout=5)
    [line] = [x for x in err_path.read_text().splitlines() if "reload refused" in x]
    assert f"{config}: [logwatch] probe: expected true or false, got 'no'" in line
