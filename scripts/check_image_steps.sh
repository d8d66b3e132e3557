#!/usr/bin/env bash
# What the Dockerfile's image does, checked where no Docker daemon runs (CI, this
# machine): install the package with Debian's python3 into a fresh venv as the build
# stage does, then run the agent as an unprivileged user (nobody) with no HOME, no .pyc
# writes, and only its state directory writable, on Docker json-file logs of a real
# outage (the container test's rig); it must open and resolve one incident at the log's
# own times, and write nothing outside the state directory.
#   sudo bash scripts/check_image_steps.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/logwatch-image.XXXXXX)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
/usr/bin/python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$repo"
"$work/venv/bin/python" -m compileall -q "$work/venv" >/dev/null
mkdir -p "$work/etc" "$work/state" && chown nobody "$work/state" && chmod 700 "$work/state"
cp "$work"/venv/lib/python3*/site-packages/logwatch/data/logwatch.toml "$work/etc/"
(cd "$repo" && .venv/bin/python - "$work/logs" <<'PY'
import sys
from pathlib import Path
from tests.container_rig import docker_dir, wrap
from tests.test_container_logs import APP_LINES
docker_dir(Path(sys.argv[1])).write_text(wrap(APP_LINES, "docker"))
PY
)
chmod -R a+rX "$work/venv" "$work/etc" "$work/logs" && chmod a+x "$work"
touch "$work/marker"
cd /
env -i PATH="$work/venv/bin:/usr/bin:/bin" HOME=/nonexistent PYTHONDONTWRITEBYTECODE=1 \
  setpriv --reuid 65534 --regid 65534 --clear-groups "$work/venv/bin/logwatch" \
  --config "$work/etc/logwatch.toml" watch "$work/logs" --state "$work/state/state.db" \
  --from-start --quiet-period 2s --jsonl "$work/state/changes.jsonl" 2>"$work/agent.log" &
pid=$!
for _ in $(seq 100); do grep -q incident.resolved "$work/state/changes.jsonl" 2>/dev/null && break; sleep 0.2; done
kill -TERM "$pid"; wait "$pid"
python3 - "$work/state/changes.jsonl" <<'PY'
import json, sys
changes = [json.loads(x) for x in open(sys.argv[1])]
last = changes[-1]["incident"]
assert changes[-1]["type"] == "incident.resolved", changes
assert len({c["incident"]["id"] for c in changes}) == 1, changes  # one incident
assert last["first_seen"] == "2026-11-26T14:50:52.668000+00:00" and last["events"] == 6, last
assert last["sources"] == {"docker/morningai-api:stderr": 6}, last
print("ok:", last["category"], last["target"], last["first_seen"], last["events"], "events")
PY
stray="$(find "$work" /tmp /var/tmp -xdev -newer "$work/marker" -user nobody 2>/dev/null \
  | grep -v "^$work/state" | grep -v '^/tmp/logwatch-pg-' || true)"
[ -z "$stray" ] || { echo "written outside the state directory: $stray" >&2; exit 1; }
echo "ok: nothing written outside the state directory"
