"""The markdown post-mortem, the agent's history report (`logwatch report`) from a real
sqlite state store, and the terminal: sparklines, --compact, the progress line."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.grouping import GroupingPolicy
from logwatch.matching import Matcher
from logwatch.model import Change, Record
from logwatch.pipeline import Engine
from logwatch.progress import ScanProgress, eta, human_bytes
from logwatch.redact import Redactor
from logwatch.report_text import md_block, md_cell, md_code
from logwatch.rules import load_rule_pack
from logwatch.sparkline import BARS, sparkline
from logwatch.store import StateStore
from tests.report_logs import EXAMPLES, PLANTED_SIGNATURE, SECRET, planted_outage

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
REFUSED = (
    "redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused."
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


@pytest.fixture(scope="module")
def postmortem(tmp_path_factory: pytest.TempPathFactory) -> str:
    logs = planted_outage(tmp_path_factory.mktemp("pm") / "logs")
    code, out, _ = run("scan", "--quiet-period", "3s", "--format", "markdown", str(logs))
    assert code == 1
    return out


def test_the_draft_has_every_section_in_order(postmortem: str) -> None:
    titles = [line[3:] for line in postmortem.splitlines() if line.startswith("## ")]
    expected = ["Summary", "Timeline", "Impact", "Probable cause"]
    assert titles[:4] == expected
    assert titles[-3:] == ["What the rules missed", "Action items", "Facts"]


def test_the_timeline_puts_the_restart_between_open_and_resolve(postmortem: str) -> None:
    rows = [r for r in section(postmortem, "Timeline").splitlines() if r.startswith("| 2026")]
    what = [r.split(" | ")[1] for r in rows]
    opened = next(i for i, w in enumerate(what) if "**opened**" in w)
    resolved = next(i for i, w in enumerate(what) if "**resolved**" in w)
    restarted = next(i for i, w in enumerate(what) if w == "redis-server: restarted")
    assert opened < restarted < resolved
    assert any(w.startswith("first error in **web**") for w in what)
    times = [r.split(" | ")[0] for r in rows]
    assert times == sorted(times)


def test_the_probable_cause_cites_the_restart_and_says_it_was_killed(postmortem: str) -> None:
    cause = section(postmortem, "Probable cause")
    assert "**#1 connection**" in cause
    assert "redis-server restarted at 2026-11-26 14:50:53 UTC" in cause
    assert "killed (SIGKILL" in cause


def test_impact_counts_5xx_by_tier(postmortem: str) -> None:
    impact = section(postmortem, "Impact")
    assert "| web |" in impact and "500: 2, 502: 1, 503: 1, 504: 1" in impact
    assert "in the window: 5." in impact


def test_missed_and_action_items_name_the_planted_rule_gap(postmortem: str) -> None:
    missed = section(postmortem, "What the rules missed")
    assert f"`{PLANTED_SIGNATURE}` **likely rule gap**" in missed
    actions = section(postmortem, "Action items")
    assert f"Add a rule for `{PLANTED_SIGNATURE}`" in actions


def test_no_secret_and_no_raw_control_character(postmortem: str) -> None:
    assert SECRET not in postmortem
    assert "\u202e" not in postmortem and "\x1b" not in postmortem


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a | b", id="pipe"),
        pytest.param("``` close the fence", id="fence"),
        pytest.param("`tick` and ``two``", id="ticks"),
        pytest.param("\u202eevil\x1b[2J", id="bidi-escape"),
    ],
)
def test_log_text_cannot_break_out_of_markdown(text: str) -> None:
    cell = md_cell(text)
    assert "|" not in cell.replace("\\|", "")
    code = md_code(text)
    fence = code[: len(code) - len(code.lstrip("`"))]
    assert fence not in code[len(fence) : -len(fence)]
    block = md_block([text, "x"])
    assert block[0] == block[-1] and all(block[0] not in line for line in block[1:-1])
    for out in (cell, code, *block):
        assert "\u202e" not in out and "\x1b" not in out


# -- the agent's history --------------------------------------------------------------------


def _record(when: datetime, line: int) -> Record:
    text = f"{when:%Y-%m-%d %H:%M:%S},000 ERROR [app] {REFUSED}"
    return Record(source="logs/app.log", line=line, offset=0, end=1, time=when, text=text)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A real state store filled the way the agent fills it: an outage that resolves and
    comes back within the reopen window, its changes queued for two notifiers."""
    from logwatch.config import load_config

    config = load_config(None, {})
    pack = load_rule_pack([], include_builtin=True)
    engine = Engine(config, pack)
    engine.grouper = type(engine.grouper)(
        {r.id: r for r in pack.rules}, GroupingPolicy(quiet_period_s=60.0, reopen_window_s=900.0)
    )
    matcher = Matcher(pack, default_target="redis", redact=Redactor())
    changes: list[Change] = []
    times = [T0 + timedelta(seconds=s) for s in (0, 1, 2, 3)]
    times += [T0 + timedelta(seconds=s) for s in (300, 301, 302)]  # back after resolving
    for n, when in enumerate(times):
        event = matcher.match(_record(when, n))
        assert event is not None
        changes += engine.add(event)
    changes += engine.tick(T0 + timedelta(hours=1))
    path = tmp_path / "state.db"
    store = StateStore(path)
    try:
        ids = store.commit_batch(
            cursors=[],
            changes=changes,
            incidents=engine.grouper.incidents(),
            grouper_state=None,
            notifiers=["slack", "webhook"],
            now=T0 + timedelta(hours=1),
        )
        for outbox_id in ids:
            store.mark(outbox_id, "slack", "sent")
        store.mark(ids[-1], "webhook", "failed", error="404 no_service")
    finally:
        store.close()
    return path


