"""The agent's state, behind one interface with a module per backend.

- `sqlite.py`: the embedded default, one file per host: cursors, incidents, grouper
  snapshot and the durable outbox, committed in one transaction (`StateStore`).
- `postgres.py`: the fleet store that several hosts share (`[fleet] database_url`), with
  its schema (`pg_schema.py`) and its outbox and agents' heartbeats (`pg_outbox.py`).
- `base.py`: `AgentStore`, what the agent's loop calls whichever backend is behind it.

`from logwatch.store import StateStore, Cursor` keeps working: the names of the sqlite
backend are re-exported here.
"""

from logwatch.store.base import AgentStore
from logwatch.store.sqlite import (
    IN_FLIGHT_S,
    MIGRATIONS,
    Cursor,
    OutboxRow,
    StateStore,
    default_state_path,
    incident_from_json,
)

__all__ = [
    "IN_FLIGHT_S",
    "MIGRATIONS",
    "AgentStore",
    "Cursor",
    "OutboxRow",
    "StateStore",
    "default_state_path",
    "incident_from_json",
]
