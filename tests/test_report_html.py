"""The html report and the Night behind it, read as text (tests/test_browser.py opens it in
a real Chromium): self-contained, escaped, redacted, the same on both scan paths."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.config import load_config
from logwatch.night import MISSED, Night
from logwatch.reporting import collector, night_of_scan, report_files
from logwatch.rules import load_rule_pack
from logwatch.scan import scan
from logwatch.sources.history import expand_paths
from tests.report_logs import (
    EXAMPLES,
    HOSTILE,
    PLANTED_SIGNATURE,
    SECRET,
    planted_outage,
)

QUIET = "3s"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={}, catch_exceptions=False)
    return result.exit_code, result.stdout


def night_of(path: Path, *, reference: bool, secrets: tuple[str, ...] = ()) -> Night:
    config = load_config(None, {})
    from dataclasses import replace

    config = replace(
        config,
        grouping=replace(config.grouping, quiet_period_s=3.0),
        secrets=secrets or config.secrets,
    )
    pack = load_rule_pack(config.rule_files, include_builtin=True)
    families = expand_paths([str(path)])
    files = report_files(families, {})
    gathered = collector(files, config)
    result = scan(families, config, pack, reference=reference, jobs=1, observer=gathered)
    return night_of_scan(
        gathered, result, files, config, since=None, until=None, reference=reference
    )


class Page(HTMLParser):
    """What a test needs of a page: elements by class, attributes, text, and every URL."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_class(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.elements if name in a.get("class", "").split()]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return planted_outage(tmp_path_factory.mktemp("planted") / "logs")


@pytest.fixture(scope="module")
def page(planted: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("page") / "night.html"
    code, _ = run(
        "scan", "--quiet-period", QUIET, "--format", "html", "--output", str(out), str(planted)
    )
    assert code == 1
    return out.read_text(encoding="utf-8")


def test_one_band_per_incident_and_every_incident_id_on_the_page(page: str, planted: Path) -> None:
    import json

    _code, out = run("scan", "--quiet-period", QUIET, "--format", "json", str(planted))
    ids = [i["id"] for i in json.loads(out)["incidents"]]
    assert ids
    doc = Page(page)
    bands = doc.with_class("band")
    assert sorted(b["data-incident"] for b in bands) == sorted(ids)
    for incident_id in ids:
        assert doc.with_class("incident-card") and any(
            a.get("id") == incident_id for a in doc.with_class("incident-card")
        )


def test_the_page_loads_nothing_and_runs_nothing(page: str) -> None:
    doc = Page(page)
    tags = {tag for tag, _ in doc.elements}
    assert not tags & {"script", "img", "link", "iframe", "object", "embed", "audio", "video"}
    for tag, attrs in doc.elements:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "href", "xlink:href", "action"):
                assert value.startswith("#"), (tag, name, value)  # in-page links only
    assert "url(http" not in page and "@import" not in page
    csp = [
        a
        for t, a in doc.elements
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_log_text_is_escaped_and_bidi_controls_made_visible(page: str) -> None:
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page and "\u202c" not in page
    assert "&lt;U+202E&gt;evil" in page
    doc = Page(page)
    # The hostile line stayed text inside its cell: the page has exactly the tags we wrote.
    assert not any(tag == "script" for tag, _ in doc.elements)
    assert any(HOSTILE[:20] in t for t in doc.text)


def test_secrets_in_unmatched_errors_are_masked(page: str) -> None:
    assert SECRET not in page
    assert "redis://:***@cache.internal" in page


def test_missed_table_holds_the_planted_error_grouped_with_times(page: str) -> None:
    doc = Page(page)
    rows = doc.with_class("missed-row")
    assert rows
    start = page.index('id="missed-table"')
    table = page[start : page.index("</table>", start)]
    signature = html.escape(PLANTED_SIGNATURE)
    assert signature in table
    rows_html = re.findall(r'<tr class="missed-row[^"]*">.*?</tr>', table)
    row = next(r for r in rows_html if signature in r)
    assert re.search(r'<td class="n">4</td>', row)  # four records, one signature
    assert "2026-11-26 14:40:01 UTC<br>2026-11-26 14:50:53 UTC" in row
    assert "likely rule gap" in row  # three of the four inside the outage


def test_planted_error_clusters_inside_the_outage_and_is_marked(planted: Path) -> None:
    night = night_of(planted, reference=False)
    group = next(g for g in night.missed if g.signature.endswith(PLANTED_SIGNATURE))
    assert (group.count, group.inside, group.gap) == (4, 3, True)
    assert group.peak is not None
    (connection,) = [lc for lc in night.lifecycles if lc.incident.category == "connection"]
    assert connection.incident.first_seen <= group.peak <= connection.resolved[-1]


def test_5xx_are_counted_from_gunicorn_uvicorn_and_json_access_lines(planted: Path) -> None:
    night = night_of(planted, reference=False)
    counted = {tier: dict(c) for tier, c in night.http5xx.items()}
    assert counted == {"web": {"500": 2, "502": 1, "503": 1, "504": 1}}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("planted", id="planted"),
        pytest.param(EXAMPLES / "morningai" / "logs", id="morningai"),
    ],
)
def test_fast_and_reference_paths_give_the_same_night(path: Any, planted: Path) -> None:
    where = planted if path == "planted" else path
    fast = night_of(where, reference=False, secrets=(SECRET,))
    slow = night_of(where, reference=True, secrets=(SECRET,))
    assert fast.errors == slow.errors
    assert fast.tiers == slow.tiers
    assert fast.http5xx == slow.http5xx
    assert [(g.signature, g.count, g.first, g.last, g.sample, g.inside) for g in fast.missed] == [
        (g.signature, g.count, g.first, g.last, g.sample, g.inside) for g in slow.missed
    ]
    assert [(lc.incident.id, lc.opened, lc.resolved) for lc in fast.lifecycles] == [
        (lc.incident.id, lc.opened, lc.resolved) for lc in slow.lifecycles
    ]
    assert (fast.start, fast.end) == (slow.start, slow.end)
    assert fast.missed_total > 0


