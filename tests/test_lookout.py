"""What a scan keeps beyond events for the reports: error-looking records no rule matched
and HTTP 5xx lines; the fast path sees exactly what the reference path sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.make_corpus import write_corpus
from logwatch import fastscan
from logwatch.config import load_config
from logwatch.lookout import NEEDLES, Lookout, errorish
from logwatch.model import Record
from logwatch.reporting import collector, night_of_scan, report_files
from logwatch.rules import load_rule_pack
from logwatch.scan import scan
from logwatch.sources.history import expand_paths

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WORDS = ["error", "Error", "ERROR", "eRRor", "failed", "Traceback", "timed out", "ConnectTimeout",
         "refused", "OperationalError", "denied", "FATAL", "ok", "errors", "terror", " ", "\n", "é"]  # fmt: skip


def record(text: str) -> Record:
    return Record(source="app.log", line=1, offset=0, end=len(text), time=T0, text=text)


@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=12).map("".join))
def test_an_error_looking_text_holds_a_needle(text: str) -> None:
    """The fast path finds records by NEEDLES: every text the test keeps must hold one."""
    if errorish(text):
        raw = text.encode("utf-8", "surrogatepass")
        assert any(needle in raw for needle in NEEDLES), text


@pytest.mark.parametrize(
    ("text", "kind", "signature"),
    [
        pytest.param("2026-03-01 12:00:00,000 ERROR [app] payment failed for order 1234",
                     "missed", "payment failed for order <int>", id="plain"),
        pytest.param("2026-03-01 12:00:00,000 ERROR [app] Exception on /x [GET]\nTraceback (most recent call last):\n"
                     '  File "x.py", line 1, in f\npsycopg2.OperationalError: could not connect to server',
                     "missed", "psycopg2.OperationalError: could not connect to server", id="traceback-last-line"),
        pytest.param("[2026-03-01 12:00:00 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:60)",
                     "missed", "WORKER TIMEOUT (<host>)", id="gunicorn-worker-timeout-keeps-its-words"),
        pytest.param("1:M 01 Mar 2026 19:02:21.274 # Background saving error",
                     "missed", "Background saving error", id="redis-server-mark"),
        pytest.param('10.0.0.1 - - [01/Mar/2026:12:00:00 +0000] "GET /a HTTP/1.1" 502 0 "-" "c"',
                     "http5xx", "502", id="gunicorn"),
        pytest.param('INFO:     127.0.0.1:5000 - "POST /b HTTP/1.1" 503 Service Unavailable',
                     "http5xx", "503", id="uvicorn"),
    ],
)  # fmt: skip
def test_a_sighting_says_what_it_is(text: str, kind: str, signature: str) -> None:
    seen = Lookout()(record(text), None)
    assert seen is not None
    assert (seen.kind, seen.signature) == (kind, signature)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-03-01 12:00:00,000 INFO [app] 200 GET /feed 3.1ms", id="healthy"),
        pytest.param("2026-03-01 12:00:00,000 INFO [app] 0 errors, terrorist not a word", id="no-word"),
        pytest.param('10.0.0.1 - - [01/Mar/2026:12:00:00 +0000] "GET /a HTTP/1.1" 200 500 "-"', id="2xx-of-500-bytes"),
    ],
)  # fmt: skip
def test_healthy_records_are_not_kept(text: str) -> None:
    assert Lookout()(record(text), None) is None


def test_secrets_never_reach_a_sighting() -> None:
    text = (
        "2026-03-01 12:00:00,000 ERROR [app] failed: redis://:pw-123456@h:6379 token=abcdef123456"
    )
    seen = Lookout(["pw-123456"])(record(text), None)
    assert seen is not None
    assert "pw-123456" not in seen.sample + seen.signature
    assert "abcdef123456" not in seen.sample + seen.signature


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    write_corpus(out, size_bytes=4 << 20, seed=5, bursts=4, isolated=3)
    return out / "logs"


def test_pool_and_reference_paths_see_the_same_night(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path's worker processes (forced even for a small corpus) keep the same
    sightings, errors per second and lifecycles as the reference path."""
    monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(fastscan, "RANGE", 1 << 20)  # big files cut in ranges too
    config = load_config(None, {})
    config = replace(config, grouping=replace(config.grouping, quiet_period_s=120.0))
    pack = load_rule_pack(config.rule_files, include_builtin=True)
    nights = []
    for reference in (False, True):
        families = expand_paths([str(corpus)])
        files = report_files(families, {})
        gathered = collector(files, config)
        result = scan(families, config, pack, reference=reference, jobs=2, observer=gathered)
        nights.append(
            night_of_scan(
                gathered, result, files, config, since=None, until=None, reference=reference
            )
        )
    fast, slow = nights
    assert fast.missed_total == slow.missed_total > 100
    assert fast.errors == slow.errors
    assert fast.tiers == slow.tiers
    assert [(g.signature, g.count, g.first, g.last, g.sample) for g in fast.missed] == [
        (g.signature, g.count, g.first, g.last, g.sample) for g in slow.missed
    ]
    assert [(lc.incident.id, lc.opened, lc.resolved) for lc in fast.lifecycles] == [
        (lc.incident.id, lc.opened, lc.resolved) for lc in slow.lifecycles
    ]
    assert [e.kind for e in fast.server] == [e.kind for e in slow.server] != []


def test_without_a_report_the_fast_path_searches_only_the_rules_literals(corpus: Path) -> None:
    """json and ndjson pass no observer: the same records as before, no extra needles."""
    config = load_config(None, {})
    pack = load_rule_pack(config.rule_files, include_builtin=True)
    families = expand_paths([str(corpus)])
    plain = scan(families, config, pack, jobs=1)
    files = report_files(families, {})
    looked = scan(families, config, pack, jobs=1, observer=collector(files, config))
    counted = scan(
        families, config, pack, jobs=1, observer=collector(files, config, sightings=False)
    )
    assert plain.incidents == looked.incidents == counted.incidents
    assert counted.stats.records == plain.stats.records < looked.stats.records
