"""The fast scan passes over literal lines no rule's regex can match (fastrange, regexfilter).

A dated line alone that holds a literal but that no rule can match is counted as a record
without being built; everything else is built as before. Held to the reference events and
to the same `stats.records` as the scan without the rules' regexes (LOGWATCH_FILTER=
aho-corasick), on logs where look-alikes sit next to continuations, headers, JSON, "\\r"
and block edges.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch import fastrange, fastscan, filebytes
from logwatch.config import load_config
from logwatch.leanrecords import LeanRecords
from logwatch.model import Event
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.rules import load_rule_pack

pytest.importorskip("hyperscan")

CONFIG = load_config(None, {})
PACK = load_rule_pack()
STAMP = "2026-03-01 12:00:{:02d},000"
REFUSED = "Error 111 connecting to redis:6379. Connection refused."
# Lines that hold a literal but match no rule on their own.
LOOK_ALIKES = [
    "WARNING [auth] 401 Authentication required for /api/v1/admin (token expired)",
    "INFO [api] connecting to the search backend",
    "INFO [cache] Error 111 connecting to",  # the rest on the next line, indented
    "INFO [cache] closed by server side",
]


def _reference(path: Path) -> list[Event]:
    engine = Engine(CONFIG, PACK)
    found = (engine.match(r) for r in read_records(path, CONFIG, Stats()))
    return [e for e in found if e is not None]


def _fast(path: Path) -> tuple[list[Event], int]:
    (found,) = fastscan.scan_files([[path]], CONFIG, PACK, jobs=1)
    return found.events, found.records


@st.composite
def _line(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    second = draw(st.integers(0, 59))
    if kind <= 3:
        return f"{STAMP.format(second)} {draw(st.sampled_from(LOOK_ALIKES))}"
    if kind == 4:
        return f"{STAMP.format(second)} ERROR [cache] {REFUSED}"
    if kind == 5:
        return draw(st.sampled_from(["  redis:6379. Connection refused.", "\tmore", ""]))
    if kind == 6:
        return draw(st.sampled_from(["Traceback (most recent call last):", f"x {REFUSED}"]))
    if kind == 7:
        return json.dumps({"asctime": STAMP.format(second), "message": LOOK_ALIKES[0]})
    if kind == 8:
        return f"{STAMP.format(second)} {LOOK_ALIKES[0]}\r"
    return f"12:00:{second:02d} {draw(st.sampled_from(LOOK_ALIKES))}"  # time-only


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_line(), min_size=1, max_size=30), block=st.sampled_from([64, 256, 4096]))
def test_same_events_and_records_as_without_the_regexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[str], block: int
) -> None:
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(fastrange, "BLOCK", block)
    monkeypatch.setattr(filebytes, "WINDOW", 128)
    monkeypatch.delenv("LOGWATCH_FILTER", raising=False)
    events, records = _fast(path)
    monkeypatch.setenv("LOGWATCH_FILTER", "aho-corasick")
    plain_events, plain_records = _fast(path)
    assert events == plain_events == _reference(path)
    assert records == plain_records


def test_a_look_alike_line_is_not_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [f"{STAMP.format(s)} {LOOK_ALIKES[s % 2]}" for s in range(20)]
    lines[7] = f"{STAMP.format(7)} ERROR [cache] {REFUSED}"
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    built: list[int] = []
    record = LeanRecords.record

    def spy(self: LeanRecords, *args: object, **kwargs: object) -> object:
        built.append(1)
        return record(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LeanRecords, "record", spy)
    monkeypatch.delenv("LOGWATCH_FILTER", raising=False)
    events, records = _fast(path)
    assert (len(events), records, len(built)) == (1, 20, 1)
    built.clear()
    monkeypatch.setenv("LOGWATCH_FILTER", "aho-corasick")
    assert _fast(path)[1] == 20
    assert len(built) == 20


def test_a_match_across_lines_is_not_passed_over(tmp_path: Path) -> None:
    """A look-alike line whose record goes on (an indented line) is built: the rule
    matches across the two lines."""
    path = tmp_path / "app.log"
    path.write_text(
        f"{STAMP.format(1)} {LOOK_ALIKES[2]}\n  redis:6379. Connection refused.\n"
        f"{STAMP.format(2)} INFO [api] ok\n",
        encoding="utf-8",
    )
    events, _ = _fast(path)
    assert [e.rule for e in events] == ["connection-refused"]
    assert events == _reference(path)
