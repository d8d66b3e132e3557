"""The fast scan passes over literal lines no rule's regex can match (fastrange, regexfilter).

A dated line alone that holds a literal but that no rule can match is counted as a record
without being built; everything else is built as before. Held to the reference events and
to the same `stats.records` as the scan without the rules' regexes (LOGWATCH_FILTER=
aho-corasick), on logs where look-alikes sit next to continuations, headers, JSON, "\\r"
and block edges.
"""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from logwatch import fastrange, fastscan, filebytes
from logwatch.config import load_config
from logwatch.leanrecords import LeanRecords
from logwatch.model import Event, LogLine, Record
from logwatch.passover import alone_and_unmatched, line_rules, opens_dated
from logwatch.pipeline import Engine, Stats, read_records
from logwatch.records import RecordAssembler, starts_dated_record
from logwatch.regexfilter import RuleFilter
from logwatch.rules import load_rule_pack
from logwatch.sources.reader import read_lines
from logwatch.stampshape import START, StampShape

hyperscan = pytest.importorskip("hyperscan")

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


# -- the line tests themselves, against the assembler fed the whole file ---------------

FILTER = RuleFilter(PACK, hyperscan)
KEEP = b"Job OK"
_JSON = json.dumps({"asctime": STAMP.format(9), "message": LOOK_ALIKES[1]})


def _shapes(stamp: str, text: str) -> list[bytes]:
    """Lines of every shape the line tests tell apart, of a stamp and a text."""
    dated = f"{stamp} {text}"  # alone when the next line opens a record
    shapes = [
        dated,
        dated,
        dated,
        f"ERROR {stamp} {text}",  # a stamp after a prefix token (StampShape(1))
        f"web  | {stamp} {text}",  # docker compose's prefix
        "web",  # not dated, even with the line above after it
        f"12:00:00 {text}",  # time-only: no full date of its own
        text,  # untimed
        f"{dated} " + "y" * 90,  # over max_line when it is 80
        "  redis:6379. Connection refused.",
        "\tmore",
        "",
        "Traceback (most recent call last):",
        "During handling of the above exception, another exception occurred:",
        f"{dated}\r",  # CRLF
        f"{dated}\rthen",
        "\r",
        _JSON,
        _JSON + " ",  # not a JSON object: its text ends with a blank
        _JSON + "X",
        '{"message": "no time"}',
    ]
    return [line.encode() for line in shapes]


_TEXTS = [*LOOK_ALIKES, f"ERROR [cache] {REFUSED}", "INFO Job OK (a1)"]


@st.composite
def _raw_line(draw: st.DrawFn) -> bytes:
    stamp = STAMP.format(draw(st.integers(0, 59)))
    return draw(st.sampled_from(_shapes(stamp, draw(st.sampled_from(_TEXTS)))))


class Cut(NamedTuple):
    """How the line tests are asked: the stamp shape, the line bound, the lines to keep."""

    shape: StampShape
    max_line: int
    keep: tuple[bytes, ...]


class Whole(NamedTuple):
    """A file's lines as the reader gives them, and the records the assembler makes of
    them by the offset of their first line."""

    data: bytes
    lines: list[LogLine]
    opening: dict[int, Record]


def _whole(data: bytes, cut: Cut) -> Whole:
    assembler = RecordAssembler(
        source="log", file_time=datetime(2026, 3, 2, tzinfo=UTC), shape=cut.shape
    )
    lines = list(read_lines(io.BytesIO(data), max_line_bytes=cut.max_line))
    records = [r for line in lines for r in assembler.feed(line)] + assembler.flush()
    return Whole(data, lines, {r.offset: r for r in records})


