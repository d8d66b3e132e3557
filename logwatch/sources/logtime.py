"""Log time, checked against the agent's clock.

Incidents run on log time: a backlog read after a restart opens and resolves its incidents
as they happened. But a log's stamps can be wrong (a container in another zone writing
naive times, a host whose clock is off, a line stamped 2099), and one wrong file must not
move everyone's time. So, for the live agent:

- Log time never runs ahead of the clock: a record stamped later than the moment it is
  read is moved back by its file's skew.
- A record read live (its file had been read to its end less than a minute before, so it
  was written since) whose stamp is more than a minute behind is moved on by its skew.
- A file's skew is the largest (stamp - moment read) seen among its records out of bounds:
  each record is read at or after it was written, so that is the closest estimate of how far
  the file's clock is off, and records written a second apart stay a second apart however
  late a loaded agent reads them. A record within bounds keeps its stamp (a one-off line
  stamped 2099 does not drag the file's later, correct stamps back with it).
- A record read after a restart past the previous run's cursor (or in a file created,
  rotated and compressed while it was stopped) was written after its last commit: one
  stamped more than a minute before that commit takes the moment it is read.
- Any other record (the backlog after a restart, a file read for the first time) keeps
  its stamp, however old.

Each file whose stamps disagree with the clock is said once (per direction) in the log.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from logwatch.model import Record
from logwatch.sources.followed import FileRecords
from logwatch.sources.tail import LIVE_WINDOW_S

logger = logging.getLogger(__name__)

LATE_S = LIVE_WINDOW_S  # a live record stamped this far behind its reading is mis-stamped
SAY_AHEAD_S = 60.0  # ahead by more than this is said (less is a clock's ordinary drift)
# A record farther off than its file's skew by more than this (a read stalled minutes, or
# an offset that changed) starts the skew over rather than moving by the old one.
RESKEW = timedelta(minutes=5)


class LogClock:
    """Bounds records' log time by the clock; says each disagreeing file once."""

    def __init__(self, *, late_s: float = LATE_S, say_ahead_s: float = SAY_AHEAD_S) -> None:
        self._late = timedelta(seconds=late_s)
        self._say_ahead = timedelta(seconds=say_ahead_s)
        self._said: set[tuple[str, str]] = set()
        # Per file and direction: how far its stamps are off the clock (stamp - true time).
        self._skew: dict[tuple[str, bool], timedelta] = {}

    def retime(
        self, batch: FileRecords, now: datetime, *, last_commit: datetime | None = None
    ) -> list[Record]:
        """The batch's records with their time bounded by `now`, the moment they were
        read, and (read past a cursor) by the previous run's `last_commit`."""
        out: list[Record] = []
        late = now - self._late if batch.live else None
        if batch.resumed and last_commit is not None:
            late = last_commit - self._late if late is None else max(late, last_commit - self._late)
        for record in batch.records:
            when = record.time
            if when > now:
                if record.timed and when - now > self._say_ahead:
                    self._say(batch, "ahead of", when - now)
                record = replace(record, time=self._shift(batch, True, when, now))
            elif late is not None and when < late:
                if record.timed:  # an untimed record's time is the file's, not a stamp
                    self._say(batch, "behind", now - when)
                record = replace(record, time=self._shift(batch, False, when, now))
            out.append(record)
        return out

    def _shift(self, batch: FileRecords, ahead: bool, when: datetime, now: datetime) -> datetime:
        """The stamp moved by the file's skew (never later than `now`), the skew updated."""
        key = (str(batch.path), ahead)
        seen = when - now  # the skew minus the record's read delay: never more than the skew
        skew = self._skew.get(key)
        if skew is None or seen > skew or skew - seen > RESKEW:
            # Closer to the truth; or the file's offset changed (its clock was reset, a
            # line stamped 2099 gave time-only stamps after it another date): start over.
            skew = self._skew[key] = seen
        return min(when - skew, now)

    def _say(self, batch: FileRecords, how: str, by: timedelta) -> None:
        key = (str(batch.path), how)
        if key not in self._said:
            self._said.add(key)
            logger.warning(
                "%s: log time %s the clock by %s; its records are moved by that much (said once)",
                batch.path,
                how,
                _span(by),
            )


def _span(by: timedelta) -> str:
    seconds = int(by.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