def test_report_reads_the_lifecycle_and_notifications_from_the_store(state: Path) -> None:
    code, out, _ = run(
        "report", "--state", str(state), "--since", "2026-03-01T00:00", "--format", "markdown"
    )
    assert code == 0
    timeline = section(out, "Timeline")
    kinds = [
        r.split(" | ")[1].split("**")[1] for r in timeline.splitlines() if "**" in r and "#1" in r
    ]
    assert kinds == ["opened", "resolved", "reopened", "resolved"]
    incident = out[out.index("## #1 connection") :]
    assert "webhook: failed: 404 no\\_service" in incident  # _ escaped for markdown


def test_report_html_has_one_band_and_estimated_errors(state: Path, tmp_path: Path) -> None:
    page = tmp_path / "week.html"
    code, _, _ = run(
        "report",
        "--state",
        str(state),
        "--since",
        "2026-03-01T00:00",
        "--format",
        "html",
        "--output",
        str(page),
    )
    assert code == 0
    text = page.read_text()
    assert text.count('<rect class="band') == 1
    assert text.count('class="reopen"') == 1
    assert "errors estimated from incident updates" in text


def test_report_since_leaves_older_incidents_out(state: Path) -> None:
    code, out, _ = run("report", "--state", str(state), "--since", "2026-03-02T00:00")
    assert code == 0
    assert out.startswith("0 incidents since 2026-03-02")


def test_report_on_a_missing_store_is_a_one_line_error(tmp_path: Path) -> None:
    code, _, err = run("report", "--state", str(tmp_path / "nope.db"))
    assert code == 2
    assert "no state database" in err and "Traceback" not in err


def test_report_does_not_write_the_store(state: Path) -> None:
    before = state.read_bytes()
    state.chmod(0o400)
    try:
        code, _, _ = run("report", "--state", str(state), "--since", "2026-03-01T00:00")
    finally:
        state.chmod(0o600)
    assert code == 0
    assert state.read_bytes() == before


# -- the terminal -----------------------------------------------------------------------------


def test_sparkline_is_one_line_of_the_shape_of_the_errors() -> None:
    a = T0
    counts = {int(a.timestamp()) + s: n for s, n in ((0, 1), (5, 8), (9, 4))}
    line = sparkline(counts, a, a + timedelta(seconds=9), width=10)
    assert len(line) == 10 and "\n" not in line
    assert line[5] == BARS[-1] and line[0] == BARS[0] and line[1] == " "


def test_table_sparklines_and_compact_runbooks(tmp_path: Path) -> None:
    """Two outages of one category an hour apart: two incidents, one runbook."""
    lines = [
        f"{T0 + timedelta(minutes=m, seconds=s):%Y-%m-%d %H:%M:%S},000 ERROR [app] {REFUSED}"
        for m in (0, 60)
        for s in range(0, 20, 2)
    ]
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")
    _, full, _ = run("scan", str(tmp_path))
    _, compact, _ = run("scan", "--compact", str(tmp_path))
    assert full.count("  errors:   |") == 2
    assert full.count("Confirm Redis is down") == 2  # the runbook under each incident
    assert compact.count("what to do: runbook [1] below") == 2
    assert compact.count("Confirm Redis is down") == 1
    assert compact.count("\n[1] Redis is not accepting connections.") == 1


def test_progress_shows_bytes_rate_and_eta() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = ScanProgress(
        [("a.log", 500_000_000), ("b.log", 500_000_000)], out=out, clock=lambda: now[0]
    )
    progress("a.log")
    now[0] = 10.0
    progress("b.log")
    last = out.getvalue().rsplit("\r\x1b[K", 1)[1]
    assert last == "scanning [2/2] 500.0 MB of 1.00 GB  50.0 MB/s  ETA 0:10  b.log"
    progress.done()
    assert out.getvalue().endswith("\r\x1b[K")
    assert (human_bytes(999), eta(3723)) == ("999 B", "1:02:03")


def test_json_output_is_unchanged_by_the_report_formats() -> None:
    code, out, _ = run(
        "scan", "--quiet-period", "3s", "--format", "json", str(EXAMPLES / "outages" / "oom")
    )
    assert code == 1
    assert set(json.loads(out)) == {"incidents", "stats", "dating", "undated"}