def _check_block(whole: Whole, lo: int, hi: int, partial: int, cut: Cut) -> None:
    """The line tests on the block data[lo:hi] (whole lines) followed by `partial` bytes
    of the next line, against the records the assembler makes of the whole file."""
    data, lines, opening = whole
    eof = hi == len(data)
    block = data[lo:hi] + data[hi:].split(b"\n")[0][:partial]  # the next line's head
    limit = hi - lo
    for line in (line for line in lines if lo <= line.offset < hi):
        at, raw = line.offset, data[line.offset :].split(b"\n")[0]
        found = line_rules(FILTER, block, at - lo, limit, eof=eof, keep=cut.keep)
        assert found is None or found[0] == line.end - lo, (raw, at, lo, hi)
        alone = at in opening and (line.end == len(data) or line.end in opening)
        seen = line.end < hi or line.end == len(data)  # the next line, or the file's end
        plain = b"\r" not in raw and raw[:1] != b"{" and not any(k in raw for k in cut.keep)
        dated = starts_dated_record(line.text, UTC, shape=cut.shape)
        expected = alone and dated and seen and plain and not FILTER.rules_in(raw)
        got = alone_and_unmatched(
            FILTER, block, at - lo, limit, eof=eof, tz=UTC, shape=cut.shape,
            max_line=cut.max_line, keep=cut.keep,
        )  # fmt: skip
        assert got == (line.end - lo if expected else None), (raw, at, lo, hi)
        if got is not None:
            record = opening[at]
            assert (record.lines, record.end) == (1, line.end)
            assert Engine(CONFIG, PACK).match(record) is None
        end = line.end - lo
        assert (
            opens_dated(block, at - lo, end, tz=UTC, shape=cut.shape, max_line=cut.max_line)
            == dated
        ), raw


_CUTS = st.builds(
    Cut,
    st.sampled_from([START, StampShape(1)]),
    st.sampled_from([80, 4096]),
    st.sampled_from([(), (KEEP,)]),
)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(_raw_line(), min_size=1, max_size=12),
    newline=st.booleans(),
    first=st.integers(0, 11),
    partial=st.integers(0, 200),
    cut=_CUTS,
)
def test_a_line_passed_over_is_a_record_alone_no_rule_matches(
    lines: list[bytes], newline: bool, first: int, partial: int, cut: Cut
) -> None:
    """alone_and_unmatched gives a line's end exactly when the assembler, fed the whole
    file, makes a record of that line alone, dated, that no rule's regex can match (and
    that holds none of `keep`); but a line the fast paths leave to the assembler on
    purpose: JSON-looking, holding a "\\r", or whose next line lies past the block's whole
    lines. line_rules gives the line's end whenever it gives anything; opens_dated reads
    the line as the reader does. Blocks run from a line in the file to each later line's
    end, with a piece of the next line after them, as a scan reads them."""
    data = b"\n".join(lines) + (b"\n" if newline else b"")
    assume(data)
    starts = [0] + [i + 1 for i, c in enumerate(data[:-1]) if c == 10]
    lo = starts[min(first, len(starts) - 1)]
    whole = _whole(data, cut)
    for hi in [*(s for s in starts if s > lo), len(data)]:
        _check_block(whole, lo, hi, partial, cut)


@pytest.mark.parametrize("shape", [START, StampShape(1)], ids=["start", "prefixed"])
@pytest.mark.parametrize("max_line", [80, 4096])
def test_every_line_shape_between_its_neighbours(shape: StampShape, max_line: int) -> None:
    """The same, for each shape of line with each of a few lines before and after it:
    the block from its line to the file's end, and to its line's end (no byte of the next
    line seen)."""
    cut = Cut(shape, max_line, (KEEP,))
    lines = [line for text in _TEXTS[:2] for line in _shapes(STAMP.format(1), text)]
    lines.append(b"| " + STAMP.format(3).encode() + b" INFO x")  # ends "web" if read on
    for before, line, after in itertools.product([b"", b"x\n"], lines, [b"", *_AFTER]):
        data = before + line + after
        if not data:
            continue
        line_end = min(len(before) + len(line) + 1, len(data))
        whole = _whole(data, cut)
        for lo, hi in ((0, len(data)), (len(before), len(data)), (len(before), line_end)):
            _check_block(whole, lo, hi, 0, cut)


_AFTER = [
    b"\n",
    b"\n" + STAMP.format(2).encode() + b" INFO [api] ok\n",
    b"\n  continued\n",
    b"\nTraceback (most recent call last):\n",
    b"\n| " + STAMP.format(3).encode() + b" INFO x",
]