def test_example_outages_render_with_every_category(tmp_path: Path) -> None:
    out = tmp_path / "outages.html"
    code, _ = run(
        "scan",
        "--quiet-period",
        QUIET,
        "--format",
        "html",
        "--output",
        str(out),
        str(EXAMPLES / "outages"),
    )
    assert code == 1
    page = out.read_text()
    doc = Page(page)
    categories = {b["data-category"] for b in doc.with_class("band")}
    assert categories == {"auth", "connection", "oom", "readonly", "timeout"}
    bars = {b["data-category"] for b in doc.with_class("bar")}
    assert categories <= bars
    assert len(page) < 200_000


def test_redis_server_lifecycle_is_drawn_on_the_same_axis(planted: Path) -> None:
    night = night_of(planted, reference=False)
    kinds = [e.kind for e in night.server]
    assert kinds == ["start", "ready", "start", "ready"]  # killed (no line), then restarted
    from logwatch.config import load_config as _cfg
    from logwatch.report_html import render_html

    page = Page(render_html(night, tz=_cfg(None, {}).timezone))
    assert len(page.with_class("srv-restart")) == 1
    assert len(page.with_class("srv-start")) == 1


def test_markdown_and_html_of_the_same_scan_agree_on_the_missed_count(planted: Path) -> None:
    _, markdown = run("scan", "--quiet-period", QUIET, "--format", "markdown", str(planted))
    night = night_of(planted, reference=False)
    assert f"{night.missed_total:,} error-looking records no rule matched" in markdown
    assert night.errors[MISSED]  # unmatched errors are on the timeline too
    assert sum(night.errors[MISSED].values()) == night.missed_total
