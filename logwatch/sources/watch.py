"""watchdog adapter: the handler only puts paths on a queue; the main loop owns the rest."""

from __future__ import annotations

import logging
import queue
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

logger = logging.getLogger(__name__)


# Events that say nothing about a log's content: an open or a read-only close is as often
# the agent's own (a file followed without a descriptor is opened to be read), and would
# wake the loop for nothing, once per file per read.
_IGNORED = frozenset({EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE})


class _QueueHandler(FileSystemEventHandler):
    """Queues the paths an event names; nothing else happens on watchdog's thread."""

    def __init__(self, paths: queue.Queue[Path]) -> None:
        self._paths = paths

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED:
            return
        if event.is_directory and event.event_type not in ("created", "moved"):
            return
        for name in (event.src_path, getattr(event, "dest_path", "")):
            if name:
                self._paths.put(Path(name if isinstance(name, str) else name.decode()))


class DirectoryWatcher:
    """One watch per watched directory (recursive), native events or polling."""

    def __init__(self, *, poll: bool, poll_interval_s: float = 1.0) -> None:
        self.paths: queue.Queue[Path] = queue.Queue()
        self._observer: BaseObserver = (
            PollingObserver(timeout=poll_interval_s) if poll else Observer()
        )
        self._handler = _QueueHandler(self.paths)
        self._watched: set[Path] = set()

    def watch(self, directory: Path) -> bool:
        """Watch a directory (once); False when it cannot be watched (yet)."""
        if directory in self._watched:
            return True
        try:
            self._observer.schedule(self._handler, str(directory), recursive=True)
        except OSError as exc:
            logger.warning("%s: cannot watch: %s", directory, exc.strerror or exc)
            return False
        self._watched.add(directory)
        logger.info("watching dir=%s", directory)
        return True

    def start(self) -> None:
        """Start the observer thread."""
        self._observer.start()

    def stop(self) -> None:
        """Stop and join the observer thread."""
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=5)
