"""The candidate filter: Hyperscan and Aho-Corasick find the same lines, and the scan and
its stats are the same whichever ran."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch import fastrange, fastscan
from logwatch.config import load_config
from logwatch.prefilter import AHO_CORASICK, HYPERSCAN, make_finder, needles
from logwatch.rules import load_rule_pack

hyperscan = pytest.importorskip("hyperscan")  # the `fast` extra; CI installs it with `test`

PACK = load_rule_pack()
NEEDLES = needles(PACK)


def _first_per_line(data: bytes, starts: list[int]) -> dict[int, int]:
    first: dict[int, int] = {}
    for start in starts:
        line = data.rfind(b"\n", 0, start) + 1
        first[line] = min(first.get(line, start), start)
    return first


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.sampled_from([*NEEDLES, b"\n", b"x", b" ", b"\\", b"u", b"Err", b"or", b"\xff"]),
        max_size=60,
    )
)
def test_both_engines_find_the_same_first_needle_of_every_line(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    fast = make_finder(NEEDLES, HYPERSCAN)
    plain = make_finder(NEEDLES, AHO_CORASICK)
    assert (fast.name, plain.name) == (HYPERSCAN, AHO_CORASICK)
    found = fast(data)
    lines = [data.rfind(b"\n", 0, s) for s in found]
    assert lines == sorted(lines)  # lines in order: the scan takes each once
    assert _first_per_line(data, found) == _first_per_line(data, plain(data))
    assert _first_per_line(data, fast(memoryview(data)[: len(data) // 2])) == _first_per_line(
        data[: len(data) // 2], plain(data[: len(data) // 2])
    )


def test_without_hyperscan_the_search_is_aho_corasick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import fails as if not installed
    assert make_finder(NEEDLES).name == AHO_CORASICK


def test_the_scan_and_its_records_are_the_same_with_either_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON escapes, tracebacks and look-alikes, cut into tiny blocks and ranges."""
    monkeypatch.setattr(fastrange, "BLOCK", 512)
    monkeypatch.setattr(fastscan, "RANGE", 2048)
    monkeypatch.setattr(fastscan, "_IN_PROCESS_BELOW", 0)
    refused = (
        "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused."
    )
    lines = []
    for n in range(60):
        lines += [
            f"2026-03-01 12:00:{n % 60:02d},000 INFO [api] 200 GET /feed user={n}",
            f"2026-03-01 12:00:{n % 60:02d},500 ERROR [app] Exception on /feed [GET]",
            "Traceback (most recent call last):",
            '  File "/app/views.py", line 57, in get_feed',
            refused,
            json.dumps(
                {"asctime": f"2026-03-01 12:01:{n % 60:02d},000", "message": refused}
            ).replace("Connection refused", "Connection \\u0072efused"),
            f"2026-03-01 12:01:{n % 60:02d},000 WARNING [api] 401 Authentication required for /api",
        ]
    log = tmp_path / "app.log"
    log.write_text("\n".join(lines) + "\n")
    config = load_config(None, {})

    def scanned() -> tuple[str, list[object], int]:
        (found,) = fastscan.scan_files([[log]], config, PACK, jobs=2)
        return found.filter, found.events, found.records

    with_hs = scanned()
    monkeypatch.setenv("LOGWATCH_FILTER", AHO_CORASICK)
    with_ac = scanned()
    assert (with_hs[0], with_ac[0]) == (HYPERSCAN, AHO_CORASICK)
    assert with_hs[1:] == with_ac[1:]
    assert len(with_hs[1]) >= 120 and with_hs[2] >= len(with_hs[1])
