"""Steady HTTP traffic to the two services, from threads of the orchestrator.

A few requests a second: enough for every outage to show in the logs within a second or
two; six times fewer in the middle of the long healthy stretches, to keep the committed
logs small. Status codes are counted per phase so
the console can say what users saw.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import requests


class Traffic:
    """Request loops against gunicorn (Django) and uvicorn (FastAPI) until stop()."""

    def __init__(self, web_port: int, api_port: int, seed: int = 2) -> None:
        self.web = f"http://127.0.0.1:{web_port}"
        self.api = f"http://127.0.0.1:{api_port}"
        self.rnd = random.Random(seed)
        self.stopping = threading.Event()
        self.slow = threading.Event()  # set in the middle of long healthy stretches
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(fn, every), daemon=True, name=fn.__name__)
            for fn, every in (
                (self._feed, 1.4),
                (self._enqueue, 5.0),
                (self._report, 10.0),
                (self._items, 1.4),
            )
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self.stopping.set()
        for t in self._threads:
            t.join(timeout=10)

    def take_counts(self) -> dict[str, int]:
        """Status counts since the last call."""
        with self._lock:
            out = dict(self.counts)
            self.counts.clear()
        return out

    def _loop(self, fn: object, every: float) -> None:
        session = requests.Session()
        while not self.stopping.is_set():
            try:
                status = str(fn(session))  # type: ignore[operator]
            except requests.RequestException as exc:
                status = type(exc).__name__
            with self._lock:
                self.counts[status] += 1
            pace = every * (6 if self.slow.is_set() else 1)
            self.stopping.wait(pace * (0.7 + 0.6 * self.rnd.random()))

    def _feed(self, session: requests.Session) -> int:
        return session.get(f"{self.web}/feed/{self.rnd.randint(1, 40)}/", timeout=10).status_code

    def _enqueue(self, session: requests.Session) -> int:
        return session.get(f"{self.web}/enqueue/{self.rnd.randint(1, 40)}/", timeout=10).status_code

    def _report(self, session: requests.Session) -> int:
        return session.get(f"{self.web}/report/", timeout=10).status_code

    def _items(self, session: requests.Session) -> int:
        return session.get(f"{self.api}/items/{self.rnd.randint(1, 40)}", timeout=10).status_code
