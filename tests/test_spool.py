"""One-shot inputs (stdin, FIFOs, character devices) are copied to a temporary spool: the
copy goes however the scan ends (SIGTERM, Ctrl-C) and never fills the disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main
from logwatch.sources import spool

LINE = b"2026-03-01 02:00:05,100 ERROR redis.exceptions.ConnectionError: Error 111 connecting to r:6379. Connection refused.\n"


def _spools(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("logwatch-spool-*"))


def _spooled_bytes(tmp: Path) -> int:
    return sum(f.stat().st_size for d in _spools(tmp) for f in d.iterdir() if f.is_file())


def _wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _start_scan(target: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "logwatch", "scan", target],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Ctrl-C as in a terminal, even when the test runs where SIGINT is ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    if proc.stderr is not None:
        proc.stderr.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_reading_a_fifo_removes_the_spool(tmp_path: Path, signum: int) -> None:
    """The red team's FIFO read stopped by SIGTERM left /tmp/logwatch-spool-* behind."""
    spool_tmp = tmp_path / "tmp"
    spool_tmp.mkdir()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = _start_scan(str(fifo), spool_tmp)
    try:
        with open(fifo, "wb") as writer:  # the scan has opened it: it is reading
            writer.write(LINE * 100)
            writer.flush()
            # The copy exists (its read waits for a megabyte or the end).
            _wait_for(lambda: any(d.iterdir() for d in _spools(spool_tmp)))
            proc.send_signal(signum)
            code = proc.wait(timeout=30)
        assert code != 0
        assert code != -signum, "killed by the signal: no cleanup ran"
        assert _spools(spool_tmp) == []
        assert proc.stderr is not None
        assert b"Traceback" not in proc.stderr.read()
    finally:
        _stop(proc)


def test_sigterm_while_copying_dev_zero_removes_the_spool(tmp_path: Path) -> None:
    """`scan /dev/zero` stopped by `timeout` left a 1.7 GB copy in /tmp."""
    proc = _start_scan("/dev/zero", tmp_path)
    try:
        _wait_for(lambda: _spooled_bytes(tmp_path) > 4 << 20)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        assert code == 128 + signal.SIGTERM
        assert _spools(tmp_path) == []
    finally:
        _stop(proc)


def test_the_spool_stops_before_the_disk_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endless or huge stream stops with a one-line error once the copy would leave
    less than the reserve free, and the copy is removed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    total = 100 << 30  # a 100 GiB file system: the reserve is 10 GiB
    free = (10 << 30) + (1 << 20)  # 1 MiB above it, before the copy

    def fake_free(directory: Path) -> tuple[int, int]:
        return free - _spooled_bytes(tmp_path), total

    monkeypatch.setattr(spool, "_free_bytes", fake_free)
    result = CliRunner().invoke(main, ["scan", "-"], input=LINE * 25_000, env={})
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "<stdin>" in line and "stopped after" in line and "10,240 MiB free" in line
    assert _spools(tmp_path) == []


def test_a_stream_that_fits_is_scanned_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(spool, "_free_bytes", lambda directory: ((2 << 30) + (64 << 20), 1 << 30))
    result = CliRunner().invoke(main, ["scan", "-"], input=LINE * 25_000, env={})
    assert result.exit_code == 1, result.output  # 3 MB, 1 GiB reserve: it fits
    assert _spools(tmp_path) == []
