"""How the agent runs in a fleet: its outbox goes to the fleet store, Slack to whoever claims.

The agent's loop is unchanged: it commits to its sqlite state as always, with `fleet` as
its one remote notifier. This object owns what the fleet adds: the PostgreSQL pool, the
link that replays the host's rows, and the thread that delivers the fleet's notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from logwatch.config import Config
from logwatch.fleet.delivery import AgentHealth, FleetDelivery
from logwatch.fleet.link import FleetLink, Reachability
from logwatch.logs import NOTICE
from logwatch.notify import close_notifiers
from logwatch.notify.settings import build_notifiers
from logwatch.redact import Redactor
from logwatch.store.postgres import PostgresStore
from logwatch.store.sqlite import StateStore

logger = logging.getLogger(__name__)


class FleetRuntime:
    """The fleet store, the link and the fleet delivery thread of one agent."""

    def __init__(
        self,
        config: Config,
        *,
        state: Path,
        redact: Redactor,
        last_commit: Callable[[], datetime | None],
        notify: bool = True,
    ) -> None:
        s = config.fleet
        assert s.database_url
        self.settings = s
        self.store = PostgresStore(s.database_url)
        self._state = state
        self._last_commit = last_commit
        self._health_store: StateStore | None = None
        reach = Reachability()
        # Two sets of notifiers: one speaks for the fleet (its root names the hosts), the
        # other for this host alone while the store is away. None with `watch --dry-run`.
        alone = f"{s.host} alone (the fleet store is unreachable)"
        self._senders = build_notifiers(config.notify) if notify else []
        self._alone = build_notifiers(config.notify, host=alone) if notify else []
        self.delivery = FleetDelivery(
            self.store,
            s,
            self._senders,
            reach=reach,
            health=self._health,
            redact=redact,
            on_exit=self._close_health,
        )
        self.link = FleetLink(
            self.store,
            s,
            state=state,
            notifiers=[n.name for n in self._senders],
            alone=self._alone,
            reach=reach,
            on_queued=self.delivery.wake,
        )

    def start(self) -> None:
        """Start delivering the fleet's notifications."""
        logger.log(
            NOTICE,
            "fleet mode host=%s notifiers=%s fallback_after=%.0fs",
            self.settings.host,
            ",".join(n.name for n in self._senders) or "none",
            self.settings.fallback_after_s,
        )
        self.delivery.start()

    def stop(self) -> None:
        """Stop the thread, close the pool and the notifiers."""
        self.delivery.stop()
        self.store.close()
        close_notifiers([*self._senders, *self._alone])

    def _close_health(self) -> None:
        """On the fleet thread, as it ends: sqlite connections belong to their thread."""
        if self._health_store is not None:
            self._health_store.close()
            self._health_store = None

    def _health(self) -> AgentHealth:
        """Called on the fleet thread: its own connection to the local state."""
        if self._health_store is None:
            self._health_store = StateStore(self._state)
        depth, oldest = 0, None
        for name, pending, _failed, first in self._health_store.outbox_depth():
            if name == self.link.name:
                depth, oldest = pending, first
        lag = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        return AgentHealth(last_commit=self._last_commit(), lag_s=lag, outbox_depth=depth)
