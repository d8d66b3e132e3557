"""The html report in a real headless Chromium (Debian's chromium and chromium-driver,
driven by selenium): no console error, no network request, one band per incident, every
incident on the page, redis-server's restart inside the connection outage, the planted
unknown error in the missed table; a screenshot is written for a person to look at.

Each test's browser is started by the module's fixture and stopped by it: chromedriver
and every process under it are gone (or killed by their PID) before the module ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from tests.report_logs import PLANTED_SIGNATURE, planted_outage

SKIP_ENV = "LOGWATCH_SKIP_BROWSER_TESTS"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
STOP_S = 10.0


def _require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = (
            f"{name} is not on PATH; these tests open the report in a real Chromium. Install"
            f" it (Debian: `apt-get install chromium chromium-driver`), or set {SKIP_ENV}=1"
            " to skip them (CI never does)."
        )
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    return path


def _children(pid: int) -> set[int]:
    """Every process under pid (from /proc), pid excluded."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = _require("chromium")
    driver_path = _require("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1280,1600")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=driver_path)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SE_OFFLINE", "true")  # selenium-manager must not fetch anything
        driver = webdriver.Chrome(service=service, options=options)
    pid = service.process.pid
    try:
        yield driver
    finally:
        spawned = _children(pid) | {pid}
        driver.quit()
        deadline = time.monotonic() + STOP_S
        while time.monotonic() < deadline and any(_alive(p) for p in spawned):
            time.sleep(0.05)
        left = [p for p in spawned if _alive(p)]
        for p in left:
            os.kill(p, signal.SIGKILL)
        assert not left, f"browser processes still running after quit: {left}"


def _open(driver: Any, page: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Load the page; (console entries, URLs requested) while it loaded."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(page.as_uri())
    driver.execute_script("return document.readyState")
    console = driver.get_log("browser")
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message["params"]
            urls.append(params.get("request", {}).get("url") or params.get("url", ""))
    return console, urls


@pytest.fixture(scope="module")
def planted_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("browser")
    logs = planted_outage(root / "logs")
    page = root / "night.html"
    run = CliRunner().invoke(
        main,
        ["scan", "--quiet-period", "3s", "--format", "html", "--output", str(page), str(logs)],
        env={},
    )
    assert run.exit_code == 1, run.output
    listed = CliRunner().invoke(
        main, ["scan", "--quiet-period", "3s", "--format", "json", str(logs)], env={}
    )
    ids = [i["id"] for i in json.loads(listed.stdout)["incidents"]]
    return page, ids


def test_the_checks_see_a_console_error_and_a_network_request(browser: Any, tmp_path: Path) -> None:
    """The checks below can fail: a page that logs an error and fetches a URL is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('planted console error')</script></body></html>"
    )
    console, urls = _open(browser, page)
    assert any("planted console error" in e["message"] for e in console if e["level"] == "SEVERE")
    assert "http://127.0.0.1:9/x.png" in urls


def test_report_in_chromium(
    browser: Any, planted_page: tuple[Path, list[str]], tmp_path: Path
) -> None:
    page, ids = planted_page
    console, urls = _open(browser, page)
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
    assert urls == [page.as_uri()], "the report requested something beyond itself"

    bands = browser.execute_script(
        "return [...document.querySelectorAll('rect.band')].map(b => {"
        " const r = b.getBoundingClientRect();"
        " return {id: b.dataset.incident, category: b.dataset.category, left: r.left, right: r.right}; })"
    )
    assert len(bands) == len(ids) and sorted(b["id"] for b in bands) == sorted(ids)
    text = browser.execute_script("return document.body.innerText")
    for incident_id in ids:
        assert incident_id in text

    (connection,) = [b for b in bands if b["category"] == "connection"]
    restarts = browser.execute_script(
        "return [...document.querySelectorAll('g.srv-restart circle')].map(c => {"
        " const r = c.getBoundingClientRect(); return (r.left + r.right) / 2; })"
    )
    assert restarts, "no redis-server restart marker drawn"
    for x in restarts:
        assert connection["left"] <= x <= connection["right"], (x, connection)

    missed = browser.execute_script("return document.getElementById('missed-table').innerText")
    assert PLANTED_SIGNATURE in missed

    shot = tmp_path / "night.png"
    browser.set_window_size(1280, browser.execute_script("return document.body.scrollHeight") + 40)
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("LOGWATCH_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_report_fits_a_phone(browser: Any, planted_page: tuple[Path, list[str]]) -> None:
    """On a 390 px wide screen the page does not overflow; only the timeline scrolls."""
    page, _ = planted_page
    browser.set_window_size(390, 900)
    try:
        _open(browser, page)
        widths = browser.execute_script(
            "return {doc: document.documentElement.scrollWidth, win: window.innerWidth}"
        )
        assert widths["doc"] <= widths["win"] + 1, widths
    finally:
        browser.set_window_size(1280, 1600)
