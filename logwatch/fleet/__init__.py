"""The fleet: the agents of several app servers share one incident per outage in PostgreSQL.

- `settings.py`: `[fleet]` (database_url / LOGWATCH_DATABASE_URL, the timers);
- `merge.py`: hosts' contributions -> one fleet incident, and what to announce (pure);
- `link.py`: the host's durable outbox to the fleet store, and the fallback without it;
- `delivery.py`: the fleet's own outbox, delivered by whichever agent claims a row first;
- `runtime.py`: how the agent wires these together.
"""
