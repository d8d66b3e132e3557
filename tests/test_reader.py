"""Reading log files: compression by magic, errors as one line, splitting lines."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from logwatch.cli import main
from logwatch.errors import SourceError
from logwatch.model import LogLine
from logwatch.sources.reader import file_mtime, is_binary, open_log, read_lines

TEXT = b"2026-03-01 12:00:00,001 INFO one\n2026-03-01 12:00:01,002 ERROR two\n"


def _texts(lines: list[LogLine]) -> list[str]:
    return [line.text for line in lines]


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        pytest.param("app.log", lambda b: b, id="plain"),
        pytest.param("app.log", gzip.compress, id="gzip-named-log"),
        pytest.param("app.log.bz2", gzip.compress, id="gzip-named-bz2"),
        pytest.param("app.log.1", bz2.compress, id="bzip2"),
        pytest.param("app.log.gz", lzma.compress, id="xz-named-gz"),
        pytest.param("app.log.xz", lambda b: b, id="plain-named-xz"),
    ],
)
def test_open_log_detects_compression_by_magic(
    tmp_path: Path, name: str, compress: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / name
    path.write_bytes(compress(TEXT))
    with open_log(path) as stream:
        lines = list(read_lines(stream))
    assert _texts(lines) == [
        "2026-03-01 12:00:00,001 INFO one",
        "2026-03-01 12:00:01,002 ERROR two",
    ]
    assert lines[1].offset == 33 and lines[1].end == len(TEXT)


@pytest.mark.parametrize("compress", [bytes, gzip.compress, bz2.compress, lzma.compress])
def test_peek_sees_decompressed_bytes(tmp_path: Path, compress: Callable[[bytes], bytes]) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(compress(b"\x7fELF\x00\x00 binary"))
    with open_log(path) as stream:
        head = stream.peek(4096)[:4096]  # type: ignore[attr-defined]
        assert is_binary(head) and head.startswith(b"\x7fELF")
        assert stream.read() == b"\x7fELF\x00\x00 binary"


def test_gzip_with_several_members(tmp_path: Path) -> None:
    path = tmp_path / "app.log.2.gz"
    path.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\n"))
    with open_log(path) as stream:
        assert _texts(list(read_lines(stream))) == ["a", "b"]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    with open_log(path) as stream:
        assert list(read_lines(stream)) == []


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.log"
    with pytest.raises(SourceError) as info:
        open_log(path)
    assert str(info.value) == f"{path}: cannot read: No such file or directory"


def test_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read: is a directory"):
        open_log(tmp_path)


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_bytes(TEXT)
    denied = PermissionError(13, "Permission denied")
    with (
        mock.patch("logwatch.sources.reader.open", side_effect=denied, create=True),
        pytest.raises(SourceError) as info,
    ):
        open_log(path)
    assert str(info.value) == f"{path}: cannot read: Permission denied"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        pytest.param(
            b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"garbage" * 20, "gzip", id="gzip-garbage"
        ),
        pytest.param(gzip.compress(TEXT * 50)[:-30], "gzip", id="gzip-truncated"),
        pytest.param(b"BZh9" + b"garbage" * 20, "bzip2", id="bzip2-garbage"),
        pytest.param(lzma.compress(TEXT * 50)[:-20], "xz", id="xz-truncated"),
    ],
)
def test_corrupt_compressed_data_is_a_source_error(tmp_path: Path, data: bytes, kind: str) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(data)
    # The error comes lazily, while lines are read: it must still name the file.
    with pytest.raises(SourceError) as info, open_log(path) as stream:
        list(read_lines(stream))
    message = str(info.value)
    assert message.startswith(f"{path}: corrupt {kind} data: ")
    assert "\n" not in message


def test_read_error_on_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(TEXT)
    with open_log(path) as stream:
        inner = stream._inner  # type: ignore[attr-defined]
        with (
            mock.patch.object(inner, "read", side_effect=OSError(5, "Input/output error")),
            pytest.raises(SourceError, match=r": cannot read: Input/output error$"),
        ):
            list(read_lines(stream))


@pytest.mark.parametrize(
    ("head", "binary"),
    [
        pytest.param(TEXT, False, id="text"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00\x00", True, id="elf"),
        pytest.param("héllo\n".encode("utf-16"), False, id="utf16-bom"),
        pytest.param(b"", False, id="empty"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF", True, id="jpeg"),
        pytest.param(
            b"SQLite format 3\x00\x10\x00\x01\x01\x00@  \x00\x00\x00\x02", True, id="sqlite"
        ),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", True, id="png"),
        # copytruncate under a writer without O_APPEND: a hole of NULs, then its lines
        pytest.param(b"\x00" * 3000 + TEXT, False, id="log-after-a-hole"),
        pytest.param(TEXT + b"\x00" * 100 + TEXT, False, id="log-with-a-hole"),
    ],
)
def test_is_binary(head: bytes, binary: bool) -> None:
    assert is_binary(head) is binary


def test_file_mtime_is_aware_utc(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(TEXT)
    os.utime(path, (1709294400, 1709294400))
    assert file_mtime(path) == datetime(2024, 3, 1, 12, tzinfo=UTC)
    with pytest.raises(SourceError):
        file_mtime(tmp_path / "missing.log")


def test_crlf_and_invalid_utf8() -> None:
    data = b"caf\xc3\xa9 ok\r\nbad \xff\xfe byte\r\nno newline\r"
    lines = list(read_lines(io.BytesIO(data)))
    assert _texts(lines) == ["café ok", "bad \ufffd\ufffd byte", "no newline"]
    assert [(line.offset, line.end) for line in lines] == [(0, 10), (10, 23), (23, 34)]
    assert [line.number for line in lines] == [1, 2, 3]


def test_partial_last_line_waits_in_live_mode() -> None:
    stream = io.BytesIO(b"first\nsecond line, still being writ")
    lines = list(read_lines(stream, final=False))
    assert _texts(lines) == ["first"]
    # The writer finishes the line; the tail resumes where the complete lines ended.
    resumed = io.BytesIO(b"first\nsecond line, still being written\nthird\n")
    more = list(read_lines(resumed, start_offset=lines[-1].end, start_line=2, final=False))
    assert _texts(more) == ["second line, still being written", "third"]
    assert more[0].offset == 6 and more[0].number == 2
    assert more[1].end == len(resumed.getvalue())


def test_final_yields_the_partial_last_line() -> None:
    lines = list(read_lines(io.BytesIO(b"a\nb"), final=True))
    assert _texts(lines) == ["a", "b"] and lines[1].end == 3


def test_long_line_is_cut_and_skipped() -> None:
    data = b"short\n" + b"x" * 5000 + b"\nafter\n"
    lines = list(read_lines(io.BytesIO(data), max_line_bytes=100, block_size=64))
    assert _texts(lines) == ["short", "x" * 100, "after"]
    assert [line.truncated for line in lines] == [False, True, False]
    assert lines[1].end == 6 + 5001 and lines[2].offset == 6 + 5001


def test_huge_line_without_newline_keeps_memory_bounded() -> None:
    stream = io.BytesIO(b"y" * (20 << 20))
    tracemalloc.start()
    try:
        lines = list(read_lines(stream, max_line_bytes=1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(lines) == 1
    assert lines[0].truncated and len(lines[0].text) == 1024
    assert lines[0].end == 20 << 20
    assert peak < 6 << 20  # about one block (1 MiB) plus the head, far from 20 MiB
    assert list(read_lines(io.BytesIO(b"y" * (3 << 20)), max_line_bytes=1024, final=False)) == []


def test_start_offset_seeks_a_seekable_stream() -> None:
    stream = io.BytesIO(TEXT)
    lines = list(read_lines(stream, start_offset=33, start_line=2))
    assert _texts(lines) == ["2026-03-01 12:00:01,002 ERROR two"]
    assert lines[0].offset == 33 and lines[0].number == 2


def _reference(data: bytes, limit: int, final: bool) -> list[LogLine]:
    """The obvious, slow way: split everything at once."""
    out = []
    pieces = data.split(b"\n")
    offset = 0
    for i, raw in enumerate(pieces):
        last = i == len(pieces) - 1
        if last and (not raw or not final):
            break
        end = offset + len(raw) + (0 if last else 1)
        text = raw[:limit].decode("utf-8", "replace")
        if text.endswith("\r"):
            text = text[:-1]
        out.append(
            LogLine(text=text, number=i + 1, offset=offset, end=end, truncated=len(raw) > limit)
        )
        offset = end
    return out


@given(
    data=st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from([b"\n", b"\r\n", b"\xc3\xa9", b"\xe2\x82", b"\xac", b"\xff", b"\n\n"]),
        ),
        max_size=40,
    ).map(b"".join),
    block_size=st.integers(min_value=1, max_value=70),
    limit=st.integers(min_value=1, max_value=50),
    final=st.booleans(),
)
def test_any_block_size_gives_the_same_lines(
    data: bytes, block_size: int, limit: int, final: bool
) -> None:
    lines = list(
        read_lines(io.BytesIO(data), max_line_bytes=limit, block_size=block_size, final=final)
    )
    assert lines == _reference(data, limit, final)


@given(
    text=st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"]),
    skip=st.integers(0, 400),
)
def test_utf16_text_reads_as_its_utf8(
    tmp_path_factory: pytest.TempPathFactory, text: str, encoding: str, skip: int
) -> None:
    """A UTF-16 file with its BOM (PowerShell's `>`) reads as the UTF-8 bytes it holds, from
    the start or from any offset into them (a seek back reads again from the start). A log
    starts with ASCII (its stamp), which is how UTF-16 is told from Latin-1's `\xff\xfe`."""
    text = "2026-03-01 " + text
    path = tmp_path_factory.mktemp("u16") / "app.log"
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path.write_bytes(bom + text.encode(encoding))
    utf8 = text.encode("utf-8")
    with open_log(path) as stream:
        assert stream.read() == utf8
        at = min(skip, len(utf8))
        assert stream.seek(at) == at and stream.read() == utf8[at:]
    with open_log(path) as stream:
        assert _texts(list(read_lines(stream))) == _texts(list(read_lines(io.BytesIO(utf8))))


def test_a_utf16_log_is_scanned_as_its_utf8(tmp_path: Path) -> None:
    """The same incidents from a log written in UTF-16 as from its UTF-8 original (a UTF-16
    log was read as text full of NULs: no timestamps, no incident, exit 0)."""
    lines = [f"2026-03-01 12:00:0{i},000 ERROR redis.exceptions.ConnectionError: Error 111 "
             "connecting to 10.0.0.5:6379. Connection refused." for i in range(5)]  # fmt: skip
    text = "\n".join(lines) + "\n"
    (tmp_path / "utf8.log").write_text(text, encoding="utf-8")
    (tmp_path / "utf16.log").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))

    def incidents(name: str, *flags: str) -> list[tuple[object, ...]]:
        result = CliRunner().invoke(
            main,
            ["scan", "--format", "json", *flags, str(tmp_path / name)],
            env={"REDIS_URL": None},
        )
        assert result.exit_code == 1, result.output
        found = json.loads(result.stdout)["incidents"]
        return [(i["category"], i["target"], i["events"], i["first_seen"]) for i in found]

    expected = [("connection", "10.0.0.5:6379", 5, "2026-03-01T12:00:00+00:00")]
    for flags in ((), ("--reference",)):
        assert incidents("utf8.log", *flags) == incidents("utf16.log", *flags) == expected
