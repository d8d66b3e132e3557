"""The runbook steps a probe's diagnosis comes with, one text per probe status.

The wording of what to do when Redis refuses connections, does not resolve, times out,
rejects credentials, is loading, read-only, out of memory, out of clients or cannot
persist; the first line says what is wrong, the rest are the steps. Kept apart from the
probe (probe.py) that chooses among them.
"""

from __future__ import annotations

HINTS: dict[str, str] = {
    "refused": """Redis is not accepting connections.
1. Confirm it is down: `redis-cli -u $REDIS_URL ping`, `systemctl status redis` (or the
   provider's console).
2. Restart it: `sudo systemctl restart redis.service`; read its log for why it stopped (crash, OOM
   killer: `journalctl -u redis`).
3. If it runs, check it listens where REDIS_URL points (`bind`, `port`, `unixsocket` in redis.conf;
   `ss -ltnp | grep redis`) and the network/firewall between the app servers and Redis.
4. Check REDIS_URL in the app's .env.
5. Consider maintenance mode and notify stakeholders.""",
    "dns": """The Redis host name in REDIS_URL does not resolve.
1. Check the host in REDIS_URL (.env): `getent hosts <host>` from the app server.
2. Check DNS itself (/etc/resolv.conf, the Docker/Kubernetes DNS service, the service name).
3. If Redis moved, update REDIS_URL and restart the app and RQ workers.
4. Consider maintenance mode and notify stakeholders.""",
    "timeout": """Redis does not answer in time.
1. Accepted but no reply: the server is hung, stopped (state T in
   `ps -o stat,pid,cmd -C redis-server`), swapping or blocked by a long command; check CPU,
   memory and swap on the Redis host.
2. No connection at all: the host is down or a firewall drops packets; check the network between
   the app servers and Redis.
3. Once it answers: `redis-cli -u $REDIS_URL --latency`, `SLOWLOG GET 10`, `INFO persistence` (a
   long fork).
4. If it is hung, restart it: `sudo systemctl restart redis.service`; consider maintenance mode and
   notify stakeholders.""",
    "auth": """Redis rejects the credentials.
1. Check the password (and user) in REDIS_URL (.env): `redis://:<password>@host:6379/0`.
2. Compare with the server: `requirepass` in redis.conf, or the ACL users (`ACL LIST`, `ACL LOG`).
3. If the password was just changed, restart the app and RQ workers with the new REDIS_URL.""",
    "loading": """Redis is loading its dataset (after a restart): commands fail with LOADING.
1. Wait: progress is in `redis-cli -u $REDIS_URL info persistence` (loading_loaded_perc,
   loading_eta_seconds).
2. If it keeps restarting, read its log (crash, OOM killer: `journalctl -u redis`).
3. A large dataset loads slowly: consider maintenance mode and notify stakeholders.""",
    "readonly": """Redis is a read-only replica; the app's writes fail with READONLY.
1. Check the role: `redis-cli -u $REDIS_URL info replication` (role, master_host,
   master_link_status).
2. After a failover, point REDIS_URL (.env) at the new primary (or use Sentinel), then restart the
   app and RQ workers.
3. If this instance should be the primary: `REPLICAOF NO ONE`, once sure no other primary takes
   writes.
4. If its primary is down, restore that first: `sudo systemctl restart redis.service` on the
   primary.""",
    "oom": """Redis is at (or near) maxmemory with noeviction; writes fail with OOM.
1. See what uses memory: `redis-cli -u $REDIS_URL info memory`, `redis-cli --bigkeys`,
   `MEMORY STATS`.
2. Free space: delete stale keys and old RQ job results, set TTLs on caches.
3. Raise maxmemory (`CONFIG SET maxmemory`, and in redis.conf) or scale the Redis instance up.
4. An eviction policy (allkeys-lru) suits a pure cache, not RQ queues, whose keys must not be
   evicted.""",
    "max_clients": """Redis has (nearly) all its connections in use; new ones are refused.
1. See who is connected: `redis-cli -u $REDIS_URL client list` (count per addr); look for leaks (a
   pool per request, workers that never close).
2. Raise maxclients (`CONFIG SET maxclients`, redis.conf; check the open-files limit, `ulimit -n`).
3. Cap the app's pools (max_connections) and set `timeout` so idle clients are closed.
4. Scale the app or Redis if the load is real.""",
    "persistence": """Redis cannot persist: a background save or AOF write failed.
1. Read why: the Redis log and `redis-cli -u $REDIS_URL info persistence`; usually a full disk or
   permissions on `dir` (`CONFIG GET dir`).
2. Free disk space or fix permissions, then `BGSAVE` and check rdb_last_bgsave_status:ok.
3. Meanwhile writes fail with MISCONF (stop-writes-on-bgsave-error yes): fix the disk rather than
   turning that off.
4. Notify stakeholders if jobs cannot be enqueued.""",
    "ok": """Redis answers; if the app logs Redis errors, look on the client side.
1. Check REDIS_URL in the app's .env (host, port, password, db) is the one probed here.
2. Check the network and DNS from the app servers: run `redis-cli -u $REDIS_URL ping` there.
3. Watch memory, clients and latency over time (Prometheus redis_exporter).""",
    "error": """The probe could not classify the failure.
1. Confirm by hand: `redis-cli -u $REDIS_URL ping` and `info`.
2. Check REDIS_URL in the app's .env (for rediss://: the server's TLS port and certificates).
3. Read the Redis log; restart it if it is hung: `sudo systemctl restart redis.service`.""",
}
