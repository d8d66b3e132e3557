"""Small things users met: check --config, --since today/yesterday, ranges, unitless durations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.clock import parse_when
from logwatch.config import load_config
from logwatch.durations import parse_duration
from logwatch.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
APP_LOG = REPO / "examples" / "outages" / "connection" / "app.log"
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={})
    return result.exit_code, result.stdout, result.stderr


def test_check_takes_its_own_config_option(tmp_path: Path) -> None:
    """`logwatch check --config F`, as the example config's first comment says."""
    comment = (REPO / "config" / "logwatch.toml").read_text().splitlines()[1]
    assert "logwatch check --config config/logwatch.toml" in comment
    code, out, _ = run("check", "--config", str(REPO / "config" / "logwatch.toml"))
    assert code == 0 and "config/logwatch.toml: ok" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[incidents]\nquiet_period = "soon"\n')
    code, out, err = run("check", "--config", str(bad))
    assert code == 2
    assert "bad.toml" in err and "soon" in err and "Traceback" not in err + out


@pytest.mark.parametrize(
    ("text", "tz", "want"),
    [
        pytest.param("today", UTC, datetime(2026, 3, 2, tzinfo=UTC), id="today-utc"),
        pytest.param("yesterday", UTC, datetime(2026, 3, 1, tzinfo=UTC), id="yesterday-utc"),
        # 01:30 UTC is still 1 March in New York: today starts at 1 March 00:00 EST.
        pytest.param(
            "Today", ZoneInfo("America/New_York"), datetime(2026, 3, 1, 5, tzinfo=UTC), id="zone"
        ),
        pytest.param("2h", UTC, datetime(2026, 3, 1, 23, 30, tzinfo=UTC), id="relative"),
    ],
)
def test_since_names_days_in_the_zone(text: str, tz: ZoneInfo, want: datetime) -> None:
    assert parse_when(text, now=NOW, tz=tz, option="--since") == want


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--since", "today", "--until", "yesterday"], id="days"),
        pytest.param(["--since", "2026-03-02", "--until", "2026-03-01T23:00"], id="iso"),
    ],
)
def test_since_later_than_until_is_an_error(args: list[str]) -> None:
    code, out, err = run("scan", *args, str(APP_LOG))
    assert code == 2
    assert "--since" in err and "later than --until" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out


def test_since_yesterday_keeps_a_day_old_outage_and_today_drops_it() -> None:
    """The example outage happened on 2026-11-26; a scan of it `--since` the day it was
    read must find it, one from a later day must not (both by the real clock)."""
    code, _, _ = run("scan", "--since", "2026-11-26", "--until", "2026-11-27", str(APP_LOG))
    assert code == 1
    code, _, _ = run("scan", "--since", "today", str(APP_LOG))
    assert code == 0


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["scan", "--since", "90"], id="scan-since"),
        pytest.param(["scan", "--quiet-period", "300"], id="scan-quiet-period"),
        pytest.param(["report", "--since", "7"], id="report-since"),
    ],
)
def test_a_duration_without_unit_is_refused(args: list[str], tmp_path: Path) -> None:
    code, out, err = run(*args, str(APP_LOG)) if args[0] == "scan" else run(*args)
    assert code == 2
    assert "has no unit" in err and "Traceback" not in err + out


def test_config_durations_need_units_in_strings_not_in_numbers(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[incidents]\nquiet_period = "90"\n')
    with pytest.raises(ConfigError, match="no unit"):
        load_config(cfg, {})
    cfg.write_text("[incidents]\nquiet_period = 90\n")
    assert load_config(cfg, {}).grouping.quiet_period_s == 90
    assert parse_duration("0") == 0 and parse_duration("1.5h") == 5400


# -- out-of-range times and durations: a one-line error, never an OverflowError -------------


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        pytest.param(("scan", "--since", "999999d"), "--since", "999999d", id="since-days"),
        pytest.param(
            ("scan", "--since", "0001-01-01T00:00:00+14:00"),
            "--since",
            "0001-01-01T00:00:00+14:00",
            id="since-before-year-1",
        ),
        pytest.param(
            ("scan", "--since", "9999-12-31T23:59:59-14:00"),
            "--since",
            "9999-12-31T23:59:59-14:00",
            id="since-after-9999",
        ),
        pytest.param(
            ("scan", "--until", "9999-12-31T23:59:59-14:00"),
            "--until",
            "9999-12-31T23:59:59-14:00",
            id="until-after-9999",
        ),
        pytest.param(
            ("scan", "--quiet-period", "99999999999d"),
            "--quiet-period",
            "99999999999d",
            id="quiet-period",
        ),
        pytest.param(("report", "--since", "99999999999d"), "--since", "99999999999d", id="report"),
        pytest.param(
            ("silence", "add", "--reason", "r", "--category", "auth", "--for", "99999999999d"),
            "--for",
            "99999999999d",
            id="silence-for",
        ),
        pytest.param(
            (
                "silence",
                "add",
                "--reason",
                "r",
                "--category",
                "auth",
                "--start",
                "9999-12-31T00:00:00Z",
                "--for",
                "2d",
            ),
            "--for",
            "2d",
            id="silence-ends-after-9999",
        ),
        pytest.param(
            (
                "silence",
                "add",
                "--reason",
                "r",
                "--category",
                "auth",
                "--start",
                "99999999999d",
                "--for",
                "1h",
            ),
            "--start",
            "99999999999d",
            id="silence-start",
        ),
    ],
)
def test_out_of_range_time_or_duration_is_a_one_line_error(
    tmp_path: Path, args: tuple[str, ...], option: str, value: str
) -> None:
    extra = [str(APP_LOG)] if args[0] == "scan" else ["--state", str(tmp_path / "st.db")]
    result = CliRunner().invoke(main, [*args, *extra], env={})
    assert not isinstance(result.exception, OverflowError), result.exception
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and value in lines[0], result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", [1e300, float("inf"), "3651d", "99999999999999999999s"])
def test_a_duration_longer_than_ten_years_is_refused(value: object) -> None:
    with pytest.raises(ConfigError, match="out of range"):
        parse_duration(value, what="x")
    assert parse_duration("3650d") == 3650 * 86400.0
