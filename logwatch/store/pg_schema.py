"""The fleet store's schema, one script per version; `lw_schema` says which are applied.

Applied by `PostgresStore` under an advisory lock (MIGRATION_LOCK), so agents that start
together on an empty database make one schema and no error.
"""

from __future__ import annotations

MIGRATION_LOCK = 0x6C6F6777  # "logw": held while the schema is created or migrated
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE lw_agents (
        host TEXT PRIMARY KEY, version TEXT NOT NULL, started TIMESTAMPTZ NOT NULL,
        heartbeat TIMESTAMPTZ NOT NULL, last_commit TIMESTAMPTZ, lag_s DOUBLE PRECISION,
        outbox_depth INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE lw_incidents (
        id TEXT PRIMARY KEY, category TEXT NOT NULL, target TEXT NOT NULL,
        status TEXT NOT NULL, opened_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        resolved_at TIMESTAMPTZ, reopened INTEGER NOT NULL DEFAULT 0,
        announced BOOLEAN NOT NULL DEFAULT false, hosts_announced TEXT[] NOT NULL DEFAULT '{}',
        body JSONB NOT NULL
    );
    CREATE INDEX lw_incidents_key ON lw_incidents (category, target, opened_at DESC);
    CREATE TABLE lw_contributions (
        incident_id TEXT NOT NULL REFERENCES lw_incidents (id),
        host TEXT NOT NULL, host_incident TEXT NOT NULL, status TEXT NOT NULL,
        body JSONB NOT NULL, updated TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (incident_id, host, host_incident)
    );
    CREATE INDEX lw_contributions_host ON lw_contributions (host, host_incident);
    CREATE TABLE lw_applied (
        host TEXT NOT NULL, key TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (host, key)
    );
    CREATE TABLE lw_threads (
        incident_id TEXT NOT NULL, notifier TEXT NOT NULL, channel TEXT NOT NULL,
        ts TEXT NOT NULL, adopted_from TEXT,
        PRIMARY KEY (incident_id, notifier)
    );
    CREATE TABLE lw_outbox (
        id BIGSERIAL PRIMARY KEY, incident_id TEXT NOT NULL, notifier TEXT NOT NULL,
        kind TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now(),
        status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TIMESTAMPTZ NOT NULL DEFAULT now(), lease_owner TEXT,
        lease_until TIMESTAMPTZ, error TEXT, sent_at TIMESTAMPTZ, sent_by TEXT
    );
    CREATE INDEX lw_outbox_pending ON lw_outbox (id) WHERE status = 'pending';
    """,
)
