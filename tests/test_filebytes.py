"""FileBytes (the fast scan's random access to a file) against the file's bytes.

Whatever the window size and whatever was loaded or read before, every answer is the one
the whole file's bytes give: a read is the bytes asked for, clipped to the file; a line's
end and start and the newlines between two offsets are those of the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch import filebytes
from logwatch.filebytes import FileBytes

PIECES = [b"\n", b"a", b"bc", b"defghij", b"\r\n", b"\x00", b"\n\n"]


@st.composite
def contents(draw: st.DrawFn) -> bytes:
    return b"".join(draw(st.lists(st.sampled_from(PIECES), max_size=80)))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=contents(),
    window=st.integers(1, 48),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["load", "read", "line_end", "line_start", "count"]),
            st.integers(-4, 400),
            st.integers(-4, 400),
        ),
        max_size=30,
    ),
)
def test_every_answer_is_the_files(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    window: int,
    steps: list[tuple[str, int, int]],
) -> None:
    monkeypatch.setattr(filebytes, "WINDOW", window)
    path = tmp_path_factory.mktemp("bytes") / "app.log"
    path.write_bytes(data)
    size = len(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        file = FileBytes(fd)
        assert file.size == size
        for op, x, y in steps:
            a, b = sorted((min(max(x, 0), size), min(max(y, 0), size)))  # offsets in the file
            if op == "load":
                assert file.load(a, b) == data[a:b]
                assert file.block == (a, data[a:b])
            elif op == "read":  # anywhere: clipped to the file, empty when start >= end
                assert file.read(x, y) == data[max(x, 0) : max(min(y, size), 0)]
            elif op == "line_end":
                found = data.find(b"\n", a)
                assert file.line_end(a) == (size if found < 0 else found + 1)
            elif op == "line_start":
                assert file.line_start(a) == data.rfind(b"\n", 0, a) + 1
            else:
                assert file.count_newlines(a, b) == data.count(b"\n", a, b)
    finally:
        os.close(fd)


def test_an_empty_file_and_reads_of_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    with open(path, "rb") as fh:
        file = FileBytes(fh.fileno())
        assert (file.size, file.read(0, 4096), file.line_end(0), file.line_start(0)) == (
            0,
            b"",
            0,
            0,
        )
        assert file.count_newlines(0, 0) == 0
    path.write_bytes(b"ab\ncd\n")
    with open(path, "rb") as fh:
        file = FileBytes(fh.fileno())
        assert [file.read(n, n) for n in range(7)] == [b""] * 7
        assert file.read(4, 2) == b""
