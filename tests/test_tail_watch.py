"""The watcher's handler: which events wake the agent's loop."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest
from watchdog.events import (
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
)

from logwatch.sources.watch import _QueueHandler


@pytest.mark.parametrize(
    ("event", "queued"),
    [
        pytest.param(FileModifiedEvent("/l/app.log"), ["/l/app.log"], id="modified"),
        pytest.param(FileCreatedEvent("/l/app.log"), ["/l/app.log"], id="created"),
        pytest.param(FileClosedEvent("/l/app.log"), ["/l/app.log"], id="closed-after-write"),
        pytest.param(
            FileMovedEvent("/l/app.log", "/l/app.log.1"), ["/l/app.log", "/l/app.log.1"], id="moved"
        ),
        # The agent's own reads of a file followed without a descriptor open and close it:
        # those events would wake the loop once per file per read, for nothing.
        pytest.param(FileOpenedEvent("/l/app.log"), [], id="opened"),
        pytest.param(FileClosedNoWriteEvent("/l/app.log"), [], id="closed-no-write"),
    ],
)
def test_events_that_say_nothing_about_content_are_not_queued(
    event: FileSystemEvent, queued: list[str]
) -> None:
    paths: queue.Queue[Path] = queue.Queue()
    _QueueHandler(paths).on_any_event(event)
    got = []
    while not paths.empty():
        got.append(str(paths.get_nowait()))
    assert got == queued
