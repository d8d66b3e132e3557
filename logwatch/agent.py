"""The agent: tails the log directories and runs the engine in real time.

One owner of state: the main loop owns the tailer, the grouper and the store connection;
watchdog's thread only queues paths; delivery to remote notifiers runs on its own thread
and talks to the loop through outbox rows. Each iteration reads what is new, groups it,
and commits cursors, incidents and outbox rows in one transaction.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from logwatch.clock import Clock, SystemClock
from logwatch.config import Config
from logwatch.enrich import Prober
from logwatch.errors import LogwatchError, StateError
from logwatch.logs import NOTICE
from logwatch.model import Change, Record
from logwatch.notify import Notifier
from logwatch.oncall import ButtonPress
from logwatch.oncall_desk import OnCallDesk
from logwatch.outbox import DeliveryThread, Outbox
from logwatch.pipeline import Engine
from logwatch.prefilter import literal_finder
from logwatch.regexfilter import make_rule_filter
from logwatch.rules import RulePack
from logwatch.sources.descriptors import raise_open_file_limit
from logwatch.sources.follow import LogFiles
from logwatch.sources.followed import FileRecords
from logwatch.sources.identity import FileId
from logwatch.sources.logtime import LogClock
from logwatch.sources.seek import since_from_lookback
from logwatch.sources.streams import WAKE, Sources, StreamFactory
from logwatch.sources.tail import Tailer
from logwatch.sources.watch import DirectoryWatcher
from logwatch.store import AgentStore, StateStore
from logwatch.verdicts import Verdicts
from logwatch.watching import Watching, check_rules

if TYPE_CHECKING:
    from logwatch.fleet.runtime import FleetRuntime

logger = logging.getLogger(__name__)

POLL_TICK_S = 0.05
VERDICT_TICK_S = 0.02  # how often the loop looks for the verdict a root waits on


class ButtonSource(Protocol):
    """Where button presses come from (notify/actions.py: Slack's Socket Mode)."""

    def start(self, on_press: Callable[[ButtonPress], None]) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOptions:
    """How `logwatch watch` was asked to run."""

    paths: tuple[str, ...]
    state: Path
    start: str = "end"  # "end", "start" or "since" (with lookback_s)
    lookback_s: float | None = None
    poll: bool = False
    tick_s: float = 1.0
    busy_tick_s: float = 0.05
    rescan_s: float = 2.0
    commit_interval_s: float = 1.0
    max_lines_per_poll: int = 20000
    streams: tuple[StreamFactory, ...] = ()  # the journal, syslog receivers (sources/streams)


class Agent:
    """The long-running loop; `run()` returns the exit code."""

    def __init__(
        self,
        config: Config,
        pack: RulePack,
        options: AgentOptions,
        *,
        local: Sequence[Notifier],
        remote: Sequence[Notifier] = (),
        reload: Callable[[], tuple[Config, RulePack]] | None = None,
        clock: Clock | None = None,
        buttons: ButtonSource | None = None,
    ) -> None:
        self.config = config
        self.options = options
        self._clock = clock or SystemClock()
        self._reload = reload
        self._local = list(local)
        self._remote = list(remote)
        self._stop_requested = 0
        self._reload_requested = False
        # The loop commits through the one interface every backend offers; the outbox and
        # the on-call desk use the sqlite state's own parts (outbox rows, silences).
        self._state = StateStore(options.state)
        self.store: AgentStore = self._state
        self.engine = Engine(config, pack, state=self.store.grouper_state(), checks=check_rules())
        raise_open_file_limit()  # before the tailer sizes its descriptor budget on it
        self.tailer = Tailer(
            tz=config.timezone,
            max_lines=config.max_record_lines,
            max_bytes=config.max_record_bytes,
            max_line_bytes=config.max_line_bytes,
            max_lines_per_poll=options.max_lines_per_poll,
            finder=literal_finder(pack),
            rules=make_rule_filter(pack),
        )
        self.watcher = DirectoryWatcher(poll=options.poll)
        files = LogFiles(
            options.paths,
            self.tailer,
            follow_symlinks=config.follow_symlinks,
            watch=self.watcher.watch,
            rescan_s=options.rescan_s,
        )
        # The journal, syslog receivers: threads that wake the loop through the watcher.
        wake = partial(self.watcher.paths.put, WAKE)
        self.files = Sources(files, [make(config, wake) for make in options.streams])
        self.log_clock = LogClock()
        self._last_commit = self.store.last_commit()  # the previous run's, for its backlog
        self._committed_at = self._last_commit  # this run's latest (the fleet heartbeat)
        self.fleet = self._make_fleet(config)  # None: one host, sqlite only
        self._outbox = Outbox(
            self._state, self._local, clock=self._clock.now, redact=self.engine.redact
        )
        self._delivery: DeliveryThread | None = None
        self.prober = Prober(config.redis_url if config.probe else None, clock=self._clock)
        self._held: list[Change] = []  # changes not yet committed (a failed commit keeps them)
        self._dirty = False
        # On call (oncall_desk.py, verdicts.py): the probe's verdict in the root, early
        # resolves on a confirmed recovery, silences, acknowledgements, reminders.
        self.verdicts = Verdicts(self.prober, wait_s=config.oncall.probe_wait_s)
        self.desk = OnCallDesk(
            self._state,
            config.oncall,
            local=[n.name for n in self._local if not _remote_like(n)],
            remote=[n.name for n in (*self._remote, *filter(_remote_like, self._local))],
        )
        self._buttons = buttons
        self.watching = self._make_watching(config)

    # -- signals -------------------------------------------------------------------------

    def request_stop(self, signum: int, frame: FrameType | None = None) -> None:
        """First signal: drain, commit and exit 0. Second: exit at once."""
        self._stop_requested += 1
        if self._stop_requested > 1:
            logger.warning("second signal: exiting now")
            os._exit(1)
        logger.info("stop requested signal=%s", signal.Signals(signum).name)

    def request_reload(self, signum: int, frame: FrameType | None = None) -> None:
        """SIGHUP: reload config and rules at the next iteration."""
        self._reload_requested = True

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> int:
        """Follow the logs until asked to stop; returns the exit code."""
        opts = self.options
        try:
            self._start_files()
            self._commit()  # record where a first start began: a restart resumes from here
            self.watcher.start()
            self.watching.start()
            logger.info("agent started files=%d state=%s", len(self.tailer.files), opts.state)
            if self._buttons is not None:
                self._buttons.start(self.desk.presses.put)
            if self._remote:
                state = opts.state
                remote = self._remote
                self._delivery = DeliveryThread(
                    lambda: Outbox(
                        StateStore(state),
                        remote,
                        clock=self._clock.now,
                        redact=self.engine.redact,
                        owns_store=True,
                        observe=self.watching.delivered,
                    )
                )
                self._delivery.start()
            if self.fleet is not None:
                self.fleet.start()
            self._deliver()  # rows left pending by a previous run
            last_rescan = last_commit = time.monotonic()
            while not self._stop_requested:
                try:
                    if self._reload_requested:
                        self._do_reload()
                    if self.tailer.backlog():
                        timeout = 0.0
                    elif self.tailer.busy():
                        timeout = opts.busy_tick_s
                    else:
                        # Polling: no events come, so the followed files are checked often
                        # (one stat each: less often when there are thousands); new files
                        # still come with the rescan.
                        many = max(1.0, len(self.tailer.files) / 1000)
                        timeout = POLL_TICK_S * many if opts.poll else opts.tick_s
                    if self.verdicts.pending:
                        timeout = min(timeout, VERDICT_TICK_S)  # the root waits on it
                    keys: set[FileId] | None = self._wait_for_paths(timeout)
                    if opts.poll:
                        keys = None
                    if time.monotonic() - last_rescan >= opts.rescan_s:
                        self.files.rescan()
                        last_rescan = time.monotonic()
                        keys = None  # poll everything: events can be missed (NFS, overflow)
                        self._check_state_file()
                    elif keys is not None:
                        keys |= set(self.tailer.busy())
                    self._process(self.files.read(keys))
                    self._held += self._oncall()
                    self._held += self.watching.tick(self.engine.grouper, self._state)
                    if not self.tailer.busy() and not self.tailer.backlog():
                        # Behind (a backlog read in chunks): log time moves the incidents;
                        # the clock waits until what was written has been read.
                        self._held += self.engine.tick(self._clock.now())
                    due = time.monotonic() - last_commit >= opts.commit_interval_s
                    waiting = self.verdicts.hold(self._held)  # an opening's verdict, <= 2 s
                    if not waiting and (self._held or (self._dirty and due)):
                        self._commit()
                        last_commit = time.monotonic()
                except StateError as exc:
                    # Disk full, database locked: the batch stays in memory and is retried.
                    logger.error("commit failed, will retry: %s", exc)
                    self.watching.state_failed(str(exc))
                    time.sleep(min(1.0, opts.tick_s))
                except Exception:  # one broad except per iteration: the agent keeps going
                    logger.exception("agent loop error")
                    time.sleep(min(1.0, opts.tick_s))
            # Drain: read what is there (new files and compressed ones too), commit, deliver
            # what can be delivered now.
            self.files.stop()  # the streams hand over what they hold
            self.files.rescan()
            self._process(self.files.read(None))
            self._commit()
            logger.info("stopped")
            return 0
        finally:
            self.files.stop()
            self.watching.stop(self._state)
            self.watcher.stop()
            if self._buttons is not None:
                self._buttons.stop()
            if self._delivery is not None:
                self._delivery.stop()
            if self.fleet is not None:
                self.fleet.stop()
            self.prober.stop()
            self.tailer.close()
            self.store.close()

    def _check_state_file(self) -> None:
        """A state file deleted while we run is rebuilt at its path now, not at the next
        commit, which an idle agent may not make before it is killed (statefile.py)."""
        self.store.check_file()

    def _process(self, batches: list[FileRecords]) -> None:
        now = self._clock.now()
        # Log time within the clock's bounds (sources/logtime.py): a file stamped in 2099,
        # or 5 h ahead, must not resolve other files' incidents or hold its own open.
        records: list[Record] = [
            r for b in batches for r in self.log_clock.retime(b, now, last_commit=self._last_commit)
        ]
        self.watching.read(batches)
        if records:
            self._dirty = True
        # By log time across files, as scan merges them: one file's backlog (after a restart,
        # a burst) must not move the grouper's clock past another file's older errors, which
        # would resolve their incident and leave those errors uncounted.
        records.sort(key=lambda r: r.time)
        for record in records:
            event = self.engine.match(record)
            if event is not None:
                self.watching.event(event)
                logger.debug(
                    "event rule=%s target=%s time=%s source=%s line=%d",
                    event.rule,
                    event.target,
                    event.time.isoformat(),
                    event.source,
                    event.line,
                )
                self._held += self.engine.add(event)
            else:
                # Log time moves on even without errors: lets a backlog resolve by log time.
                self._held += self.engine.tick(record.time)

    def _oncall(self) -> list[Change]:
        """Probe findings, recovery probes, button presses, silences and reminders due."""
        grouper, now = self.engine.grouper, self._clock.now()
        changes = self.verdicts.take(grouper)
        self.verdicts.ask_recovery(grouper, now)
        return changes + self.desk.poll(grouper.incidents, now)

    def _commit(self) -> None:
        started = time.perf_counter()
        now = self._clock.now()
        live = self.engine.grouper.incidents()
        # Dressed with who acknowledged them and what silences them (oncall_desk.py).
        changes = self.desk.dress_changes(collapse(self._held), live, now)
        self.engine.grouper.forget_done()
        self.store.commit_batch(
            cursors=self.files.cursors(),
            forget=self.files.forgotten(),
            changes=changes,
            # Every live incident, so `logwatch incidents` shows current counts, not the
            # counts of the last notification.
            incidents=[
                *(c.incident for c in changes),
                *(self.desk.dress(i, live, now) for i in live),  # the latest counts win
            ],
            grouper_state=self.engine.grouper.snapshot(),
            notifiers=[n.name for n in (*self._local, *self._remote)],
            now=now,
            deliver_to=self.desk.deliver_to,
        )
        self.files.committed()
        self._committed_at = now
        self._held.clear()
        self._dirty = False
        self.watching.committed(
            changes, time.perf_counter() - started, self.engine.grouper.incidents
        )
        for change in changes:
            logger.log(NOTICE, "%s", change_line(change))
        self.verdicts.committed(changes)
        if changes:
            self._deliver()

    def _make_fleet(self, config: Config) -> FleetRuntime | None:
        """With `[fleet] database_url`: the fleet store takes this host's outbox rows and
        delivers the fleet's notifications; Slack is no longer called from here."""
        if not config.fleet.enabled:
            return None
        from logwatch.fleet.runtime import FleetRuntime

        fleet = FleetRuntime(
            config,
            state=self.options.state,
            redact=self.engine.redact,
            last_commit=lambda: self._committed_at,
            notify=bool(self._remote),  # none: `watch --dry-run`, or nothing configured
        )
        self._remote = [fleet.link]  # the one remote notifier: the fleet store; it notifies
        return fleet

    def _make_watching(self, config: Config) -> Watching:
        """Metrics, the active Redis check, quiet logs, the heartbeat (watching.py)."""
        import socket

        url = config.redis_url if config.probe else None
        return Watching(
            config.watching,
            files=lambda: list(self.tailer.files.values()),
            take_bytes_read=self.tailer.take_bytes_read,
            clock=self._clock,
            redis_url=url,
            redis_target=config.grouping.default_target,
            quiet_period_s=config.grouping.quiet_period_s,
            host=socket.gethostname(),
        )

    def _deliver(self) -> None:
        self._outbox.deliver_due()
        if self._delivery is not None:
            self._delivery.wake()

    # -- files ---------------------------------------------------------------------------

    def _wait_for_paths(self, timeout: float) -> set[FileId]:
        try:
            path = self.watcher.paths.get(timeout=timeout)
        except queue.Empty:
            return set()
        paths = {path}
        while True:
            try:
                paths.add(self.watcher.paths.get_nowait())
            except queue.Empty:
                break
        return self.files.noticed(paths)

    def _start_files(self) -> None:
        """Open every target: at its saved cursor, or per the start policy; read what was
        rotated and compressed while we were stopped."""
        since = None
        if self.options.start == "since" and self.options.lookback_s is not None:
            since = since_from_lookback(self._clock.now(), self.options.lookback_s)
        self._process(
            self.files.start(
                self.store.cursors(),
                self._last_commit,
                start=self.options.start,
                since=since,
            )
        )
        # The unread end of every resumed file (written while we were stopped) is read
        # before the loop's first tick: the clock must not resolve an incident whose last
        # errors are still unread (they would then be counted as late, the message wrong).
        # One chunk per file here; a longer end is the backlog the loop reads on, untimed.
        # Files only: a stream (journal, syslog) resumes at its own cursor in its thread.
        self._process(self.files.files.read(None))

    def _do_reload(self) -> None:
        self._reload_requested = False
        if self._reload is None:
            return
        try:
            config, pack = self._reload()
        except LogwatchError as exc:
            logger.error("reload refused, keeping the running config: %s", exc)
            return
        self.config = config
        self.engine.reload(config, pack)
        self.tailer.rules = make_rule_filter(pack)
        self.tailer.finder = literal_finder(pack)
        logger.info("reloaded config=%s rules=%d", config.source, len(pack.rules))


def _remote_like(notifier: Notifier) -> bool:
    """Slack, a webhook, a hook, or what stands in for them (`watch --dry-run`)."""
    return getattr(notifier, "stands_in_for_remote", False) is True


def change_line(change: Change) -> str:
    """The one log line of an incident change (journald's view of the agent)."""
    inc = change.incident
    line = (
        f"incident {change.kind} id={inc.id} {inc.severity.label} {inc.category}"
        f" target={inc.target} events={inc.events}"
    )
    if change.kind == "resolved":
        line += f" active={inc.active_duration_s:.0f}s"
    if inc.outage:
        line += f" outage={inc.outage}"
    if inc.diagnosis and change.kind != "resolved":
        line += f" probe={inc.diagnosis!r}"
    if inc.recovery:
        line += f" recovery={inc.recovery!r}"
    if inc.silence is not None:
        line += f" not notified: {inc.silence.describe()}"
    return line


def collapse(changes: list[Change]) -> list[Change]:
    """One change per incident per batch, so a backlog does not become a storm.

    The last snapshot wins; a batch that opened an incident says "opened" (or "resolved"
    when it also ended), never a bare "updated" for an incident nobody heard of; one that
    resolved it says "resolved" even when the recovery probe's update came after.
    """
    last: dict[str, Change] = {}
    opened: set[str] = set()
    resolved: set[str] = set()
    for change in changes:
        if change.kind == "opened":
            opened.add(change.incident.id)
        elif change.kind == "resolved":
            resolved.add(change.incident.id)
        last[change.incident.id] = change
    result = []
    for incident_id, change in last.items():
        if incident_id in opened and change.kind == "updated":
            change = Change(kind="opened", at=change.at, incident=change.incident)
        elif (
            incident_id in resolved
            and change.kind == "updated"
            and change.incident.status == "resolved"
        ):
            # The recovery probe's verdict, held with the resolve: still the all-clear.
            change = Change(kind="resolved", at=change.at, incident=change.incident)
        result.append(change)
    return sorted(result, key=lambda c: c.at)
